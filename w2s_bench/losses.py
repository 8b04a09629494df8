"""Losses over candidate logits.

Every loss takes ``logits [B, K]``, a boolean ``mask [B, K]`` of real
candidates (padding is False), and target distributions ``[B, K]``. Methods
never need to know the task kind: two classes, two replies and forty legal
moves all arrive in this shape.
"""

from __future__ import annotations

from typing import Literal

import torch

ThresholdRule = Literal["half", "weak_balance", "argmax"]


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Log-softmax over real candidates; padded candidates get a large negative value."""
    filled = logits.masked_fill(~mask, torch.finfo(logits.dtype).min / 2)
    return torch.log_softmax(filled, dim=-1)


def soft_cross_entropy(logits: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy between the model's distribution and target distributions."""
    log_probs = masked_log_softmax(logits, mask)
    per_example = -(targets * log_probs).masked_fill(~mask, 0.0).sum(dim=-1)
    return per_example.mean()


def ground_truth_loss(logits: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, fraction: float) -> torch.Tensor:
    """Cross-entropy to one-hot ground truth, with the training-loop signature."""
    return soft_cross_entropy(logits, mask, targets)


def alpha_schedule(fraction: float, alpha_max: float, warmup_fraction: float = 0.2) -> float:
    """Return the confidence weight α after ``fraction`` of training.

    α rises linearly from 0 to ``alpha_max`` over the first ``warmup_fraction``
    of the steps and stays there.
    """
    if warmup_fraction <= 0:
        return alpha_max
    return alpha_max * min(1.0, max(0.0, fraction) / warmup_fraction)


def harden_predictions(
    probs: torch.Tensor,
    mask: torch.Tensor,
    rule: ThresholdRule = "half",
    weak_targets: torch.Tensor | None = None,
) -> torch.Tensor:
    """Turn the student's own distributions into one-hot targets.

    With two candidates, candidate 1 is chosen where its probability is above a
    threshold t set per batch. With the ``half`` rule t is the batch median, so
    the top half of the batch is hardened to candidate 1 (Burns et al. 2023).
    With ``weak_balance``, t makes the hardened share of candidate 1 equal the
    weak labels' mean probability of candidate 1 in the batch. With more
    candidates, or with the ``argmax`` rule, the student's own arg-max is
    chosen. That is the rule for the two replies of a rank task, because
    their order carries no meaning.
    """
    probs = probs.detach()
    if probs.shape[-1] != 2 or rule == "argmax":
        filled = probs.masked_fill(~mask, -1.0)
        return torch.nn.functional.one_hot(filled.argmax(dim=-1), probs.shape[-1]).to(probs.dtype)

    if rule == "half":
        share_positive = 0.5
    elif rule == "weak_balance":
        if weak_targets is None:
            raise ValueError("the weak_balance threshold rule needs the weak targets")
        share_positive = float(weak_targets[:, 1].mean())
    else:
        raise ValueError(f"unknown threshold rule {rule!r}; expected 'half', 'weak_balance' or 'argmax'")

    positive = probs[:, 1]
    threshold = torch.quantile(positive, 1.0 - share_positive)
    hardened_positive = (positive > threshold).to(probs.dtype)
    return torch.stack([1.0 - hardened_positive, hardened_positive], dim=-1)


def aux_conf_loss(
    logits: torch.Tensor,
    mask: torch.Tensor,
    weak_targets: torch.Tensor,
    alpha: float,
    rule: ThresholdRule = "half",
) -> torch.Tensor:
    """Auxiliary confidence loss: (1−α)·CE(f, f_w) + α·CE(f, f̂_t)."""
    probs = masked_log_softmax(logits, mask).exp()
    hardened = harden_predictions(probs, mask, rule, weak_targets)

    weak_term = soft_cross_entropy(logits, mask, weak_targets)
    confidence_term = soft_cross_entropy(logits, mask, hardened)
    return (1.0 - alpha) * weak_term + alpha * confidence_term
