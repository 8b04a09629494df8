"""Grids on Ray: the same leaderboards as a local run, bounded retries, shared phases run once.

The module starts one local Ray instance with 2 CPUs, on loopback, and runs
the CLI with ``--executor ray --address`` against it, as a user of a cluster
would. Ray workers are started by this instance, so the test plugin and the
files it writes to are set in the environment before Ray starts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from grid_support import SMALL_SIZES, install_flaky_plugin, read_tree, run_cli, stored_counts, write_grid
from w2s_bench.executors.base import CellJob
from w2s_bench.executors.ray_executor import RAY_SINGLE_MACHINE_ENV, RAY_USAGE_STATS_ENV
from w2s_bench.executors.shared_steps import build_step_graph
from w2s_bench.executors.task_resources import GIB, ClusterShape, NoGPUError, task_resources
from w2s_bench.pipeline import CellConfig, PlannedStep

TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class LocalRay:
    address: str
    env: dict[str, str]
    counter_file: Path
    attempts_dir: Path


def install_ray_grid_plugin(folder: Path) -> str:
    """Copy the test plugin into ``folder`` with entry-point metadata; return the folder for PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(TESTS / "ray_grid_plugin.py", folder / "ray_grid_plugin.py")
    dist_info = folder / "ray_grid_plugin-1.0.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ray-grid-plugin\nVersion: 1.0\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text("[w2s_bench]\nray-grid = ray_grid_plugin\n", encoding="utf-8")
    return str(folder)


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[LocalRay]:
    root = tmp_path_factory.mktemp("ray")
    counter_file, attempts_dir = root / "counter.txt", root / "attempts"
    attempts_dir.mkdir()
    flaky_path = install_flaky_plugin(root / "flaky")["PYTHONPATH"]
    env = {
        "PYTHONPATH": os.pathsep.join([install_ray_grid_plugin(root / "plugin"), flaky_path]),
        "W2S_TEST_TINY_MODEL": str(tiny_model_dir),
        "W2S_TEST_COUNTER_FILE": str(counter_file),
        "W2S_TEST_ATTEMPTS_DIR": str(attempts_dir),
        "HF_HUB_OFFLINE": "1",
        RAY_SINGLE_MACHINE_ENV: "0",
        RAY_USAGE_STATS_ENV: "0",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        # Ray reads RAY_SINGLE_MACHINE_ENV when it is imported
        import ray

        context = ray.init(address="local", num_cpus=2, include_dashboard=False)
        try:
            yield LocalRay(context.address_info["gcs_address"], env, counter_file, attempts_dir)
        finally:
            ray.shutdown()


def run_on_ray(local_ray: LocalRay, grid: Path, runs: Path, *args: str):
    return run_cli("grid", str(grid), "--executor", "ray", "--address", local_ray.address, "--runs-dir", str(runs), *args,
                   env=local_ray.env)


def report(runs: Path, out: Path, env: dict[str, str]) -> dict[str, bytes]:
    result = run_cli("report", "--runs-dir", str(runs), "--out", str(out), "--format", "markdown", "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    return read_tree(out)


def counted(local_ray: LocalRay) -> list[str]:
    return local_ray.counter_file.read_text().splitlines() if local_ray.counter_file.exists() else []


# --- the instance --------------------------------------------------------

def test_local_ray_on_loopback(local_ray: LocalRay) -> None:
    import ray

    assert local_ray.address.startswith("127.0.0.1:")
    assert [node["NodeManagerAddress"] for node in ray.nodes()] == ["127.0.0.1"]
    assert ray.cluster_resources()["CPU"] == 2


# --- same leaderboards as a local run ---------------------------------------

SMALL_GRID = """
name = "small"
tasks = ["rotten_tomatoes"]
methods = ["naive", "aux_conf"]
seeds = [0, 1]
pairs = [["minilm-l1", "minilm-l2"]]
""" + SMALL_SIZES


def test_ray_grid_matches_local_leaderboard(tmp_path: Path, local_ray: LocalRay) -> None:
    grid = write_grid(tmp_path / "small.toml", SMALL_GRID)
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()

    local = run_cli("grid", str(grid), "--runs-dir", str(tmp_path / "local" / "runs"))
    on_ray = run_on_ray(local_ray, grid, tmp_path / "ray" / "runs")

    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr
    assert "4 done, 0 failed" in on_ray.stdout
    assert "ray tasks: 6 shared phases (ceiling 2, features 2, weak 2), 4 cell tasks, 0 retries" in on_ray.stdout
    assert stored_counts(tmp_path / "ray" / "runs") == stored_counts(tmp_path / "local" / "runs")

    expected = report(tmp_path / "local" / "runs", tmp_path / "local" / "leaderboards", {})
    actual = report(tmp_path / "ray" / "runs", tmp_path / "ray" / "leaderboards", {})
    assert sorted(actual) == sorted(expected)
    for name in ("README.md", "rotten_tomatoes.md", "leaderboard.csv"):
        assert actual[name] == expected[name], name


# --- bounded retries -------------------------------------------------------

#: The counted models are small and random, so a smaller slice than SMALL_SIZES suffices.
RETRY_GRID = """
name = "retries"
tasks = ["rotten_tomatoes"]
methods = [{ name = "failing", options = { failures = 1, tag = "once" } }, { name = "failing", options = { failures = 99, tag = "always" } }]
seeds = [0]
pairs = [["counted-weak", "counted-strong"]]
max_train = 120
max_test = 60
"""


def test_ray_retries_then_records_failure(tmp_path: Path, local_ray: LocalRay) -> None:
    grid = write_grid(tmp_path / "retries.toml", RETRY_GRID)
    runs = tmp_path / "runs"

    result = run_on_ray(local_ray, grid, runs)

    assert result.returncode == 1, result.stderr
    assert "1 done, 1 failed" in result.stdout
    # the default allows 2 retries: "once" fails once and then succeeds, "always" fails 3 times
    assert (local_ray.attempts_dir / "once").read_text().splitlines() == ["failed"]
    assert len((local_ray.attempts_dir / "always").read_text().splitlines()) == 3
    assert "3 retries" in result.stdout
    assert "failed (attempt 1 of 3)" in result.stderr
    assert (stored_counts(runs)["cells"], stored_counts(runs)["failures"]) == (1, 1)
    [finished] = [json.loads(path.read_text()) for path in (runs / "cells").glob("*/record.json")]
    assert finished["config"]["method_options"] == {"failures": 1, "tag": "once"}
    [failure] = [json.loads(path.read_text()) for path in (runs / "failures").glob("*/record.json")]
    assert failure["config"]["method_options"] == {"failures": 99, "tag": "always"}
    assert failure["error"] == "RuntimeError: failing on purpose (3 of 99)"

    # a rerun retries only the failed cell, as often as --retries allows
    again = run_on_ray(local_ray, grid, runs, "--retries", "1")

    assert again.returncode == 1
    assert "0 done, 1 failed, 1 finished before" in again.stdout
    assert len((local_ray.attempts_dir / "always").read_text().splitlines()) == 5
    assert (local_ray.attempts_dir / "once").read_text().splitlines() == ["failed"]


def test_ray_dead_worker_retried_then_failed(tmp_path: Path, local_ray: LocalRay) -> None:
    body = RETRY_GRID.replace(
        'methods = [{ name = "failing", options = { failures = 1, tag = "once" } }, { name = "failing", options = { failures = 99, tag = "always" } }]',
        'methods = ["naive", { name = "flaky", options = { behaviour = "die" } }]')
    grid = write_grid(tmp_path / "dying.toml", body)
    runs = tmp_path / "runs"

    result = run_on_ray(local_ray, grid, runs, "--retries", "1")

    assert result.returncode == 1, result.stderr
    assert "1 done, 1 failed" in result.stdout
    assert "1 retry" in result.stdout
    [failure] = [json.loads(path.read_text()) for path in (runs / "failures").glob("*/record.json")]
    assert failure["config"]["method_options"] == {"behaviour": "die"}
    assert failure["error"].startswith("WorkerCrashedError: ")


# --- shared phases run once per grid ---------------------------------------

SHARED_GRID = """
name = "shared"
tasks = ["rotten_tomatoes"]
methods = ["naive", "aux_conf"]
seeds = [0]
pairs = [["counted-weak", "counted-strong"]]
max_train = 120
max_test = 60
"""


def test_ray_shared_phases_run_once(tmp_path: Path, local_ray: LocalRay) -> None:
    finetune = write_grid(tmp_path / "finetune.toml", SHARED_GRID + 'mode = "finetune"\n')
    probe = write_grid(tmp_path / "probe.toml", SHARED_GRID.replace("seeds = [0]", "seeds = [0, 1]"))
    before = len(counted(local_ray))

    # finetune: each training loads its model once, so loads count trainings
    result = run_on_ray(local_ray, finetune, tmp_path / "finetune-runs")
    loads = counted(local_ray)[before:]

    assert result.returncode == 0, result.stderr
    assert "ray tasks: 2 shared phases (ceiling 1, weak 1), 2 cell tasks, 0 retries" in result.stdout
    assert loads.count("create counted-weak") == 1
    # one ceiling and one student per method
    assert loads.count("create counted-strong") == 1 + 2

    # probe: every cell of both seeds reads one feature cache per model
    before = len(counted(local_ray))
    result = run_on_ray(local_ray, probe, tmp_path / "probe-runs")
    encodes = [line for line in counted(local_ray)[before:] if line.startswith("encode")]

    assert result.returncode == 0, result.stderr
    assert "ray tasks: 6 shared phases (ceiling 2, features 2, weak 2), 4 cell tasks, 0 retries" in result.stdout
    assert sorted(encodes) == ["encode counted-strong", "encode counted-weak"]
    assert stored_counts(tmp_path / "probe-runs")["cells"] == 4


# --- input checks (no Ray instance needed) ----------------------------------

def test_ray_missing_says_how_to_install(tmp_path: Path) -> None:
    # a package named ray that fails to import behaves as if Ray were not installed
    fake = tmp_path / "no-ray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n", encoding="utf-8")

    result = run_cli("grid", "--task", "rotten_tomatoes", "--executor", "ray", "--runs-dir", str(tmp_path / "runs"),
                     env={"PYTHONPATH": str(tmp_path / "no-ray")})

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --executor ray needs Ray, which is not installed; install it with: pip install 'w2s-bench[ray]'"
    ]


def test_ray_unreachable_address_rejected(tmp_path: Path) -> None:
    # a port that was free a moment ago has nothing listening on it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = run_cli("grid", "--task", "rotten_tomatoes", "--executor", "ray", "--address", f"127.0.0.1:{port}",
                     "--runs-dir", str(tmp_path / "runs"))

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot connect to the Ray cluster at '127.0.0.1:{port}': ")
    assert "ray start --head" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--address", "auto"], "error: --address is only valid with --executor ray"),
    (["--retries", "1", "--cpus-per-task", "2"], "error: --retries, --cpus-per-task are only valid with --executor ray"),
    (["--executor", "ray", "--jobs", "2"], "error: --jobs applies to --executor local"),
])
def test_ray_options_rejected_without_ray(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("grid", "--task", "rotten_tomatoes", "--runs-dir", str(tmp_path / "runs"), *args)

    assert result.returncode == 2
    assert result.stderr.startswith(message)


# --- resources and the step graph ----------------------------------------

CPU_CLUSTER = ClusterShape(max_cpus=8, max_gpus=0, max_memory=64 * GIB, total_cpus=16, total_gpus=0)
GPU_CLUSTER = ClusterShape(max_cpus=8, max_gpus=2, max_memory=64 * GIB, total_cpus=16, total_gpus=4)


def cell(**fields) -> CellConfig:
    return CellConfig(**{"task": "t", "method": "naive", "weak": "w", "strong": "s", **fields})


def test_task_resources_by_mode_and_device() -> None:
    probe_features = task_resources(cell(), "inference", 100.0, CPU_CLUSTER)
    finetune = task_resources(cell(mode="finetune"), "finetune", 100.0, CPU_CLUSTER)
    head = task_resources(cell(), "head", 100.0, GPU_CLUSTER)
    on_gpu = task_resources(cell(mode="finetune"), "finetune", 100.0, GPU_CLUSTER)

    assert (probe_features.num_cpus, probe_features.num_gpus) == (1, 0)
    assert probe_features.memory == GIB + 100e6 * 8
    assert (finetune.num_cpus, finetune.num_gpus) == (2, 0)
    assert finetune.memory == GIB + 100e6 * 32
    assert (head.num_cpus, head.num_gpus, head.memory) == (1, 1, GIB)
    assert (on_gpu.num_cpus, on_gpu.num_gpus) == (1, 1)
    assert task_resources(cell(device="cpu"), "finetune", None, GPU_CLUSTER).num_gpus == 0
    assert GPU_CLUSTER.slots(on_gpu) == 4
    assert CPU_CLUSTER.slots(finetune) == 8


def test_task_resources_capped_at_largest_node() -> None:
    small = ClusterShape(max_cpus=1, max_gpus=0, max_memory=2 * GIB, total_cpus=3, total_gpus=0)

    request = task_resources(cell(mode="finetune"), "finetune", 1000.0, small, cpus=4)

    assert (request.num_cpus, request.memory) == (1, 2 * GIB)
    with pytest.raises(NoGPUError, match="no node of the Ray cluster has a GPU"):
        task_resources(cell(device="cuda"), "inference", None, small)


def test_step_graph_shares_phases_between_cells(tmp_path: Path) -> None:
    def job(index: int, method: str) -> CellJob:
        steps = (
            PlannedStep("weak", "weak-key", "w"), PlannedStep("ceiling", "ceiling-key", "s"),
            PlannedStep("student", f"student-{method}", "s"),
            PlannedStep("features", "features-w", "w"), PlannedStep("features", "features-s", "s"),
            PlannedStep("features", "features-derived", "w-finetuned"),
        )
        return CellJob(index, cell(method=method), str(tmp_path), steps=steps)

    # a stored step is not computed again
    (tmp_path / "features" / "features-s").mkdir(parents=True)
    (tmp_path / "features" / "features-s" / "record.json").write_text("{}", encoding="utf-8")

    graph = build_step_graph([job(0, "naive"), job(1, "aux_conf")])

    assert sorted(graph.steps) == [("ceiling", "ceiling-key"), ("features", "features-w"), ("weak", "weak-key")]
    assert graph.steps[("weak", "weak-key")].after == [("features", "features-w")]
    assert graph.steps[("ceiling", "ceiling-key")].after == []
    assert graph.needs[0] == graph.needs[1] == [("weak", "weak-key"), ("ceiling", "ceiling-key"), ("features", "features-w")]
