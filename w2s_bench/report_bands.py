"""Task-page sections read straight from cell records: accuracy per difficulty
band (for tasks whose examples carry a band), chance accuracy and the plugin
behind each model."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from tabulate import tabulate

from w2s_bench.store import RunStore

PHASES = ("weak", "ceiling", "student")


def model_plugins(plugins: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """Return the plugin behind the weak and the strong model of a cell record, by model name."""
    found = {}
    for part in ("weak", "strong"):
        entry = plugins.get(part)
        plugin = entry.get("plugin") if isinstance(entry, dict) else None
        found[config[part]] = plugin or "resolved at run time"
    return found


def band_rows(records: list) -> list[list[str]]:
    """Rows of mean test accuracy per band over seeds, one per setting and band."""
    grouped: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        config = record.data["config"]
        bands = record.metrics.get("accuracy_by_band")
        if bands:
            grouped[(config["method"], config["weak"], config["strong"], config["mode"])].append(bands)

    rows = []
    for (method, weak, strong, mode), seeds in sorted(grouped.items()):
        for band in sorted({band for seed in seeds for band in seed["weak"]}):
            values = []
            for phase in PHASES:
                accuracies = [seed[phase][band]["accuracy"] for seed in seeds if band in seed.get(phase, {})]
                values.append(f"{statistics.fmean(accuracies):.3f}" if accuracies else "—")
            count = seeds[0]["weak"].get(band, {}).get("count", 0)
            rows.append([method, f"{weak} → {strong}", mode, band, str(count), *values])
    return rows


def render_band_sections(store: RunStore, task: str) -> str:
    """Markdown for the band table and the model families of one task ("" if neither applies)."""
    records = [record for record in store.records("cells") if record.data["config"]["task"] == task]
    lines: list[str] = []

    rows = band_rows(records)
    if rows:
        headers = ["method", "weak → strong", "mode", "band", "test rows", "weak acc ↑", "ceiling acc ↑", "student acc ↑"]
        lines += ["", "## Accuracy by difficulty band", "", tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)]

    chances = sorted({round(record.metrics["chance_accuracy"], 3) for record in records if "chance_accuracy" in record.metrics})
    if chances:
        chance_range = " to ".join(f"{value:.3f}" for value in (chances[0], chances[-1])) if len(chances) > 1 else f"{chances[0]:.3f}"
        lines += ["", f"Chance accuracy (a uniformly random candidate, e.g. a random legal move): {chance_range}"]

    families: dict[str, str] = {}
    for record in records:
        families.update(model_plugins(record.data.get("plugins", {}), record.data["config"]))
    if families:
        listing = "; ".join(f"{name}: {plugin}" for name, plugin in sorted(families.items()))
        lines += ["", f"Models by family (providing plugin): {listing}"]
    return "\n".join(lines) + "\n" if lines else ""
