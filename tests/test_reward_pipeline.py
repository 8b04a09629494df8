"""Reward tasks end to end through the CLI, with real packaged MiniLM models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from w2s_bench.cli import cli
from w2s_bench.store import RunStore
from w2s_bench.tasks.reward.formats import read_pairs_file
from w2s_bench.tasks.reward.shipped import DATA_DIR, manifest_entry

MODELS = ["--weak", "minilm-l1", "--strong", "minilm-l2"]


def write_pairs(path: Path, pairs, swap: bool = False) -> None:
    rows = []
    for pair in pairs:
        chosen, rejected = (pair.rejected, pair.chosen) if swap else (pair.chosen, pair.rejected)
        rows.append({"id": pair.id, "prompt": pair.prompt, "chosen": chosen, "rejected": rejected})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def run_cell(task: str, runs: Path, *options: str) -> dict:
    result = CliRunner().invoke(cli, ["run", "--task", task, *MODELS, "--runs-dir", str(runs), *options])
    assert result.exit_code == 0, result.output
    records = list(RunStore(runs).records("cells"))
    assert len(records) == 1
    return records[0]


@pytest.fixture(scope="module")
def review_pairs():
    pairs = read_pairs_file(DATA_DIR / manifest_entry("rm-reviews")["file"])
    train = [pair for pair in pairs if pair.split == "train"][:120]
    test = [pair for pair in pairs if pair.split == "test"][:60]
    return train, test


def test_swapped_test_file_flips_accuracy(tmp_path, review_pairs):
    train, test = review_pairs
    for folder, swap in (("original", False), ("swapped", True)):
        (tmp_path / folder).mkdir()
        write_pairs(tmp_path / folder / "train.jsonl", train)
        write_pairs(tmp_path / folder / "test.jsonl", test, swap=swap)

    original_cell = run_cell(f"pairs:{tmp_path / 'original'}", tmp_path / "runs-original", "--method", "aux_conf")
    swapped = run_cell(f"pairs:{tmp_path / 'swapped'}", tmp_path / "runs-swapped", "--method", "aux_conf").metrics
    original = original_cell.metrics

    assert original["num_test"] == 60
    for name in ("weak_accuracy", "ceiling_accuracy", "student_accuracy"):
        assert swapped[name] == pytest.approx(1.0 - original[name], abs=1e-6), name


def test_aux_conf_on_pairs_hardens_by_argmax(tmp_path, review_pairs):
    train, test = review_pairs
    write_pairs(tmp_path / "train.jsonl", train[:40])
    write_pairs(tmp_path / "test.jsonl", test[:20])

    cell = run_cell(f"pairs:{tmp_path}", tmp_path / "runs", "--method", "aux_conf")
    student = RunStore(tmp_path / "runs").load("student", cell.data["phases"]["student"])

    assert student.data["config"]["method"]["threshold"] == "argmax"


def test_hhh_runs_and_gap_command(tmp_path):
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", "--task", "rm-hhh", "--method", "naive", *MODELS, "--runs-dir", str(runs)])

    assert result.exit_code == 0, result.output
    assert "rm-hhh" in result.stdout
    gap = CliRunner().invoke(cli, ["reward", "gap", "--task", "rm-hhh", "--runs-dir", str(runs)])
    assert gap.exit_code == 0, gap.output
    assert "gap/SE" in gap.stdout
    assert " 100 " in gap.stdout  # the HHH test split has 100 pairs


def test_gap_command_without_cells(tmp_path):
    (tmp_path / "runs").mkdir()
    result = CliRunner().invoke(cli, ["reward", "gap", "--task", "rm-hhh", "--runs-dir", str(tmp_path / "runs")])

    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: no finished cells of task 'rm-hhh' in {tmp_path / 'runs'}; run `w2s-bench run --task rm-hhh` first"
