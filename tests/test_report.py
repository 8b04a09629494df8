"""Leaderboards from stored records: statistics as rendered, overview, failures, formats, plots.

The records here are written through the run store with accuracies chosen so
every reported number can be computed by hand.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from grid_support import run_cli
from w2s_bench.grid.failures import record_failure
from w2s_bench.hookspecs import hookimpl
from w2s_bench.pipeline import CellConfig, cell_record_config
from w2s_bench.registry import Registry
from w2s_bench.report import collect_rows, overview, write_leaderboards, write_report
from w2s_bench.specs import TaskSpec
from w2s_bench.store import RunStore, content_key


class KindsPlugin:
    """Two NLP tasks and a chess task, registered inline so the report can look up their kinds."""

    @hookimpl
    def w2s_bench_register_tasks(self) -> list[TaskSpec]:
        return [
            TaskSpec("sentiment", "unused:factory", kind="nlp"),
            TaskSpec("sarcasm", "unused:factory", kind="nlp"),
            TaskSpec("mate", "unused:factory", kind="chess"),
        ]


@pytest.fixture
def registry() -> Registry:
    registry = Registry(autoload=False)
    registry.register(KindsPlugin(), "kinds")
    return registry


def store_cell(store: RunStore, task: str, method: str, seed: int, weak: float, ceiling: float, student: float,
               num_test: int = 1000, **metrics) -> None:
    cell = CellConfig(task, method, "small", "big", seed, max_train=400, max_test=num_test)
    config = cell_record_config(cell)
    all_metrics = {
        "weak_accuracy": weak, "ceiling_accuracy": ceiling, "student_accuracy": student,
        "student_weak_agreement": 0.9, "num_train": 400, "num_test": num_test, **metrics,
    }
    extra = {"phases": {}, "versions": {"w2s_bench": "0.1.0", "torch": "2.13.0"}}
    store.save("cells", content_key({**config, "phases": {}}), config, all_metrics, extra=extra)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    store = RunStore(tmp_path / "runs")
    # sentiment/naive: PGR per seed 0.5, 0.8 → mean 0.65, CI [0.5, 0.8]
    store_cell(store, "sentiment", "naive", 0, 0.60, 0.80, 0.70)
    store_cell(store, "sentiment", "naive", 1, 0.60, 0.70, 0.68)
    # sentiment/aux_conf: PGR 0.9 and 0.7 → mean 0.8
    store_cell(store, "sentiment", "aux_conf", 0, 0.60, 0.80, 0.78)
    store_cell(store, "sentiment", "aux_conf", 1, 0.60, 0.70, 0.67)
    # sarcasm/naive: PGR 0.1; sarcasm/aux_conf: ceiling ≤ weak, no PGR
    store_cell(store, "sarcasm", "naive", 0, 0.50, 0.70, 0.52)
    store_cell(store, "sarcasm", "aux_conf", 0, 0.70, 0.70, 0.72)
    # mate/naive: PGR 0.25; mate/aux_conf: PGR 0.5
    store_cell(store, "mate", "naive", 0, 0.20, 0.60, 0.30)
    store_cell(store, "mate", "aux_conf", 0, 0.20, 0.60, 0.40)
    return store


def test_rows_aggregate_seeds(store: RunStore, registry: Registry) -> None:
    rows = {(row.task, row.method): row for rows in collect_rows(store, registry).values() for row in rows}
    naive = rows[("sentiment", "naive")]

    assert naive.seeds == [0, 1]
    assert naive.kind == "nlp"
    assert naive.pgr.summary.mean == pytest.approx(0.65)
    assert (naive.pgr.summary.ci_low, naive.pgr.summary.ci_high) == pytest.approx((0.5, 0.8))
    assert naive.student_summary.mean == pytest.approx(0.69)
    assert rows[("sarcasm", "aux_conf")].pgr.summary is None
    assert rows[("sarcasm", "aux_conf")].pgr.left_out == (0,)


def test_overview_medians_by_hand(store: RunStore, registry: Registry) -> None:
    rows = [row for rows in collect_rows(store, registry).values() for row in rows]
    medians = {(entry.method, entry.kind): entry.median for entry in overview(rows)}

    # nlp naive: median(0.65, 0.1) = 0.375; nlp aux_conf: 0.8, sarcasm left out
    assert medians[("naive", "nlp")].median == pytest.approx(0.375)
    assert medians[("aux_conf", "nlp")].median == pytest.approx(0.8)
    assert medians[("aux_conf", "nlp")].tasks_left_out == 1
    assert medians[("naive", "chess")].median == pytest.approx(0.25)
    # all kinds: naive median(0.65, 0.1, 0.25) = 0.25; aux_conf median(0.8, 0.5) = 0.65
    assert medians[("naive", "all")].median == pytest.approx(0.25)
    assert medians[("aux_conf", "all")].median == pytest.approx(0.65)


def test_overview_page_marks_best_per_column(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    out = tmp_path / "leaderboards"
    write_report(store, out, plots=False, registry=registry)
    readme = (out / "README.md").read_text()
    lines = {line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| aux_conf") or line.startswith("| naive")}

    assert "## small → big, probe" in readme
    assert "| method   | chess ↑" in readme
    assert "**0.500** (1 task)" in lines["aux_conf"]
    assert "**0.800** (1 task, 1 left out)" in lines["aux_conf"]
    assert "**0.650** (2 tasks, 1 left out)" in lines["aux_conf"]
    assert "0.250 (1 task)" in lines["naive"]
    assert "**" not in lines["naive"]


def test_task_page_numbers_by_hand(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    out = tmp_path / "leaderboards"
    write_report(store, out, plots=False, registry=registry)
    page = (out / "sentiment.md").read_text()
    naive = next(line for line in page.splitlines() if line.startswith("| naive") and "± " in line)

    # weak 0.6 ± 0; ceiling mean 0.75, std sqrt(2·0.05²) = 0.0707; student 0.69 ± 0.0141
    assert "0.600 ± 0.000" in naive
    assert "0.750 ± 0.071" in naive
    assert "0.690 ± 0.014" in naive
    assert "| 0.650 " in naive
    assert "[0.500, 0.800]" in naive
    assert "| 0,1 " in naive
    assert "400 training examples (200 in half 1, 200 in half 2), 1000 test examples" in page
    assert "w2s_bench 0.1.0" in page


def test_every_number_links_its_run_folder(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    out = tmp_path / "leaderboards"
    write_report(store, out, plots=False, registry=registry)
    page = (out / "sentiment.md").read_text()

    folders = [path.parent for path in (store.root / "cells").glob("*/record.json")]
    sentiment = [folder for folder in folders if json.loads((folder / "record.json").read_text())["config"]["task"] == "sentiment"]
    assert len(sentiment) == 4
    for folder in sentiment:
        assert f"](../runs/cells/{folder.name})" in page


def test_undefined_pgr_is_said(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    out = tmp_path / "leaderboards"
    write_report(store, out, plots=False, registry=registry)
    page = (out / "sarcasm.md").read_text()

    assert "undefined (ceiling ≤ weak)" in page
    assert "left out" in page


def test_gap_within_noise_is_marked(tmp_path: Path, registry: Registry) -> None:
    store = RunStore(tmp_path / "runs")
    # gap 0.02 on 200 test examples: 2 · sqrt(0.6·0.4/200 + 0.62·0.38/200) = 0.0975
    store_cell(store, "sentiment", "naive", 0, 0.60, 0.62, 0.61, num_test=200)
    write_report(store, tmp_path / "out", plots=False, registry=registry)

    assert "*gap within noise*" in (tmp_path / "out" / "sentiment.md").read_text()


def test_failed_cells_show_as_failed(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    failed = CellConfig("mate", "naive", "small", "big", 1, max_train=400, max_test=1000)
    record_failure(store, failed, "RuntimeError: plugin | broke", "Traceback ...", 1.5)
    write_report(store, tmp_path / "out", formats=("markdown", "json"), plots=False, registry=registry)

    page = (tmp_path / "out" / "mate.md").read_text()
    document = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    row = next(row for row in document["rows"] if row["task"] == "mate" and row["method"] == "naive")

    assert "**partly failed** (seed 1: RuntimeError: plugin \\| broke)" in page
    assert row["status"] == "partly failed"
    assert row["failures"][0]["error"] == "RuntimeError: plugin | broke"
    assert row["failures"][0]["run_folder"].startswith("failures/")


def test_failure_hidden_once_cell_finishes(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    # a stale failure of a cell that has since finished is not shown
    cell = CellConfig("mate", "naive", "small", "big", 0, max_train=400, max_test=1000)
    record_failure(store, cell, "RuntimeError: old", None, 0.1)

    rows = {(row.task, row.method): row for rows in collect_rows(store, registry).values() for row in rows}

    assert rows[("mate", "naive")].failures == []
    assert rows[("mate", "naive")].status == "ok"


def test_csv_and_json_carry_the_statistics(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    write_report(store, tmp_path / "out", formats=("csv", "json"), registry=registry)

    lines = list(csv.DictReader(io.StringIO((tmp_path / "out" / "leaderboard.csv").read_text())))
    naive = next(line for line in lines if line["task"] == "sentiment" and line["method"] == "naive")
    document = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    row = next(row for row in document["rows"] if row["task"] == "sentiment" and row["method"] == "naive")

    assert float(naive["pgr_mean"]) == pytest.approx(0.65)
    assert float(naive["pgr_ci_low"]) == pytest.approx(0.5)
    per_seed = dict(item.split(":") for item in naive["pgr_per_seed"].split(";"))
    assert float(per_seed["0"]) == pytest.approx(0.5)
    assert float(per_seed["1"]) == pytest.approx(0.8)
    assert naive["run_folders"].count("cells/") == 2
    assert row["pgr"]["per_seed"]["1"] == pytest.approx(0.8)
    assert row["results"][0]["run_folder"].startswith("cells/")
    entry = next(entry for entry in document["overview"] if entry["method"] == "naive" and entry["kind"] == "nlp")
    assert entry["median_pgr"] == pytest.approx(0.375)
    assert not (tmp_path / "out" / "README.md").exists()


def test_plots_are_written_and_linked(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_report(store, out, registry=registry)
    names = {path.name for path in written}

    assert {"sentiment-accuracy.png", "sentiment-pgr.png", "pgr-small-big-probe.png"} <= names
    assert "sentiment-ladder.png" not in names
    for name in names:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Student accuracy against the strong ceiling](sentiment-accuracy.png)" in (out / "sentiment.md").read_text()
    assert "(pgr-small-big-probe.png)" in (out / "README.md").read_text()


def test_ladder_plot_when_records_have_ladders(tmp_path: Path, registry: Registry) -> None:
    store = RunStore(tmp_path / "runs")
    for seed in (0, 1):
        ladder = [{"model": "small", "test_accuracy": 0.6}, {"model": "medium", "test_accuracy": 0.66 + seed / 100},
                  {"model": "big", "test_accuracy": 0.7}]
        store_cell(store, "mate", "bootstrap", seed, 0.6, 0.8, 0.7, ladder_steps=ladder)
    written = write_report(store, tmp_path / "out", registry=registry)

    assert tmp_path / "out" / "mate-ladder.png" in written
    assert "(mate-ladder.png)" in (tmp_path / "out" / "mate.md").read_text()


def test_plots_are_reproducible(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    write_report(store, tmp_path / "a", registry=registry)
    write_report(store, tmp_path / "b", registry=registry)

    for path in (tmp_path / "a").iterdir():
        assert (tmp_path / "b" / path.name).read_bytes() == path.read_bytes(), path.name


def test_write_leaderboards_keeps_old_contract(store: RunStore, registry: Registry, tmp_path: Path) -> None:
    pages = write_leaderboards(store, tmp_path / "boards", registry=registry)

    assert [page.name for page in pages] == ["mate.md", "sarcasm.md", "sentiment.md"]
    assert not (tmp_path / "boards" / "README.md").exists()


def test_report_command_formats(store: RunStore, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("report", "--runs-dir", str(store.root), "--out", str(out), "--format", "csv", "--format", "markdown", "--no-plots")

    assert result.returncode == 0, result.stderr
    assert f"wrote {out / 'README.md'}" in result.stdout
    assert f"wrote {out / 'sentiment.md'}" in result.stdout
    assert (out / "leaderboard.csv").exists()
    assert not list(out.glob("*.png"))
    # tasks the installed plugins do not register get the kind "other"
    header = next(line for line in (out / "README.md").read_text().splitlines() if line.startswith("| method"))
    assert "| other ↑" in header


def test_report_command_rejects_unknown_format(store: RunStore, tmp_path: Path) -> None:
    result = run_cli("report", "--runs-dir", str(store.root), "--format", "xml")

    assert result.returncode == 2
    assert "Invalid value for '--format'" in result.stderr


def test_overview_leaves_out_noisy_gaps(tmp_path: Path, registry: Registry) -> None:
    store = RunStore(tmp_path / "runs")
    store_cell(store, "sentiment", "naive", 0, 0.60, 0.80, 0.70)
    # PGR 0.5 is defined, but the gap 0.02 on 200 test examples is within noise
    store_cell(store, "sarcasm", "naive", 0, 0.60, 0.62, 0.61, num_test=200)
    rows = [row for rows in collect_rows(store, registry).values() for row in rows]

    [entry] = [entry for entry in overview(rows) if entry.kind == "nlp"]

    assert entry.median.median == pytest.approx(0.5)
    assert (entry.median.tasks_used, entry.median.tasks_left_out) == (1, 1)
