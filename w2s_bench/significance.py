"""Is the ceiling-weak gap larger than the noise of the test accuracies?

PGR divides by the gap between the ceiling and the weak model. When that gap
is within the sampling noise of the test set, PGR is a ratio of noise and
means nothing, so leaderboards mark such cells instead of printing a number.
"""

from __future__ import annotations

import math

#: Standard errors the gap must exceed to count as real.
NOISE_STANDARD_ERRORS = 2.0


def gap_standard_error(weak_accuracy: float, ceiling_accuracy: float, num_test: int) -> float:
    """Standard error of ``ceiling - weak``, treating the two accuracies as independent.

    Each accuracy on ``num_test`` examples has a binomial standard error
    sqrt(p (1 - p) / n); the two variances add. Both models are scored on the
    same test set, so their errors correlate and this estimate errs on the
    wide side.
    """
    if num_test <= 0:
        return math.inf
    variance = sum(p * (1 - p) for p in (weak_accuracy, ceiling_accuracy)) / num_test
    return math.sqrt(variance)


def gap_within_noise(weak_accuracy: float, ceiling_accuracy: float, num_test: int) -> bool:
    """True when the ceiling does not beat the weak model by more than two standard errors."""
    gap = ceiling_accuracy - weak_accuracy
    return gap <= NOISE_STANDARD_ERRORS * gap_standard_error(weak_accuracy, ceiling_accuracy, num_test)
