"""Bootstrapping: supervise a ladder of ever stronger models instead of one jump.

Burns et al. (2023) found that on chess, training a slightly stronger model on
the weak labels, letting it label for the next model, and so on up to the
strong model recovered more of the gap than the direct jump. See
:mod:`w2s_bench.ladder` for which data each step uses.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from w2s_bench.data import Split, TaskData
from w2s_bench.hookspecs import hookimpl
from w2s_bench.ladder import STEP_PHASE, check_ladder_ends, default_ladder, parse_ladder, run_ladder, step_config, step_summaries
from w2s_bench.methods import Method, create_loss_method
from w2s_bench.metrics import pgr
from w2s_bench.pipeline import PlannedStep, StudentSide, resolve_device
from w2s_bench.specs import MethodSpec
from w2s_bench.store import Record, content_key


class BootstrapMethod(Method):
    """Train the ladder M1 → … → Mn with a plain student loss at every step.

    The cell's student is the last step. The direct jump M1 → Mn with the same
    loss is the ordinary student phase, so a cell of the plain loss method
    shares it.

    :param ladder: model names from weak to strong, as a list or separated by
        commas; None asks the plugins for a default ladder between the
        cell's weak and strong models.
    :param loss: the plain method whose loss trains every step (naive or aux_conf).
    :param loss_options: options of that method, such as ``alpha_max``.
    """

    name = "bootstrap"

    def __init__(self, ladder: str | Sequence[str] | None = None, loss: str = "naive", **loss_options: Any) -> None:
        self.ladder = parse_ladder(ladder) if ladder is not None else None
        self.loss_name = str(loss)
        self.loss_options = loss_options

    def config(self) -> dict[str, Any]:
        return {**super().config(), "ladder": self.ladder, "loss": self.loss_name, "loss_options": self.loss_options}

    def loss(self, logits: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, fraction: float) -> torch.Tensor:
        raise NotImplementedError("bootstrap trains through student_side with the loss of its `loss` method")

    # --- hooks called by the pipeline ------------------------------------

    def loss_method(self, pipeline: Any) -> Method:
        return create_loss_method(pipeline.registry, self.loss_name, self.loss_options, "bootstrap")

    def resolve_ladder(self, pipeline: Any, cell: Any) -> list[str]:
        ladder = self.ladder or default_ladder(pipeline.registry, cell.task, cell.weak, cell.strong)
        check_ladder_ends(ladder, cell.weak, cell.strong)
        return ladder

    def check(self, pipeline: Any, cell: Any) -> None:
        """Reject a bad ladder or loss before any training."""
        self.loss_method(pipeline)
        device = resolve_device(cell.device)
        for model in self.resolve_ladder(pipeline, cell):
            pipeline.backbone_fingerprint(model, device)

    def student_side(self, pipeline: Any, cell: Any, data: TaskData, split: Split, weak: Record) -> StudentSide:
        ladder = self.resolve_ladder(pipeline, cell)
        method = self.loss_method(pipeline)
        pipeline.progress.note(f"bootstrap ladder: {' → '.join(ladder)}, loss {method.name}")

        ceiling = pipeline.ceiling_phase(cell, data, split)
        direct = pipeline.student_phase(cell, data, split, weak, method=method)
        steps = run_ladder(pipeline, cell, data, split, weak, ladder, method)

        weak_accuracy = weak.metrics["test_accuracy"]
        ceiling_accuracy = ceiling.metrics["test_accuracy"]
        direct_accuracy = direct.metrics["test_accuracy"]
        metrics = {
            "ladder": ladder,
            "ladder_steps": step_summaries(ladder, weak, steps),
            "loss": method.config(),
            "direct_student_accuracy": direct_accuracy,
            "direct_pgr": pgr(weak_accuracy, ceiling_accuracy, direct_accuracy),
            "direct_student_weak_agreement": direct.metrics["weak_agreement"],
            "student_phase": f"bootstrap:{len(ladder)}",
        }
        phases = {"ceiling": ceiling.data["key"], "student": direct.data["key"]}
        for index, record in enumerate(steps, start=2):
            phases[f"bootstrap:{index}"] = record.data["key"]
        return StudentSide(ceiling=ceiling, student=steps[-1], phases=phases, metrics=metrics)


    def plan_student_side(self, pipeline: Any, cell: Any, data: TaskData, weak_key: str) -> tuple[dict[str, str], list[PlannedStep]]:
        """Return the store keys :meth:`student_side` would use, computing nothing."""
        ladder = self.resolve_ladder(pipeline, cell)
        method = self.loss_method(pipeline)
        phases = {
            "ceiling": content_key(pipeline.ceiling_config(cell, data)),
            "student": content_key(pipeline.student_config(cell, data, weak_key, method)),
        }
        steps = [PlannedStep("ceiling", phases["ceiling"], cell.strong), PlannedStep("student", phases["student"], cell.strong)]

        previous_key = weak_key
        for index, model in enumerate(ladder[1:], start=2):
            previous_key = content_key(step_config(pipeline, cell, data, model, previous_key, method.config()))
            phases[f"bootstrap:{index}"] = previous_key
            steps.append(PlannedStep(STEP_PHASE, previous_key, model))
        return phases, steps


@hookimpl
def w2s_bench_register_methods() -> list[MethodSpec]:
    return [MethodSpec("bootstrap", BootstrapMethod, "a ladder of models, each trained on the previous one's labels")]
