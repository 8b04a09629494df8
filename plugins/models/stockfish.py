"""Stockfish as a supervisor model with a strength knob.

The features of a candidate move are Stockfish's evaluation of it from a
search of the position with one principal variation per legal move, limited
by depth or nodes: the mover's winning chances after the move, whether it
forces mate or walks into one, its rank among the moves and whether it is
the engine's choice. A linear head over them learns to follow the engine, so
``stockfish-d1`` ... ``stockfish-d8`` (or ``stockfish:depth=N``,
``stockfish:nodes=N``) form a ladder of weak supervisors for the chess
tasks. The engine has no trainable weights; in finetune mode only the head
trains.

Stockfish's ``Skill Level`` is not offered here: it picks weaker moves with a
random generator seeded from the clock, so its labels would not repeat.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import chess
import chess.engine
import torch

from w2s_bench.errors import DataError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.progress import Advance
from w2s_bench.specs import ModelSpec
from w2s_bench.tasks.chess.engine import Strength, open_engine, parse_strength, winning_chances
from w2s_bench.tasks.chess.notation import NotationError, PositionCache, split_candidate

logger = logging.getLogger(__name__)

PREFIX = "stockfish:"
LADDER_DEPTHS = (1, 2, 4, 8)
FEATURES = ("winning_chances", "mates", "mated", "rank_fraction", "is_best")


class StockfishSupervisor:
    """Scores candidate texts with Stockfish searches of their positions."""

    def __init__(self, name: str, strength: Strength, device: torch.device | str = "cpu") -> None:
        self.name = name
        self.strength = strength
        self.device = torch.device(device)
        self.hidden_size = len(FEATURES)
        self.module = torch.nn.Identity()
        self._engine: chess.engine.SimpleEngine | None = None
        self._positions = PositionCache()
        self._features: dict[str, tuple[float, ...]] = {}
        self.fingerprint = f"stockfish:{strength.label()}:{self.engine.id.get('name', 'unknown')}"

    @property
    def engine(self) -> chess.engine.SimpleEngine:
        if self._engine is None:
            self._engine = open_engine()
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.quit()
            self._engine = None

    def __del__(self) -> None:
        try:
            self.close()
        except (chess.engine.EngineError, RuntimeError, AttributeError):
            pass

    def position_features(self, board: chess.Board) -> dict[chess.Move, tuple[float, ...]]:
        """Features of every legal move of ``board`` from one multi-line search."""
        legal = list(board.legal_moves)
        # a fresh game token clears the hash, so a position's features do not depend on earlier searches
        lines = self.engine.analyse(board, self.strength.limit(), multipv=len(legal), game=object())
        ranked = [(line["pv"][0], line["score"]) for line in lines if line.get("pv")]
        features: dict[chess.Move, tuple[float, ...]] = {}
        for rank, (move, score) in enumerate(ranked):
            relative = score.pov(board.turn)
            mate = relative.mate()
            features[move] = (
                winning_chances(score, board.turn),
                float(mate is not None and mate > 0),
                float(mate is not None and mate <= 0),
                rank / max(1, len(legal) - 1),
                float(rank == 0),
            )
        # a move the search did not report (rare at tiny node limits) ranks last
        for move in legal:
            features.setdefault(move, (-1.0, 0.0, 0.0, 1.0, 0.0))
        return features

    def _text_features(self, texts: Sequence[str]) -> torch.Tensor:
        missing: dict[str, list[tuple[str, str]]] = {}
        for text in texts:
            if text not in self._features:
                prefix, last = split_candidate(text)
                missing.setdefault(prefix, []).append((text, last))

        for prefix, items in missing.items():
            try:
                board = self._positions.board(prefix)
                moves = [(text, board.parse_san(last)) for text, last in items]
            except (NotationError, ValueError) as error:
                raise DataError(f"{self.name}: candidate text is not a legal game ending with a move ({error})") from None
            by_move = self.position_features(board)
            for text, move in moves:
                self._features[text] = by_move[move]
        return torch.tensor([self._features[text] for text in texts], dtype=torch.float32, device=self.device)

    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        return self._text_features(texts)

    def encode(self, texts: Sequence[str], batch_size: int = 64, advance: Advance = lambda count: None) -> torch.Tensor:
        outputs = []
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            outputs.append(self._text_features(batch).cpu())
            advance(len(batch))
        return torch.cat(outputs) if outputs else torch.zeros(0, self.hidden_size)


def supervisor_factory(name: str, strength: Strength):
    def create(device: torch.device | str = "cpu", **options: Any) -> StockfishSupervisor:
        return StockfishSupervisor(name, strength, device)

    return create


@hookimpl
def w2s_bench_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(f"stockfish-d{depth}", supervisor_factory(f"stockfish-d{depth}", Strength(depth=depth)),
                  f"Stockfish searching to depth {depth}, as a supervisor on chess tasks")
        for depth in LADDER_DEPTHS
    ]


@hookimpl
def w2s_bench_resolve_model(name: str) -> ModelSpec | None:
    """Resolve ``stockfish:depth=N`` or ``stockfish:nodes=N`` (both may be given, comma-separated)."""
    if not name.startswith(PREFIX):
        return None
    strength = parse_strength(name[len(PREFIX):])
    return ModelSpec(name, supervisor_factory(name, strength), f"Stockfish limited to {strength.label()}")
