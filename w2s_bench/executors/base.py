"""The executor interface: how a grid's cells are run.

A grid hands an executor a list of :class:`CellJob` and consumes the
:class:`CellOutcome` it yields, one per job, in the order cells finish. The
contract an executor keeps:

* every job yields exactly one outcome, unless :meth:`Executor.stop` was
  called before the job started;
* a cell's exception never escapes :meth:`Executor.run`: it becomes a failed
  outcome carrying the error and traceback (a worker that dies becomes a
  failed outcome for each cell it was running);
* ``on_start(job)`` is called when a job is handed to a worker;
* results reach the run store through the pipeline, so cells that share a
  phase coordinate through the store's file locks, wherever they run.

The grid runner owns everything else: which cells are finished, failure
records, progress and fail-fast.
"""

from __future__ import annotations

import logging
import time
import traceback as traceback_module
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from w2s_bench.pipeline import CellConfig, Pipeline, PlannedStep

logger = logging.getLogger(__name__)

StartCallback = Callable[["CellJob"], None]


@dataclass(frozen=True)
class CellJob:
    """One cell to run; picklable, so it can cross process boundaries."""

    index: int
    cell: CellConfig
    runs_dir: str
    #: The cell record key the grid's plan expects; None when unknown.
    expected_key: str | None = None
    #: The stored steps the grid's plan expects the cell to need; empty when unknown.
    steps: tuple[PlannedStep, ...] = ()


@dataclass(frozen=True)
class CellOutcome:
    index: int
    ok: bool
    #: Wall time of the cell in the worker, in seconds.
    seconds: float
    #: Key of the stored cell record (successful cells only).
    record_key: str | None = None
    #: One line, ``Type: message`` (failed cells only).
    error: str | None = None
    traceback: str | None = None


class Executor(ABC):
    """Runs cell jobs and yields their outcomes as they finish."""

    name = "executor"

    @abstractmethod
    def run(self, jobs: Sequence[CellJob], on_start: StartCallback) -> Iterator[CellOutcome]:
        """Yield one outcome per job; see the module docstring for the contract."""

    def stop(self) -> None:
        """Start no further job. Jobs already running finish and are still yielded."""


def run_cell(pipeline: Pipeline, job: CellJob) -> CellOutcome:
    """Run one cell on ``pipeline``, turning any exception into a failed outcome."""
    from w2s_bench.grid.plan import describe_error

    started = time.monotonic()
    try:
        result = pipeline.run(job.cell)
    except Exception as error:  # noqa: BLE001 - a failing cell must not stop the grid
        logger.info("cell %d failed: %s", job.index, error)
        return CellOutcome(job.index, False, time.monotonic() - started, error=describe_error(error),
                           traceback=traceback_module.format_exc())
    return CellOutcome(job.index, True, time.monotonic() - started, record_key=result.record.data["key"])
