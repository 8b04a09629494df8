"""Returns a dict where a list of MethodSpec is expected."""

from w2s_bench.hookspecs import hookimpl
from w2s_bench.plugins.methods.naive import NaiveMethod


@hookimpl
def w2s_bench_register_methods():
    return {"dict_method": NaiveMethod}
