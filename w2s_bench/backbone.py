"""The backbone contract: what a model plugin's factory returns."""

from __future__ import annotations

from typing import Protocol, Sequence

import torch

from w2s_bench.progress import Advance


class Backbone(Protocol):
    """A pretrained network that maps texts to pooled feature vectors.

    ``fingerprint`` identifies the weights and preprocessing, so that cached
    features and trained phases are keyed by it. ``module`` is the trainable
    network used in finetune mode.
    """

    name: str
    fingerprint: str
    hidden_size: int
    device: torch.device
    module: torch.nn.Module

    def encode(self, texts: Sequence[str], batch_size: int, advance: Advance) -> torch.Tensor:
        """Return pooled features ``[len(texts), hidden_size]`` without gradients."""
        ...

    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        """Return pooled features ``[len(texts), hidden_size]`` with gradients."""
        ...
