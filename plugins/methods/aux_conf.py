"""The auxiliary confidence loss of Burns et al. (2023)."""

from __future__ import annotations

from typing import Any

import torch

from w2s_bench.errors import UserError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.losses import alpha_schedule, aux_conf_loss
from w2s_bench.methods import Method
from w2s_bench.specs import MethodSpec

THRESHOLD_RULES = ("auto", "half", "weak_balance", "argmax")


def number_option(name: str, value: Any) -> float:
    """Convert an option given as text (``-o alpha_max=0.7``) or a number to a float."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UserError(f"aux_conf option {name}={value!r} is invalid; expected a number") from None


class AuxConfMethod(Method):
    """(1−α)·CE(f, weak labels) + α·CE(f, hardened f), with α warmed up linearly.

    :param alpha_max: the final α; the paper used 0.75 for its largest students.
    :param warmup_fraction: share of the steps over which α rises from 0.
    :param threshold: ``half`` hardens the top half of each batch (the paper's
        rule); ``weak_balance`` matches the weak labels' class balance (the
        rule of the reference code); ``argmax`` hardens each example to the
        student's preferred candidate. ``auto`` is ``argmax`` on rank tasks,
        where the order of two replies means nothing, and ``half`` otherwise.
    """

    name = "aux_conf"

    def __init__(self, alpha_max: float = 0.5, warmup_fraction: float = 0.2, threshold: str = "auto") -> None:
        alpha_max = number_option("alpha_max", alpha_max)
        warmup_fraction = number_option("warmup_fraction", warmup_fraction)
        if not 0.0 <= alpha_max <= 1.0:
            raise UserError(f"aux_conf option alpha_max={alpha_max} is invalid; expected a value in [0, 1]")
        if not 0.0 <= warmup_fraction <= 1.0:
            raise UserError(f"aux_conf option warmup_fraction={warmup_fraction} is invalid; expected [0, 1]")
        if threshold not in THRESHOLD_RULES:
            raise UserError(f"aux_conf option threshold={threshold!r} is invalid; expected one of {', '.join(THRESHOLD_RULES)}")

        self.alpha_max = alpha_max
        self.warmup_fraction = warmup_fraction
        self.requested_threshold = threshold
        self.threshold = "half" if threshold == "auto" else threshold

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "alpha_max": self.alpha_max,
            "warmup_fraction": self.warmup_fraction,
            "threshold": self.threshold,
        }

    def bind_task(self, head: str) -> None:
        if self.requested_threshold == "auto":
            self.threshold = "argmax" if head == "rank" else "half"

    def loss(self, logits: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, fraction: float) -> torch.Tensor:
        alpha = alpha_schedule(fraction, self.alpha_max, self.warmup_fraction)
        return aux_conf_loss(logits, mask, targets, alpha, self.threshold)  # type: ignore[arg-type]


@hookimpl
def w2s_bench_register_methods() -> list[MethodSpec]:
    return [MethodSpec("aux_conf", AuxConfMethod, "auxiliary confidence loss with α warm-up")]
