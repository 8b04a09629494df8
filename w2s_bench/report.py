"""Leaderboards built only from stored cell records."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tabulate import tabulate

from w2s_bench.metrics import format_pgr, pgr
from w2s_bench.store import RunStore, atomic_write_bytes


@dataclass
class LeaderboardRow:
    method: str
    weak: str
    strong: str
    mode: str
    seeds: list[int]
    weak_accuracy: list[float]
    ceiling_accuracy: list[float]
    student_accuracy: list[float]
    date: str
    #: Per seed: phase -> band -> {"accuracy", "count"}, for tasks with difficulty bands.
    band_accuracy: list[dict[str, Any]] = field(default_factory=list)
    #: Plugin that provided each model, e.g. {"chess-tiny": "chess-models"}.
    model_plugins: dict[str, str] = field(default_factory=dict)


def method_label(method: str, options: dict[str, Any]) -> str:
    if not options:
        return method
    return method + "(" + ", ".join(f"{key}={value}" for key, value in sorted(options.items())) + ")"


def mean_std(values: list[float]) -> str:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {statistics.stdev(values):.3f}"


def collect_rows(store: RunStore) -> dict[str, list[LeaderboardRow]]:
    """Group cell records by task, then by method × model pair × mode (seeds pooled)."""
    grouped: dict[tuple, LeaderboardRow] = {}
    for record in store.records("cells"):
        config, metrics = record.data["config"], record.metrics
        group = (
            config["task"], method_label(config["method"], config.get("method_options", {})),
            config["weak"], config["strong"], config["mode"],
            config.get("max_train"), config.get("max_test"), str(config.get("train")),
        )
        row = grouped.setdefault(group, LeaderboardRow(group[1], config["weak"], config["strong"], config["mode"], [], [], [], [], ""))
        if config["seed"] in row.seeds:
            continue
        row.seeds.append(config["seed"])
        row.weak_accuracy.append(metrics["weak_accuracy"])
        row.ceiling_accuracy.append(metrics["ceiling_accuracy"])
        row.student_accuracy.append(metrics["student_accuracy"])
        if "accuracy_by_band" in metrics:
            row.band_accuracy.append(metrics["accuracy_by_band"])
        row.model_plugins.update(model_plugins(record.data.get("plugins", {}), config))
        modified = datetime.fromtimestamp((record.folder / "record.json").stat().st_mtime, tz=timezone.utc)
        row.date = max(row.date, modified.strftime("%Y-%m-%d"))

    by_task: dict[str, list[LeaderboardRow]] = defaultdict(list)
    for group, row in grouped.items():
        by_task[group[0]].append(row)
    return dict(by_task)


def model_plugins(plugins: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """The plugin behind the weak and the strong model of a cell record, by model name."""
    found = {}
    for part in ("weak", "strong"):
        entry = plugins.get(part)
        plugin = entry.get("plugin") if isinstance(entry, dict) else str(entry).split(" (")[0] if entry else None
        found[config[part]] = plugin or "resolved at run time"
    return found


def band_lines(rows: list[LeaderboardRow]) -> list[str]:
    """A table of test accuracy per difficulty band, mean over seeds, for rows that have bands."""
    table = []
    for row in rows:
        if not row.band_accuracy:
            continue
        bands = sorted({band for seed in row.band_accuracy for band in seed["weak"]})
        for band in bands:
            values = {}
            for phase in ("weak", "ceiling", "student"):
                seeds = [seed[phase][band]["accuracy"] for seed in row.band_accuracy if band in seed[phase]]
                values[phase] = f"{statistics.fmean(seeds):.3f}"
            count = row.band_accuracy[0]["weak"].get(band, {}).get("count", 0)
            table.append([row.method, f"{row.weak} → {row.strong}", row.mode, band, str(count), values["weak"], values["ceiling"], values["student"]])
    if not table:
        return []
    headers = ["method", "weak → strong", "mode", "band", "test rows", "weak acc ↑", "ceiling acc ↑", "student acc ↑"]
    return ["## Accuracy by difficulty band", "", tabulate(table, headers=headers, tablefmt="github", disable_numparse=True), ""]


def family_lines(rows: list[LeaderboardRow]) -> list[str]:
    """One line per model with the plugin (model family) that provided it."""
    plugins: dict[str, str] = {}
    for row in rows:
        plugins.update(row.model_plugins)
    if not plugins:
        return []
    return ["Models by family (providing plugin): " + "; ".join(f"{name}: {plugin}" for name, plugin in sorted(plugins.items())), ""]


def render(task: str, rows: list[LeaderboardRow]) -> str:
    """Markdown for one task's leaderboard, best PGR first."""

    def row_pgr(row: LeaderboardRow) -> float | None:
        return pgr(statistics.fmean(row.weak_accuracy), statistics.fmean(row.ceiling_accuracy), statistics.fmean(row.student_accuracy))

    ordered = sorted(rows, key=lambda row: (row_pgr(row) is None, -(row_pgr(row) or 0.0)))
    table = [
        [
            row.method, f"{row.weak} → {row.strong}", row.mode,
            mean_std(row.weak_accuracy), mean_std(row.ceiling_accuracy), mean_std(row.student_accuracy),
            format_pgr(row_pgr(row)), ",".join(str(seed) for seed in sorted(row.seeds)), row.date,
        ]
        for row in ordered
    ]
    headers = ["method", "weak → strong", "mode", "weak acc ↑", "ceiling acc ↑", "student acc ↑", "PGR ↑", "seeds", "date"]
    lines = [
        f"# Leaderboard: {task}",
        "",
        "Test accuracy as mean ± standard deviation over seeds. PGR = (student − weak) / (ceiling − weak),",
        "computed from the mean accuracies; it is undefined when the ceiling is not above the weak model.",
        "Generated by `w2s-bench report` from the run store; do not edit by hand.",
        "",
        tabulate(table, headers=headers, tablefmt="github", disable_numparse=True),
        "",
    ]
    lines += family_lines(ordered) + band_lines(ordered)
    return "\n".join(lines)


def write_leaderboards(store: RunStore, out_dir: Path) -> list[Path]:
    """Write ``<out_dir>/<task>.md`` for every task with results; return the paths."""
    written = []
    for task, rows in sorted(collect_rows(store).items()):
        path = out_dir / f"{task}.md"
        atomic_write_bytes(path, render(task, rows).encode("utf-8"))
        written.append(path)
    return written
