"""Running a grid: plan it, skip finished cells, run the rest on an executor.

A failing cell (a bug, a plugin error, a NaN loss) is stored as a failure
record with its error and the grid goes on, unless ``fail_fast`` is set, in
which case no further cell starts. Rerunning a grid skips every cell whose
record is stored, so a grid killed at any point resumes where it stopped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from w2s_bench.executors.base import CellJob, CellOutcome, Executor
from w2s_bench.grid.failures import clear_failure, record_failure
from w2s_bench.grid.plan import GridPlan, PlannedCell, plan_grid
from w2s_bench.pipeline import CellConfig, Pipeline, cell_record_config, provenance
from w2s_bench.store import content_key

logger = logging.getLogger(__name__)

GRIDS_PHASE = "grids"

#: Cell statuses after a grid run.
FINISHED_BEFORE = "finished before"
DONE = "done"
FAILED = "failed"
NOT_RUN = "not run"


@dataclass
class CellRun:
    """The outcome of one cell in this grid run."""

    index: int
    cell: CellConfig
    status: str
    seconds: float | None = None
    error: str | None = None
    record_key: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class GridRun:
    name: str
    plan: GridPlan
    cells: list[CellRun]
    wall_seconds: float
    jobs: int

    def count(self, status: str) -> int:
        return sum(1 for run in self.cells if run.status == status)

    @property
    def ok(self) -> bool:
        return self.count(FAILED) == 0 and self.count(NOT_RUN) == 0


class GridListener:
    """Receives the events of a grid run. Does nothing by default."""

    def planned(self, plan: GridPlan, jobs: int) -> None:
        """Called once, after planning and before any cell runs."""

    def started(self, cell: PlannedCell) -> None:
        """Called when a cell is handed to a worker."""

    def finished(self, cell: PlannedCell, run: CellRun) -> None:
        """Called when a cell is done or failed."""


def run_grid(
    name: str,
    cells: list[CellConfig],
    pipeline: Pipeline,
    executor: Executor,
    listener: GridListener | None = None,
    fail_fast: bool = False,
    jobs: int = 1,
) -> GridRun:
    """Plan ``cells`` against ``pipeline``'s store, then run the unfinished ones."""
    listener = listener or GridListener()
    store = pipeline.store
    started = time.monotonic()

    plan = plan_grid(cells, pipeline)
    listener.planned(plan, jobs)
    runs = {planned.index: initial_run(planned, pipeline) for planned in plan.cells}
    by_index = {planned.index: planned for planned in plan.cells}
    stopped = False

    # cells that could not even be planned fail now
    for planned in plan.pending:
        if planned.plan is None:
            record_failure(store, planned.cell, planned.error or "planning failed", planned.traceback, 0.0)
            runs[planned.index] = CellRun(planned.index, planned.cell, FAILED, 0.0, planned.error)
            listener.finished(planned, runs[planned.index])
            stopped = stopped or fail_fast

    jobs_to_run = [
        CellJob(planned.index, planned.cell, str(store.root), planned.plan.key, planned.plan.steps)
        for planned in plan.pending
        if planned.plan is not None
    ]
    if stopped:
        executor.stop()

    def on_start(job: CellJob) -> None:
        listener.started(by_index[job.index])

    for outcome in executor.run(jobs_to_run, on_start):
        planned = by_index[outcome.index]
        runs[outcome.index] = settle(planned, outcome, pipeline)
        listener.finished(planned, runs[outcome.index])
        if not outcome.ok and fail_fast and not stopped:
            logger.info("fail-fast: starting no further cell after cell %d failed", outcome.index)
            executor.stop()
            stopped = True

    grid_run = GridRun(name, plan, [runs[index] for index in sorted(runs)], time.monotonic() - started, jobs)
    save_grid_record(pipeline, grid_run)
    return grid_run


def initial_run(planned: PlannedCell, pipeline: Pipeline) -> CellRun:
    if not planned.finished or planned.plan is None:
        return CellRun(planned.index, planned.cell, NOT_RUN)

    record = pipeline.store.load("cells", planned.plan.key)
    metrics = record.metrics if record else {}
    return CellRun(planned.index, planned.cell, FINISHED_BEFORE, record_key=planned.plan.key, metrics=metrics)


def settle(planned: PlannedCell, outcome: CellOutcome, pipeline: Pipeline) -> CellRun:
    """Store a failure, or clear an old one, and build the cell's run entry."""
    store = pipeline.store
    if not outcome.ok:
        record_failure(store, planned.cell, outcome.error or "failed", outcome.traceback, outcome.seconds)
        return CellRun(planned.index, planned.cell, FAILED, outcome.seconds, outcome.error)

    clear_failure(store, planned.cell)
    expected = planned.plan.key if planned.plan else None
    if expected is not None and outcome.record_key != expected:
        # the plan and the pipeline disagree about the cell's phases, so
        # dry-run counts for this kind of cell are wrong
        logger.warning("cell %d stored record %s but its plan expected %s", planned.index, outcome.record_key, expected)

    record = store.load("cells", outcome.record_key) if outcome.record_key else None
    metrics = record.metrics if record else {}
    return CellRun(planned.index, planned.cell, DONE, outcome.seconds, record_key=outcome.record_key, metrics=metrics)


def save_grid_record(pipeline: Pipeline, grid_run: GridRun) -> None:
    """Store what this invocation did (statuses, wall times), for the record."""
    finished_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    cells = [
        {
            "config": cell_record_config(run.cell), "status": run.status, "seconds": run.seconds,
            "error": run.error, "record_key": run.record_key,
        }
        for run in grid_run.cells
    ]
    config = {"name": grid_run.name, "jobs": grid_run.jobs, "cells": [content_key(cell["config"]) for cell in cells]}
    metrics = {
        "wall_seconds": grid_run.wall_seconds,
        **{status.replace(" ", "_"): grid_run.count(status) for status in (FINISHED_BEFORE, DONE, FAILED, NOT_RUN)},
        "trainings_planned": grid_run.plan.trainings,
    }
    key = content_key({**config, "finished_at": finished_at})
    pipeline.store.save(GRIDS_PHASE, key, config, metrics, extra={"finished_at": finished_at, "cells": cells, "versions": provenance()})
