"""Importing a user's puzzle file as a task: check it, save the accepted puzzles and the report."""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import chess

from w2s_bench.errors import DataError
from w2s_bench.tasks.chess.formats import detect_format, read_puzzles
from w2s_bench.tasks.chess.notation import position_key
from w2s_bench.tasks.chess.puzzles import LoadReport, Puzzle
from w2s_bench.tasks.chess.sets import IMPORTED_PREFIX, SET_FILE, SET_RECORD, check_set_name, imported_dir, puzzle_position

#: Ratings up to this value are read as search depths, larger ones as Elo.
MAX_DEPTH_RATING = 20


@dataclass
class ImportResult:
    task: str
    folder: Path
    kept: int
    report: LoadReport
    corpus_overlap: int


def rating_scale(puzzles: list[Puzzle], format_name: str) -> str:
    """Elo bands for Lichess files and Elo-like ratings, depth bands for small ratings, else solution kinds."""
    if format_name == "lichess":
        return "elo"
    ratings = [puzzle.rating for puzzle in puzzles if puzzle.rating is not None]
    if not ratings:
        return "kind"
    return "elo" if max(ratings) > MAX_DEPTH_RATING else "depth"


def import_puzzles(path: Path, name: str, format_name: str | None = None, limit: int | None = None) -> ImportResult:
    """Check ``path`` and save its accepted puzzles as the task ``chess_<name>``.

    :raises DataError: when no puzzle is accepted.
    """
    name = check_set_name(name)
    format_name = format_name or detect_format(path)
    puzzles, report = read_puzzles(path, format_name)
    if limit is not None:
        puzzles = puzzles[:limit]
    if not puzzles:
        raise DataError(f"{path}: no puzzle passed the checks ({len(report.rejected)} rejected); see `w2s-bench chess check {path}`")

    folder = imported_dir() / name
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with gzip.open(staging / SET_FILE, "wt", encoding="utf-8") as handle:
        for puzzle in puzzles:
            handle.write(json.dumps(puzzle.to_json(), sort_keys=True) + "\n")

    overlap = corpus_overlap(puzzles)
    record = {
        "description": f"puzzles imported from {path.name} ({format_name})",
        "format": format_name,
        "source": str(path.resolve()),
        "rating_scale": rating_scale(puzzles, format_name),
        "kept": len(puzzles),
        "corpus_overlap": overlap,
        "load_report": report.as_dict(),
    }
    (staging / SET_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return ImportResult(IMPORTED_PREFIX + name, folder, len(puzzles), report, overlap)


def corpus_overlap(puzzles: list[Puzzle]) -> int:
    """How many puzzle positions occur in the shipped pretraining corpus."""
    from w2s_bench.plugins.models.chess.corpus import SHIPPED_CORPUS, read_corpus

    if not SHIPPED_CORPUS.exists():
        return 0
    keys = {position_key(puzzle_position(puzzle.to_json())) for puzzle in puzzles}
    hits: set[int] = set()
    for game in read_corpus(SHIPPED_CORPUS):
        board = chess.Board()
        seen = {position_key(board)}
        for move in game.moves:
            board.push_uci(move)
            seen.add(position_key(board))
        hits |= seen & keys
    return len(hits)
