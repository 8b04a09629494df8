"""Readers for the puzzle formats; each turns a file into checked puzzles and a load report.

Formats:

- ``jsonl``: one JSON object a line. The position is either a PGN move
  prefix (``prefix``: ``"1. e4 e5 2. Nf3"``, optionally with ``[FEN]`` tags),
  which is the format of the weak-to-strong paper's chess puzzles, or a
  ``fen`` (alias ``start_fen``) plus optional ``moves`` played from it (UCI or
  SAN). The best move is ``target`` (alias ``solution``) in SAN or UCI.
  Optional: ``id``, ``rating``, ``themes``, ``split``. The shipped puzzle
  sets use this format.
- ``bigbench``: a BIG-bench ``task.json`` whose examples have a PGN move
  prefix as ``input`` and the move as ``target`` (``checkmate_in_one``), or the
  ``bigbench`` sdist tarball that contains it.
- ``lichess``: the Lichess puzzle database CSV (PuzzleId, FEN, Moves, Rating,
  RatingDeviation, Popularity, NbPlays, Themes, GameUrl[, OpeningTags]). The
  first move in Moves is the opponent's move that sets up the puzzle; the
  solver's first move, the second, is the label.
- ``pgn``: puzzle collections in PGN (such as pychess's ``mate_in_N.pgn``):
  a ``FEN`` tag, or the standard start, and the solution line as the main
  line, whose first move is the label.
- ``epd``: positions given as FEN with the best move as the ``bm`` operation.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any, Callable, Iterator

import chess
import chess.pgn

from w2s_bench.errors import DataError
from w2s_bench.tasks.chess.notation import STANDARD_FEN, NotationError, read_tags_and_tokens
from w2s_bench.tasks.chess.puzzles import LoadReport, Puzzle, PuzzleError, build_puzzle, load_checked_start, read_move

FORMATS = ("jsonl", "bigbench", "lichess", "pgn", "epd")

LICHESS_COLUMNS = ("PuzzleId", "FEN", "Moves", "Rating", "RatingDeviation", "Popularity", "NbPlays", "Themes", "GameUrl", "OpeningTags")
#: Dumps before 2022 have no OpeningTags column.
LICHESS_COLUMN_COUNTS = (9, 10)
BIGBENCH_MEMBER = "benchmark_tasks/checkmate_in_one/task.json"
MATE_IN = re.compile(r"mate in (\d+)", re.IGNORECASE)

Reader = Callable[[Path, LoadReport], Iterator[Puzzle]]


def detect_format(path: Path) -> str:
    """Guess a file's format from its name.

    :raises DataError: when the suffix is not one of a known format.
    """
    name = path.name.lower()
    for suffix, format_name in (
        (".jsonl.gz", "jsonl"), (".jsonl", "jsonl"), (".csv", "lichess"), (".csv.gz", "lichess"),
        (".pgn", "pgn"), (".epd", "epd"), (".json", "bigbench"), (".tar.gz", "bigbench"),
    ):
        if name.endswith(suffix):
            return format_name
    raise DataError(f"{path}: cannot tell the puzzle format from the file name; pass the format ({', '.join(FORMATS)})")


def read_puzzles(path: Path, format_name: str | None = None) -> tuple[list[Puzzle], LoadReport]:
    """Read every puzzle of a file; rejected ones are listed in the report, not raised.

    :raises DataError: when the file is missing or the format is unknown.
    """
    if not path.is_file():
        raise DataError(f"{path}: puzzle file not found")
    format_name = format_name or detect_format(path)
    readers: dict[str, Reader] = {"jsonl": read_jsonl, "bigbench": read_bigbench, "lichess": read_lichess, "pgn": read_pgn, "epd": read_epd}
    if format_name not in readers:
        raise DataError(f"puzzle format {format_name!r} is unknown; expected one of {', '.join(FORMATS)}")

    report = LoadReport(source=str(path))
    puzzles: list[Puzzle] = []
    seen: dict[str, str] = {}
    for puzzle in readers[format_name](path, report):
        where = puzzle.extra.get("where", "")
        if puzzle.id in seen:
            report.reject(puzzle.id, where, f"duplicate id: first seen at {seen[puzzle.id]}")
            continue
        seen[puzzle.id] = where
        puzzles.append(puzzle)
    report.accepted = len(puzzles)
    return puzzles, report


def open_text(path: Path, encoding: str = "utf-8"):
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def checked(report: LoadReport, puzzle_id: str, where: str, make: Callable[[], Puzzle]) -> Puzzle | None:
    """Build a puzzle, recording a rejection instead of raising."""
    try:
        puzzle = make()
    except PuzzleError as error:
        report.reject(puzzle_id, where, str(error))
        return None
    puzzle.extra["where"] = where
    return puzzle


# --- jsonl ---------------------------------------------------------------


def read_jsonl(path: Path, report: LoadReport) -> Iterator[Puzzle]:
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                report.reject(f"line {line_number}", where, f"invalid JSON: {error.msg}")
                continue
            if not isinstance(row, dict):
                report.reject(f"line {line_number}", where, f"invalid JSON: expected an object, got {type(row).__name__}")
                continue

            puzzle_id = str(row.get("id") or f"{path.stem}-{line_number}")
            puzzle = checked(report, puzzle_id, where, lambda: jsonl_puzzle(puzzle_id, row, path.name))
            if puzzle is not None:
                yield puzzle


def jsonl_puzzle(puzzle_id: str, row: dict[str, Any], source: str) -> Puzzle:
    target = row.get("target", row.get("solution"))
    if not isinstance(target, str) or not target.strip():
        raise PuzzleError("empty moves: field 'target' (or 'solution') is missing or empty")

    if "prefix" in row:
        if not isinstance(row["prefix"], str):
            raise PuzzleError("invalid prefix: field 'prefix' must be PGN text")
        try:
            tags, moves = read_tags_and_tokens(row["prefix"])
        except NotationError as error:
            raise PuzzleError(f"illegal prefix move: {error}") from None
        start_fen = tags.get("FEN", STANDARD_FEN)
    else:
        start_fen = row.get("fen", row.get("start_fen", STANDARD_FEN))
        moves = row.get("moves", [])
        if isinstance(moves, str):
            moves = moves.split()
        if not isinstance(start_fen, str) or not isinstance(moves, list):
            raise PuzzleError("invalid FEN: fields 'fen' (text) and 'moves' (list) have the wrong type")

    split = row.get("split")
    if split not in (None, "train", "test"):
        raise PuzzleError(f"invalid split: {split!r}; expected train or test")
    themes = row.get("themes", ())
    themes = tuple(themes.split() if isinstance(themes, str) else themes)
    known = {"id", "target", "solution", "prefix", "fen", "start_fen", "moves", "split", "themes", "rating", "source", "where"}
    extra = {key: value for key, value in row.items() if key not in known}
    return build_puzzle(
        puzzle_id, start_fen, moves, target, rating=parse_rating(row.get("rating")), themes=themes,
        source=row.get("source") or source, split=split, extra=extra,
    )


def parse_rating(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PuzzleError(f"invalid rating: {value!r} is not a number") from None


# --- BIG-bench -----------------------------------------------------------


def load_bigbench_task(path: Path) -> dict[str, Any]:
    """Read ``task.json``, directly or from inside the ``bigbench`` sdist tarball."""
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path) as archive:
            member = next((info for info in archive if info.name.endswith(BIGBENCH_MEMBER)), None)
            if member is None:
                raise DataError(f"{path}: no member ending in {BIGBENCH_MEMBER}")
            handle = archive.extractfile(member)
            assert handle is not None
            return json.load(handle)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from None


def read_bigbench(path: Path, report: LoadReport) -> Iterator[Puzzle]:
    task = load_bigbench_task(path)
    examples = task.get("examples")
    if not isinstance(examples, list):
        raise DataError(f"{path}: field 'examples' is missing; expected a BIG-bench task.json")
    name = task.get("name", path.stem)

    for index, example in enumerate(examples):
        puzzle_id = f"{name}-{index:04d}"
        where = f"{path}#examples[{index}]"
        puzzle = checked(report, puzzle_id, where, lambda: bigbench_puzzle(puzzle_id, example, name))
        if puzzle is not None:
            yield puzzle


def bigbench_puzzle(puzzle_id: str, example: Any, name: str) -> Puzzle:
    if not isinstance(example, dict) or not isinstance(example.get("input"), str):
        raise PuzzleError("empty moves: field 'input' is missing")
    target = example.get("target")
    if isinstance(target, list):
        target = target[0] if len(target) == 1 else None
    if not isinstance(target, str) or not target.strip():
        raise PuzzleError("empty moves: field 'target' is missing or not one move")
    try:
        _tags, moves = read_tags_and_tokens(example["input"])
    except NotationError as error:
        raise PuzzleError(f"illegal prefix move: {error}") from None

    puzzle = build_puzzle(puzzle_id, STANDARD_FEN, moves, target, themes=("mateIn1",) if "checkmate" in name else (), source=name)
    if "checkmate" in name:
        board = puzzle.game().board()
        board.push(chess.Move.from_uci(puzzle.solution))
        if not board.is_checkmate():
            raise PuzzleError(f"illegal label: {target!r} does not mate in a checkmate-in-one task")
    return puzzle


# --- Lichess CSV ---------------------------------------------------------


def read_lichess(path: Path, report: LoadReport) -> Iterator[Puzzle]:
    with open_text(path) as handle:
        for line_number, row in enumerate(csv.reader(handle), start=1):
            if not row or (line_number == 1 and row[0] == LICHESS_COLUMNS[0]):
                continue
            where = f"{path}:{line_number}"
            puzzle_id = row[0].strip() or f"line {line_number}"
            if len(row) not in LICHESS_COLUMN_COUNTS:
                report.reject(puzzle_id, where, f"wrong column count: {len(row)} columns, expected 9 or 10 ({', '.join(LICHESS_COLUMNS)})")
                continue
            puzzle = checked(report, puzzle_id, where, lambda: lichess_puzzle(puzzle_id, row, path.name))
            if puzzle is not None:
                yield puzzle


def lichess_puzzle(puzzle_id: str, row: list[str], source: str) -> Puzzle:
    fen, moves = row[1].strip(), row[2].split()
    if not moves:
        raise PuzzleError("empty moves: column Moves is empty")
    if len(moves) < 2:
        raise PuzzleError("empty moves: column Moves has the set-up move but no solver move")

    # the first move sets the puzzle up; the solver's first move is the label
    puzzle = build_puzzle(
        puzzle_id, fen, moves[:1], moves[1], rating=parse_rating(row[3]), themes=tuple(row[7].split()), source=source,
        extra={"game_url": row[8]} if row[8] else {},
    )

    board = load_checked_start(fen)
    for number, text in enumerate(moves, start=1):
        move = read_move(board, text)
        if move is None:
            raise PuzzleError(f"illegal label: solution move {number - 1} {text!r} is illegal in {board.fen()}")
        board.push(move)
    return puzzle


# --- PGN -----------------------------------------------------------------


def read_pgn(path: Path, report: LoadReport) -> Iterator[Puzzle]:
    """Read a PGN puzzle collection; files that are not UTF-8 are read as Latin-1."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")

    handle = io.StringIO(text)
    index = 0
    line_number, offset = 1, 0
    while True:
        line_number += text.count("\n", offset, handle.tell())
        offset = handle.tell()
        game = chess.pgn.read_game(handle)
        if game is None:
            break
        index += 1
        puzzle_id = game.headers.get("PuzzleId") or f"{path.stem}-{index:04d}"
        where = f"{path}:{line_number}"
        puzzle = checked(report, puzzle_id, where, lambda: pgn_puzzle(puzzle_id, game, path.name))
        if puzzle is not None:
            yield puzzle


def pgn_puzzle(puzzle_id: str, game: chess.pgn.Game, source: str) -> Puzzle:
    headers = game.headers
    start_fen = headers.get("FEN", STANDARD_FEN)
    load_checked_start(start_fen)
    line = list(game.mainline_moves())
    if game.errors and not line:
        raise PuzzleError(f"illegal label: {game.errors[0]}")
    if not line:
        raise PuzzleError("empty moves: the game has no solution line")
    if game.errors:
        raise PuzzleError(f"illegal label: solution line breaks off: {game.errors[0]}")

    termination = headers.get("Termination", "")
    themes = (termination,) if termination else ()
    puzzle = build_puzzle(puzzle_id, start_fen, (), line[0].uci(), rating=parse_rating(headers.get("Rating")), themes=themes, source=source)

    claimed = MATE_IN.search(termination)
    if claimed:
        end = game.end().board()
        plies = 2 * int(claimed.group(1)) - 1
        if not end.is_checkmate() or len(line) != plies:
            raise PuzzleError(f"illegal label: the solution line does not mate in {claimed.group(1)} as the Termination tag says")
    return puzzle


# --- EPD -----------------------------------------------------------------


def read_epd(path: Path, report: LoadReport) -> Iterator[Puzzle]:
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{path}:{line_number}"
            puzzle_id = epd_id(line) or f"{path.stem}-{line_number}"
            puzzle = checked(report, puzzle_id, where, lambda: epd_puzzle(puzzle_id, line, path.name))
            if puzzle is not None:
                yield puzzle


def epd_id(line: str) -> str | None:
    found = re.search(r'\bid\s+"([^"]*)"', line)
    return found.group(1) if found else None


def epd_puzzle(puzzle_id: str, line: str, source: str) -> Puzzle:
    fields = line.split(maxsplit=4)
    if len(fields) < 4:
        raise PuzzleError(f"invalid FEN: an EPD line needs 4 position fields, got {len(fields)}")
    board = load_checked_start(" ".join(fields[:4]) + " 0 1")
    operations = fields[4] if len(fields) == 5 else ""

    found = re.search(r"\bbm\s+([^;]*);?", operations)
    if not found or not found.group(1).split():
        raise PuzzleError("empty moves: no best move ('bm' operation)")
    best = found.group(1).split()
    if len(best) > 1:
        raise PuzzleError(f"label not unique: 'bm' lists {len(best)} moves ({' '.join(best)})")
    return build_puzzle(puzzle_id, board.fen(), (), best[0], source=source)
