"""Planning a grid: which cells are finished, and which trainings the rest need.

Every cell's steps are identified by the store keys the pipeline itself uses
(:meth:`Pipeline.plan`). So a step shared by several cells (a weak model and
its weak labels, a ceiling, a feature cache) is counted once, as it is
computed once when the grid runs.
"""

from __future__ import annotations

import logging
import traceback as traceback_module
from collections import Counter
from dataclasses import dataclass, field

from w2s_bench.pipeline import CellConfig, CellPlan, Pipeline

logger = logging.getLogger(__name__)

#: Steps that train a model; feature caching is counted separately.
TRAINING_PHASES = ("weak", "ceiling", "student")
STEP_PHASES = (*TRAINING_PHASES, "features")


@dataclass(frozen=True)
class PlannedCell:
    """A cell with its plan, or the error that stopped it from being planned."""

    index: int
    cell: CellConfig
    plan: CellPlan | None
    finished: bool = False
    error: str | None = None
    traceback: str | None = None


@dataclass(frozen=True)
class GridPlan:
    cells: tuple[PlannedCell, ...]
    #: Unique steps still to compute, per phase, after sharing.
    needed: dict[str, int] = field(default_factory=dict)
    #: The same steps counted once per cell, as if nothing were shared.
    unshared: dict[str, int] = field(default_factory=dict)

    @property
    def pending(self) -> list[PlannedCell]:
        return [cell for cell in self.cells if not cell.finished]

    @property
    def finished(self) -> list[PlannedCell]:
        return [cell for cell in self.cells if cell.finished]

    @property
    def trainings(self) -> int:
        return sum(self.needed.get(phase, 0) for phase in TRAINING_PHASES)

    @property
    def unshared_trainings(self) -> int:
        return sum(self.unshared.get(phase, 0) for phase in TRAINING_PHASES)

    def as_dict(self) -> dict:
        """Return a JSON-ready form, as printed by ``w2s-bench grid --dry-run --json``."""
        return {
            "cells": [
                {
                    "index": planned.index, "task": planned.cell.task, "method": planned.cell.method,
                    "method_options": planned.cell.method_options, "weak": planned.cell.weak,
                    "strong": planned.cell.strong, "seed": planned.cell.seed, "mode": planned.cell.mode,
                    "status": cell_status(planned),
                    "key": planned.plan.key if planned.plan else None, "error": planned.error,
                }
                for planned in self.cells
            ],
            "cells_total": len(self.cells),
            "cells_finished": len(self.finished),
            "cells_pending": len(self.pending),
            "needed": {phase: self.needed.get(phase, 0) for phase in STEP_PHASES},
            "trainings": self.trainings,
            "unshared": {phase: self.unshared.get(phase, 0) for phase in STEP_PHASES},
            "unshared_trainings": self.unshared_trainings,
        }


def cell_status(planned: PlannedCell) -> str:
    if planned.finished:
        return "finished"
    if planned.error:
        return "error"
    return "pending"


def plan_grid(cells: list[CellConfig], pipeline: Pipeline, build_models: bool = True) -> GridPlan:
    """Plan every cell and count the steps the unfinished ones still need.

    A cell whose plan raises (a method plugin that fails to build, a task that
    fails to load) is returned with its error instead of stopping the plan.
    With ``build_models`` False (a dry run), models whose weights are still to
    be built, such as unpretrained chess networks, are not built: every step
    that needs them counts as to run.
    """
    store = pipeline.store
    pipeline.plan_without_building = not build_models
    try:
        planned_cells = [plan_cell(index, cell, pipeline) for index, cell in enumerate(cells)]
    finally:
        pipeline.plan_without_building = False

    needed: set[tuple[str, str]] = set()
    unshared: Counter[str] = Counter()
    present: dict[tuple[str, str], bool] = {}
    for planned in planned_cells:
        if planned.finished or planned.plan is None:
            continue
        for step in planned.plan.steps:
            step_id = (step.phase, step.key)
            if step_id not in present:
                present[step_id] = store.load(step.phase, step.key) is not None
            if not present[step_id]:
                needed.add(step_id)
                unshared[step.phase] += 1

    counts = Counter(phase for phase, _ in needed)
    return GridPlan(tuple(planned_cells), dict(counts), dict(unshared))


def plan_cell(index: int, cell: CellConfig, pipeline: Pipeline) -> PlannedCell:
    try:
        plan = pipeline.plan(cell)
    except Exception as error:  # noqa: BLE001 - any plugin error makes this one cell fail
        logger.warning("cell %d (%s/%s seed %d) cannot be planned: %s", index, cell.task, cell.method, cell.seed, error)
        return PlannedCell(index, cell, None, error=describe_error(error), traceback=traceback_module.format_exc())

    finished = pipeline.store.load("cells", plan.key) is not None
    return PlannedCell(index, cell, plan, finished=finished)


def describe_error(error: BaseException) -> str:
    """Describe an exception in one line: its type and the first line of its message."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__

