"""Side-by-side wall-time measurement."""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Timings:
    """Wall times (seconds) of named workloads, run in rotation."""

    seconds: dict[str, list[float]]

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def ratio(self, numerator: str, denominator: str) -> float:
        """Median time of ``numerator`` over median time of ``denominator``."""
        return self.median(numerator) / self.median(denominator)

    def details(self, *names: str) -> dict[str, str]:
        return {f"{name} (s)": ", ".join(f"{value:.3f}" for value in self.seconds[name]) for name in names or self.seconds}


def wall_time(work: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure_alternately(workloads: dict[str, Callable[[], object]], repeats: int, warmup: bool = True) -> Timings:
    """Time each workload ``repeats`` times, one of each per round, after one untimed warm-up each.

    The order rotates every round, so slow spells of a shared machine fall
    on every workload rather than on whichever runs at a fixed position.
    """
    names = list(workloads)
    if warmup:
        for name in names:
            workloads[name]()

    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(wall_time(workloads[name]))
    return Timings(seconds)
