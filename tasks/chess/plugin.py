"""Registers one ranked chess task per known puzzle set (see :mod:`sets`)."""

from __future__ import annotations

import logging

from w2s_bench.data import TaskData
from w2s_bench.errors import DataError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.plugins.models.chess.config import LADDER
from w2s_bench.specs import TaskSpec
from w2s_bench.tasks.chess.sets import PuzzleSet, known_sets

logger = logging.getLogger(__name__)


class PuzzleTask:
    """A puzzle set as task data: one candidate per legal move, the solution as the label.

    ``report`` is the load report of the last :meth:`load`.
    """

    def __init__(self, puzzle_set: PuzzleSet) -> None:
        self.puzzle_set = puzzle_set
        self.report = None

    def load(self) -> TaskData:
        from w2s_bench.tasks.chess.loader import load_puzzle_set

        data, self.report = load_puzzle_set(self.puzzle_set)
        if self.report.rejected:
            first = ", ".join(f"{rejection.puzzle_id} ({rejection.reason})" for rejection in self.report.rejected[:3])
            if self.puzzle_set.sha256s is not None:
                raise DataError(f"{self.report.source}: {len(self.report.rejected)} shipped puzzles fail their checks, e.g. {first}")
            logger.warning("%s: skipped %d puzzles that fail their checks, e.g. %s", self.report.source, len(self.report.rejected), first)
        return data


def task_factory(puzzle_set: PuzzleSet):
    def create() -> PuzzleTask:
        return PuzzleTask(puzzle_set)

    return create


@hookimpl
def w2s_bench_register_tasks() -> list[TaskSpec]:
    return [
        TaskSpec(name, task_factory(puzzle_set), kind="chess", description=puzzle_set.description, models=LADDER)
        for name, puzzle_set in known_sets().items()
    ]


@hookimpl
def w2s_bench_resolve_task(name: str) -> TaskSpec | None:
    """Return a set imported after the registry listed its tasks, such as
    one imported earlier in the same process."""
    puzzle_set = known_sets().get(name)
    if puzzle_set is None:
        return None
    return TaskSpec(name, task_factory(puzzle_set), kind="chess", description=puzzle_set.description, models=LADDER)
