"""Board and move encodings read by the chess networks.

Positions are seen from the side to move: when black is to move the board is
mirrored (colours swapped, ranks flipped), so the network always plays "up
the board" and one set of weights serves both colours.

A position is 64 piece codes (0 empty, 1-6 own pawn..king, 7-12 the
opponent's) plus 140 small counts: own and opponent castling rights (4), the
en-passant file (8), and for every square the number of own and of opponent
pieces attacking it (2 x 64). The attack counts spare the networks from
learning how pieces move, so their capacity goes into what the counts mean
(which piece hangs, which square is safe). A move is six small integers:
from square, to square, promotion, moving piece, captured piece and whether
it gives check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import chess
import numpy as np
import torch

PIECE_CODES = 13
FLAGS = 12 + 2 * 64
#: Columns of a move row.
MOVE_FIELDS = ("from_square", "to_square", "promotion", "piece", "captured", "check")
#: Number of values of each move field.
MOVE_FIELD_SIZES = (64, 64, 5, 6, 7, 2)
PROMOTION_INDEX = {None: 0, chess.KNIGHT: 1, chess.BISHOP: 2, chess.ROOK: 3, chess.QUEEN: 4}


def oriented(board: chess.Board) -> chess.Board:
    """The board from the side to move's view: mirrored when black is to move."""
    return board if board.turn == chess.WHITE else board.mirror()


def board_codes(board: chess.Board) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(codes[64], flags[140])`` of a position, from the side to move's view."""
    view = oriented(board)
    codes = np.zeros(64, dtype=np.int8)
    for square, piece in view.piece_map().items():
        codes[square] = piece.piece_type + (0 if piece.color == chess.WHITE else 6)

    flags = np.zeros(FLAGS, dtype=np.int8)
    flags[0] = view.has_kingside_castling_rights(chess.WHITE)
    flags[1] = view.has_queenside_castling_rights(chess.WHITE)
    flags[2] = view.has_kingside_castling_rights(chess.BLACK)
    flags[3] = view.has_queenside_castling_rights(chess.BLACK)
    if view.ep_square is not None and view.has_legal_en_passant():
        flags[4 + chess.square_file(view.ep_square)] = 1
    for square in chess.SQUARES:
        flags[12 + square] = chess.popcount(view.attackers_mask(chess.WHITE, square))
        flags[76 + square] = chess.popcount(view.attackers_mask(chess.BLACK, square))
    return codes, flags


def move_row(board: chess.Board, move: chess.Move) -> tuple[int, int, int, int, int, int]:
    """The six move fields of a legal move, with squares from the side to move's view."""
    mirror = board.turn == chess.BLACK
    from_square = chess.square_mirror(move.from_square) if mirror else move.from_square
    to_square = chess.square_mirror(move.to_square) if mirror else move.to_square

    piece = board.piece_type_at(move.from_square)
    if board.is_en_passant(move):
        captured = chess.PAWN
    else:
        # castling never captures, but in Chess960 form its move lands on the king's own rook
        captured = 0 if board.is_castling(move) else board.piece_type_at(move.to_square) or 0
    return (
        from_square,
        to_square,
        PROMOTION_INDEX[move.promotion],
        (piece or 1) - 1,
        captured,
        int(board.gives_check(move)),
    )


@dataclass
class EncodedPositions:
    """Positions and their candidate moves as flat tensors.

    Moves of position ``i`` are rows ``offsets[i]:offsets[i + 1]`` of ``moves``.
    """

    codes: torch.Tensor  # [P, 64] int8
    flags: torch.Tensor  # [P, 12] int8
    moves: torch.Tensor  # [M, 6] int16
    offsets: torch.Tensor  # [P + 1] int64

    def __len__(self) -> int:
        return self.codes.shape[0]


class PositionEncoder:
    """Collects positions and their moves one at a time, without keeping the boards."""

    def __init__(self) -> None:
        self.codes: list[np.ndarray] = []
        self.flags: list[np.ndarray] = []
        self.rows: list[tuple[int, ...]] = []
        self.offsets = [0]

    def add(self, board: chess.Board, moves: Sequence[chess.Move]) -> None:
        codes, flags = board_codes(board)
        self.codes.append(codes)
        self.flags.append(flags)
        self.rows.extend(move_row(board, move) for move in moves)
        self.offsets.append(len(self.rows))

    def finish(self) -> EncodedPositions:
        count = len(self.codes)
        codes = np.stack(self.codes) if count else np.zeros((0, 64), dtype=np.int8)
        flags = np.stack(self.flags) if count else np.zeros((0, FLAGS), dtype=np.int8)
        moves = np.array(self.rows, dtype=np.int16).reshape(-1, len(MOVE_FIELDS))
        return EncodedPositions(
            torch.from_numpy(codes), torch.from_numpy(flags), torch.from_numpy(moves), torch.tensor(self.offsets, dtype=torch.int64)
        )


def encode_positions(items: Sequence[tuple[chess.Board, Sequence[chess.Move]]]) -> EncodedPositions:
    """Encode boards, each with the moves to score (usually all legal moves)."""
    encoder = PositionEncoder()
    for board, moves in items:
        encoder.add(board, moves)
    return encoder.finish()
