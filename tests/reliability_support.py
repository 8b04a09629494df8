"""Helpers for the reliability tests: a small grid on the tiny BERT, grid
processes started and watched from outside, and a check that every file of a
run store is whole."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file

from conftest import CLI, REPO
from w2s_bench.store import RECORD_FILE, RunStore

#: Enough epochs that every training phase lasts long enough to be interrupted.
EPOCHS = 100

#: The phases that train a model, in the order a cell runs them.
TRAINING_PHASES = ("weak", "ceiling", "student")


def write_small_grid(path: Path, weak_model: Path, seeds: list[int], methods: list[str]) -> Path:
    """Write a grid of the tiny weak model and minilm-l1 on a small slice of rotten_tomatoes."""
    text = "\n".join([
        'name = "reliability"',
        'tasks = ["rotten_tomatoes"]',
        f"methods = {json.dumps(methods)}",
        f"seeds = {json.dumps(seeds)}",
        f'pairs = [["{weak_model}", "minilm-l1"]]',
        "max_train = 200",
        "max_test = 100",
        f"epochs = {EPOCHS}",
    ])
    path.write_text(text + "\n", encoding="utf-8")
    return path


def cli_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1"}


def start_cli(*args: str, stderr: int | None = subprocess.DEVNULL) -> subprocess.Popen:
    """Start ``w2s-bench`` in its own process group, so a kill reaches every process it started."""
    return subprocess.Popen([*CLI, *args], cwd=REPO, env=cli_env(), stdout=subprocess.DEVNULL, stderr=stderr,
                            text=True, start_new_session=True)


def open_store_locks(pid: int, runs: Path) -> set[str]:
    """Return the phases whose lock file the process has open, read from ``/proc/PID/fd``.

    A phase (or a feature cache) holds its lock while it is computed and
    written, so this shows what the process is doing without instrumenting it.
    """
    phases = set()
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return phases

    for descriptor in descriptors:
        try:
            target = Path(os.readlink(f"/proc/{pid}/fd/{descriptor}"))
        except OSError:
            continue
        if target.name == ".lock" and runs in target.parents:
            phases.add(target.parent.parent.name)
    return phases


def stage_of(pid: int, runs: Path) -> str | None:
    """Name the phase the process is computing (features or a training phase), or None."""
    phases = open_store_locks(pid, runs)
    if "features" in phases:
        return "features"
    for phase in reversed(TRAINING_PHASES):
        if phase in phases:
            return phase
    return None


def count_records(runs: Path, phase: str) -> int:
    return len(list((runs / phase).glob(f"*/{RECORD_FILE}")))


def assert_store_intact(runs: Path) -> None:
    """Check that every stored file is whole.

    A ``record.json`` must verify (its own checksum and those of its tensor
    files). A tensor file beside no record is a phase cut short after the file
    was renamed into place, so it must still be a complete safetensors file.
    Hidden files (locks and temporary files not yet renamed) are never read.
    """
    store = RunStore(runs)
    for folder in sorted(path for path in runs.glob("*/*") if path.is_dir()):
        record_path = folder / RECORD_FILE
        visible = [path for path in folder.iterdir() if not path.name.startswith(".")]

        if record_path.exists():
            data = json.loads(record_path.read_text(encoding="utf-8"))
            record = store.load(folder.parent.name, data["key"])
            assert record is not None, f"{record_path} does not verify"
            for path in visible:
                assert path.name == RECORD_FILE or path.name in data["files"], f"{path} is not listed in its record"
            continue

        for path in visible:
            try:
                load_file(str(path))
            except SafetensorError as error:
                raise AssertionError(f"{path} is a partial tensor file: {error}") from None


def computed_phases(stderr: str) -> list[tuple[str, str]]:
    """Return (phase, key or label) for each phase and feature cache that a ``-v`` log reports as computed."""
    computed = [(match["phase"], match["key"]) for match in re.finditer(r"INFO w2s_bench\.pipeline: (?P<phase>\w+) phase (?P<key>\w+): computing", stderr)]
    computed += [("features", match["label"]) for match in re.finditer(r"INFO w2s_bench\.features: cached features for (?P<label>.+?): \(", stderr)]
    return computed


def cell_metrics(runs: Path) -> dict[str, dict]:
    """Each stored cell's metrics, keyed by its config in canonical JSON."""
    return {json.dumps(record.data["config"], sort_keys=True): record.metrics for record in RunStore(runs).records("cells")}


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, for comparing two outputs byte for byte."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}
