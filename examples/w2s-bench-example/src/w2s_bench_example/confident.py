"""The ``confident`` method: train the student only on confident weak labels.

Weak labels the weak supervisor was unsure about are more often wrong, so
leaving them out of each batch trades fewer training examples for cleaner
ones.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from w2s_bench.errors import UserError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.losses import soft_cross_entropy
from w2s_bench.methods import Method
from w2s_bench.specs import MethodSpec


class ConfidentMethod(Method):
    """Cross-entropy on the weak labels the weak supervisor was most confident about.

    An example's confidence is the largest probability its weak label gives
    to one of its real candidates. In each batch the student trains on the
    ``keep_fraction`` most confident examples (at least one), leaving out
    any whose confidence is below ``min_confidence``. A batch where no
    example is kept contributes a zero loss.

    :param keep_fraction: share of each batch kept, in (0, 1].
    :param min_confidence: confidence below which an example is never kept, in [0, 1].
    """

    name = "confident"
    version = "1"

    def __init__(self, keep_fraction: float = 0.5, min_confidence: float = 0.0) -> None:
        keep_fraction = float(keep_fraction)
        min_confidence = float(min_confidence)
        if not 0.0 < keep_fraction <= 1.0:
            raise UserError(f"confident option keep_fraction={keep_fraction} is invalid; expected a value in (0, 1]")
        if not 0.0 <= min_confidence <= 1.0:
            raise UserError(f"confident option min_confidence={min_confidence} is invalid; expected a value in [0, 1]")

        self.keep_fraction = keep_fraction
        self.min_confidence = min_confidence

    def config(self) -> dict[str, Any]:
        return {**super().config(), "keep_fraction": self.keep_fraction, "min_confidence": self.min_confidence}

    def kept_rows(self, mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return a boolean ``[B]`` mask of the examples the student trains on."""
        confidence = targets.masked_fill(~mask, 0.0).max(dim=-1).values
        count = max(1, math.ceil(self.keep_fraction * confidence.shape[0]))
        top = torch.topk(confidence, count).indices

        kept_mask = torch.zeros_like(confidence, dtype=torch.bool)
        kept_mask[top] = True
        return kept_mask & (confidence >= self.min_confidence)

    def loss(self, logits: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, fraction: float) -> torch.Tensor:
        kept_mask = self.kept_rows(mask, targets)
        if not kept_mask.any():
            # Zero, but still part of the graph so the training step runs.
            return logits.masked_fill(~mask, 0.0).sum() * 0.0
        return soft_cross_entropy(logits[kept_mask], mask[kept_mask], targets[kept_mask])


@hookimpl
def w2s_bench_register_methods() -> list[MethodSpec]:
    return [MethodSpec("confident", ConfidentMethod, "cross-entropy on the most confident weak labels of each batch")]
