"""What a person watches: rich progress bars and result tables."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichBar, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from w2s_bench.metrics import format_pgr
from w2s_bench.progress import Advance, Progress
from w2s_bench.significance import gap_within_noise


class RichProgress(Progress):
    """One progress bar per long step, drawn on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def track(self, description: str, total: int) -> Iterator[Advance]:
        columns = (
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
        )
        with RichBar(*columns, console=self.console, transient=False) as bar:
            task_id = bar.add_task(description, total=total)
            yield lambda count: bar.advance(task_id, count)

    def note(self, message: str) -> None:
        self.console.print(f"[dim]{message}[/dim]")


def results_table(results: list) -> Table:
    table = Table(title="weak-to-strong results (test accuracy)")
    for column in ("task", "method", "weak → strong", "seed", "chance", "weak", "ceiling", "student", "PGR", "agreement"):
        table.add_column(column, justify="right" if column not in ("task", "method", "weak → strong") else "left")

    for result in results:
        cell = result.config
        table.add_row(
            cell.task, cell.method, f"{cell.weak} → {cell.strong}", str(cell.seed), chance_text(result),
            f"{result.weak_accuracy:.3f}", f"{result.ceiling_accuracy:.3f}", f"{result.student_accuracy:.3f}",
            pgr_text(result), f"{result.student_weak_agreement:.3f}",
        )
    return table


def chance_text(result) -> str:
    """Accuracy of a uniformly random candidate (a random legal move on chess); "—" for older records."""
    chance = result.record.metrics.get("chance_accuracy")
    return "—" if chance is None else f"{chance:.3f}"


def pgr_text(result) -> str:
    """PGR, or "within noise" when the ceiling-weak gap is within two standard errors."""
    num_test = result.record.metrics.get("num_test", 0)
    if result.pgr is not None and num_test and gap_within_noise(result.weak_accuracy, result.ceiling_accuracy, num_test):
        return "within noise"
    return format_pgr(result.pgr)


def method_detail_tables(results: list) -> list[Table]:
    """Extra tables for cells whose method records more than one student or ceiling."""
    tables = []
    bootstrap = [result for result in results if "ladder_steps" in result.record.metrics]
    generative = [result for result in results if "adjusted_ceiling_accuracy" in result.record.metrics]
    if bootstrap:
        tables += [ladder_steps_table(bootstrap), bootstrap_summary_table(bootstrap)]
    if generative:
        tables.append(generative_table(generative))
    return tables


def ladder_steps_table(results: list) -> Table:
    table = Table(title="bootstrap ladder steps (test accuracy)")
    for column in ("task", "seed", "loss", "step", "model", "trained on", "test acc", "half-2 label acc"):
        table.add_column(column, justify="right" if column in ("seed", "step", "test acc", "half-2 label acc") else "left")

    for result in results:
        metrics = result.record.metrics
        for step in metrics["ladder_steps"]:
            table.add_row(
                result.config.task, str(result.config.seed), metrics["loss"]["name"], str(step["step"]), step["model"],
                describe_training_data(step["trained_on"]),
                f"{step['test_accuracy']:.3f}", f"{step['label_accuracy']:.3f}",
            )
    return table


def describe_training_data(trained_on: str) -> str:
    """"half2:labels_of_step_1" -> "half 2, labels of step 1"."""
    half, _, labels = trained_on.partition(":")
    return f"{half.replace('half', 'half ')}, {labels.replace('_', ' ')}"


def bootstrap_summary_table(results: list) -> Table:
    table = Table(title="bootstrapped student vs direct jump (test accuracy)")
    columns = ("task", "seed", "loss", "weak", "ceiling", "direct-jump student", "direct PGR", "bootstrapped student", "bootstrap PGR")
    for column in columns:
        table.add_column(column, justify="left" if column in ("task", "loss") else "right")

    for result in results:
        metrics = result.record.metrics
        table.add_row(
            result.config.task, str(result.config.seed), metrics["loss"]["name"],
            f"{result.weak_accuracy:.3f}", f"{result.ceiling_accuracy:.3f}",
            f"{metrics['direct_student_accuracy']:.3f}", format_pgr(metrics["direct_pgr"]),
            f"{result.student_accuracy:.3f}", format_pgr(result.pgr),
        )
    return table


def generative_table(results: list) -> Table:
    table = Table(title="generative finetuning (test accuracy; PGR against the adjusted ceiling)")
    columns = ("task", "seed", "loss", "weak", "plain ceiling", "adjusted ceiling", "student",
               "PGR (adjusted ceiling)", "PGR (plain ceiling)", "held-out LM loss")
    for column in columns:
        table.add_column(column, justify="left" if column in ("task", "loss") else "right")

    for result in results:
        metrics = result.record.metrics
        language_model = metrics["generative"]
        table.add_row(
            result.config.task, str(result.config.seed), metrics["loss"]["name"], f"{result.weak_accuracy:.3f}",
            f"{metrics['plain_ceiling_accuracy']:.3f}", f"{metrics['adjusted_ceiling_accuracy']:.3f}",
            f"{result.student_accuracy:.3f}", format_pgr(result.pgr), format_pgr(metrics["pgr_against_plain_ceiling"]),
            f"{language_model['heldout_loss_before']:.3f} → {language_model['heldout_loss_after']:.3f}",
        )
    return table
