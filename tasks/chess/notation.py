"""The candidate text format and move parsing shared by every chess format.

A chess example is a position with one candidate per legal move. Each
candidate text is the game so far as PGN, ending with the candidate move::

    1. e4 e5 2. Nf3 Nc6 3. Bb5

When the game does not start from the standard position, the text opens with
the ``SetUp`` and ``FEN`` tags and a blank line, as PGN requires::

    [SetUp "1"]
    [FEN "r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4"]

    4. Qxf7#

``chess.pgn.read_game`` reads every candidate text back into the position and
the move, and so does :func:`parse_candidate`, which is faster because it
replays each shared prefix once. Moves are compared as moves, never as
strings: ``Nf3`` and ``g1f3`` are the same move.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Sequence

import chess
import chess.polyglot

STANDARD_FEN = chess.STARTING_FEN

MOVE_NUMBER = re.compile(r"^\d+\.+$")
GLUED_MOVE_NUMBER = re.compile(r"^\d+\.+(?=[^.\s])")
TAG = re.compile(r'^\[(\w+)\s+"(.*)"\]$')
RESULTS = frozenset({"1-0", "0-1", "1/2-1/2", "*"})


class NotationError(ValueError):
    """A move, FEN or candidate text that does not describe a legal game."""


# --- moves ---------------------------------------------------------------


def parse_move(board: chess.Board, text: str) -> chess.Move:
    """Return the legal move that ``text`` names in SAN (``Nf3``) or UCI (``g1f3``).

    :raises NotationError: when the text is empty, unreadable or illegal here.
    """
    text = text.strip()
    if not text:
        raise NotationError("empty move")

    try:
        return board.parse_san(text)
    except ValueError:
        pass

    try:
        move = chess.Move.from_uci(text)
    except ValueError:
        raise NotationError(f"move {text!r} is neither legal SAN nor UCI in {board.fen()}") from None
    if not board.is_legal(move):
        raise NotationError(f"move {text!r} is illegal in {board.fen()}")
    return move


def same_move(board: chess.Board, first: str, second: str) -> bool:
    """True when two move texts (SAN or UCI) name the same legal move in ``board``."""
    return parse_move(board, first) == parse_move(board, second)


def load_fen(fen: str) -> chess.Board:
    """Return the board of a FEN, rejecting invalid and impossible positions.

    A full-move number of 0, which some puzzle collections write, is read as 1.

    :raises NotationError: for an unreadable FEN or an invalid position.
    """
    fields = fen.split()
    if len(fields) == 6 and fields[5] == "0":
        fields[5] = "1"
    try:
        board = chess.Board(" ".join(fields))
    except ValueError as error:
        raise NotationError(f"invalid FEN {fen!r}: {error}") from None

    status = board.status()
    if status != chess.STATUS_VALID:
        problems = [flag.name.lower() for flag in chess.Status if flag and flag in status]
        raise NotationError(f"invalid position in FEN {fen!r}: {', '.join(problems)}")
    return board


def position_key(board: chess.Board) -> int:
    """Polyglot Zobrist hash: equal for the same pieces, side to move, castling and en passant."""
    return chess.polyglot.zobrist_hash(board)


# --- candidate texts -----------------------------------------------------


def game_header(start_fen: str) -> str:
    if start_fen == STANDARD_FEN:
        return ""
    return f'[SetUp "1"]\n[FEN "{start_fen}"]\n\n'


def move_number_prefix(board: chess.Board, first: bool) -> str:
    """The move number written before the next move: ``12.`` for white, ``12...`` for a first black move."""
    if board.turn == chess.WHITE:
        return f"{board.fullmove_number}. "
    return f"{board.fullmove_number}... " if first else ""


@dataclass(frozen=True)
class Game:
    """A game so far: where it started and the moves played from there."""

    start_fen: str
    moves: tuple[chess.Move, ...]

    def board(self) -> chess.Board:
        board = load_fen(self.start_fen)
        for move in self.moves:
            board.push(move)
        return board

    def movetext(self) -> tuple[str, chess.Board]:
        """Return the SAN movetext of the game and the board after its last move.

        :raises NotationError: when a move is illegal.
        """
        board = load_fen(self.start_fen)
        parts = []
        for index, move in enumerate(self.moves):
            if not board.is_legal(move):
                raise NotationError(f"move {index + 1} {move.uci()} is illegal in {board.fen()}")
            number = move_number_prefix(board, first=index == 0)
            parts.append(number + board.san_and_push(move))
        return " ".join(parts), board

    def candidate_texts(self, candidates: Iterable[chess.Move]) -> list[str]:
        """Return one text per candidate move: the game's PGN ending with that move."""
        return candidate_texts_after(self, *self.movetext(), candidates)


def candidate_texts_after(game: Game, movetext: str, board: chess.Board, candidates: Iterable[chess.Move]) -> list[str]:
    """Candidate texts from a game's movetext and final board, computed once by the caller."""
    header = game_header(game.start_fen)
    number = move_number_prefix(board, first=not game.moves)
    lead = f"{header}{movetext} " if movetext else header
    return [f"{lead}{number}{board.san(move)}" for move in candidates]


def legal_moves_sorted(board: chess.Board) -> list[chess.Move]:
    """Legal moves in UCI order, the fixed candidate order of every chess example."""
    return sorted(board.legal_moves, key=lambda move: move.uci())


# --- reading candidate texts back ----------------------------------------


def split_candidate(text: str) -> tuple[str, str]:
    """Split a candidate text into its prefix (tags and earlier moves) and its last move's SAN."""
    stripped = text.rstrip()
    cut = stripped.rfind(" ")
    cut_newline = stripped.rfind("\n")
    cut = max(cut, cut_newline)
    last = stripped[cut + 1 :]
    prefix = stripped[: cut + 1] if cut >= 0 else ""

    glued = GLUED_MOVE_NUMBER.match(last)
    if glued:
        last = last[glued.end() :]
    if not last:
        raise NotationError(f"candidate text ends without a move: {text[-40:]!r}")
    return prefix, last


def read_tags_and_tokens(prefix: str) -> tuple[dict[str, str], list[str]]:
    tags: dict[str, str] = {}
    tokens: list[str] = []
    for line in prefix.splitlines():
        line = line.strip()
        if not line:
            continue
        tag = TAG.match(line)
        if tag:
            tags[tag.group(1)] = tag.group(2)
            continue
        if line.startswith("["):
            raise NotationError(f"malformed PGN tag {line[:60]!r}")
        for token in line.split():
            token = GLUED_MOVE_NUMBER.sub("", token)
            if not token or MOVE_NUMBER.match(token) or token in RESULTS:
                continue
            if token[0] in "{(;$":
                raise NotationError(f"comments, variations and annotations are not supported: {token[:20]!r}")
            tokens.append(token)
    return tags, tokens


class PositionCache:
    """Boards after each candidate prefix, kept for the most recent prefixes.

    Every candidate of a position shares the prefix, so replaying it once per
    position instead of once per candidate saves most of the parsing time.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._boards: OrderedDict[str, chess.Board] = OrderedDict()

    def board(self, prefix: str) -> chess.Board:
        """Return the board after ``prefix``; callers must not modify it."""
        board = self._boards.get(prefix)
        if board is not None:
            self._boards.move_to_end(prefix)
            return board

        board = replay_prefix(prefix)
        self._boards[prefix] = board
        if len(self._boards) > self.capacity:
            self._boards.popitem(last=False)
        return board


def replay_prefix(prefix: str) -> chess.Board:
    tags, tokens = read_tags_and_tokens(prefix)
    board = load_fen(tags.get("FEN", STANDARD_FEN))
    for token in tokens:
        try:
            board.push_san(token)
        except ValueError:
            raise NotationError(f"move {token!r} is illegal or unreadable in {board.fen()}") from None
    return board


def parse_candidate(text: str, cache: PositionCache | None = None) -> tuple[chess.Board, chess.Move]:
    """Return the position before the last move of a candidate text, and that move.

    :raises NotationError: when the text is not a legal game ending with a legal move.
    """
    prefix, last = split_candidate(text)
    board = (cache or PositionCache(capacity=1)).board(prefix)
    try:
        move = board.parse_san(last)
    except ValueError:
        raise NotationError(f"candidate move {last!r} is illegal or unreadable in {board.fen()}") from None
    return board, move


def parse_candidates(texts: Sequence[str]) -> list[tuple[chess.Board, chess.Move]]:
    """Parse many candidate texts, replaying each distinct prefix once."""
    cache = PositionCache()
    return [parse_candidate(text, cache) for text in texts]
