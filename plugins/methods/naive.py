"""The naive method: cross-entropy against the weak labels."""

from __future__ import annotations

import torch

from w2s_bench.hookspecs import hookimpl
from w2s_bench.losses import soft_cross_entropy
from w2s_bench.methods import Method
from w2s_bench.specs import MethodSpec


class NaiveMethod(Method):
    name = "naive"

    def loss(self, logits: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, fraction: float) -> torch.Tensor:
        return soft_cross_entropy(logits, mask, targets)


@hookimpl
def w2s_bench_register_methods() -> list[MethodSpec]:
    return [MethodSpec("naive", NaiveMethod, "cross-entropy on the weak soft labels")]
