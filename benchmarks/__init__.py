"""Performance benchmarks of w2s-bench: ``python -m benchmarks`` or ``make bench``.

Every figure is a ratio of two wall times measured side by side in one run,
so load from other processes on a shared machine cancels out as far as it
can. The run prints a table and writes ``docs/benchmarks.md``.

A benchmark is any module in this package that defines::

    ORDER: int                                   # position in the table
    def measure(context: Context) -> list[Figure]

The runner imports every such module, so adding a benchmark is adding its
file. Shared code lives in the ``support`` subpackage.
"""
