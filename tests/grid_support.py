"""Helpers for the grid and report tests: the CLI in a subprocess, small grid
files, and a method plugin installed through entry-point metadata."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "w2s_bench.cli"]

#: Small slices keep real-model grids to seconds on a 2-core CPU.
SMALL_SIZES = "max_train = 300\nmax_test = 200\n"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``w2s-bench`` in a subprocess, as a user would."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO)


def write_grid(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


FLAKY_PLUGIN = '''
"""A method plugin for tests: trains like naive, raises, returns a NaN loss,
or ends its process at once (``die``).

With W2S_TEST_PAUSE_FILE set, the first loss call in a process creates that
file and then sleeps, so a test can kill the grid at a known point.
"""

import os
import time
from pathlib import Path

from w2s_bench.hookspecs import hookimpl
from w2s_bench.losses import soft_cross_entropy
from w2s_bench.methods import Method
from w2s_bench.specs import MethodSpec


class FlakyMethod(Method):
    name = "flaky"

    def __init__(self, behaviour="ok"):
        self.behaviour = behaviour

    def config(self):
        return {**super().config(), "behaviour": self.behaviour}

    def loss(self, logits, mask, targets, fraction):
        pause_file = os.environ.get("W2S_TEST_PAUSE_FILE")
        if pause_file:
            Path(pause_file).touch()
            time.sleep(600)
        if self.behaviour == "die":
            os._exit(3)
        if self.behaviour == "raise":
            raise RuntimeError("flaky method exploded on purpose")
        if self.behaviour == "nan":
            return soft_cross_entropy(logits, mask, targets) * float("nan")
        return soft_cross_entropy(logits, mask, targets)


@hookimpl
def w2s_bench_register_methods():
    return [MethodSpec("flaky", FlakyMethod, "naive loss, or a failure on request (tests only)")]
'''


def install_flaky_plugin(folder: Path) -> dict[str, str]:
    """Write the plugin and its dist-info into ``folder``; return the env that puts it on the path.

    importlib.metadata finds ``*.dist-info`` folders on ``sys.path``, so the
    plugin registers through the ``w2s_bench`` entry-point group in every
    process, worker processes included, without pip.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flaky_plugin.py").write_text(FLAKY_PLUGIN, encoding="utf-8")
    dist_info = folder / "flaky_plugin-1.0.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: flaky-plugin\nVersion: 1.0\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text("[w2s_bench]\nflaky = flaky_plugin\n", encoding="utf-8")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH", "")]))}


def stored_counts(runs: Path) -> dict[str, int]:
    """Finished records per phase folder of a run store."""
    counts = {}
    for phase in ("features", "weak", "ceiling", "student", "cells", "failures"):
        folder = runs / phase
        counts[phase] = sum(1 for record in folder.glob("*/record.json")) if folder.is_dir() else 0
    return counts


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, for comparing two outputs byte for byte."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}
