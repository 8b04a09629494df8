"""Whether a task's gap between weak model and ceiling is beyond noise, from stored cells.

For each stored cell of a task the weak and ceiling test predictions are read
back and compared example by example. The gap's standard error is that of
the mean of per-example differences (ceiling correct minus weak correct) on
the shared test set, so it accounts for the two models being tested on the
same pairs.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

import torch

from w2s_bench.data import labels_of
from w2s_bench.metrics import pgr
from w2s_bench.pipeline import PREDICTIONS_FILE
from w2s_bench.registry import Registry
from w2s_bench.report import method_label
from w2s_bench.store import RunStore

#: z value of a two-sided 95 % interval.
Z_95 = 1.959964


@dataclass(frozen=True)
class SeedGap:
    """Test results of one seed of a cell, with the paired standard error of the gap."""

    seed: int
    num_test: int
    weak: float
    ceiling: float
    student: float
    gap: float
    gap_standard_error: float

    @property
    def pgr(self) -> float | None:
        return pgr(self.weak, self.ceiling, self.student)

    @property
    def gap_in_standard_errors(self) -> float:
        if self.gap_standard_error == 0:
            return math.inf if self.gap > 0 else 0.0
        return self.gap / self.gap_standard_error


@dataclass(frozen=True)
class CellGroup:
    """The seeds of one task × method × model pair × mode."""

    method: str
    weak_model: str
    strong_model: str
    mode: str
    seeds: list[SeedGap]


def paired_gap(weak_correct: torch.Tensor, ceiling_correct: torch.Tensor) -> tuple[float, float]:
    """Return the accuracy gap and its standard error from per-example correctness."""
    differences = ceiling_correct.double() - weak_correct.double()
    count = differences.numel()
    if count < 2:
        return float(differences.mean()), math.nan
    return float(differences.mean()), float(differences.std(unbiased=True)) / math.sqrt(count)


def wilson_interval(accuracy: float, count: int, z: float = Z_95) -> tuple[float, float]:
    """Return the Wilson score interval of an accuracy measured on ``count`` examples."""
    if count == 0:
        return math.nan, math.nan
    denominator = 1 + z * z / count
    centre = (accuracy + z * z / (2 * count)) / denominator
    half_width = z * math.sqrt(accuracy * (1 - accuracy) / count + z * z / (4 * count * count)) / denominator
    return centre - half_width, centre + half_width


def mean_and_spread(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def collect_gaps(store: RunStore, registry: Registry, task: str) -> list[CellGroup]:
    """Read every stored cell of ``task`` and compute its per-seed gap statistics."""
    groups: dict[tuple, dict[int, SeedGap]] = defaultdict(dict)
    labels_cache: dict[tuple, torch.Tensor] = {}

    for record in store.records("cells"):
        config = record.data["config"]
        if config["task"] != task:
            continue

        # test labels of the cell's slice of the task
        limits = (config.get("max_train"), config.get("max_test"))
        if limits not in labels_cache:
            data = registry.task(task).create().load().sliced(*limits)
            labels_cache[limits] = torch.from_numpy(labels_of(data.test))
        labels = labels_cache[limits]

        # per-example correctness of the weak model and the ceiling
        phases = record.data["phases"]
        weak = store.load("weak", phases["weak"])
        ceiling = store.load("ceiling", phases["ceiling"])
        if weak is None or ceiling is None:
            continue
        weak_correct = weak.tensors(PREDICTIONS_FILE)["test"].argmax(dim=-1) == labels
        ceiling_correct = ceiling.tensors(PREDICTIONS_FILE)["test"].argmax(dim=-1) == labels
        gap, standard_error = paired_gap(weak_correct, ceiling_correct)

        metrics = record.metrics
        key = (method_label(config["method"], config.get("method_options", {})), config["weak"], config["strong"],
               config["mode"], limits, str(config.get("train")))
        groups[key][config["seed"]] = SeedGap(
            config["seed"], int(labels.numel()), metrics["weak_accuracy"], metrics["ceiling_accuracy"],
            metrics["student_accuracy"], gap, standard_error,
        )

    return [
        CellGroup(key[0], key[1], key[2], key[3], [seeds[seed] for seed in sorted(seeds)])
        for key, seeds in sorted(groups.items())
    ]
