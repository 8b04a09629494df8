"""Statistics over seeds: mean, standard deviation, bootstrap confidence
intervals, PGR per seed and its aggregates.

Confidence intervals are percentile bootstrap intervals of the mean. For up to
:data:`EXACT_BOOTSTRAP_MAX_N` values the bootstrap distribution is enumerated
exactly (every multiset of resampled indices, weighted by its multinomial
probability), so the interval is a deterministic function of the sample and
can be checked by hand. Larger samples use Monte Carlo resampling with a fixed
seed, so reports stay reproducible.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from w2s_bench.metrics import pgr
from w2s_bench.significance import NOISE_STANDARD_ERRORS, gap_standard_error, gap_within_noise  # noqa: F401

CONFIDENCE = 0.95
#: Largest sample whose bootstrap distribution is enumerated exactly; n = 8
#: has C(15, 8) = 6,435 distinct resamples.
EXACT_BOOTSTRAP_MAX_N = 8
MONTE_CARLO_RESAMPLES = 20_000
MONTE_CARLO_SEED = 0


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (n − 1) and bootstrap CI of some values."""

    n: int
    mean: float
    #: None for a single value.
    std: float | None
    #: None for a single value, where the bootstrap has nothing to resample.
    ci_low: float | None
    ci_high: float | None


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary | None:
    """Return the summary of ``values``, or None when there are none."""
    if not values:
        return None

    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    interval = bootstrap_ci(values, confidence)
    low, high = interval if interval is not None else (None, None)
    return Summary(len(values), mean, std, low, high)


def bootstrap_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Return the percentile bootstrap interval of the mean, or None for fewer than 2 values.

    The bounds are the (1 − confidence)/2 and (1 + confidence)/2 quantiles of
    the bootstrap distribution of the mean, each the smallest resampled mean
    whose cumulative probability reaches the quantile (the inverted-CDF
    definition, numpy's ``method="inverted_cdf"``).
    """
    if len(values) < 2:
        return None
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} is invalid; expected a value in (0, 1)")

    if len(values) <= EXACT_BOOTSTRAP_MAX_N:
        means, weights = exact_bootstrap_means(values)
    else:
        means, weights = monte_carlo_bootstrap_means(values)

    tail = (1.0 - confidence) / 2.0
    return weighted_quantile(means, weights, tail), weighted_quantile(means, weights, 1.0 - tail)


def exact_bootstrap_means(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Enumerate every distinct resample: its mean and its probability under resampling with replacement."""
    n = len(values)
    means, weights = [], []

    for resample in itertools.combinations_with_replacement(range(n), n):
        counts = Counter(resample).values()
        arrangements = math.factorial(n) // math.prod(math.factorial(count) for count in counts)
        means.append(math.fsum(values[index] for index in resample) / n)
        weights.append(arrangements / n**n)
    return np.array(means), np.array(weights)


def monte_carlo_bootstrap_means(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    sample = np.asarray(values, dtype=np.float64)
    generator = np.random.default_rng(MONTE_CARLO_SEED)
    indices = generator.integers(0, len(sample), size=(MONTE_CARLO_RESAMPLES, len(sample)))
    means = sample[indices].mean(axis=1)
    return means, np.full(MONTE_CARLO_RESAMPLES, 1.0 / MONTE_CARLO_RESAMPLES)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, quantile: float) -> float:
    """Return the smallest value whose cumulative weight reaches ``quantile``."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    # 1e-12 absorbs rounding in the running sum, so a quantile that equals a
    # cumulative weight exactly selects that value, not the next one
    position = int(np.searchsorted(cumulative, quantile - 1e-12, side="left"))
    return float(values[order][min(position, len(values) - 1)])


# --- PGR -----------------------------------------------------------------


@dataclass(frozen=True)
class PGRSummary:
    """PGR of every seed and their aggregate.

    Seeds whose ceiling is not above their weak model have no PGR; they are
    listed in ``left_out`` and excluded from ``summary``.
    """

    per_seed: dict[int, float | None]
    #: Mean, std and CI over the seeds with a defined PGR; None if there are none.
    summary: Summary | None
    left_out: tuple[int, ...]
    #: PGR of the seed-mean accuracies, for comparison with reports that use it.
    of_means: float | None


def aggregate_pgr(
    seeds: Sequence[int],
    weak: Sequence[float],
    ceiling: Sequence[float],
    student: Sequence[float],
    confidence: float = CONFIDENCE,
) -> PGRSummary:
    """Compute PGR per seed, then summarize the defined ones."""
    if not len(seeds) == len(weak) == len(ceiling) == len(student):
        raise ValueError("seeds and accuracies must have the same length")

    per_seed = {seed: pgr(w, c, s) for seed, w, c, s in zip(seeds, weak, ceiling, student)}
    defined = [value for value in per_seed.values() if value is not None]
    left_out = tuple(seed for seed, value in per_seed.items() if value is None)

    of_means = None
    if seeds:
        of_means = pgr(statistics.fmean(weak), statistics.fmean(ceiling), statistics.fmean(student))
    return PGRSummary(per_seed, summarize(defined, confidence), left_out, of_means)


@dataclass(frozen=True)
class MedianPGR:
    """Median PGR over tasks; tasks without a defined PGR are counted, not used."""

    median: float | None
    tasks_used: int
    tasks_left_out: int


def median_pgr(task_pgrs: Sequence[float | None]) -> MedianPGR:
    defined = [value for value in task_pgrs if value is not None]
    median = statistics.median(defined) if defined else None
    return MedianPGR(median, len(defined), len(task_pgrs) - len(defined))


# --- noise in the ceiling − weak gap -------------------------------------
# Defined in w2s_bench.significance and re-exported here for the report.
