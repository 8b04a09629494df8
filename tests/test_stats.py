"""Seed statistics checked against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from w2s_bench.stats import (
    aggregate_pgr,
    bootstrap_ci,
    exact_bootstrap_means,
    gap_standard_error,
    gap_within_noise,
    median_pgr,
    monte_carlo_bootstrap_means,
    summarize,
    weighted_quantile,
)


def test_summary_mean_and_sample_std() -> None:
    summary = summarize([0.6, 0.7, 0.8])

    assert summary.n == 3
    assert summary.mean == pytest.approx(0.7)
    # sqrt(((-0.1)² + 0² + 0.1²) / (3 − 1)) = 0.1
    assert summary.std == pytest.approx(0.1)


def test_summary_of_one_value_has_no_spread() -> None:
    summary = summarize([0.42])

    assert summary.mean == 0.42
    assert summary.std is None
    assert summary.ci_low is None
    assert summary.ci_high is None


def test_summary_of_nothing_is_none() -> None:
    assert summarize([]) is None


def test_exact_bootstrap_weights_sum_to_one() -> None:
    means, weights = exact_bootstrap_means([0.1, 0.5, 0.2, 0.9])

    # C(2·4 − 1, 4) = 35 distinct resamples of 4 values
    assert len(means) == 35
    assert weights.sum() == pytest.approx(1.0)


def test_bootstrap_ci_of_two_values_is_their_range() -> None:
    # resample means: a (1/4), (a+b)/2 (1/2), b (1/4); the 2.5 % quantile is a, 97.5 % is b
    assert bootstrap_ci([0.3, 0.5]) == pytest.approx((0.3, 0.5))


def test_bootstrap_ci_of_fixed_sample_by_hand() -> None:
    # Resampling [0, 0, 0, 1] gives mean k/4 with k ~ Binomial(4, 1/4):
    # P(k ≤ 0) = 81/256 = 0.316, P(k ≤ 1) = 189/256 = 0.738,
    # P(k ≤ 2) = 243/256 = 0.949, P(k ≤ 3) = 255/256 = 0.996.
    # 95 %: 2.5 % → k = 0, 97.5 % → k = 3.   80 %: 10 % → k = 0, 90 % → k = 2.
    sample = [0.0, 0.0, 0.0, 1.0]

    assert bootstrap_ci(sample) == pytest.approx((0.0, 0.75))
    assert bootstrap_ci(sample, confidence=0.8) == pytest.approx((0.0, 0.5))


def test_bootstrap_ci_needs_two_values() -> None:
    assert bootstrap_ci([0.5]) is None


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5])
def test_bootstrap_ci_rejects_invalid_confidence(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([0.1, 0.2], confidence)


def test_monte_carlo_matches_exact_bootstrap() -> None:
    sample = list(np.random.default_rng(1).random(9))
    exact_means, exact_weights = exact_bootstrap_means(sample)
    exact = (weighted_quantile(exact_means, exact_weights, 0.025), weighted_quantile(exact_means, exact_weights, 0.975))

    low, high = bootstrap_ci(sample)  # 9 values: Monte Carlo

    assert low == pytest.approx(exact[0], abs=0.01)
    assert high == pytest.approx(exact[1], abs=0.01)


def test_monte_carlo_is_reproducible() -> None:
    sample = [0.61, 0.64, 0.70, 0.66, 0.59, 0.72, 0.68, 0.63, 0.65, 0.71]

    first, _ = monte_carlo_bootstrap_means(sample)
    second, _ = monte_carlo_bootstrap_means(sample)

    assert np.array_equal(first, second)
    assert bootstrap_ci(sample) == bootstrap_ci(sample)


def test_weighted_quantile_picks_value_at_exact_boundary() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    weights = np.full(4, 0.25)

    assert weighted_quantile(values, weights, 0.25) == 1.0
    assert weighted_quantile(values, weights, 0.26) == 2.0
    assert weighted_quantile(values, weights, 1.0) == 4.0


def test_pgr_per_seed_and_aggregate_by_hand() -> None:
    # seed 0: (0.70 − 0.60) / (0.80 − 0.60) = 0.5
    # seed 1: (0.68 − 0.60) / (0.70 − 0.60) = 0.8
    # seed 2: ceiling 0.70 = weak 0.70, no PGR
    result = aggregate_pgr([0, 1, 2], weak=[0.6, 0.6, 0.7], ceiling=[0.8, 0.7, 0.7], student=[0.70, 0.68, 0.72])

    assert result.per_seed[0] == pytest.approx(0.5)
    assert result.per_seed[1] == pytest.approx(0.8)
    assert result.per_seed[2] is None
    assert result.left_out == (2,)
    assert result.summary.n == 2
    assert result.summary.mean == pytest.approx(0.65)
    assert result.summary.std == pytest.approx(math.sqrt(2 * 0.15**2))
    assert (result.summary.ci_low, result.summary.ci_high) == pytest.approx((0.5, 0.8))
    # means: weak 0.6333, ceiling 0.7333, student 0.7; (0.7 − 0.6333) / 0.1 = 0.6667
    assert result.of_means == pytest.approx(2 / 3)


def test_pgr_aggregate_when_every_seed_is_undefined() -> None:
    result = aggregate_pgr([0, 1], weak=[0.7, 0.8], ceiling=[0.7, 0.75], student=[0.72, 0.78])

    assert result.summary is None
    assert result.left_out == (0, 1)
    assert result.of_means is None


def test_pgr_aggregate_rejects_ragged_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        aggregate_pgr([0, 1], weak=[0.5], ceiling=[0.6, 0.7], student=[0.55, 0.6])


def test_median_pgr_leaves_out_undefined_tasks() -> None:
    odd = median_pgr([0.2, None, 0.5, 0.9])
    even = median_pgr([0.2, 0.4])
    empty = median_pgr([None])

    assert (odd.median, odd.tasks_used, odd.tasks_left_out) == (0.5, 3, 1)
    assert even.median == pytest.approx(0.3)
    assert (empty.median, empty.tasks_used, empty.tasks_left_out) == (None, 0, 1)


def test_gap_noise_by_hand() -> None:
    # sqrt(0.7·0.3/1000 + 0.8·0.2/1000) = sqrt(0.00037) = 0.019235
    assert gap_standard_error(0.7, 0.8, 1000) == pytest.approx(0.019235, abs=1e-6)
    # gap 0.10 > 2 · 0.0192
    assert not gap_within_noise(0.7, 0.8, 1000)
    # gap 0.03 ≤ 2 · sqrt(0.21/1000 + 0.1971/1000) = 0.0404
    assert gap_within_noise(0.7, 0.73, 1000)
    # a ceiling below weak is never a real gap
    assert gap_within_noise(0.8, 0.7, 100_000)
