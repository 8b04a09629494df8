"""Puzzle generation: Stockfish self-play, keeping positions with one clearly best move.

Every position of each game after the book (see :mod:`selfplay`), or only
those after a random move, the blunder, is searched by Stockfish with two
principal variations; it becomes a puzzle when the best move's winning
chances exceed the second best's by at least ``min_gap``, first in a shallow
search and then in a deeper one. The puzzle's difficulty rating is the
smallest search depth at which Stockfish plays the solution.

Games are numbered, and game ``g`` of seed ``s`` is played from its own seed,
so the output does not depend on the number of worker processes, and an
interrupted run resumes from the games already written.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import chess
import chess.engine

from w2s_bench.errors import UserError
from w2s_bench.progress import SILENT, Progress
from w2s_bench.tasks.chess.engine import winning_chances
from w2s_bench.tasks.chess.selfplay import PlayedGame, SelfPlayConfig, game_seed, play_game, play_games

logger = logging.getLogger(__name__)

#: Every ``TEST_EVERY``-th game's puzzles form the test split, so no game
#: contributes positions to both splits.
TEST_EVERY = 5


@dataclass(frozen=True)
class PuzzleCriteria:
    """When a position counts as a puzzle, and how its difficulty is rated."""

    #: Depth of the two-line search that finds the best and second-best move.
    search_depth: int = 10
    #: Least difference in winning chances (on the [-1, 1] scale) between them.
    min_gap: float = 0.5
    #: Deepest search tried when rating; a puzzle not solved by then gets this plus one.
    max_rating_depth: int = 10
    #: Depth of a cheaper two-line search run first on every position; only
    #: positions that pass it at the same gap get the full search.
    prefilter_depth: int = 6
    #: Which positions are searched: "random" only those after a random move
    #: (the blunder), "all" every position after the book.
    positions: str = "all"

    def __post_init__(self) -> None:
        if self.search_depth < 1 or self.max_rating_depth < 1:
            raise UserError("search_depth and max_rating_depth must be at least 1")
        if self.positions not in ("random", "all"):
            raise UserError(f"positions={self.positions!r} is invalid; expected random or all")
        if not 0.0 < self.min_gap <= 2.0:
            raise UserError(f"min_gap={self.min_gap} is invalid; expected a value in (0, 2]")


@dataclass(frozen=True)
class GenerationConfig:
    seed: int
    selfplay: SelfPlayConfig = SelfPlayConfig()
    criteria: PuzzleCriteria = PuzzleCriteria()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- one game ------------------------------------------------------------


def find_puzzle(engine: chess.engine.SimpleEngine, board: chess.Board, criteria: PuzzleCriteria, token: object) -> dict[str, Any] | None:
    """Return the solution and scores when ``board`` has one clearly best move, else None."""
    if board.legal_moves.count() < 2:
        return None
    for depth in (criteria.prefilter_depth, criteria.search_depth):
        lines = engine.analyse(board, chess.engine.Limit(depth=depth), multipv=2, game=token)
        if len(lines) < 2 or "pv" not in lines[0] or "pv" not in lines[1]:
            return None
        best = winning_chances(lines[0]["score"], board.turn)
        second = winning_chances(lines[1]["score"], board.turn)
        if best - second < criteria.min_gap:
            return None
    return {
        "solution": lines[0]["pv"][0].uci(),
        "gap": round(best - second, 4),
        "chances": round(best, 4),
        "score": str(lines[0]["score"].pov(board.turn)),
    }


def rating_depth(engine: chess.engine.SimpleEngine, board: chess.Board, solution: str, max_depth: int, token: object) -> int:
    """Return the smallest depth at which the engine plays ``solution``, or ``max_depth + 1``."""
    for depth in range(1, max_depth + 1):
        played = engine.play(board, chess.engine.Limit(depth=depth), game=token)
        if played.move is not None and played.move.uci() == solution:
            return depth
    return max_depth + 1


def puzzles_of_game(
    engine: chess.engine.SimpleEngine,
    book: Any,
    config: GenerationConfig,
    game_index: int,
) -> list[dict[str, Any]]:
    """Play game ``game_index`` and return the puzzles found in it."""
    found: list[dict[str, Any]] = []

    def visit(board: chess.Board, game: PlayedGame) -> None:
        after_random = bool(game.sources) and game.sources[-1] == "random"
        if config.criteria.positions == "random" and not after_random:
            return
        puzzle = find_puzzle(engine, board, config.criteria, game.engine_token)
        if puzzle is None:
            return
        puzzle["rating"] = rating_depth(engine, board, puzzle["solution"], config.criteria.max_rating_depth, game.engine_token)
        puzzle["moves"] = [move.uci() for move in game.moves]
        found.append(puzzle)

    seed = game_seed(config.seed, game_index, "puzzles")
    play_game(engine, book, seed, config.selfplay, visit)

    split = "test" if game_index % TEST_EVERY == 0 else "train"
    for puzzle in found:
        puzzle.update(id=f"gen{config.seed}-{game_index:06d}-{len(puzzle['moves']):03d}", game=game_index, split=split)
    return found


# --- a whole run ---------------------------------------------------------


def _puzzle_game(engine: chess.engine.SimpleEngine, book: Any, config: GenerationConfig, game_index: int) -> dict[str, Any]:
    return {"game": game_index, "puzzles": puzzles_of_game(engine, book, config, game_index)}


def generate_puzzles(
    work_file: Path,
    count: int,
    config: GenerationConfig,
    workers: int = 1,
    progress: Progress = SILENT,
) -> list[dict[str, Any]]:
    """Generate at least ``count`` puzzles, resuming from ``work_file``; return the first ``count``.

    ``work_file`` contains one JSON line per finished game, in game order.
    """
    games = play_games(
        work_file, config.as_dict(), _puzzle_game, config, count,
        count_of=lambda row: len(row["puzzles"]), workers=workers, progress=progress, description="generate puzzles",
    )
    puzzles = [puzzle for game in games for puzzle in game["puzzles"]]
    return puzzles[:count]


def write_puzzles(path: Path, puzzles: list[dict[str, Any]]) -> str:
    """Write puzzles as gzipped JSON lines with a fixed timestamp; return the file's sha256."""
    lines = "".join(json.dumps(puzzle, sort_keys=True) + "\n" for puzzle in puzzles)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write(lines.encode("utf-8"))
    return hashlib.sha256(path.read_bytes()).hexdigest()
