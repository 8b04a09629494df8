"""The ``w2s-bench grid`` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from w2s_bench.paths import DEFAULT_LEADERBOARDS_DIR, DEFAULT_RUNS_DIR

#: Exit status when the grid ended with failed (or, after --fail-fast, unrun) cells.
EXIT_CELLS_FAILED = 1
EXIT_INTERRUPTED = 130


@click.command("grid")
@click.argument("grid_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--task", default=None, help="Tasks, separated by commas; replaces the file's tasks (their [tasks.NAME] overrides still apply).")
@click.option("--method", default=None, help="Methods, separated by commas; replaces the file's methods.")
@click.option("--seeds", "--seed", "seeds", default=None, help="Seeds, separated by commas, e.g. 0,1,2; replaces the file's seeds.")
@click.option("--weak", default=None, help="Weak model of every pair.")
@click.option("--strong", default=None, help="Strong model of every pair.")
@click.option("--ladder", default=None, help="Models, weakest first, separated by commas; every weaker → stronger pair becomes a pair of the grid.")
@click.option("--mode", type=click.Choice(["probe", "finetune"]), default=None, help="Training mode of every cell. File default: probe.")
@click.option("--max-train", type=click.IntRange(min=0), default=None,
              help="Training examples per task, both halves together; 0 uses all. Default: the file's, else 4000 on a CPU and all on a GPU.")
@click.option("--max-test", type=click.IntRange(min=0), default=None,
              help="Test examples per task; 0 uses all. Default: the file's, else 1000 on a CPU and all on a GPU.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs per phase. Default: 5 (probe), 2 (finetune).")
@click.option("--lr", type=float, default=None, help="AdamW learning rate. Default: 1e-3 (probe), 2e-5 (finetune).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Examples per step. Default: 32 (probe), 16 (finetune).")
@click.option("--device", default=None, help="auto (cuda when present), cpu, cuda or cuda:N. Default: the file's, else auto.")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=DEFAULT_RUNS_DIR, show_default=True, help="Run store folder.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cells run at once, each in its own worker process when above 1; the thread budget is split between them.")
@click.option("--executor", "executor_name", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where cells run: on this machine, or as Ray tasks (needs `pip install 'w2s-bench[ray]'`).")
@click.option("--address", default=None,
              help="With --executor ray: the Ray cluster to use (e.g. auto, or HOST:6379). Default: start a local Ray instance.")
@click.option("--retries", type=click.IntRange(min=0), default=None,
              help="With --executor ray: times a failed cell is run again before it is recorded as failed. Default: 2.")
@click.option("--cpus-per-task", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --executor ray: CPUs each feature, finetuning or cell task asks for. Default: 1 (probe), 2 (finetune), 1 per GPU.")
@click.option("--fail-fast", is_flag=True, help="Start no further cell after the first failure.")
@click.option("--dry-run", is_flag=True, help="Print the cells and the trainings they need after sharing; run nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run, print the plan as JSON on stdout.")
@click.option("--report", "write_report", is_flag=True, help="Write the leaderboards (to --out) when the grid ends.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_LEADERBOARDS_DIR, show_default=True,
              help="Leaderboards folder for --report.")
@click.pass_context
def grid_command(ctx: click.Context, grid_file: Path | None, task: str | None, method: str | None, seeds: str | None,
                 weak: str | None, strong: str | None, ladder: str | None, mode: str | None, max_train: int | None,
                 max_test: int | None, epochs: int | None, lr: float | None, batch_size: int | None, device: str | None,
                 runs_dir: Path, jobs: int, executor_name: str, address: str | None, retries: int | None,
                 cpus_per_task: float | None, fail_fast: bool, dry_run: bool, as_json: bool, write_report: bool,
                 out_dir: Path) -> None:
    """Run a grid of cells: tasks × methods × model pairs × seeds.

    GRID_FILE is a TOML grid spec (see grids/default.toml); flags override its
    fields, and without a file --task is required. Finished cells are skipped,
    so rerunning a grid resumes it. Exit status: 0 when every cell finished,
    1 when some failed, 2 on invalid input.
    """
    from w2s_bench.cli import comma_list, console, parse_seeds
    from w2s_bench.errors import UserError
    from w2s_bench.grid.spec import FlagOverrides, load_grid
    from w2s_bench.pipeline import resolve_device
    from w2s_bench.registry import default_registry

    if grid_file is None and task is None:
        raise UserError("give a grid file (e.g. grids/default.toml) or --task")
    if as_json and not dry_run:
        raise UserError("--json only applies to --dry-run")
    ladder_models = comma_list(ladder) if ladder is not None else None
    if ladder_models is not None and len(ladder_models) < 2:
        raise UserError(f"--ladder {ladder!r} is invalid; give at least two models, weakest first")
    ray_options = {"--address": address, "--retries": retries, "--cpus-per-task": cpus_per_task}
    ray_flags_given = [name for name, value in ray_options.items() if value is not None]
    if executor_name != "ray" and ray_flags_given:
        raise UserError(f"{', '.join(ray_flags_given)} {'is' if len(ray_flags_given) == 1 else 'are'} only valid with --executor ray")
    if executor_name == "ray" and jobs != 1:
        raise UserError("--jobs applies to --executor local; Ray runs as many cells at once as the cluster's resources allow")
    if ladder_models is not None and (weak or strong):
        raise UserError("--ladder replaces the model pairs; it cannot be combined with --weak or --strong")

    flags = FlagOverrides(
        tasks=comma_list(task) if task is not None else None,
        methods=comma_list(method) if method is not None else None,
        seeds=parse_seeds(seeds, "--seeds") if seeds is not None else None,
        weak=weak, strong=strong, ladder=ladder_models, mode=mode, max_train=max_train, max_test=max_test,
        epochs=epochs, lr=lr, batch_size=batch_size, device=device,
    )
    registry = default_registry()
    spec = load_grid(grid_file, flags, registry)
    cells = spec.cells(on_gpu=resolve_device(spec.device).type == "cuda")

    if dry_run:
        print_plan(spec.name, cells, runs_dir, registry, as_json)
        return

    if executor_name == "ray":
        from w2s_bench.grid.ray_command import execute_on_ray

        grid_run = execute_on_ray(spec.name, cells, runs_dir, registry, address, retries, cpus_per_task, fail_fast, console())
    else:
        grid_run = execute(spec.name, cells, runs_dir, registry, jobs, fail_fast, console())
    if write_report:
        from w2s_bench.report import write_report as write_report_files
        from w2s_bench.store import RunStore

        for path in write_report_files(RunStore(runs_dir), out_dir):
            click.echo(f"wrote {path}")
    if not grid_run.ok:
        ctx.exit(EXIT_CELLS_FAILED)


def print_plan(name: str, cells: list, runs_dir: Path, registry, as_json: bool) -> None:
    from w2s_bench.cli import console
    from w2s_bench.grid.display import plan_table, sharing_lines
    from w2s_bench.grid.plan import plan_grid
    from w2s_bench.pipeline import Pipeline
    from w2s_bench.store import RunStore

    plan = plan_grid(cells, Pipeline(registry, RunStore(runs_dir)), build_models=False)
    if as_json:
        click.echo(json.dumps({"grid": name, **plan.as_dict()}, indent=2))
        return

    out = console(stderr=False)
    out.print(plan_table(plan))
    for line in sharing_lines(plan):
        out.print(line)


def execute(name: str, cells: list, runs_dir: Path, registry, jobs: int, fail_fast: bool, err_console):
    from w2s_bench.cli import console
    from w2s_bench.executors.local import LocalExecutor
    from w2s_bench.grid.display import GridDisplay, summary_line, summary_table
    from w2s_bench.grid.runner import run_grid
    from w2s_bench.pipeline import Pipeline
    from w2s_bench.store import RunStore

    display = GridDisplay(err_console, name)
    pipeline = Pipeline(registry, RunStore(runs_dir), display.phase_progress())
    executor = LocalExecutor(jobs, registry=registry if jobs == 1 else None, progress=display.phase_progress())
    if jobs == 1:
        executor.adopt(pipeline)

    try:
        with display:
            grid_run = run_grid(name, cells, pipeline, executor, display, fail_fast=fail_fast, jobs=jobs)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished cells are stored, and rerunning the grid resumes it")
        sys.exit(EXIT_INTERRUPTED)

    console(stderr=False).print(summary_table(grid_run))
    click.echo(f"grid {name}: {summary_line(grid_run)}")
    err_console.print(f"records stored under {runs_dir}; run `w2s-bench report` to update the leaderboards")
    return grid_run
