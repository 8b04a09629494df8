"""Declares a hook argument that the hookspec does not have."""

from w2s_bench.hookspecs import hookimpl
from w2s_bench.plugins.methods.naive import NaiveMethod
from w2s_bench.specs import MethodSpec


@hookimpl
def w2s_bench_register_methods(options):
    return [MethodSpec("needs_options", NaiveMethod)]
