"""Feature cache: in probe mode the first method on a task computes the frozen
features of both models. Later methods read them, and the shared weak and
ceiling phases, from the run store."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.support.figures import Context, Figure
from benchmarks.support.timing import wall_time

ORDER = 40

#: The methods run in turn on one task; all but the first find the features cached.
METHODS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("naive", {}),
    ("aux_conf", {}),
    ("aux_conf", {"alpha_max": 0.75}),
)


def probe_cell(context: Context, method: str, options: dict[str, Any], max_train: int) -> Any:
    from w2s_bench.pipeline import CellConfig

    settings = context.settings
    return CellConfig(settings.task, method, settings.weak_model, settings.model, seed=0, mode="probe",
                      method_options=options, max_train=max_train, max_test=max(2, max_train // 4), device="cpu")


def new_pipeline(context: Context, folder: str) -> Any:
    from w2s_bench.pipeline import Pipeline
    from w2s_bench.registry import default_registry
    from w2s_bench.store import RunStore

    return Pipeline(default_registry(), RunStore(context.workdir / folder))


def measure(context: Context) -> list[Figure]:
    settings = context.settings
    pipeline = new_pipeline(context, "cache-store")
    seconds = []
    for method, options in METHODS:
        cell = probe_cell(context, method, options, settings.cache_train)
        seconds.append(wall_time(lambda: pipeline.run(cell)))

    later = statistics.median(seconds[1:])
    ratio = seconds[0] / later
    labels = [f"{method}{' ' + str(options) if options else ''}" for method, options in METHODS]
    return [Figure(
        "4", "Feature cache", "first method / later methods on a task, probe mode",
        ratio, target=">= 20", met=ratio >= 20,
        details={
            "models": f"{settings.weak_model} -> {settings.model}",
            "examples": f"{settings.cache_train} train, {max(2, settings.cache_train // 4)} test",
            **{f"{label} (s)": f"{value:.3f}" for label, value in zip(labels, seconds)},
            "note": "one run each: a later method is only 'later' once",
        },
    )]
