"""Peak resident memory (RSS) of the default demo and the default grid, each
run as the user runs it: the ``w2s-bench`` command in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.support.figures import Context, Figure

ORDER = 60
REPO = Path(__file__).resolve().parents[1]
DEMO = ["run", "--task", "rotten_tomatoes", "--method", "naive,aux_conf"]
GRID = ["grid", "grids/default.toml"]


#: Runs the command and prints its peak RSS. A launcher process is needed
#: because Linux carries a forked child's maximum RSS over from its parent
#: (here the benchmark process, with models loaded), so the benchmark's own
#: rusage of the child would report at least the benchmark's size.
LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def peak_rss(arguments: list[str]) -> tuple[float, float]:
    """Run ``w2s-bench ARGUMENTS``; return its peak RSS in MiB and its wall time in seconds.

    :raises RuntimeError: when the command fails, with the end of its output.
    """
    command = [sys.executable, "-m", "w2s_bench.cli", *arguments]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", LAUNCHER, *command], cwd=REPO, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit code {result.returncode}: {result.stderr[-2000:]}")
    peak_kib = int(result.stderr.strip().splitlines()[-1])  # Linux reports ru_maxrss in KiB
    return peak_kib / 1024, elapsed


def slice_arguments(context: Context) -> list[str]:
    train = context.settings.memory_train
    return [] if train is None else ["--max-train", str(train), "--max-test", str(max(2, train // 4))]


def measure(context: Context) -> list[Figure]:
    settings = context.settings
    demo = [*DEMO, "--runs-dir", str(context.workdir / "memory-demo"), *slice_arguments(context)]
    grid = [*GRID, "--runs-dir", str(context.workdir / "memory-grid"), *slice_arguments(context)]
    if settings.grid_ladder:
        grid += ["--ladder", settings.grid_ladder]
    if settings.grid_seeds:
        grid += ["--seeds", settings.grid_seeds]

    figures = []
    for name, arguments, whole in (
        ("demo", demo, "the default demo (`make demo` without its model fetch)"),
        ("grid", grid, "the default grid"),
    ):
        rss, seconds = peak_rss(arguments)
        sliced = settings.memory_train is not None or (name == "grid" and (settings.grid_ladder or settings.grid_seeds))
        figures.append(Figure(
            "6", f"Peak memory, {name}", f"peak RSS of {whole}{', a slice' if sliced else ''}",
            rss, unit="MiB",
            details={"command": "`w2s-bench " + " ".join(arguments).replace(str(context.workdir), "$TMP") + "`",
                     "wall time": f"{seconds:.0f} s"},
        ))
    return figures
