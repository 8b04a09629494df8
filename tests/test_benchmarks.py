"""The benchmark entry point runs end to end (tiny sizes; no speed is asserted)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO


def run_benchmarks(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def test_benchmark_modules_listed():
    result = run_benchmarks("--list")

    names = result.stdout.split()
    assert result.returncode == 0, result.stderr
    assert names[0] == "overhead"
    for expected in ("padding", "cache", "memory", "scaling", "settings"):
        assert expected in names
    assert "support" not in names


def test_cache_figure_end_to_end(tmp_path):
    output = tmp_path / "benchmarks.md"

    result = run_benchmarks("--quick", "--only", "cache", "--output", str(output))

    assert result.returncode == 0, result.stderr
    assert "Feature cache" in result.stdout
    page = output.read_text()
    assert "| 4 | Feature cache |" in page
    assert "naive (s)" in page
    assert "load average" in page
    assert "CPU" in page


def test_unknown_benchmark_rejected(tmp_path):
    result = run_benchmarks("--quick", "--only", "nosuch", "--output", str(tmp_path / "x.md"))

    assert result.returncode != 0
    assert "unknown benchmark nosuch" in result.stderr
    assert not (tmp_path / "x.md").exists()
