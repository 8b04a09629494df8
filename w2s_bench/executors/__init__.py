"""Executors run a grid's cells: in this process, in local worker processes, or elsewhere.

:class:`~w2s_bench.executors.base.Executor` is the interface;
:class:`~w2s_bench.executors.local.LocalExecutor` runs on this machine.
"""

from w2s_bench.executors.base import CellJob, CellOutcome, Executor, run_cell

__all__ = ["CellJob", "CellOutcome", "Executor", "run_cell"]
