"""Leaderboards mark a ceiling-weak gap within two standard errors instead of printing PGR."""

from __future__ import annotations

import hashlib
import math

from w2s_bench.report import write_leaderboards
from w2s_bench.significance import gap_standard_error, gap_within_noise
from w2s_bench.store import RunStore


def test_standard_error_of_gap():
    assert math.isclose(gap_standard_error(0.5, 0.5, 100), math.sqrt(0.5 / 100))
    assert gap_standard_error(0.7, 0.8, 0) == math.inf


def test_within_noise_boundaries():
    # n = 1000: SE of the gap near 0.02, so the threshold is about 0.04
    assert gap_within_noise(0.60, 0.63, 1000)
    assert not gap_within_noise(0.60, 0.66, 1000)
    # the same gap on a small test set is noise
    assert gap_within_noise(0.60, 0.66, 80)


def save_cell(store: RunStore, task: str, weak: float, ceiling: float, student: float, num_test: int) -> None:
    config = {"task": task, "method": "naive", "method_options": {}, "weak": "w", "strong": "s", "mode": "probe",
              "seed": 0, "max_train": None, "max_test": None, "train": {}}
    metrics = {"weak_accuracy": weak, "ceiling_accuracy": ceiling, "student_accuracy": student, "num_test": num_test}
    store.save("cells", hashlib.sha256(task.encode()).hexdigest(), config, metrics)


def test_leaderboard_marks_noise(tmp_path):
    store = RunStore(tmp_path / "runs")
    save_cell(store, "clear", 0.70, 0.80, 0.76, 1000)
    save_cell(store, "noisy", 0.52, 0.54, 0.60, 500)
    save_cell(store, "inverted", 0.60, 0.50, 0.55, 1000)
    written = {path.stem: path.read_text() for path in write_leaderboards(store, tmp_path / "boards")}

    assert "| 0.600 " in written["clear"]
    assert "gap within noise" in written["noisy"]
    assert "3.000" not in written["noisy"]
    assert "undefined (ceiling ≤ weak)" in written["inverted"]


def test_file_task_leaderboard_name(tmp_path):
    store = RunStore(tmp_path / "runs")
    save_cell(store, "file:data/my reviews.jsonl?text=body", 0.70, 0.80, 0.76, 1000)
    (path,) = write_leaderboards(store, tmp_path / "boards")
    assert path.parent == tmp_path / "boards"
    assert path.name == "file-data-my-reviews.jsonl-text-body.md"
