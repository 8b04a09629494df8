"""The known puzzle sets: the shipped ones and those a user imported.

Shipped sets are listed in ``data/manifest.json`` with their sha256.
``w2s-bench chess import`` writes a user's set, already checked, to
``<model cache>/chess/puzzle-sets/<name>/`` as ``puzzles.jsonl.gz`` with
``set.json`` (format, source, rating scale, load report). Every known set
becomes a task, and every known set's positions are kept out of the
pretraining corpus.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import chess

from w2s_bench.errors import DataError, UserError
from w2s_bench.paths import cache_dir
from w2s_bench.tasks.chess.notation import STANDARD_FEN, load_fen, position_key

DATA_DIR = Path(__file__).resolve().parent / "data"
MANIFEST = DATA_DIR / "manifest.json"
SET_FILE = "puzzles.jsonl.gz"
SET_RECORD = "set.json"
IMPORTED_PREFIX = "chess_"
SET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class PuzzleSet:
    """One or more checked puzzle files in the shipped JSON-lines format, loaded as one task."""

    name: str
    paths: tuple[Path, ...]
    #: How examples are banded: "elo" (Lichess ratings), "depth" (smallest Stockfish
    #: depth that finds the move) or "kind" (the solution's kind: mate, check, capture, quiet move).
    rating_scale: str
    description: str
    #: Expected sha256 of each shipped file; None for imported sets.
    sha256s: tuple[str, ...] | None = None

    def verify(self) -> None:
        for index, path in enumerate(self.paths):
            if not path.is_file():
                raise DataError(f"{path}: puzzle set {self.name!r} not found")
            if self.sha256s is not None and sha256_file(path) != self.sha256s[index]:
                raise DataError(f"{path}: sha256 does not match the manifest; the file is corrupt or was changed, rebuild it with build_data.py")

    def digest(self) -> str:
        """The sha256 of each file, joined: what a contamination check records for this set."""
        return ",".join(sha256_file(path) for path in self.paths)


def shipped_sets() -> dict[str, PuzzleSet]:
    """Sets listed in the manifest; an entry with ``combines`` joins the files of other entries."""
    if not MANIFEST.exists():
        return {}
    manifest = json.loads(MANIFEST.read_text())
    sets = {
        name: PuzzleSet(name, (DATA_DIR / entry["file"],), entry["rating_scale"], entry["description"], (entry["sha256"],))
        for name, entry in manifest.items()
        if "file" in entry
    }
    for name, entry in manifest.items():
        if "combines" in entry:
            parts = [sets[part] for part in entry["combines"]]
            paths = tuple(path for part in parts for path in part.paths)
            digests = tuple(digest for part in parts for digest in part.sha256s or ())
            sets[name] = PuzzleSet(name, paths, entry["rating_scale"], entry["description"], digests)
    return sets


def imported_dir() -> Path:
    return cache_dir() / "chess" / "puzzle-sets"


def imported_sets() -> dict[str, PuzzleSet]:
    sets = {}
    folder = imported_dir()
    if not folder.is_dir():
        return sets
    for record_path in sorted(folder.glob(f"*/{SET_RECORD}")):
        record = json.loads(record_path.read_text())
        name = IMPORTED_PREFIX + record_path.parent.name
        sets[name] = PuzzleSet(name, (record_path.parent / SET_FILE,), record["rating_scale"], record["description"])
    return sets


def known_sets() -> dict[str, PuzzleSet]:
    """Every puzzle set by task name; shipped names win over imported ones."""
    return {**imported_sets(), **shipped_sets()}


def check_set_name(name: str) -> str:
    if not SET_NAME.match(name):
        raise UserError(f"puzzle set name {name!r} is invalid; use lower-case letters, digits, '-' and '_' (at most 41)")
    if IMPORTED_PREFIX + name in shipped_sets():
        raise UserError(f"puzzle set name {name!r} would hide the shipped task {IMPORTED_PREFIX + name}; choose another")
    return name


# --- positions -----------------------------------------------------------


def read_set_rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def puzzle_position(row: dict) -> chess.Board:
    board = load_fen(row.get("start_fen", STANDARD_FEN))
    for move in row["moves"]:
        board.push_uci(move)
    return board


def puzzle_position_keys(sets: dict[str, PuzzleSet] | None = None) -> tuple[dict[str, str], set[int]]:
    """Return each set's digest and the Zobrist keys of all their puzzle positions."""
    sets = known_sets() if sets is None else sets
    digests: dict[str, str] = {}
    keys: set[int] = set()
    read: set[Path] = set()
    for name, puzzle_set in sorted(sets.items()):
        puzzle_set.verify()
        digests[name] = puzzle_set.digest()
        for path in puzzle_set.paths:
            if path not in read:
                read.add(path)
                keys.update(position_key(puzzle_position(row)) for row in read_set_rows(path))
    return digests, keys
