"""Registers a method spec without a factory."""

from w2s_bench.hookspecs import hookimpl
from w2s_bench.specs import MethodSpec


@hookimpl
def w2s_bench_register_methods():
    return [MethodSpec("factoryless", None, "has no factory")]
