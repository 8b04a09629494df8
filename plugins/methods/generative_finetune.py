"""Generative finetuning: make the task salient to the strong model before supervised training.

Burns et al. (2023) finetuned their reward-model students with a language-
modelling objective on the task's text (no labels) before training on weak
labels. Because the extra finetuning could help the ceiling as much as the
student, the ceiling is finetuned the same way, and PGR is measured against
that adjusted ceiling. The plain ceiling is reported beside it, so readers can
separate the effect of the method from the effect of the extra finetuning.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from w2s_bench.data import Split, TaskData
from w2s_bench.generative import (
    add_finetuned_model,
    default_settings,
    generative_phase,
    require_transformers_backbone,
    settings_with_overrides,
)
from w2s_bench.hookspecs import hookimpl
from w2s_bench.language_model import objective_of
from w2s_bench.methods import Method, create_loss_method
from w2s_bench.metrics import pgr
from w2s_bench.pipeline import StudentSide, resolve_device
from w2s_bench.specs import MethodSpec
from w2s_bench.store import Record


class GenerativeFinetuneMethod(Method):
    """Finetune the strong backbone as a language model on the task's text, then train
    the ceiling and the student from it with a plain student loss.

    :param loss: the plain method whose loss trains the student (naive or aux_conf).
    :param lm_texts: training texts for the language-model step; 0 uses all.
        Default: 512 on a CPU (160 for a decoder), all on a GPU.
    :param lm_epochs: passes over those texts (default 1).
    :param lm_batch_size: texts per step (default 8 on a CPU, 32 on a GPU).
    :param lm_lr: peak learning rate (default 5e-5).
    :param lm_max_length: tokens per text (default 128 on a CPU, 256 on a GPU).
    :param lm_heldout: texts held out to measure the LM loss (default 64 on a CPU,
        32 for a decoder, 512 on a GPU).
    :param lm_seed: seed of the language-model step (default 0); it is not the
        cell's seed, so every seed of a cell shares one finetuned backbone.
    :param loss_options: options of the loss method, such as ``alpha_max``.
    """

    name = "generative-finetune"

    def __init__(
        self,
        loss: str = "naive",
        lm_texts: int | None = None,
        lm_epochs: int | None = None,
        lm_batch_size: int | None = None,
        lm_lr: float | None = None,
        lm_max_length: int | None = None,
        lm_heldout: int | None = None,
        lm_seed: int | None = None,
        **loss_options: Any,
    ) -> None:
        self.loss_name = str(loss)
        self.loss_options = loss_options
        self.overrides = {
            "max_texts": lm_texts, "epochs": lm_epochs, "batch_size": lm_batch_size, "lr": lm_lr,
            "max_length": lm_max_length, "heldout": lm_heldout, "seed": lm_seed,
        }
        # reject invalid values now rather than after the weak phase
        settings_with_overrides(default_settings(torch.device("cpu")), self.overrides)

    def config(self) -> dict[str, Any]:
        overrides = {name: value for name, value in self.overrides.items() if value is not None}
        return {**super().config(), "loss": self.loss_name, "loss_options": self.loss_options, "lm": overrides}

    def loss(self, logits: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, fraction: float) -> torch.Tensor:
        raise NotImplementedError("generative-finetune trains through student_side with the loss of its `loss` method")

    # --- hooks called by the pipeline ------------------------------------

    def loss_method(self, pipeline: Any) -> Method:
        return create_loss_method(pipeline.registry, self.loss_name, self.loss_options, "generative-finetune")

    def check(self, pipeline: Any, cell: Any) -> None:
        """Reject a bad loss, or a strong model without a language-modelling objective."""
        self.loss_method(pipeline)
        backbone = pipeline.backbone(cell.strong, resolve_device(cell.device))
        require_transformers_backbone(backbone, cell.strong)

    def student_side(self, pipeline: Any, cell: Any, data: TaskData, split: Split, weak: Record) -> StudentSide:
        method = self.loss_method(pipeline)
        device = resolve_device(cell.device)
        objective = objective_of(pipeline.backbone(cell.strong, device))
        settings = settings_with_overrides(default_settings(device, objective), self.overrides)

        plain_ceiling = pipeline.ceiling_phase(cell, data, split)
        finetuned = generative_phase(pipeline, cell.strong, data, settings, device)
        adjusted_cell = replace(cell, strong=add_finetuned_model(pipeline, cell.strong, finetuned))
        adjusted_ceiling = pipeline.ceiling_phase(adjusted_cell, data, split)
        student = pipeline.student_phase(adjusted_cell, data, split, weak, method=method)

        weak_accuracy = weak.metrics["test_accuracy"]
        plain_accuracy = plain_ceiling.metrics["test_accuracy"]
        language_model = {name: value for name, value in finetuned.metrics.items() if name != "heldout_curve"}
        metrics = {
            "ceiling_kind": "adjusted: the strong model after the same generative finetuning",
            "plain_ceiling_accuracy": plain_accuracy,
            "adjusted_ceiling_accuracy": adjusted_ceiling.metrics["test_accuracy"],
            "pgr_against_plain_ceiling": pgr(weak_accuracy, plain_accuracy, student.metrics["test_accuracy"]),
            "loss": method.config(),
            "generative": {**language_model, "settings": finetuned.data["config"]["settings"]},
        }
        phases = {
            "ceiling": plain_ceiling.data["key"],
            "generative": finetuned.data["key"],
            "ceiling:adjusted": adjusted_ceiling.data["key"],
            "student": student.data["key"],
        }
        return StudentSide(ceiling=adjusted_ceiling, student=student, phases=phases, metrics=metrics)


@hookimpl
def w2s_bench_register_methods() -> list[MethodSpec]:
    return [MethodSpec(
        "generative-finetune", GenerativeFinetuneMethod,
        "language-model finetuning on the task's text before training; PGR against the adjusted ceiling",
    )]
