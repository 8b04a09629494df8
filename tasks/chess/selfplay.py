"""Stockfish self-play from book openings, the source of generated puzzles and of the pretraining corpus.

A game opens with a few moves drawn from a polyglot opening book (weighted by
the book's counts), then each side plays Stockfish moves at its own search
depth, with a share of uniformly random legal moves mixed in. The random
moves are the blunders that puzzles punish, and the mix of depths gives games
of mixed skill. A game is fully determined by its seed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import chess
import chess.engine
import chess.polyglot

from w2s_bench.errors import UserError
from w2s_bench.progress import SILENT, Progress
from w2s_bench.tasks.chess.engine import open_engine
from w2s_bench.tasks.chess.notation import legal_moves_sorted

logger = logging.getLogger(__name__)

BOOK_ENV = "W2S_BENCH_OPENING_BOOK"
DEBIAN_BOOK = Path("/usr/share/games/gnuchess/book.bin")

MoveSource = Literal["book", "engine", "random"]


def opening_book_path() -> Path:
    """Return the polyglot book: ``$W2S_BENCH_OPENING_BOOK``, else Debian ``gnuchess-book``'s file.

    :raises UserError: when neither exists.
    """
    configured = os.environ.get(BOOK_ENV)
    path = Path(configured) if configured else DEBIAN_BOOK
    if not path.is_file():
        raise UserError(
            f"opening book {path} not found; install it (Debian/Ubuntu: apt-get install gnuchess-book) "
            f"or set {BOOK_ENV} to a polyglot .bin book"
        )
    return path


@dataclass(frozen=True)
class SelfPlayConfig:
    """Settings of self-play games: book openings, random moves, engine depths and game length."""

    #: Book moves at the start, drawn uniformly from this inclusive range.
    book_plies: tuple[int, int] = (4, 16)
    #: Chance that a move after the book is a uniformly random legal move.
    random_move_rate: float = 0.15
    #: Search depths; each side of each game draws one (mixed skill).
    depths: tuple[int, ...] = (2, 4, 6, 8)
    #: Games stop after this many plies even when not over.
    max_plies: int = 160

    def __post_init__(self) -> None:
        low, high = self.book_plies
        if not 0 <= low <= high:
            raise UserError(f"book_plies={self.book_plies} is invalid; expected 0 <= low <= high")
        if not 0.0 <= self.random_move_rate <= 1.0:
            raise UserError(f"random_move_rate={self.random_move_rate} is invalid; expected 0 to 1")
        if not self.depths or min(self.depths) < 1:
            raise UserError(f"depths={self.depths} is invalid; expected positive search depths")


@dataclass
class PlayedGame:
    """The moves of one self-play game and where each came from."""

    moves: list[chess.Move] = field(default_factory=list)
    sources: list[MoveSource] = field(default_factory=list)
    depths: tuple[int, int] = (0, 0)
    #: Passed as ``game=`` to every engine call of this game: python-chess
    #: sends ``ucinewgame`` (clearing the hash) when it changes, so earlier
    #: games cannot change this one's searches.
    engine_token: object = field(default_factory=object)

    def board(self) -> chess.Board:
        board = chess.Board()
        for move in self.moves:
            board.push(move)
        return board


#: Called before each move after the book with the board and the game so far.
Visitor = Callable[[chess.Board, PlayedGame], None]


def play_game(
    engine: chess.engine.SimpleEngine,
    book: chess.polyglot.MemoryMappedReader,
    seed: int,
    config: SelfPlayConfig,
    visit: Visitor | None = None,
) -> PlayedGame:
    """Play one game, fully determined by ``seed`` for a given engine build."""
    rng = random.Random(seed)
    board = chess.Board()
    game = PlayedGame(depths=(rng.choice(config.depths), rng.choice(config.depths)))

    # book opening
    for _ in range(rng.randint(*config.book_plies)):
        try:
            entry = book.weighted_choice(board, random=rng)
        except IndexError:
            break
        record(board, game, entry.move, "book")

    # engine moves with random blunders
    while not board.is_game_over(claim_draw=False) and len(game.moves) < config.max_plies:
        if visit is not None:
            visit(board, game)

        if rng.random() < config.random_move_rate:
            record(board, game, rng.choice(legal_moves_sorted(board)), "random")
            continue

        depth = game.depths[0] if board.turn == chess.WHITE else game.depths[1]
        result = engine.play(board, chess.engine.Limit(depth=depth), game=game.engine_token)
        if result.move is None:
            break
        record(board, game, result.move, "engine")
    return game


def record(board: chess.Board, game: PlayedGame, move: chess.Move, source: MoveSource) -> None:
    board.push(move)
    game.moves.append(move)
    game.sources.append(source)


def open_book() -> chess.polyglot.MemoryMappedReader:
    return chess.polyglot.open_reader(opening_book_path())


def game_seed(seed: int, game: int, purpose: str) -> int:
    """A game's own seed, from the run seed, its number and what the games are for."""
    digest = hashlib.sha256(f"{purpose}:{seed}:{game}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


# --- resumable runs of numbered games ------------------------------------

#: Plays game number N and returns its JSON row; must be a module-level
#: function so worker processes can receive it.
GameJob = Callable[[chess.engine.SimpleEngine, chess.polyglot.MemoryMappedReader, Any, int], dict[str, Any]]

_worker: dict[str, Any] = {}


def _start_worker(job: GameJob, job_config: Any) -> None:
    _worker.update(engine=open_engine(), book=open_book(), job=job, config=job_config)


def _run_game(game_index: int) -> dict[str, Any]:
    return _worker["job"](_worker["engine"], _worker["book"], _worker["config"], game_index)


def read_work_file(path: Path, header: dict[str, Any]) -> list[dict[str, Any]]:
    """Read the game rows an earlier run wrote, dropping a torn last line.

    :raises UserError: when the file was written with another config.
    """
    if not path.exists():
        return []

    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s:%d: discarding an incomplete line from an interrupted run", path, line_number)
                break
            if line_number == 1:
                if row.get("config") != header:
                    raise UserError(f"{path} was written with another config; remove it or choose another work file")
                continue
            rows.append(row)
    return rows


def play_games(
    work_file: Path,
    header: dict[str, Any],
    job: GameJob,
    job_config: Any,
    target: int,
    count_of: Callable[[dict[str, Any]], int],
    workers: int = 1,
    progress: Progress = SILENT,
    description: str = "self-play",
) -> list[dict[str, Any]]:
    """Play games 0, 1, 2, ... until the rows hold ``target`` items; return all rows.

    Rows go to ``work_file`` (one JSON line per game, after a header line
    with the config) as each game finishes, in game order, so a rerun with
    the same config resumes where the last one stopped. The result does not
    depend on ``workers`` because every game is played from its own seed.
    """
    header = json.loads(json.dumps(header))  # tuples become lists, as they read back from the file
    rows = read_work_file(work_file, header)
    work_file.parent.mkdir(parents=True, exist_ok=True)

    # rewrite the valid part, without a torn last line
    with open(work_file, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"config": header}) + "\n")
        for row in rows:
            handle.write(json.dumps(row) + "\n")

    done = sum(count_of(row) for row in rows)
    if done >= target:
        return rows

    with open(work_file, "a", encoding="utf-8") as handle, progress.track(description, target) as advance:
        advance(done)
        for row in game_rows(len(rows), job, job_config, workers):
            handle.write(json.dumps(row) + "\n")
            handle.flush()
            rows.append(row)
            count = count_of(row)
            advance(min(count, target - done))
            done += count
            if done >= target:
                break
    return rows


def game_rows(first: int, job: GameJob, job_config: Any, workers: int) -> Iterator[dict[str, Any]]:
    """Yield the rows of games ``first``, ``first + 1``, ... in order, without end."""
    if workers <= 1:
        _start_worker(job, job_config)
        try:
            game_index = first
            while True:
                yield _run_game(game_index)
                game_index += 1
        finally:
            _worker.pop("engine").quit()

    # Pool.imap reads its whole input at once, so games go out in bounded batches.
    batch = workers * 4
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(job, job_config)) as pool:
        start = first
        while True:
            yield from pool.imap(_run_game, range(start, start + batch), chunksize=1)
            start += batch
