"""Loading a checked puzzle set into ranked task data."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from w2s_bench.data import Example, TaskData
from w2s_bench.tasks.chess.notation import STANDARD_FEN
from w2s_bench.tasks.chess.puzzles import LoadReport, Puzzle, PuzzleError, puzzle_example, split_of
from w2s_bench.tasks.chess.sets import PuzzleSet, read_set_rows

logger = logging.getLogger(__name__)

KNOWN_FIELDS = frozenset({"id", "start_fen", "moves", "solution", "rating", "themes", "source", "split"})


def puzzle_from_row(row: dict[str, Any]) -> Puzzle:
    """A puzzle from a row of the shipped format; the moves are checked later, when replayed.

    :raises PuzzleError: for a missing or mistyped field.
    """
    try:
        moves, solution = row["moves"], row["solution"]
    except KeyError as error:
        raise PuzzleError(f"empty moves: field {error.args[0]!r} is missing") from None
    if not isinstance(moves, list) or not isinstance(solution, str):
        raise PuzzleError("empty moves: 'moves' must be a list and 'solution' a string")
    return Puzzle(
        id=str(row.get("id", "")),
        start_fen=row.get("start_fen", STANDARD_FEN),
        moves=tuple(moves),
        solution=solution,
        rating=row.get("rating"),
        themes=tuple(row.get("themes", ())),
        source=row.get("source", ""),
        split=row.get("split"),
        extra={key: value for key, value in row.items() if key not in KNOWN_FIELDS},
    )


def load_puzzle_set(puzzle_set: PuzzleSet) -> tuple[TaskData, LoadReport]:
    """Load a set as ranked task data; puzzles that fail a check are left out and reported.

    A set of several files is interleaved in the order of a hash of each
    puzzle id, so the first N examples of a split mix every file, whatever
    the run seed.
    """
    puzzle_set.verify()
    report = LoadReport(source=", ".join(str(path) for path in puzzle_set.paths))
    splits: dict[str, list[Example]] = {"train": [], "test": []}

    for path in puzzle_set.paths:
        for line_number, row in enumerate(read_set_rows(path), start=1):
            where = f"{path}:{line_number}"
            try:
                puzzle = puzzle_from_row(row)
                example = puzzle_example(puzzle, puzzle_set.rating_scale)
            except PuzzleError as error:
                report.reject(str(row.get("id", f"line {line_number}")), where, str(error))
                continue
            splits[split_of(puzzle)].append(example)

    if len(puzzle_set.paths) > 1:
        for examples in splits.values():
            examples.sort(key=lambda example: hashlib.sha256(example.id.encode("utf-8")).hexdigest())

    report.accepted = len(splits["train"]) + len(splits["test"])
    widest = max((len(example.texts) for examples in splits.values() for example in examples), default=1)
    logger.info("%s: %d train and %d test puzzles, up to %d legal moves", puzzle_set.name, len(splits["train"]), len(splits["test"]), widest)
    return TaskData(puzzle_set.name, "rank", widest, splits["train"], splits["test"]), report
