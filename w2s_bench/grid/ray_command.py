"""``w2s-bench grid --executor ray``: the grid runner with its cells on Ray."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from w2s_bench.grid.command import EXIT_INTERRUPTED


def describe_counts(counts: dict[str, int]) -> str:
    """Describe the Ray tasks a grid submitted, e.g. "2 shared phases (features 2), 4 cells, 1 retry"."""
    shared = {name.removeprefix("shared "): count for name, count in sorted(counts.items()) if name.startswith("shared ")}
    shared_text = ", ".join(f"{phase} {count}" for phase, count in shared.items())
    text = f"{sum(shared.values())} shared phases" + (f" ({shared_text})" if shared_text else "")
    text += f", {counts.get('cell', 0)} cell tasks"
    retries = counts.get("retry", 0)
    return text + f", {retries} {'retry' if retries == 1 else 'retries'}"


def execute_on_ray(name: str, cells: list, runs_dir: Path, registry, address: str | None, retries: int | None,
                   cpus_per_task: float | None, fail_fast: bool, err_console):
    from w2s_bench.cli import console
    from w2s_bench.executors.ray_executor import DEFAULT_RETRIES, RayExecutor
    from w2s_bench.grid.display import GridDisplay, summary_line, summary_table
    from w2s_bench.grid.runner import run_grid
    from w2s_bench.pipeline import Pipeline
    from w2s_bench.store import RunStore

    executor = RayExecutor(address, DEFAULT_RETRIES if retries is None else retries, cpus_per_task, registry)
    display = GridDisplay(err_console, name)
    pipeline = Pipeline(registry, RunStore(runs_dir))
    try:
        cluster = executor.connect()
        err_console.print(f"Ray: {cluster.total_cpus:g} CPUs, {cluster.total_gpus:g} GPUs"
                          + (f" at {address}" if address else " on a local instance"))
        jobs = executor.parallel_cells(cells)
        with display:
            grid_run = run_grid(name, cells, pipeline, executor, display, fail_fast=fail_fast, jobs=jobs)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished cells are stored, and rerunning the grid resumes it")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        executor.close()

    console(stderr=False).print(summary_table(grid_run))
    click.echo(f"grid {name}: {summary_line(grid_run)}")
    click.echo(f"ray tasks: {describe_counts(executor.counts)}")
    err_console.print(f"records stored under {runs_dir}; run `w2s-bench report` to update the leaderboards")
    return grid_run
