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
    for column in ("task", "method", "weak → strong", "seed", "weak", "ceiling", "student", "PGR", "agreement"):
        table.add_column(column, justify="right" if column not in ("task", "method", "weak → strong") else "left")

    for result in results:
        cell = result.config
        table.add_row(
            cell.task, cell.method, f"{cell.weak} → {cell.strong}", str(cell.seed),
            f"{result.weak_accuracy:.3f}", f"{result.ceiling_accuracy:.3f}", f"{result.student_accuracy:.3f}",
            pgr_text(result), f"{result.student_weak_agreement:.3f}",
        )
    return table


def pgr_text(result) -> str:
    """PGR, or "within noise" when the ceiling-weak gap is within two standard errors."""
    num_test = result.record.metrics.get("num_test", 0)
    if result.pgr is not None and num_test and gap_within_noise(result.weak_accuracy, result.ceiling_accuracy, num_test):
        return "within noise"
    return format_pgr(result.pgr)
