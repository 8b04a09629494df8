"""Side-by-side wall-time measurement."""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Comparison:
    """Wall times of two workloads, run alternately after one untimed warm-up each."""

    first: list[float]
    second: list[float]

    @property
    def ratio(self) -> float:
        """Median of the first over median of the second."""
        return statistics.median(self.first) / statistics.median(self.second)

    def as_details(self, first_label: str, second_label: str) -> dict[str, str]:
        return {
            f"{first_label} (s)": ", ".join(f"{value:.3f}" for value in self.first),
            f"{second_label} (s)": ", ".join(f"{value:.3f}" for value in self.second),
        }


def wall_time(work: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def compare(first: Callable[[], object], second: Callable[[], object], repeats: int, warmup: bool = True) -> Comparison:
    """Time ``first`` and ``second`` alternately ``repeats`` times each.

    Alternating (and swapping which goes first every round) spreads slow
    spells of a shared machine over both sides.
    """
    if warmup:
        first()
        second()

    first_times: list[float] = []
    second_times: list[float] = []
    for round_index in range(repeats):
        if round_index % 2 == 0:
            first_times.append(wall_time(first))
            second_times.append(wall_time(second))
        else:
            second_times.append(wall_time(second))
            first_times.append(wall_time(first))
    return Comparison(first_times, second_times)
