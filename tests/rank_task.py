"""A small rank task built from the shipped Rotten Tomatoes data, for tests.

Each example contains two to four reviews, exactly one of them fresh; the label
is the fresh review's position. Candidate counts vary, so batches are padded
and masked like a chess task's legal moves.
"""

from __future__ import annotations

import random

from w2s_bench.data import Example, TaskData
from w2s_bench.hookspecs import hookimpl
from w2s_bench.registry import Registry
from w2s_bench.specs import TaskSpec

RANK_TASK = "fresh-review-rank"


def build_rank_examples(fresh: list[str], rotten: list[str], count: int, seed: int, prefix: str) -> list[Example]:
    rng = random.Random(seed)
    examples = []
    for index in range(count):
        width = 2 + index % 3
        candidates = [fresh.pop()] + [rotten.pop() for _ in range(width - 1)]
        order = list(range(width))
        rng.shuffle(order)
        texts = tuple(f"Which review is positive? {candidates[position]}" for position in order)
        examples.append(Example(f"{prefix}{index}", texts, order.index(0)))
    return examples


def rank_task_data(train_count: int = 120, test_count: int = 40) -> TaskData:
    from w2s_bench.tasks.nlp.plugin import ShippedBinaryTask

    source = ShippedBinaryTask("rotten_tomatoes").load()
    fresh = [example.texts[0] for example in source.train if example.label == 1]
    rotten = [example.texts[0] for example in source.train if example.label == 0]
    train = build_rank_examples(fresh, rotten, train_count, seed=0, prefix="train-")
    test = build_rank_examples(fresh, rotten, test_count, seed=1, prefix="test-")
    return TaskData(RANK_TASK, "rank", 4, train, test)


class RankTask:
    def load(self) -> TaskData:
        return rank_task_data()


class RankTaskPlugin:
    @hookimpl
    def w2s_bench_register_tasks(self) -> list[TaskSpec]:
        return [TaskSpec(RANK_TASK, RankTask, kind="reward", description="pick the fresh review among 2-4")]


def registry_with_rank_task() -> Registry:
    registry = Registry()
    registry.register(RankTaskPlugin(), name="rank-task-test")
    return registry
