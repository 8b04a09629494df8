"""Grid output for people: the live progress display and the tables of a dry run and a finished grid."""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichBar, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from w2s_bench.grid.plan import STEP_PHASES, GridPlan, PlannedCell
from w2s_bench.grid.runner import DONE, FAILED, FINISHED_BEFORE, NOT_RUN, CellRun, GridListener, GridRun
from w2s_bench.metrics import format_pgr
from w2s_bench.progress import Advance, Progress


def cell_label(cell) -> str:
    options = "".join(f" {key}={value}" for key, value in sorted(cell.method_options.items()))
    return f"{cell.task} {cell.method}{options} {cell.weak}→{cell.strong} seed {cell.seed}"


def format_seconds(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class GridDisplay(GridListener):
    """A rich progress display: one bar for the grid, one per running cell and phase.

    Finished cells are printed as lines above the bars, so the display also
    reads well when stderr is a log file.
    """

    def __init__(self, console: Console, name: str) -> None:
        self.console = console
        self.name = name
        self.bar = RichBar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)
        self.grid_task: TaskID | None = None
        self.running: dict[int, tuple[TaskID, float]] = {}
        self.seconds: list[float] = []
        self.counts = {DONE: 0, FAILED: 0}
        self.to_run = 0
        self.jobs = 1

    def __enter__(self) -> "GridDisplay":
        self.bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.bar.stop()

    # --- GridListener ----------------------------------------------------

    def planned(self, plan: GridPlan, jobs: int) -> None:
        self.jobs = jobs
        self.to_run = len(plan.pending)
        self.console.print(
            f"grid {self.name}: {len(plan.cells)} cells, {len(plan.finished)} finished before, "
            f"{self.to_run} to run; {plan.trainings} trainings and {plan.needed.get('features', 0)} feature caches needed"
        )
        self.grid_task = self.bar.add_task(self.describe(), total=self.to_run)

    def started(self, cell: PlannedCell) -> None:
        if cell.index in self.running:  # started again after its worker died
            self.bar.remove_task(self.running.pop(cell.index)[0])
        task_id = self.bar.add_task(f"  [cyan]{cell_label(cell.cell)}[/cyan]", total=None)
        self.running[cell.index] = (task_id, time.monotonic())
        self.refresh()

    def finished(self, cell: PlannedCell, run: CellRun) -> None:
        if cell.index in self.running:
            task_id, _ = self.running.pop(cell.index)
            self.bar.remove_task(task_id)
        self.counts[run.status] = self.counts.get(run.status, 0) + 1
        if run.seconds is not None:
            self.seconds.append(run.seconds)

        took = format_seconds(run.seconds or 0.0)
        if run.status == DONE:
            pgr = format_pgr(run.metrics.get("pgr")) if run.metrics else "?"
            self.console.print(f"[green]done[/green]   {cell_label(cell.cell)} in {took}, PGR {pgr}")
        else:
            self.console.print(f"[red]failed[/red] {cell_label(cell.cell)} after {took}: {run.error}")
        if self.grid_task is not None:
            self.bar.advance(self.grid_task, 1)
        self.refresh()

    # --- phase bars inside a running cell (one job, in this process) ----

    def phase_progress(self) -> Progress:
        return PhaseBars(self)

    # --- the grid line ---------------------------------------------------

    def describe(self) -> str:
        finished = self.counts[DONE] + self.counts[FAILED]
        waiting = self.to_run - finished - len(self.running)
        parts = [
            f"grid {self.name}", f"{self.counts[DONE]} done", f"[red]{self.counts[FAILED]} failed[/red]" if self.counts[FAILED] else "0 failed",
            f"{len(self.running)} running", f"{waiting} waiting",
        ]
        eta = self.estimate_left(waiting)
        if eta is not None:
            parts.append(f"about {format_seconds(eta)} left")
        return " · ".join(parts)

    def estimate_left(self, waiting: int) -> float | None:
        """Mean time per cell so far × cells left, spread over the jobs; None before any cell ends."""
        if not self.seconds:
            return None
        per_cell = statistics.fmean(self.seconds)
        return per_cell * (waiting + len(self.running)) / self.jobs

    def refresh(self) -> None:
        if self.grid_task is not None:
            self.bar.update(self.grid_task, description=self.describe())


class PhaseBars(Progress):
    """Phase bars of the cell running in this process, drawn inside the grid display."""

    def __init__(self, display: GridDisplay) -> None:
        self.display = display

    @contextmanager
    def track(self, description: str, total: int) -> Iterator[Advance]:
        bar = self.display.bar
        task_id = bar.add_task(f"    {description}", total=total)
        try:
            yield lambda count: bar.advance(task_id, count)
        finally:
            bar.remove_task(task_id)

    def note(self, message: str) -> None:
        """Reuse notes are frequent in a grid; they stay out of the display."""


# --- after the grid ------------------------------------------------------


def plan_table(plan: GridPlan) -> Table:
    """Build the table of a dry run's cells, with each one's status."""
    table = Table(title="grid cells")
    for column in ("#", "task", "method", "weak → strong", "seed", "mode", "status"):
        table.add_column(column, justify="right" if column in ("#", "seed") else "left")

    for planned in plan.cells:
        cell = planned.cell
        options = "".join(f" {key}={value}" for key, value in sorted(cell.method_options.items()))
        status = "to run"
        if planned.finished:
            status = "finished"
        elif planned.error:
            status = f"[red]error: {planned.error}[/red]"
        table.add_row(str(planned.index), cell.task, cell.method + options, f"{cell.weak} → {cell.strong}", str(cell.seed), cell.mode, status)
    return table


def sharing_lines(plan: GridPlan) -> list[str]:
    needed = ", ".join(f"{phase} {plan.needed.get(phase, 0)}" for phase in STEP_PHASES)
    unshared = ", ".join(f"{phase} {plan.unshared.get(phase, 0)}" for phase in STEP_PHASES)
    return [
        f"cells: {len(plan.cells)} in all, {len(plan.finished)} finished, {len(plan.pending)} to run",
        f"trainings needed after sharing: {plan.trainings} ({needed})",
        f"without sharing it would be: {plan.unshared_trainings} ({unshared})",
    ]


def summary_table(grid_run: GridRun) -> Table:
    """Build a table with one row per cell: status, time and the cell's metrics."""
    table = Table(title=f"grid {grid_run.name}")
    columns = ("task", "method", "weak → strong", "seed", "status", "time", "weak", "ceiling", "student", "PGR")
    for column in columns:
        table.add_column(column, justify="left" if column in ("task", "method", "weak → strong", "status") else "right")

    for run in grid_run.cells:
        cell, metrics = run.cell, run.metrics
        options = "".join(f" {key}={value}" for key, value in sorted(cell.method_options.items()))
        status = {DONE: "[green]done[/green]", FAILED: f"[red]failed: {run.error}[/red]", FINISHED_BEFORE: "finished before", NOT_RUN: "not run"}[run.status]
        accuracies = [f"{metrics[name]:.3f}" if name in metrics else "—" for name in ("weak_accuracy", "ceiling_accuracy", "student_accuracy")]
        table.add_row(
            cell.task, cell.method + options, f"{cell.weak} → {cell.strong}", str(cell.seed), status,
            format_seconds(run.seconds) if run.seconds is not None else "—", *accuracies,
            format_pgr(metrics.get("pgr")) if "pgr" in metrics else "—",
        )
    return table


def summary_line(grid_run: GridRun) -> str:
    timed = [run.seconds for run in grid_run.cells if run.status in (DONE, FAILED) and run.seconds is not None]
    per_cell = f", {format_seconds(statistics.fmean(timed))} per cell run" if timed else ""
    return (
        f"{grid_run.count(DONE)} done, {grid_run.count(FAILED)} failed, {grid_run.count(FINISHED_BEFORE)} finished before, "
        f"{grid_run.count(NOT_RUN)} not run; wall time {format_seconds(grid_run.wall_seconds)}{per_cell}"
    )
