"""The chess network as a backbone: candidate texts in, one feature vector per (position, move) out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from w2s_bench.plugins.models.chess.encoding import board_codes, move_row
from w2s_bench.plugins.models.chess.pretrain import load_network
from w2s_bench.progress import Advance
from w2s_bench.errors import DataError
from w2s_bench.tasks.chess.notation import NotationError, PositionCache, split_candidate

logger = logging.getLogger(__name__)

#: Candidate texts encoded per forward pass by :meth:`ChessBackbone.encode`;
#: a pass covers a few hundred positions, so the trunk runs on full batches.
ENCODE_CHUNK = 8192


@dataclass(frozen=True)
class ParsedCandidate:
    """A candidate text read back: its position (by prefix), its move row, and the position after the move."""

    prefix: str
    move: tuple[int, ...]
    after_codes: np.ndarray
    after_flags: np.ndarray


class ChessBackbone:
    """Reads candidate texts (see :mod:`w2s_bench.tasks.chess.notation`) with a pretrained chess network.

    A candidate's features are the move head's feature vector, the value
    head's hidden layer for the position after the move, and minus that
    position's value, so ``hidden_size = 2 * feature_size + 1``. Positions
    shared by several candidates go through the trunk once; parsed texts are
    cached, so finetuning epochs parse each text once.
    """

    def __init__(self, name: str, folder: Path, device: torch.device | str = "cpu") -> None:
        network, record = load_network(folder)
        self.name = name
        self.folder = folder
        self.record = record
        self.device = torch.device(device)
        self.module = network.to(self.device)
        self.hidden_size = 2 * network.config.feature_size + 1
        self.fingerprint = f"chessnet:{name}:{record['weights_sha256'][:16]}"
        self._positions = PositionCache(capacity=1 << 16)
        self._parsed: dict[str, ParsedCandidate] = {}
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # --- parsing ---------------------------------------------------------

    def _parse(self, text: str) -> ParsedCandidate:
        parsed = self._parsed.get(text)
        if parsed is not None:
            return parsed

        prefix, last = split_candidate(text)
        try:
            board = self._positions.board(prefix)
            move = board.parse_san(last)
        except (NotationError, ValueError) as error:
            raise DataError(f"{self.name}: candidate text is not a legal game ending with a move ({error}): {text[-80:]!r}") from None
        if prefix not in self._codes:
            self._codes[prefix] = board_codes(board)

        after = board.copy(stack=False)
        after.push(move)
        parsed = ParsedCandidate(prefix, move_row(board, move), *board_codes(after))
        self._parsed[text] = parsed
        return parsed

    def _tensors(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Root positions (each once), their moves, and the positions after each move."""
        slots: dict[str, int] = {}
        codes, flags, position_index = [], [], []
        parsed = [self._parse(text) for text in texts]
        for candidate in parsed:
            slot = slots.get(candidate.prefix)
            if slot is None:
                slot = slots[candidate.prefix] = len(slots)
                root_codes, root_flags = self._codes[candidate.prefix]
                codes.append(root_codes)
                flags.append(root_flags)
            position_index.append(slot)

        device = self.device
        return {
            "codes": torch.from_numpy(np.stack(codes)).to(device),
            "flags": torch.from_numpy(np.stack(flags)).to(device),
            "moves": torch.tensor([candidate.move for candidate in parsed], dtype=torch.int16, device=device),
            "position_index": torch.tensor(position_index, dtype=torch.int64, device=device),
            "after_codes": torch.from_numpy(np.stack([candidate.after_codes for candidate in parsed])).to(device),
            "after_flags": torch.from_numpy(np.stack([candidate.after_flags for candidate in parsed])).to(device),
        }

    # --- features --------------------------------------------------------

    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        """Candidate features ``[len(texts), hidden_size]`` with gradients."""
        inputs = self._tensors(texts)
        network = self.module
        hidden = network.trunk(inputs["codes"], inputs["flags"])
        move_features = network.move_features(hidden, inputs["moves"], inputs["position_index"])
        # the opponent is to move after the move, so the mover's outlook is minus its value
        value_hidden, value = network.value(network.trunk(inputs["after_codes"], inputs["after_flags"]))
        return torch.cat([move_features, value_hidden, -value.unsqueeze(1)], dim=1)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64, advance: Advance = lambda count: None) -> torch.Tensor:
        """Candidate features without gradients, in chunks of at least ``ENCODE_CHUNK`` texts."""
        self.module.eval()
        chunk = max(batch_size, ENCODE_CHUNK)
        outputs = []
        for start in range(0, len(texts), chunk):
            batch = texts[start : start + chunk]
            outputs.append(self.pooled(batch).float().cpu())
            advance(len(batch))
        return torch.cat(outputs) if outputs else torch.zeros(0, self.hidden_size)

    @torch.no_grad()
    def scores(self, texts: Sequence[str]) -> torch.Tensor:
        """The pretrained move scores of candidate texts (higher: more likely played)."""
        self.module.eval()
        size = self.module.config.feature_size
        return self.module.score(self.pooled(texts)[:, :size]).squeeze(-1).float().cpu()

    @torch.no_grad()
    def look_ahead_scores(self, texts: Sequence[str]) -> torch.Tensor:
        """Minus the pretrained value of the position after each candidate move."""
        self.module.eval()
        return self.pooled(texts)[:, -1].float().cpu()
