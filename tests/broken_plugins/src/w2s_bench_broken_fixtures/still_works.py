"""A valid plugin shipped with the broken ones; it must keep working."""

from w2s_bench.hookspecs import hookimpl
from w2s_bench.plugins.methods.naive import NaiveMethod
from w2s_bench.specs import MethodSpec


class StillWorksMethod(NaiveMethod):
    name = "still_works"


@hookimpl
def w2s_bench_register_methods():
    return [MethodSpec("still_works", StillWorksMethod, "cross-entropy on the weak labels, from a fixture")]
