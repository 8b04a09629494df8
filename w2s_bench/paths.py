"""Default folders: the model cache, the runs folder and the leaderboards folder."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "W2S_BENCH_CACHE"
DEFAULT_RUNS_DIR = Path("runs")
DEFAULT_LEADERBOARDS_DIR = Path("leaderboards")


def cache_dir() -> Path:
    """The model cache: ``$W2S_BENCH_CACHE``, else ``$XDG_CACHE_HOME/w2s-bench``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "w2s-bench"
