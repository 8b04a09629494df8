"""A run killed with SIGKILL mid-training resumes to the same metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from conftest import CLI, REPO, SMALL, run_cli
from w2s_bench.store import RunStore


def run_arguments(runs: Path, tiny_model_dir: Path) -> list[str]:
    # many epochs make each training phase last long enough to be interrupted
    return ["run", "--method", "naive,aux_conf", "--weak", str(tiny_model_dir), "--strong", "minilm-l1",
            "--epochs", "150", "--runs-dir", str(runs), *SMALL]


def wait_for_training(runs: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    """Return once a training phase holds its lock but has no record yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run finished before it could be interrupted"
        for lock in runs.glob("*/*/.lock"):
            phase = lock.parent.parent.name
            if phase in ("weak", "ceiling", "student") and not (lock.parent / "record.json").exists():
                time.sleep(0.5)
                return
        time.sleep(0.05)
    raise AssertionError("no training phase started")


def cell_metrics(runs: Path) -> list[dict]:
    return sorted((record.metrics for record in RunStore(runs).records("cells")), key=json.dumps)


def test_sigkill_then_rerun_matches_clean_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    clean = run_cli(*run_arguments(tmp_path / "clean", tiny_model_dir))
    assert clean.returncode == 0, clean.stderr

    killed_runs = tmp_path / "killed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([*CLI, *run_arguments(killed_runs, tiny_model_dir)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_training(killed_runs, process)
    process.send_signal(signal.SIGKILL)
    process.wait()

    # nothing that looks finished may be incomplete: every record verifies
    for record_path in killed_runs.rglob("record.json"):
        record = json.loads(record_path.read_text())
        assert RunStore(killed_runs).load(record["phase"], record["key"]) is not None

    resumed = run_cli(*run_arguments(killed_runs, tiny_model_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert cell_metrics(killed_runs) == cell_metrics(tmp_path / "clean")
    assert len(cell_metrics(killed_runs)) == 2
