"""Leaderboards built only from stored cell records (and failure records).

Cells that differ only in seed form one leaderboard row. Each row carries
every seed's record, from which :mod:`w2s_bench.stats` computes means,
standard deviations, bootstrap confidence intervals and PGR per seed.
:func:`write_report` writes the markdown pages with their plots, and CSV or
JSON for machine use.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from w2s_bench.grid.failures import FAILURES_PHASE
from w2s_bench.stats import MedianPGR, PGRSummary, Summary, aggregate_pgr, gap_within_noise, median_pgr, summarize
from w2s_bench.store import Record, RunStore, atomic_write_bytes

logger = logging.getLogger(__name__)

FORMATS = ("markdown", "csv", "json")
#: Cell config fields that name the row. Any other field (one that a plugin
#: adds to cells) is shown in the method label, so distinct cells never merge.
ROW_FIELDS = ("task", "method", "method_options", "weak", "strong", "seed", "mode", "max_train", "max_test", "train")
UNKNOWN_KIND = "other"


@dataclass
class SeedResult:
    """One finished cell: a seed of a leaderboard row."""

    seed: int
    weak_accuracy: float
    ceiling_accuracy: float
    student_accuracy: float
    agreement: float | None
    num_train: int
    num_test: int
    folder: Path
    date: str
    versions: dict[str, str]
    metrics: dict[str, Any]


@dataclass
class FailedSeed:
    """A failed cell that has no finished record."""

    seed: int
    error: str
    folder: Path
    date: str


@dataclass
class LeaderboardRow:
    """Cells that differ only in seed: one method on one task, model pair, mode and data size."""

    task: str
    kind: str
    method: str
    weak: str
    strong: str
    mode: str
    max_train: int | None
    max_test: int | None
    train: dict[str, Any]
    results: list[SeedResult] = field(default_factory=list)
    failures: list[FailedSeed] = field(default_factory=list)

    # --- per-seed values ---------------------------------------------------

    @property
    def seeds(self) -> list[int]:
        return [result.seed for result in self.results]

    @property
    def weak_accuracy(self) -> list[float]:
        return [result.weak_accuracy for result in self.results]

    @property
    def ceiling_accuracy(self) -> list[float]:
        return [result.ceiling_accuracy for result in self.results]

    @property
    def student_accuracy(self) -> list[float]:
        return [result.student_accuracy for result in self.results]

    @property
    def date(self) -> str:
        return max([result.date for result in self.results] + [failure.date for failure in self.failures], default="")

    @property
    def setting(self) -> tuple[str, str, str]:
        """What the overview compares methods within: the model pair and the mode."""
        return self.weak, self.strong, self.mode

    @property
    def status(self) -> str:
        if not self.failures:
            return "ok"
        return "failed" if not self.results else "partly failed"

    # --- statistics --------------------------------------------------------

    @cached_property
    def weak_summary(self) -> Summary | None:
        return summarize(self.weak_accuracy)

    @cached_property
    def ceiling_summary(self) -> Summary | None:
        return summarize(self.ceiling_accuracy)

    @cached_property
    def student_summary(self) -> Summary | None:
        return summarize(self.student_accuracy)

    @cached_property
    def pgr(self) -> PGRSummary:
        return aggregate_pgr(self.seeds, self.weak_accuracy, self.ceiling_accuracy, self.student_accuracy)

    @property
    def pgr_mean(self) -> float | None:
        return self.pgr.summary.mean if self.pgr.summary else None

    @property
    def gap_within_noise(self) -> bool | None:
        """Whether the mean ceiling − weak gap is within noise of the test set; None without results."""
        if not self.results:
            return None
        num_test = min(result.num_test for result in self.results)
        return gap_within_noise(self.weak_summary.mean, self.ceiling_summary.mean, num_test)


# --- collecting ----------------------------------------------------------


def method_label(method: str, options: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
    settings = {**options, **(extra or {})}
    if not settings:
        return method
    return method + "(" + ", ".join(f"{key}={value}" for key, value in sorted(settings.items())) + ")"


def record_date(record: Record) -> str:
    modified = datetime.fromtimestamp((record.folder / "record.json").stat().st_mtime, tz=timezone.utc)
    return modified.strftime("%Y-%m-%d")


def row_key(config: dict[str, Any]) -> str:
    """Everything in a cell config but the seed, in canonical form."""
    return json.dumps({key: value for key, value in config.items() if key != "seed"}, sort_keys=True, default=str)


def task_kinds(tasks: Iterable[str], registry: Any = None) -> dict[str, str]:
    """Look up the registered kind of each task ("nlp", "chess", ...); ``other`` when unregistered."""
    if registry is None:
        from w2s_bench.registry import default_registry

        registry = default_registry()
    kinds = {}
    for task in tasks:
        registered = registry.provider("task", task)
        kinds[task] = getattr(registered.spec, "kind", UNKNOWN_KIND) if registered else UNKNOWN_KIND
    return kinds


def new_row(config: dict[str, Any]) -> LeaderboardRow:
    extra = {key: value for key, value in config.items() if key not in ROW_FIELDS and value is not None}
    return LeaderboardRow(
        task=config["task"], kind=UNKNOWN_KIND,
        method=method_label(config["method"], config.get("method_options") or {}, extra),
        weak=config["weak"], strong=config["strong"], mode=config["mode"],
        max_train=config.get("max_train"), max_test=config.get("max_test"), train=config.get("train") or {},
    )


def collect_all_rows(store: RunStore, registry: Any = None) -> list[LeaderboardRow]:
    """Collect every leaderboard row of the store: finished cells, and failures without a finished record."""
    rows: dict[str, LeaderboardRow] = {}

    for record in store.records("cells"):
        config, metrics = record.data["config"], record.metrics
        row = rows.setdefault(row_key(config), new_row(config))
        if config["seed"] in row.seeds:
            continue
        row.results.append(SeedResult(
            seed=config["seed"], weak_accuracy=metrics["weak_accuracy"], ceiling_accuracy=metrics["ceiling_accuracy"],
            student_accuracy=metrics["student_accuracy"], agreement=metrics.get("student_weak_agreement"),
            num_train=metrics.get("num_train", 0), num_test=metrics.get("num_test", 0), folder=record.folder,
            date=record_date(record), versions=record.data.get("versions", {}), metrics=metrics,
        ))

    for record in store.records(FAILURES_PHASE):
        config = record.data["config"]
        row = rows.setdefault(row_key(config), new_row(config))
        if config["seed"] in row.seeds or config["seed"] in [failure.seed for failure in row.failures]:
            continue
        row.failures.append(FailedSeed(config["seed"], record.data.get("error", "failed"), record.folder, record_date(record)))

    kinds = task_kinds({row.task for row in rows.values()}, registry)
    for row in rows.values():
        row.kind = kinds[row.task]
        row.results.sort(key=lambda result: result.seed)
        row.failures.sort(key=lambda failure: failure.seed)
    return sorted(rows.values(), key=row_order)


def row_order(row: LeaderboardRow) -> tuple:
    """Task, then model pair and mode, then best PGR first (undefined and failed last)."""
    pgr_value = row.pgr_mean
    return (row.task, row.setting, pgr_value is None, -(pgr_value or 0.0), row.method, str(row.max_train), str(row.max_test))


def collect_rows(store: RunStore, registry: Any = None) -> dict[str, list[LeaderboardRow]]:
    """Rows grouped by task."""
    by_task: dict[str, list[LeaderboardRow]] = defaultdict(list)
    for row in collect_all_rows(store, registry):
        by_task[row.task].append(row)
    return dict(by_task)


# --- the overview --------------------------------------------------------


@dataclass(frozen=True)
class OverviewEntry:
    """Median PGR of one method over the tasks of one kind, in one setting."""

    setting: tuple[str, str, str]
    method: str
    kind: str
    median: MedianPGR
    #: The task rows the median was taken over, one per task.
    rows: tuple[LeaderboardRow, ...]


def overview(rows: list[LeaderboardRow]) -> list[OverviewEntry]:
    """Median PGR across tasks per method, task kind and setting; kind ``all`` pools every kind.

    A task with several rows for one method and setting (different data sizes
    or optimiser settings) contributes the row with the most seeds. A task
    whose PGR is undefined, or whose ceiling − weak gap is within noise, is
    left out of the median and counted.
    """
    chosen: dict[tuple, LeaderboardRow] = {}
    for row in rows:
        key = (row.setting, row.method, row.task)
        current = chosen.get(key)
        if current is None or (len(row.results), row.max_train or 0) > (len(current.results), current.max_train or 0):
            chosen[key] = row

    grouped: dict[tuple, list[LeaderboardRow]] = defaultdict(list)
    for (setting, method, _task), row in chosen.items():
        grouped[(setting, method, row.kind)].append(row)
        grouped[(setting, method, "all")].append(row)

    entries = []
    for (setting, method, kind), group in sorted(grouped.items()):
        finished = [row for row in group if row.results]
        median = median_pgr([None if row.gap_within_noise else row.pgr_mean for row in finished])
        entries.append(OverviewEntry(setting, method, kind, median, tuple(group)))
    return entries


def setting_order(entries: list[OverviewEntry]) -> list[tuple[str, str, str]]:
    """Settings with the most tasks in their medians first, then by name."""
    used: dict[tuple, int] = defaultdict(int)
    for entry in entries:
        if entry.kind == "all":
            used[entry.setting] = max(used[entry.setting], entry.median.tasks_used)
    return sorted({entry.setting for entry in entries}, key=lambda setting: (-used[setting], setting))


# --- writing -------------------------------------------------------------


def relative_link(target: Path, out_dir: Path) -> str:
    """Return a link from a page in ``out_dir`` to ``target``, with forward slashes."""
    return Path(os.path.relpath(target.resolve(), out_dir.resolve())).as_posix()


def write_report(
    store: RunStore,
    out_dir: Path,
    formats: Iterable[str] = ("markdown",),
    plots: bool = True,
    registry: Any = None,
) -> list[Path]:
    """Write the leaderboards in each format; return every written path.

    ``markdown`` writes ``README.md`` (the overview), one page per task and,
    with ``plots``, the PNG figures they link; ``csv`` and ``json`` write
    ``leaderboard.csv`` and ``leaderboard.json``.
    """
    from w2s_bench.report_export import to_csv, to_json
    from w2s_bench.report_markdown import write_markdown

    formats = list(dict.fromkeys(formats))
    for name in formats:
        if name not in FORMATS:
            raise ValueError(f"format {name!r} is invalid; expected one of {', '.join(FORMATS)}")

    rows = collect_all_rows(store, registry)
    if not rows:
        return []

    written: list[Path] = []
    if "markdown" in formats:
        written.extend(write_markdown(rows, store, out_dir, plots))
    if "csv" in formats:
        path = out_dir / "leaderboard.csv"
        atomic_write_bytes(path, to_csv(rows, store).encode("utf-8"))
        written.append(path)
    if "json" in formats:
        path = out_dir / "leaderboard.json"
        atomic_write_bytes(path, to_json(rows, store).encode("utf-8"))
        written.append(path)
    return written


def write_leaderboards(store: RunStore, out_dir: Path, registry: Any = None) -> list[Path]:
    """Write ``<out_dir>/<task>.md`` for every task with results, without plots; return those pages."""
    from w2s_bench.report_markdown import task_page_name, write_task_pages

    rows = collect_all_rows(store, registry)
    write_task_pages(rows, store, out_dir, plot_files={})
    return [out_dir / task_page_name(task) for task in dict.fromkeys(row.task for row in rows)]
