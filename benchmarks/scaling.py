"""Scaling: wall time of one probe-mode cell, from an empty run store, at 1x,
2x and 4x the data."""

from __future__ import annotations

from benchmarks.cache import new_pipeline, probe_cell
from benchmarks.support.figures import Context, Figure
from benchmarks.support.timing import wall_time

ORDER = 70
FACTORS = (1, 2, 4)


def measure(context: Context) -> list[Figure]:
    settings = context.settings
    seconds = {}
    for factor in FACTORS:
        # a fresh store per size, so each run computes its features
        pipeline = new_pipeline(context, f"scaling-{factor}x")
        cell = probe_cell(context, "naive", {}, settings.scaling_train * factor)
        seconds[factor] = wall_time(lambda: pipeline.run(cell))

    base = seconds[FACTORS[0]]
    details = {
        "models": f"{settings.weak_model} -> {settings.model}, method naive",
        **{f"{factor}x: {settings.scaling_train * factor} train, {max(2, settings.scaling_train * factor // 4)} test (s)": f"{value:.2f}"
           for factor, value in seconds.items()},
    }
    return [
        Figure("7", "Scaling", f"probe cell wall time at {factor}x / at 1x the data", seconds[factor] / base,
               target=f"{factor} if linear", details=details if factor == FACTORS[-1] else {})
        for factor in FACTORS[1:]
    ]
