"""The command line as a user meets it: help, errors, run and report."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SMALL, run_cli


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", [[], ["list"], ["run"], ["report"], ["models"], ["models", "fetch"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run_cli(*command, "--help")

    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_run_help_states_defaults() -> None:
    text = " ".join(run_cli("run", "--help").stdout.split())

    assert "the task's weakest default model, else minilm-l2" in text
    assert "the task's strongest default model, else mpnet-base" in text


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--task", "imdb"], ["unknown task 'imdb'", "rotten_tomatoes"]),
        (["--method", "naive,bootstrapp"], ["unknown method 'bootstrapp'", "aux_conf"]),
        (["--weak", "minilm"], ["unknown model 'minilm'", "minilm-l2"]),
        (["--strong", "sentence-transformers/all-nonexistent"], ["cannot load model", "Without internet"]),
        (["-o", "alpha_max=3", "--method", "aux_conf"], ["alpha_max=3"]),
    ],
)
def test_bad_names_give_one_line_error(tmp_path: Path, arguments: list[str], fragments: list[str]) -> None:
    result = run_cli("run", *arguments, "--runs-dir", str(tmp_path), *SMALL)

    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "cells").exists()


def test_unwritable_runs_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")

    assert_one_line_error(run_cli("run", "--runs-dir", str(blocker / "runs")), "not writable")


@pytest.mark.parametrize(("option", "value"), [("--seed", "-1"), ("--seed", "x"), ("--epochs", "0"), ("--max-train", "-5")])
def test_invalid_values_exit_2(option: str, value: str) -> None:
    result = run_cli("run", option, value)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_report_without_runs(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("report", "--runs-dir", str(tmp_path / "none")), "not found")


def test_run_then_report(tmp_path: Path, tiny_model_dir: Path) -> None:
    runs, boards = tmp_path / "runs", tmp_path / "boards"
    result = run_cli(
        "run", "--method", "naive,aux_conf", "--weak", str(tiny_model_dir), "--strong", "minilm-l1",
        "--runs-dir", str(runs), *SMALL,
    )
    assert result.returncode == 0, result.stderr
    assert "aux_conf" in result.stdout
    assert "PGR" in result.stdout

    report = run_cli("report", "--runs-dir", str(runs), "--out", str(boards))
    assert report.returncode == 0, report.stderr
    page = (boards / "rotten_tomatoes.md").read_text()
    assert "| aux_conf" in page
    assert "| naive" in page
