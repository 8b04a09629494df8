"""Puzzles, their checks, the load report, and their conversion to ranked examples.

A puzzle is a game so far (a start FEN and the moves played from it, in UCI)
and the solution, the best next move. Every format is read into this one
shape; a puzzle that fails a check is rejected with its id and the reason
and counted in the :class:`LoadReport`, and loading goes on.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

import chess

from w2s_bench.data import Example
from w2s_bench.tasks.chess.notation import Game, NotationError, STANDARD_FEN, candidate_texts_after, legal_moves_sorted, load_fen

#: Share of puzzles without a split of their own that go to the test split,
#: chosen by a hash of the puzzle id.
TEST_SHARE_PERCENT = 20

#: Difficulty bands: (lowest rating in the band, label), for each numeric rating scale.
#: The "kind" scale bands puzzles by their solution instead (see :func:`solution_kind`).
BANDS = {
    "depth": ((1, "depth 1"), (2, "depth 2-3"), (4, "depth 4-6"), (7, "depth 7+")),
    "elo": ((0, "<1200"), (1200, "1200-1599"), (1600, "1600-1999"), (2000, "2000+")),
}


@dataclass(frozen=True)
class Puzzle:
    """A position reached by a game, and its best move."""

    id: str
    #: FEN the moves start from; the standard start for a PGN move prefix.
    start_fen: str
    #: Moves from ``start_fen`` to the puzzle position, in UCI.
    moves: tuple[str, ...]
    #: The best move in the puzzle position, in UCI.
    solution: str
    rating: float | None = None
    themes: tuple[str, ...] = ()
    #: Where the puzzle came from (file or collection), for the load report.
    source: str = ""
    #: "train" or "test"; None lets :func:`split_of` choose from the id.
    split: str | None = None
    #: Anything else the format carried (engine score, game number).
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def game(self) -> Game:
        return Game(self.start_fen, tuple(chess.Move.from_uci(move) for move in self.moves))

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "moves": list(self.moves), "solution": self.solution}
        if self.start_fen != STANDARD_FEN:
            row["start_fen"] = self.start_fen
        for name in ("rating", "split", "source"):
            value = getattr(self, name)
            if value not in (None, ""):
                row[name] = value
        if self.themes:
            row["themes"] = list(self.themes)
        row.update({key: value for key, value in self.extra.items() if key != "where"})
        return row


@dataclass(frozen=True)
class Rejection:
    """A puzzle that failed a check: its id, where it was read and why."""

    puzzle_id: str
    where: str
    reason: str

    @property
    def category(self) -> str:
        """The reason without the details, for counting."""
        return self.reason.split(":", 1)[0]


@dataclass
class LoadReport:
    """The accepted and rejected counts of loading one puzzle source."""

    source: str
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def reject(self, puzzle_id: str, where: str, reason: str) -> None:
        self.rejected.append(Rejection(puzzle_id, where, reason))

    def counts_by_reason(self) -> dict[str, int]:
        return dict(Counter(rejection.category for rejection in self.rejected).most_common())

    @property
    def illegal_labels(self) -> int:
        """Rejections whose label (the solution move) was illegal or unreadable."""
        return sum(1 for rejection in self.rejected if rejection.category == "illegal label")

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "accepted": self.accepted,
            "rejected": len(self.rejected),
            "illegal_labels": self.illegal_labels,
            "rejected_by_reason": self.counts_by_reason(),
            "rejections": [
                {"id": rejection.puzzle_id, "where": rejection.where, "reason": rejection.reason}
                for rejection in self.rejected
            ],
        }


class PuzzleError(ValueError):
    """A check a puzzle failed; the message starts with the reason category."""


# --- checks --------------------------------------------------------------


def replay(start_fen: str, moves: Iterable[str]) -> chess.Board:
    """Return the board after ``moves`` (UCI or SAN) from ``start_fen``.

    :raises PuzzleError: "invalid FEN" or "illegal prefix move".
    """
    try:
        board = load_fen(start_fen)
    except NotationError as error:
        raise PuzzleError(f"invalid FEN: {error}") from None

    for number, text in enumerate(moves, start=1):
        move = read_move(board, text)
        if move is None:
            raise PuzzleError(f"illegal prefix move: move {number} {text!r} in {board.fen()}")
        board.push(move)
    return board


def read_move(board: chess.Board, text: str) -> chess.Move | None:
    """The legal move ``text`` names in UCI or SAN, or None."""
    text = text.strip()
    if not text:
        return None
    try:
        move = chess.Move.from_uci(text)
        if board.is_legal(move):
            return move
    except ValueError:
        pass
    try:
        return board.parse_san(text)
    except ValueError:
        return None


def check_solution(board: chess.Board, text: str) -> chess.Move:
    """Return the solution move, checking that it is legal and, for a mate, unique.

    Mate in one is the case where a unique label can be checked without a
    search: when the solution mates and another legal move mates too, the
    puzzle has two right answers and exact-match accuracy would be unfair.

    :raises PuzzleError: "no legal moves", "illegal label" or "label not unique".
    """
    if board.is_game_over(claim_draw=False):
        raise PuzzleError(f"no legal moves: the game is over in {board.fen()}")
    move = read_move(board, text)
    if move is None:
        raise PuzzleError(f"illegal label: {text!r} is not a legal move in {board.fen()}")

    if gives_mate(board, move):
        mates = [other for other in board.legal_moves if gives_mate(board, other)]
        if len(mates) > 1:
            names = ", ".join(sorted(board.san(other) for other in mates))
            raise PuzzleError(f"label not unique: {len(mates)} moves mate ({names})")
    return move


def gives_mate(board: chess.Board, move: chess.Move) -> bool:
    if not board.gives_check(move):
        return False
    board.push(move)
    mate = board.is_checkmate()
    board.pop()
    return mate


def build_puzzle(
    puzzle_id: str,
    start_fen: str,
    prefix: Iterable[str],
    solution: str,
    **fields: Any,
) -> Puzzle:
    """Check a puzzle given in any move notation and return it with UCI moves.

    :raises PuzzleError: naming the first check that failed.
    """
    if not puzzle_id:
        raise PuzzleError("missing id")
    board = load_checked_start(start_fen)
    uci_moves = []
    for number, text in enumerate(prefix, start=1):
        move = read_move(board, text)
        if move is None:
            raise PuzzleError(f"illegal prefix move: move {number} {text!r} in {board.fen()}")
        uci_moves.append(move.uci())
        board.push(move)

    move = check_solution(board, solution)
    return Puzzle(puzzle_id, normalise_fen(start_fen), tuple(uci_moves), move.uci(), **fields)


def load_checked_start(start_fen: str) -> chess.Board:
    try:
        return load_fen(start_fen)
    except NotationError as error:
        raise PuzzleError(f"invalid FEN: {error}") from None


def normalise_fen(fen: str) -> str:
    """The FEN as python-chess writes it (a full-move number of 0 becomes 1)."""
    return load_fen(fen).fen()


# --- examples ------------------------------------------------------------


def split_of(puzzle: Puzzle) -> str:
    if puzzle.split is not None:
        return puzzle.split
    bucket = int(hashlib.sha256(puzzle.id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if bucket < TEST_SHARE_PERCENT else "train"


def solution_kind(board: chess.Board, move: chess.Move) -> str:
    """The solution's kind: mate, check, capture or quiet move (in that order of precedence)."""
    if gives_mate(board, move):
        return "mate"
    if board.gives_check(move):
        return "check"
    if board.is_capture(move):
        return "capture"
    return "quiet move"


def band_of(rating: float | None, scale: str) -> str:
    """The difficulty band label of a rating on the "depth" or "elo" scale."""
    if rating is None:
        return "unrated"
    label = BANDS[scale][0][1]
    for lowest, name in BANDS[scale]:
        if rating >= lowest:
            label = name
    return label


def puzzle_example(puzzle: Puzzle, rating_scale: str) -> Example:
    """The ranked example of a puzzle: one candidate text per legal move, in UCI order.

    :raises PuzzleError: when the puzzle fails a check.
    """
    try:
        game = puzzle.game()
        movetext, board = game.movetext()
    except ValueError as error:
        category = "invalid FEN" if str(error).startswith("invalid") else "illegal prefix move"
        raise PuzzleError(f"{category}: {error}") from None

    solution = read_move(board, puzzle.solution)
    if solution is None:
        raise PuzzleError(f"illegal label: {puzzle.solution!r} is not a legal move in {board.fen()}")

    candidates = legal_moves_sorted(board)
    texts = candidate_texts_after(game, movetext, board, candidates)
    kind = solution_kind(board, solution)
    meta = {
        "rating": puzzle.rating,
        "band": kind if rating_scale == "kind" else band_of(puzzle.rating, rating_scale),
        "solution_kind": kind,
        "themes": list(puzzle.themes),
        "source": puzzle.source,
        "legal_moves": len(candidates),
        "solution_san": board.san(solution),
    }
    return Example(puzzle.id, tuple(texts), candidates.index(solution), meta)
