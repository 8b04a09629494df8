"""Test metrics: accuracy, agreement and performance gap recovered (PGR)."""

from __future__ import annotations

import torch


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of rows whose arg-max candidate is the label."""
    if probs.shape[0] == 0:
        return float("nan")
    return float((probs.argmax(dim=-1) == labels).float().mean())


def agreement(probs_a: torch.Tensor, probs_b: torch.Tensor) -> float:
    """Share of rows where two models choose the same candidate."""
    return float((probs_a.argmax(dim=-1) == probs_b.argmax(dim=-1)).float().mean())


def pgr(weak: float, ceiling: float, student: float) -> float | None:
    """(student − weak) / (ceiling − weak), or None when the ceiling is not above weak.

    PGR is undefined when the strong ceiling does not beat the weak supervisor,
    because there is no gap to recover; callers report that case as such.
    """
    gap = ceiling - weak
    if not gap > 0:
        return None
    return (student - weak) / gap


def accuracy_by_group(probs: torch.Tensor, labels: torch.Tensor, groups: list[str]) -> dict[str, dict[str, float]]:
    """Accuracy and row count per group label (such as a difficulty band), groups in sorted order."""
    correct = (probs.argmax(dim=-1) == labels).float()
    result = {}
    for group in sorted(set(groups)):
        rows = torch.tensor([index for index, name in enumerate(groups) if name == group], dtype=torch.long)
        result[group] = {"accuracy": float(correct[rows].mean()), "count": len(rows)}
    return result


def format_pgr(value: float | None) -> str:
    return "undefined (ceiling ≤ weak)" if value is None else f"{value:.3f}"


def chance_accuracy(head: str, num_candidates: int, candidate_counts: list[int]) -> float:
    """Expected test accuracy of picking a candidate uniformly at random.

    A classify task has ``num_candidates`` classes; a rank task has its own
    candidate count per example (the legal moves of a chess position).
    """
    if head == "classify" or not candidate_counts:
        return 1.0 / num_candidates
    return sum(1.0 / count for count in candidate_counts) / len(candidate_counts)
