"""The ``w2s-bench reward`` commands."""

from __future__ import annotations

import math
from pathlib import Path

import click

from w2s_bench.errors import UserError
from w2s_bench.paths import DEFAULT_RUNS_DIR

#: The reward task whose weak-to-ceiling gap was measured to be beyond noise
#: with the default models (see docs/reward.md).
DEFAULT_REWARD_TASK = "rm-reviews"


@click.group()
def reward() -> None:
    """Reward-model tasks: preference pairs scored with a Bradley–Terry reward head."""


def percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}"


def interval(accuracy: float, count: int) -> str:
    from w2s_bench.tasks.reward.gap import wilson_interval

    low, high = wilson_interval(accuracy, count)
    return f"{percent(low)}–{percent(high)}"


def gap_table(task: str, group) -> "Table":
    """One table per method × model pair: a row per seed, then the mean over seeds."""
    from rich.table import Table

    from w2s_bench.metrics import format_pgr, pgr
    from w2s_bench.tasks.reward.gap import mean_and_spread

    title = f"{task}, {group.method}, {group.weak_model} → {group.strong_model} ({group.mode}): test accuracy (%)"
    table = Table(title=title)
    for column in ("seed", "n test", "weak", "weak 95 % CI", "ceiling", "ceiling 95 % CI", "student", "PGR", "gap", "gap/SE"):
        table.add_column(column, justify="right")

    for seed in group.seeds:
        table.add_row(
            str(seed.seed), str(seed.num_test), percent(seed.weak), interval(seed.weak, seed.num_test),
            percent(seed.ceiling), interval(seed.ceiling, seed.num_test), percent(seed.student),
            format_pgr(seed.pgr), percent(seed.gap), f"{seed.gap_in_standard_errors:.1f}",
        )

    if len(group.seeds) > 1:
        weak, weak_sd = mean_and_spread([seed.weak for seed in group.seeds])
        ceiling, ceiling_sd = mean_and_spread([seed.ceiling for seed in group.seeds])
        student, student_sd = mean_and_spread([seed.student for seed in group.seeds])
        gap, gap_sd = mean_and_spread([seed.gap for seed in group.seeds])
        table.add_row(
            "mean ± sd", "", f"{percent(weak)} ± {percent(weak_sd)}", "", f"{percent(ceiling)} ± {percent(ceiling_sd)}", "",
            f"{percent(student)} ± {percent(student_sd)}", format_pgr(pgr(weak, ceiling, student)),
            f"{percent(gap)} ± {percent(gap_sd)}", "", style="bold",
        )
    return table


@reward.command("gap")
@click.option("--task", default=DEFAULT_REWARD_TASK, show_default=True, help="Task whose stored cells to read.")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=DEFAULT_RUNS_DIR, show_default=True, help="Run store folder to read.")
def gap_command(task: str, runs_dir: Path) -> None:
    """Print weak, ceiling, student and PGR per seed, with the gap in standard errors.

    Accuracies are in percent. The intervals are 95 % Wilson intervals of an
    accuracy on the test set. gap/SE is the ceiling-minus-weak
    gap divided by its paired standard error on that test set.
    """
    from w2s_bench.cli import console
    from w2s_bench.registry import default_registry
    from w2s_bench.store import RunStore
    from w2s_bench.tasks.reward.gap import collect_gaps

    if not runs_dir.is_dir():
        raise UserError(f"runs folder {runs_dir} not found; run `w2s-bench run --task {task}` first or pass --runs-dir")
    groups = collect_gaps(RunStore(runs_dir), default_registry(), task)
    if not groups:
        raise UserError(f"no finished cells of task {task!r} in {runs_dir}; run `w2s-bench run --task {task}` first")

    out = console(stderr=False)
    for group in groups:
        out.print(gap_table(task, group))
