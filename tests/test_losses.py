"""The loss functions, checked against values computed by hand with math."""

from __future__ import annotations

import math

import pytest
import torch

from w2s_bench.losses import alpha_schedule, aux_conf_loss, harden_predictions, soft_cross_entropy
from w2s_bench.plugins.methods.aux_conf import AuxConfMethod
from w2s_bench.errors import UserError

LOGITS = [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.0, 1.0]]


def softmax_row(row: list[float]) -> list[float]:
    exps = [math.exp(value) for value in row]
    return [value / sum(exps) for value in exps]


def cross_entropy_by_hand(logits: list[list[float]], targets: list[list[float]]) -> float:
    total = 0.0
    for row, target in zip(logits, targets):
        probs = softmax_row(row)
        total += -sum(t * math.log(p) for t, p in zip(target, probs))
    return total / len(logits)


def tensors(targets: list[list[float]]):
    logits = torch.tensor(LOGITS, dtype=torch.float64)
    return logits, torch.ones_like(logits, dtype=torch.bool), torch.tensor(targets, dtype=torch.float64)


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.0, 0.0), (0.1, 0.25), (0.2, 0.5), (1.0, 0.5)],
)
def test_alpha_warmup_schedule(fraction: float, expected: float) -> None:
    assert alpha_schedule(fraction, alpha_max=0.5, warmup_fraction=0.2) == pytest.approx(expected)


def test_alpha_without_warmup() -> None:
    assert alpha_schedule(0.0, alpha_max=0.75, warmup_fraction=0.0) == 0.75


def test_soft_cross_entropy_by_hand() -> None:
    weak = [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.5, 0.5]]
    logits, mask, targets = tensors(weak)

    assert soft_cross_entropy(logits, mask, targets).item() == pytest.approx(cross_entropy_by_hand(LOGITS, weak))


def test_half_rule_hardens_top_half() -> None:
    # p(candidate 1) per row: 0.5, 0.269, 0.881, 0.731; the median is 0.616
    logits, mask, _ = tensors([[1, 0]] * 4)
    hardened = harden_predictions(torch.softmax(logits, -1), mask, "half")

    assert hardened.tolist() == [[1, 0], [1, 0], [0, 1], [0, 1]]


def test_weak_balance_rule_matches_weak_share() -> None:
    # weak share of candidate 1 is 0.275, so only the most confident row is hardened to 1
    weak = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.9, 0.1]]
    logits, mask, targets = tensors(weak)
    hardened = harden_predictions(torch.softmax(logits, -1), mask, "weak_balance", targets)

    assert hardened.tolist() == [[1, 0], [1, 0], [0, 1], [1, 0]]


@pytest.mark.parametrize(("fraction", "alpha"), [(0.0, 0.0), (0.1, 0.25), (0.2, 0.5), (1.0, 0.5)])
def test_aux_conf_loss_by_hand(fraction: float, alpha: float) -> None:
    weak = [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.5, 0.5]]
    hardened = [[1, 0], [1, 0], [0, 1], [0, 1]]
    expected = (1 - alpha) * cross_entropy_by_hand(LOGITS, weak) + alpha * cross_entropy_by_hand(LOGITS, hardened)
    logits, mask, targets = tensors(weak)

    method_loss = AuxConfMethod(alpha_max=0.5).loss(logits, mask, targets, fraction)
    direct_loss = aux_conf_loss(logits, mask, targets, alpha)

    assert method_loss.item() == pytest.approx(expected)
    assert direct_loss.item() == pytest.approx(expected)


def test_padded_candidates_are_ignored() -> None:
    logits = torch.tensor([[0.3, -0.2, 50.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    targets = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])

    padded = soft_cross_entropy(logits, mask, targets)
    first_row = cross_entropy_by_hand([[0.3, -0.2]], [[0.0, 1.0]])
    second_row = cross_entropy_by_hand([[1.0, 2.0, 3.0]], [[0.0, 0.0, 1.0]])

    assert padded.item() == pytest.approx((first_row + second_row) / 2, rel=1e-5)


def test_many_candidates_harden_to_argmax_of_real_ones() -> None:
    probs = torch.tensor([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    mask = torch.tensor([[True, True, False], [True, True, True]])

    assert harden_predictions(probs, mask).tolist() == [[0, 1, 0], [1, 0, 0]]


def test_confidence_targets_carry_no_gradient() -> None:
    logits = torch.tensor(LOGITS, requires_grad=True)
    mask = torch.ones(4, 2, dtype=torch.bool)
    aux_conf_loss(logits, mask, torch.full((4, 2), 0.5), alpha=1.0).backward()

    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("options", [{"alpha_max": 1.5}, {"warmup_fraction": -0.1}, {"threshold": "median"}])
def test_aux_conf_rejects_invalid_options(options: dict) -> None:
    with pytest.raises(UserError):
        AuxConfMethod(**options)
