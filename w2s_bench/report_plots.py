"""The leaderboard figures, drawn with matplotlib's Agg canvas into PNG bytes.

* accuracy: student test accuracy against strong-ceiling accuracy, one line
  per weak model and method, the weak model's accuracy dashed, y = x dotted
  (Burns et al. 2023 plot their results this way);
* PGR: bars per method with 95 % bootstrap confidence intervals, per task
  and, in the overview, per model pair across tasks. Rows whose ceiling −
  weak gap is within noise get a label instead of a bar;
* ladder: accuracy at each step of a ladder, for cell records that store one.

A ladder is read from a cell record's ``metrics["ladder_steps"]``, which the
bootstrap method writes: a list of ``{"model": name, "test_accuracy": value}``
entries from the weak supervisor to the final student.
"""

from __future__ import annotations

import io
import statistics
from collections import defaultdict
from typing import Any

from w2s_bench.report import LeaderboardRow

DPI = 110
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    # no Software tag, so the bytes depend only on the data and the drawing code
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def ci_error(summary: Any) -> tuple[float, float]:
    """Distances below and above the mean for an error bar; zero without an interval."""
    if summary is None or summary.ci_low is None:
        return 0.0, 0.0
    return max(summary.mean - summary.ci_low, 0.0), max(summary.ci_high - summary.mean, 0.0)


# --- accuracy against the ceiling ----------------------------------------


def accuracy_figure(task: str, rows: list[LeaderboardRow]) -> bytes | None:
    """Student accuracy against ceiling accuracy per weak model and method; None without results."""
    finished = [row for row in rows if row.results]
    if not finished:
        return None

    modes = sorted({row.mode for row in finished})
    figure = new_figure(6.0 * len(modes), 4.6)
    weak_models = sorted({row.weak for row in finished})
    methods = sorted({row.method for row in finished})

    for panel, mode in enumerate(modes, start=1):
        axes = figure.add_subplot(1, len(modes), panel)
        mode_rows = [row for row in finished if row.mode == mode]
        values = []

        for weak_index, weak in enumerate(weak_models):
            color = COLORS[weak_index % len(COLORS)]
            weak_rows = [row for row in mode_rows if row.weak == weak]
            if not weak_rows:
                continue
            weak_accuracy = statistics.fmean(accuracy for row in weak_rows for accuracy in row.weak_accuracy)
            axes.axhline(weak_accuracy, color=color, linestyle="--", linewidth=1, alpha=0.7)
            values.append(weak_accuracy)

            for method_index, method in enumerate(methods):
                line = sorted((row for row in weak_rows if row.method == method), key=lambda row: row.ceiling_summary.mean)
                if not line:
                    continue
                x = [row.ceiling_summary.mean for row in line]
                y = [row.student_summary.mean for row in line]
                errors = list(zip(*(ci_error(row.student_summary) for row in line)))
                axes.errorbar(x, y, yerr=errors, color=color, marker=MARKERS[method_index % len(MARKERS)],
                              linestyle="-" if method_index == 0 else ":", capsize=3, label=f"{weak} · {method}")
                values.extend(x)
                values.extend(mean - low for mean, low in zip(y, errors[0]))
                values.extend(mean + high for mean, high in zip(y, errors[1]))

        low, high = min(values) - 0.02, max(values) + 0.02
        axes.plot([low, high], [low, high], color="grey", linestyle=":", linewidth=1, label="student = ceiling")
        axes.set_xlim(low, high)
        axes.set_ylim(low, high)
        axes.set_xlabel("strong ceiling test accuracy")
        axes.set_ylabel("student test accuracy")
        axes.set_title(f"{task} ({mode}); dashed: weak model accuracy", fontsize=9)
        axes.legend(fontsize=7, loc="upper left")
        axes.grid(alpha=0.3)
    return png_bytes(figure)


# --- PGR bars ------------------------------------------------------------


def draw_pgr_bars(axes: Any, groups: list[str], methods: list[str], rows_at: dict[tuple[str, str], LeaderboardRow]) -> None:
    """Grouped bars: one group per label in ``groups``, one bar per method."""
    width = 0.8 / max(len(methods), 1)

    for method_index, method in enumerate(methods):
        for group_index, group in enumerate(groups):
            row = rows_at.get((group, method))
            x = group_index + (method_index - (len(methods) - 1) / 2) * width
            label = method if group_index == 0 else None
            color = COLORS[method_index % len(COLORS)]
            summary = row.pgr.summary if row is not None else None
            if row is not None and row.gap_within_noise:
                # a PGR over a gap within noise is noise, and would set the scale
                summary = None
            if summary is None:
                text = "n/a"
                if row is not None and not row.results:
                    text = "failed"
                elif row is not None and row.gap_within_noise:
                    text = "gap within noise"
                axes.bar(x, 0.0, width, color=color, label=label)
                axes.annotate(text, (x, 0.0), ha="center", va="bottom", fontsize=7, rotation=90)
                continue
            low, high = ci_error(summary)
            axes.bar(x, summary.mean, width, color=color, label=label, yerr=[[low], [high]], capsize=3)

    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xticks(range(len(groups)))
    axes.set_xticklabels(groups, rotation=20, ha="right", fontsize=8)
    axes.set_ylabel("PGR (mean over seeds, 95 % CI)")
    axes.legend(fontsize=7)
    axes.grid(axis="y", alpha=0.3)


def task_pgr_figure(task: str, rows: list[LeaderboardRow]) -> bytes | None:
    """PGR per method, grouped by model pair and mode, for one task."""
    if not rows:
        return None
    groups = list(dict.fromkeys(f"{row.weak}→{row.strong} ({row.mode})" for row in rows))
    methods = sorted({row.method for row in rows})
    rows_at = {}
    for row in sorted(rows, key=lambda row: len(row.results)):
        rows_at[(f"{row.weak}→{row.strong} ({row.mode})", row.method)] = row

    figure = new_figure(max(5.0, 1.0 + 1.2 * len(groups)), 4.2)
    axes = figure.add_subplot(1, 1, 1)
    draw_pgr_bars(axes, groups, methods, rows_at)
    axes.set_title(f"{task}: PGR per method", fontsize=10)
    return png_bytes(figure)


def overview_pgr_figure(setting: tuple[str, str, str], rows: list[LeaderboardRow]) -> bytes | None:
    """PGR per method across tasks, for one model pair and mode."""
    if not rows:
        return None
    groups = sorted({row.task for row in rows})
    methods = sorted({row.method for row in rows})
    rows_at = {}
    for row in sorted(rows, key=lambda row: len(row.results)):
        rows_at[(row.task, row.method)] = row

    weak, strong, mode = setting
    figure = new_figure(max(5.0, 1.0 + 1.2 * len(groups)), 4.2)
    axes = figure.add_subplot(1, 1, 1)
    draw_pgr_bars(axes, groups, methods, rows_at)
    axes.set_title(f"PGR per method and task: {weak} → {strong}, {mode}", fontsize=10)
    return png_bytes(figure)


# --- ladders -------------------------------------------------------------


def ladder_steps(row: LeaderboardRow) -> list[tuple[str, list[float]]] | None:
    """(model, accuracy per seed) along the row's ladder; None when its records have none."""
    steps: dict[str, list[float]] = defaultdict(list)
    order: list[str] = []
    for result in row.results:
        ladder = result.metrics.get("ladder_steps")
        if not isinstance(ladder, list):
            return None
        for step in ladder:
            if not isinstance(step, dict) or "model" not in step or "test_accuracy" not in step:
                return None
            if step["model"] not in steps:
                order.append(step["model"])
            steps[step["model"]].append(float(step["test_accuracy"]))
    return [(model, steps[model]) for model in order] if order else None


def ladder_figure(task: str, rows: list[LeaderboardRow]) -> bytes | None:
    """Test accuracy at each ladder step, mean over seeds; None when no row has a ladder."""
    ladders = [(row, ladder_steps(row)) for row in rows if row.results]
    ladders = [(row, steps) for row, steps in ladders if steps]
    if not ladders:
        return None

    figure = new_figure(6.5, 4.2)
    axes = figure.add_subplot(1, 1, 1)
    for index, (row, steps) in enumerate(ladders):
        models = [model for model, _ in steps]
        means = [statistics.fmean(values) for _, values in steps]
        axes.plot(range(len(models)), means, marker=MARKERS[index % len(MARKERS)], color=COLORS[index % len(COLORS)],
                  label=f"{row.method}: {row.weak}→{row.strong} ({row.mode})")
        for position, model in enumerate(models):
            axes.annotate(model, (position, means[position]), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)

    axes.set_xlabel("ladder step")
    axes.set_ylabel("test accuracy (mean over seeds)")
    axes.set_title(f"{task}: accuracy along the ladder", fontsize=10)
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    return png_bytes(figure)
