"""Shared phases of a grid as a graph: which steps run on their own, and what waits for them.

A distributed executor runs each shared phase (a model's feature cache, a weak
model with its weak labels, a ceiling) once, as its own task, and starts a
cell only when every shared phase it needs has ended. The cell then finds
those phases in the run store and computes only its own student side.

A step that ends without a stored record (it failed, or it is not one of the plain
phases that this module computes) blocks no cell: the cell computes
the phase itself, and records its error as a local grid does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from w2s_bench.executors.base import CellJob
from w2s_bench.pipeline import CellConfig, Pipeline, PlannedStep, resolve_device

logger = logging.getLogger(__name__)

#: Phases computed once per grid by their own task, before the cells that need them.
SHARED_PHASES = ("features", "weak", "ceiling")

StepId = tuple[str, str]


@dataclass
class SharedStep:
    """One shared phase of the grid, with the first cell that needs it as its source of settings."""

    phase: str
    key: str
    model: str
    cell: CellConfig
    runs_dir: str
    #: Steps that must end first: the feature cache a probe-mode weak model or ceiling trains on.
    after: list[StepId] = field(default_factory=list)

    @property
    def id(self) -> StepId:
        return (self.phase, self.key)

    @property
    def label(self) -> str:
        return f"{self.phase} {self.model} on {self.cell.task} seed {self.cell.seed}"


@dataclass
class StepGraph:
    """The shared steps still to compute, and the steps each cell waits for."""

    steps: dict[StepId, SharedStep]
    #: Job index -> ids of the shared steps the cell needs (stored steps left out).
    needs: dict[int, list[StepId]]


def is_stored(runs_dir: str, phase: str, key: str) -> bool:
    """Return whether the run store has a record for the step; its files are not verified here."""
    return (Path(runs_dir) / phase / key / "record.json").is_file()


def shared_steps_of(job: CellJob) -> list[PlannedStep]:
    """Return the steps of a job's plan that run as shared steps.

    Feature caches of models other than the cell's weak and strong model
    belong to a method's own student side and may need models that exist only
    inside that cell's run, so the cell computes them.
    """
    own_models = (job.cell.weak, job.cell.strong)
    return [
        step for step in job.steps
        if step.phase in SHARED_PHASES and (step.phase != "features" or step.model in own_models)
    ]


def build_step_graph(jobs: Sequence[CellJob]) -> StepGraph:
    """Collect the shared steps of ``jobs`` that the run store does not have yet."""
    steps: dict[StepId, SharedStep] = {}
    needs: dict[int, list[StepId]] = {}

    for job in jobs:
        planned = [step for step in shared_steps_of(job) if not is_stored(job.runs_dir, step.phase, step.key)]
        features = {step.model: (step.phase, step.key) for step in planned if step.phase == "features"}
        for step in planned:
            step_id = (step.phase, step.key)
            if step_id not in steps:
                shared = SharedStep(step.phase, step.key, step.model, job.cell, job.runs_dir)
                if job.cell.mode == "probe" and step.phase != "features" and step.model in features:
                    shared.after.append(features[step.model])
                steps[step_id] = shared
        needs[job.index] = list(dict.fromkeys((step.phase, step.key) for step in planned))
    return StepGraph(steps, needs)


def compute_shared_step(pipeline: Pipeline, step: SharedStep) -> str:
    """Compute (or reuse) one shared step; return "stored" or why it was left to the cells.

    The step is computed only when its key equals the key of the plain phase
    for its cell. A method's own variant of a phase, such as a ceiling under
    another config, is thus never computed under the wrong key.
    """
    from w2s_bench.data import split_halves
    from w2s_bench.features import features_config
    from w2s_bench.pipeline import text_table
    from w2s_bench.store import content_key

    cell = step.cell
    data = pipeline.task_data(cell)
    device = resolve_device(cell.device)

    if step.phase == "features":
        _, key = features_config(pipeline.backbone_fingerprint(step.model, device), text_table(data)[0])
        if key != step.key:
            return f"left to the cells: features key {key} differs from the planned {step.key}"
        pipeline.probe_inputs(step.model, data, device)
        return "stored"

    split = split_halves(len(data.train), cell.seed)
    if step.phase == "weak":
        key = content_key(pipeline.weak_config(cell, data))
        compute = pipeline.weak_phase
    else:
        key = content_key(pipeline.ceiling_config(cell, data))
        compute = pipeline.ceiling_phase
    if key != step.key:
        return f"left to the cells: {step.phase} key {key} differs from the planned {step.key}"
    compute(cell, data, split)
    return "stored"
