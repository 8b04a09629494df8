"""Crashes, concurrent runs and damaged files leave the results unchanged.

All tests run the same small grid (the tiny BERT as weak model, minilm-l1 as
strong, two seeds, two methods) through the command line and compare with
one uninterrupted run of it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from reliability_support import (
    TRAINING_PHASES,
    assert_store_intact,
    cell_metrics,
    cli_env,
    computed_phases,
    count_records,
    read_tree,
    stage_of,
    start_cli,
    write_small_grid,
)
from w2s_bench.store import RunStore

SEEDS = [0, 1]
METHODS = ["naive", "aux_conf"]
CELLS = len(SEEDS) * len(METHODS)


class Reference:
    """The uninterrupted run: its grid file, run store, leaderboards and -v log."""

    def __init__(self, root: Path, tiny_model_dir: Path) -> None:
        self.grid = write_small_grid(root / "grid.toml", tiny_model_dir, SEEDS, METHODS)
        self.runs = root / "runs"
        self.leaderboards = root / "leaderboards"
        result = run_cli("-v", "grid", str(self.grid), "--runs-dir", str(self.runs), "--report", "--out", str(self.leaderboards))
        assert result.returncode == 0, result.stderr
        self.computed = computed_phases(result.stderr)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Reference:
    return Reference(tmp_path_factory.mktemp("reference"), tiny_model_dir)


def test_reference_computes_each_phase_once(reference: Reference) -> None:
    counts = Counter(phase for phase, _ in reference.computed)

    assert counts == {"features": 2, "weak": 2, "ceiling": 2, "student": 4}
    assert count_records(reference.runs, "cells") == CELLS


# --- kill and resume ---------------------------------------------------------

#: The stage each kill waits for, in the order a resumed grid reaches them.
#: The weak phase caches the tiny model's features, trains and writes the weak
#: labels. The ceiling phase caches minilm-l1's features. The last two kills
#: aim at the report written after the last cell.
KILL_PLAN = ["features", "weak", "features", "ceiling", "student", "weak", "ceiling", "student", "report", "report"]
KILL_SEED = 20231214
#: Maximum wait after a stage starts; a kill lands at a seeded random moment within it.
MAX_DELAY = {"features": 0.4, "weak": 0.5, "ceiling": 0.5, "student": 0.5, "report": 1.5}
STABLE_SECONDS = 0.05


class GridProcess:
    """A ``w2s-bench grid --report`` process, watched through its lock files and its stdout."""

    def __init__(self, args: list[str], runs: Path) -> None:
        self.runs = runs
        self.process = subprocess.Popen(
            [sys.executable, "-m", "w2s_bench.cli", *args], cwd=REPO, env=cli_env(), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        )
        self.reporting = threading.Event()
        self.reader = threading.Thread(target=self.read_stdout, daemon=True)
        self.reader.start()

    def read_stdout(self) -> None:
        # the grid prints its summary line, then writes the leaderboards
        for line in self.process.stdout:
            if line.startswith("grid reliability:"):
                self.reporting.set()

    def stage(self) -> str | None:
        if self.process.poll() is not None:
            return "finished"
        if self.reporting.is_set():
            return "report"
        return stage_of(self.process.pid, self.runs)

    def wait_for(self, target: str, timeout: float = 300) -> str:
        """Poll until the process has been in ``target`` for ``STABLE_SECONDS``, or has exited.

        A training phase takes its lock a moment before the lock of the
        feature cache it reads, so a phase counts only once it stays.
        """
        deadline = time.monotonic() + timeout
        since = None
        while time.monotonic() < deadline:
            stage = self.stage()
            if stage == "finished":
                return stage
            if stage != target:
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since >= STABLE_SECONDS:
                return stage
            time.sleep(0.005)
        raise AssertionError(f"the grid did not reach {target} within {timeout}s")

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the grid finished between the last look and the kill
        self.process.wait()
        self.reader.join(timeout=10)


def test_sigkill_at_ten_moments_then_resume(tmp_path: Path, reference: Reference) -> None:
    runs, leaderboards = tmp_path / "runs", tmp_path / "leaderboards"
    args = ["grid", str(reference.grid), "--runs-dir", str(runs), "--report", "--out", str(leaderboards)]
    random_moments = random.Random(KILL_SEED)
    killed_in = []

    for target in KILL_PLAN:
        grid = GridProcess(args, runs)
        if grid.wait_for(target) == "finished":
            killed_in.append("finished")
            continue
        time.sleep(random_moments.uniform(0.0, MAX_DELAY[target]))
        killed_in.append(grid.stage())
        grid.kill()
        print(f"kill aimed at {target} landed in {killed_in[-1]}")

        assert_store_intact(runs)

    resumed = run_cli(*args)

    assert resumed.returncode == 0, resumed.stderr
    assert_store_intact(runs)
    # every phase a kill cut short was computed again, which removes its temporary files
    assert [path for phase in ("features", *TRAINING_PHASES) for path in (runs / phase).glob("*/.*.tmp")] == []
    assert cell_metrics(runs) == cell_metrics(reference.runs)
    leaderboards_files = read_tree(leaderboards)
    reference_files = read_tree(reference.leaderboards)
    assert sorted(leaderboards_files) == sorted(reference_files)
    for name, content in reference_files.items():
        assert leaderboards_files[name] == content, name
    # the kills reached every kind of stage, each in a live process
    assert killed_in.count("finished") <= 2, killed_in
    assert "features" in killed_in, killed_in
    assert set(TRAINING_PHASES) & set(killed_in), killed_in
    assert "report" in killed_in, killed_in


STORE_WRITER = """
import sys, torch
from w2s_bench.store import RunStore, content_key
store = RunStore(sys.argv[1])
generator = torch.Generator().manual_seed(int(sys.argv[2]))
for index in range(10_000):
    key = content_key({"writer": sys.argv[2], "index": index})
    labels = torch.rand(400_000, 2, generator=generator)
    store.save("weak", key, {"index": index}, {"rows": 400_000}, {"predictions.safetensors": {"weak_labels": labels}})
    print(index, flush=True)
"""


def test_sigkill_during_label_writes(tmp_path: Path) -> None:
    """Weak labels are written as a tensor file, then its record; a kill at any moment leaves whole files."""
    runs = tmp_path / "runs"
    random_moments = random.Random(KILL_SEED)

    for writer in range(3):
        process = subprocess.Popen([sys.executable, "-c", STORE_WRITER, str(runs), str(writer)], cwd=REPO, env=cli_env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "0", process.stderr.read()
        time.sleep(random_moments.uniform(0.0, 1.0))
        process.kill()
        process.wait()

        assert_store_intact(runs)

    assert count_records(runs, "weak") >= 3


# --- concurrent runs -----------------------------------------------------------


def test_two_overlapping_grids_share_phases(tmp_path: Path, tiny_model_dir: Path, reference: Reference) -> None:
    runs = tmp_path / "runs"
    # the second grid is part of the first and starts at the other seed, so
    # both processes want the tiny model's features at once
    second_grid = write_small_grid(tmp_path / "second.toml", tiny_model_dir, list(reversed(SEEDS)), ["aux_conf"])
    processes = [
        start_cli("-v", "grid", str(grid), "--runs-dir", str(runs), stderr=subprocess.PIPE)
        for grid in (reference.grid, second_grid)
    ]
    outputs = [process.communicate(timeout=600)[1] for process in processes]

    for process, stderr in zip(processes, outputs):
        assert process.returncode == 0, stderr
    computed = [phase for stderr in outputs for phase in computed_phases(stderr)]
    assert len(computed) == len(set(computed)), computed
    assert Counter(phase for phase, _ in computed) == Counter(phase for phase, _ in reference.computed)
    assert cell_metrics(runs) == cell_metrics(reference.runs)
    for phase in ("features", "weak", "ceiling", "student", "cells"):
        stored = {name: content for name, content in read_tree(runs / phase).items() if not Path(name).name.startswith(".")}
        expected = {name: content for name, content in read_tree(reference.runs / phase).items() if not Path(name).name.startswith(".")}
        assert stored == expected, phase


# --- corrupted cache -----------------------------------------------------------


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def find_record(runs: Path, phase: str, **config) -> Path:
    """The folder of the one record of ``phase`` whose config contains ``config``."""
    matches = [record.folder for record in RunStore(runs).records(phase) if config.items() <= record.data["config"].items()]
    assert len(matches) == 1, (phase, config, matches)
    return matches[0]


def test_corrupt_files_are_reported_and_recomputed(tmp_path: Path, tiny_model_dir: Path, reference: Reference) -> None:
    runs, leaderboards = tmp_path / "runs", tmp_path / "leaderboards"
    shutil.copytree(reference.runs, runs)
    features = find_record(runs, "features", label=f"{tiny_model_dir} on rotten_tomatoes") / "features.safetensors"
    weak_labels = find_record(runs, "weak", seed=0) / "predictions.safetensors"
    cell = find_record(runs, "cells", seed=0, method="naive") / "record.json"

    features.write_bytes(features.read_bytes()[: features.stat().st_size // 2])
    flip_byte(weak_labels, weak_labels.stat().st_size - 100)
    # one digit of a metric changes and the JSON stays valid
    text = cell.read_text()
    digit = text.index('"student_accuracy": 0.') + len('"student_accuracy": 0.')
    cell.write_text(text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1:])

    result = run_cli("-v", "grid", str(reference.grid), "--runs-dir", str(runs), "--report", "--out", str(leaderboards))

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    for path in (features, weak_labels, cell):
        assert any(str(path) in line for line in warnings), (path, warnings)
    recomputed = computed_phases(result.stderr)
    assert sorted(phase for phase, _ in recomputed) == ["features", "weak"]
    assert_store_intact(runs)
    for path in (features, weak_labels):
        assert path.read_bytes() == (reference.runs / path.relative_to(runs)).read_bytes()
    assert cell_metrics(runs) == cell_metrics(reference.runs)
    assert read_tree(leaderboards) == read_tree(reference.leaderboards)
