"""Grids run for real on small slices: dry-run counts, kill and resume, failing cells."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from grid_support import CLI, REPO, SMALL_SIZES, install_flaky_plugin, read_tree, run_cli, stored_counts, write_grid

LADDER_GRID = """
name = "small"
tasks = ["rotten_tomatoes"]
methods = ["naive", "aux_conf"]
seeds = [0, 1]
ladders = [["minilm-l1", "minilm-l2", "minilm-l6"]]
""" + SMALL_SIZES


def dry_run(grid: Path, runs: Path, env: dict[str, str] | None = None) -> dict:
    result = run_cli("grid", str(grid), "--dry-run", "--json", "--runs-dir", str(runs), env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_dry_run_counts_match_trainings(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    grid = write_grid(tmp_path / "small.toml", LADDER_GRID)

    plan = dry_run(grid, runs)
    result = run_cli("grid", str(grid), "--runs-dir", str(runs))

    assert result.returncode == 0, result.stderr
    # 2 weak models × 2 seeds, 2 strong models × 2 seeds, 3 pairs × 2 seeds × 2 methods, 3 models
    assert plan["needed"] == {"weak": 4, "ceiling": 4, "student": 12, "features": 3}
    assert plan["unshared"] == {"weak": 12, "ceiling": 12, "student": 12, "features": 24}
    counts = stored_counts(runs)
    for phase, needed in plan["needed"].items():
        assert counts[phase] == needed, phase
    assert counts["cells"] == plan["cells_total"] == 12

    # grown by a seed and a method option: only the new work is planned and run
    grown = write_grid(tmp_path / "grown.toml", LADDER_GRID.replace("seeds = [0, 1]", "seeds = [0, 1, 2]").replace(
        '"aux_conf"]', '"aux_conf", { name = "aux_conf", options = { alpha_max = 0.75 } }]'))
    plan = dry_run(grown, runs)
    result = run_cli("grid", str(grown), "--runs-dir", str(runs))
    after = stored_counts(runs)

    assert result.returncode == 0, result.stderr
    # seed 2 needs its own weak models and ceilings; the students are new
    # for seed 2 and for the new method option; features are all cached
    assert plan["needed"] == {"weak": 2, "ceiling": 2, "student": 15, "features": 0}
    assert (plan["cells_finished"], plan["cells_pending"]) == (12, 15)
    for phase, needed in plan["needed"].items():
        assert after[phase] - counts[phase] == needed, phase
    assert dry_run(grown, runs)["cells_pending"] == 0
    assert "12 finished before" in result.stdout


def test_dry_run_stores_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    grid = write_grid(tmp_path / "small.toml", LADDER_GRID)

    dry_run(grid, runs)

    assert sum(stored_counts(runs).values()) == 0


# --- kill and resume -----------------------------------------------------

KILL_GRID = """
name = "resume"
tasks = ["rotten_tomatoes"]
methods = ["naive", "flaky"]
seeds = [0, 1, 2]
pairs = [["minilm-l1", "minilm-l2"]]
""" + SMALL_SIZES


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The leaderboards of the kill grid run without interruption."""
    root = tmp_path_factory.mktemp("uninterrupted")
    env = install_flaky_plugin(root / "plugin")
    grid = write_grid(root / "resume.toml", KILL_GRID)

    result = run_cli("grid", str(grid), "--runs-dir", str(root / "runs"), env=env)
    assert result.returncode == 0, result.stderr
    report = run_cli("report", "--runs-dir", str(root / "runs"), "--out", str(root / "leaderboards"),
                     "--format", "markdown", "--format", "csv", "--format", "json", env=env)
    assert report.returncode == 0, report.stderr
    return read_tree(root / "leaderboards")


@pytest.mark.parametrize("jobs", [1, 2])
def test_killed_grid_resumes_to_same_leaderboard(tmp_path: Path, uninterrupted: dict[str, bytes], jobs: int) -> None:
    env = install_flaky_plugin(tmp_path / "plugin")
    grid = write_grid(tmp_path / "resume.toml", KILL_GRID)
    runs, pause_file = tmp_path / "runs", tmp_path / "paused"
    command = [*CLI, "grid", str(grid), "--runs-dir", str(runs), "--jobs", str(jobs)]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **env, "W2S_TEST_PAUSE_FILE": str(pause_file)}

    # the flaky method pauses inside its first student training; kill the
    # whole process group (workers included) there, as a user's SIGKILL would
    process = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not pause_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    assert pause_file.exists()
    assert stored_counts(runs)["cells"] < 6
    resumed = run_cli("grid", str(grid), "--runs-dir", str(runs), env=env)
    assert resumed.returncode == 0, resumed.stderr
    report = run_cli("report", "--runs-dir", str(runs), "--out", str(tmp_path / "leaderboards"),
                     "--format", "markdown", "--format", "csv", "--format", "json", env=env)
    assert report.returncode == 0, report.stderr

    leaderboards = read_tree(tmp_path / "leaderboards")
    assert sorted(leaderboards) == sorted(uninterrupted)
    for name, content in uninterrupted.items():
        assert leaderboards[name] == content, name


# --- failing cells -------------------------------------------------------

FAILING_GRID = """
name = "failing"
tasks = ["rotten_tomatoes"]
methods = ["naive", { name = "flaky", options = { behaviour = "raise" } }, { name = "flaky", options = { behaviour = "nan" } }]
seeds = [0]
pairs = [["minilm-l1", "minilm-l2"]]
""" + SMALL_SIZES


def test_failing_plugin_leaves_other_cells_intact(tmp_path: Path) -> None:
    env = install_flaky_plugin(tmp_path / "plugin")
    grid = write_grid(tmp_path / "failing.toml", FAILING_GRID)
    runs, clean_runs, boards = tmp_path / "runs", tmp_path / "clean", tmp_path / "leaderboards"

    result = run_cli("grid", str(grid), "--runs-dir", str(runs), "--jobs", "2", env=env)
    clean = run_cli("grid", "--task", "rotten_tomatoes", "--method", "naive", "--seeds", "0", "--weak", "minilm-l1",
                    "--strong", "minilm-l2", "--max-train", "300", "--max-test", "200", "--runs-dir", str(clean_runs))

    assert result.returncode == 1, result.stderr
    assert clean.returncode == 0, clean.stderr
    counts = stored_counts(runs)
    assert (counts["cells"], counts["failures"]) == (1, 2)
    [finished] = [json.loads(path.read_text()) for path in (runs / "cells").glob("*/record.json")]
    [reference] = [json.loads(path.read_text()) for path in (clean_runs / "cells").glob("*/record.json")]
    assert finished["metrics"] == reference["metrics"]

    report = run_cli("report", "--runs-dir", str(runs), "--out", str(boards), "--format", "markdown", "--format", "csv", env=env)
    assert report.returncode == 0, report.stderr
    page = (boards / "rotten_tomatoes.md").read_text()
    assert "RuntimeError: flaky method exploded on purpose" in page
    assert "TrainingError: student: loss became nan" in page
    assert "**failed**" in page
    overview = (boards / "README.md").read_text()
    assert "| flaky(behaviour=raise) | failed" in overview
    statuses = [line.split(",") for line in (boards / "leaderboard.csv").read_text().splitlines()[1:]]
    assert sorted(row[2] for row in statuses) == ["flaky(behaviour=nan)", "flaky(behaviour=raise)", "naive"]


def test_rerun_retries_only_failed_cells(tmp_path: Path) -> None:
    env = install_flaky_plugin(tmp_path / "plugin")
    grid = write_grid(tmp_path / "failing.toml", FAILING_GRID)
    runs = tmp_path / "runs"
    assert run_cli("grid", str(grid), "--runs-dir", str(runs), env=env).returncode == 1
    mtimes = {path: path.stat().st_mtime_ns for path in (runs / "cells").glob("*/record.json")}

    again = run_cli("grid", str(grid), "--runs-dir", str(runs), env=env)

    assert again.returncode == 1
    assert "0 done, 2 failed, 1 finished before" in again.stdout
    assert {path: path.stat().st_mtime_ns for path in (runs / "cells").glob("*/record.json")} == mtimes
    assert stored_counts(runs)["failures"] == 2


def test_fail_fast_starts_no_further_cell(tmp_path: Path) -> None:
    env = install_flaky_plugin(tmp_path / "plugin")
    body = FAILING_GRID.replace('methods = ["naive", { name = "flaky", options = { behaviour = "raise" } }, { name = "flaky", options = { behaviour = "nan" } }]',
                                'methods = [{ name = "flaky", options = { behaviour = "raise" } }, "naive"]')
    grid = write_grid(tmp_path / "failing.toml", body)
    runs = tmp_path / "runs"

    result = run_cli("grid", str(grid), "--runs-dir", str(runs), "--fail-fast", env=env)

    assert result.returncode == 1
    assert "0 done, 1 failed, 0 finished before, 1 not run" in result.stdout
    assert (stored_counts(runs)["cells"], stored_counts(runs)["failures"]) == (0, 1)


def test_dead_worker_fails_only_its_cell(tmp_path: Path) -> None:
    env = install_flaky_plugin(tmp_path / "plugin")
    body = FAILING_GRID.replace('methods = ["naive", { name = "flaky", options = { behaviour = "raise" } }, { name = "flaky", options = { behaviour = "nan" } }]',
                                'methods = ["naive", { name = "flaky", options = { behaviour = "die" } }]')
    grid = write_grid(tmp_path / "dying.toml", body)
    runs = tmp_path / "runs"

    # both cells run at once; the pool breaks, each reruns alone, and only
    # the cell whose worker dies alone is failed
    result = run_cli("grid", str(grid), "--runs-dir", str(runs), "--jobs", "2", env=env)

    assert result.returncode == 1
    assert "1 done, 1 failed" in result.stdout
    [failure] = [json.loads(path.read_text()) for path in (runs / "failures").glob("*/record.json")]
    assert failure["config"]["method_options"] == {"behaviour": "die"}
    assert failure["error"].startswith("WorkerDied: worker process exited unexpectedly")
