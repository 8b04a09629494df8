"""Registers a method under the name of the built-in naive method."""

from w2s_bench.hookspecs import hookimpl
from w2s_bench.plugins.methods.naive import NaiveMethod
from w2s_bench.specs import MethodSpec


@hookimpl
def w2s_bench_register_methods():
    return [MethodSpec("naive", NaiveMethod, "a second naive method")]
