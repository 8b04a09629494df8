"""The leaderboards as CSV (one line per row) and JSON (rows with every seed, and the overview).

Run folders are given relative to the run store's root (``cells/<key>``), so
the files do not depend on where the store lives.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from w2s_bench.report import LeaderboardRow, overview
from w2s_bench.stats import Summary
from w2s_bench.store import RunStore

SUMMARY_FIELDS = ("mean", "std", "ci_low", "ci_high")


def store_relative(folder: Path, store: RunStore) -> str:
    try:
        return folder.resolve().relative_to(store.root.resolve()).as_posix()
    except ValueError:
        return folder.as_posix()


def summary_dict(summary: Summary | None) -> dict[str, float | None]:
    if summary is None:
        return dict.fromkeys(SUMMARY_FIELDS)
    return {"mean": summary.mean, "std": summary.std, "ci_low": summary.ci_low, "ci_high": summary.ci_high}


def row_dict(row: LeaderboardRow, store: RunStore) -> dict[str, Any]:
    """Everything about one row, with the seeds it is computed from."""
    return {
        "task": row.task, "kind": row.kind, "method": row.method, "weak": row.weak, "strong": row.strong,
        "mode": row.mode, "max_train": row.max_train, "max_test": row.max_test, "train": row.train,
        "status": row.status, "seeds": row.seeds,
        "weak_accuracy": summary_dict(row.weak_summary),
        "ceiling_accuracy": summary_dict(row.ceiling_summary),
        "student_accuracy": summary_dict(row.student_summary),
        "pgr": {
            **summary_dict(row.pgr.summary),
            "per_seed": {str(seed): value for seed, value in row.pgr.per_seed.items()},
            "left_out_seeds": list(row.pgr.left_out),
            "of_mean_accuracies": row.pgr.of_means,
        },
        "gap_within_noise": row.gap_within_noise,
        "date": row.date,
        "results": [
            {
                "seed": result.seed, "weak_accuracy": result.weak_accuracy, "ceiling_accuracy": result.ceiling_accuracy,
                "student_accuracy": result.student_accuracy, "pgr": row.pgr.per_seed.get(result.seed),
                "student_weak_agreement": result.agreement, "num_train": result.num_train, "num_test": result.num_test,
                "run_folder": store_relative(result.folder, store), "date": result.date, "versions": result.versions,
            }
            for result in row.results
        ],
        "failures": [
            {"seed": failure.seed, "error": failure.error, "run_folder": store_relative(failure.folder, store), "date": failure.date}
            for failure in row.failures
        ],
    }


def to_json(rows: list[LeaderboardRow], store: RunStore) -> str:
    entries = [
        {
            "weak": entry.setting[0], "strong": entry.setting[1], "mode": entry.setting[2], "method": entry.method,
            "kind": entry.kind, "median_pgr": entry.median.median, "tasks_used": entry.median.tasks_used,
            "tasks_left_out": entry.median.tasks_left_out,
        }
        for entry in overview(rows)
    ]
    document = {"rows": [row_dict(row, store) for row in rows], "overview": entries}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "task", "kind", "method", "weak", "strong", "mode", "max_train", "max_test", "num_train", "num_test", "seeds",
    *(f"{name}_{stat}" for name in ("weak_accuracy", "ceiling_accuracy", "student_accuracy", "pgr") for stat in SUMMARY_FIELDS),
    "pgr_per_seed", "pgr_left_out_seeds", "pgr_of_mean_accuracies", "gap_within_noise", "status", "failed_seeds", "errors",
    "run_folders", "date",
)


def to_csv(rows: list[LeaderboardRow], store: RunStore) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()

    for row in rows:
        line: dict[str, Any] = {
            "task": row.task, "kind": row.kind, "method": row.method, "weak": row.weak, "strong": row.strong,
            "mode": row.mode, "max_train": row.max_train, "max_test": row.max_test,
            "num_train": ";".join(sorted({str(result.num_train) for result in row.results})),
            "num_test": ";".join(sorted({str(result.num_test) for result in row.results})),
            "seeds": ";".join(str(seed) for seed in row.seeds),
            "pgr_per_seed": ";".join(f"{seed}:{'' if value is None else value}" for seed, value in row.pgr.per_seed.items()),
            "pgr_left_out_seeds": ";".join(str(seed) for seed in row.pgr.left_out),
            "pgr_of_mean_accuracies": row.pgr.of_means,
            "gap_within_noise": row.gap_within_noise,
            "status": row.status,
            "failed_seeds": ";".join(str(failure.seed) for failure in row.failures),
            "errors": " | ".join(failure.error for failure in row.failures),
            "run_folders": ";".join(store_relative(result.folder, store) for result in row.results),
            "date": row.date,
        }
        for name, summary in (("weak_accuracy", row.weak_summary), ("ceiling_accuracy", row.ceiling_summary),
                              ("student_accuracy", row.student_summary), ("pgr", row.pgr.summary)):
            for stat, value in summary_dict(summary).items():
                line[f"{name}_{stat}"] = value
        writer.writerow(line)
    return buffer.getvalue()
