"""Leaderboard sections for methods that record more than one student or ceiling.

Bootstrap cells store every ladder step and the direct jump M1 → Mn; generative
finetuning cells store the plain and the adjusted ceiling. Like the main
leaderboard, these sections are built only from stored cell records, with
accuracies averaged over seeds and PGR computed from the mean accuracies.
"""

from __future__ import annotations

import statistics
from typing import Any

from tabulate import tabulate

from w2s_bench.metrics import format_pgr, pgr
from w2s_bench.store import Record, RunStore


def method_label(config: dict[str, Any]) -> str:
    options = config.get("method_options", {})
    if not options:
        return config["method"]
    return config["method"] + "(" + ", ".join(f"{key}={value}" for key, value in sorted(options.items())) + ")"


def group_by_setting(records: list[Record]) -> list[list[Record]]:
    """Cells that differ only in seed, one record per seed, in first-seen order."""
    groups: dict[tuple, dict[int, Record]] = {}
    for record in records:
        config = record.data["config"]
        setting = (
            method_label(config), config["weak"], config["strong"], config["mode"],
            config.get("max_train"), config.get("max_test"), str(config.get("train")),
            tuple(record.metrics.get("ladder", ())),
        )
        groups.setdefault(setting, {}).setdefault(config["seed"], record)
    return [list(by_seed.values()) for by_seed in groups.values()]


def mean_of(records: list[Record], read) -> float:
    return statistics.fmean(read(record.metrics) for record in records)


def seeds_of(records: list[Record]) -> str:
    return ",".join(str(seed) for seed in sorted(record.data["config"]["seed"] for record in records))


def bootstrap_row(records: list[Record]) -> list[str]:
    config = records[0].data["config"]
    ladder = records[0].metrics.get("ladder") or [step["model"] for step in records[0].metrics["ladder_steps"]]
    step_means = [mean_of(records, lambda metrics, index=index: metrics["ladder_steps"][index]["test_accuracy"]) for index in range(len(ladder))]
    weak = mean_of(records, lambda metrics: metrics["weak_accuracy"])
    ceiling = mean_of(records, lambda metrics: metrics["ceiling_accuracy"])
    direct = mean_of(records, lambda metrics: metrics["direct_student_accuracy"])
    final = mean_of(records, lambda metrics: metrics["student_accuracy"])
    return [
        method_label(config), " → ".join(f"{model} {accuracy:.3f}" for model, accuracy in zip(ladder, step_means)), config["mode"],
        f"{weak:.3f}", f"{ceiling:.3f}", f"{direct:.3f}", format_pgr(pgr(weak, ceiling, direct)),
        f"{final:.3f}", format_pgr(pgr(weak, ceiling, final)), seeds_of(records),
    ]


def generative_row(records: list[Record]) -> list[str]:
    config = records[0].data["config"]
    weak = mean_of(records, lambda metrics: metrics["weak_accuracy"])
    plain = mean_of(records, lambda metrics: metrics["plain_ceiling_accuracy"])
    adjusted = mean_of(records, lambda metrics: metrics["adjusted_ceiling_accuracy"])
    student = mean_of(records, lambda metrics: metrics["student_accuracy"])
    language_model = records[0].metrics["generative"]
    return [
        method_label(config), f"{config['weak']} → {config['strong']}", config["mode"],
        f"{weak:.3f}", f"{plain:.3f}", f"{adjusted:.3f}", f"{student:.3f}",
        format_pgr(pgr(weak, adjusted, student)), format_pgr(pgr(weak, plain, student)),
        f"{language_model['objective']}, {language_model['train_texts']} texts, {language_model['steps']} steps",
        seeds_of(records),
    ]


def render_method_sections(store: RunStore, task: str) -> str:
    """Markdown sections for the bootstrap and generative-finetune cells of one task ("" if none)."""
    records = [record for record in store.records("cells") if record.data["config"]["task"] == task]
    bootstrap = [record for record in records if {"ladder_steps", "direct_student_accuracy"} <= set(record.metrics)]
    generative = [record for record in records if "adjusted_ceiling_accuracy" in record.metrics]
    lines: list[str] = []

    if bootstrap:
        headers = ["method", "ladder (test acc of each step)", "mode", "weak acc", "ceiling acc",
                   "direct-jump student", "direct PGR", "bootstrapped student", "bootstrap PGR", "seeds"]
        table = [bootstrap_row(group) for group in group_by_setting(bootstrap)]
        lines += [
            "## Bootstrap: every ladder step, the bootstrapped student and the direct jump",
            "",
            "Step 1 is the weak model trained on half 1 with ground truth; each later step trains on half 2 with the",
            "previous step's labels. The direct-jump student is the strong model trained on the weak model's labels",
            "with the same loss.",
            "",
            tabulate(table, headers=headers, tablefmt="github", disable_numparse=True),
            "",
        ]

    if generative:
        headers = ["method", "weak → strong", "mode", "weak acc", "plain ceiling", "adjusted ceiling", "student acc",
                   "PGR (adjusted ceiling)", "PGR (plain ceiling)", "generative step", "seeds"]
        table = [generative_row(group) for group in group_by_setting(generative)]
        lines += [
            "## Generative finetuning: plain and adjusted ceilings",
            "",
            "The adjusted ceiling is the strong model trained on ground truth after the same unsupervised",
            "language-model finetuning as the student; the main table's ceiling and PGR for these rows are the",
            "adjusted ones. The plain ceiling skips that finetuning.",
            "",
            tabulate(table, headers=headers, tablefmt="github", disable_numparse=True),
            "",
        ]
    return "\n".join(["", *lines]) if lines else ""
