"""The chess network as a backbone: candidate texts in, one feature vector per (position, move) out."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import torch

from w2s_bench.plugins.models.chess.encoding import EncodedPositions, board_codes, move_row
from w2s_bench.plugins.models.chess.pretrain import load_network
from w2s_bench.progress import Advance
from w2s_bench.errors import DataError
from w2s_bench.tasks.chess.notation import NotationError, PositionCache, split_candidate

logger = logging.getLogger(__name__)

#: Candidate texts encoded per forward pass by :meth:`ChessBackbone.encode`;
#: a pass covers a few hundred positions, so the trunk runs on full batches.
ENCODE_CHUNK = 8192


class ChessBackbone:
    """Reads candidate texts (see :mod:`w2s_bench.tasks.chess.notation`) with a pretrained chess network.

    Each text is parsed back into its position and move; positions shared by
    several candidates go through the trunk once. Parsed texts are cached, so
    finetuning epochs parse each text once.
    """

    def __init__(self, name: str, folder: Path, device: torch.device | str = "cpu") -> None:
        network, record = load_network(folder)
        self.name = name
        self.folder = folder
        self.record = record
        self.device = torch.device(device)
        self.module = network.to(self.device)
        self.hidden_size = network.config.feature_size
        self.fingerprint = f"chessnet:{name}:{record['weights_sha256'][:16]}"
        self._positions = PositionCache(capacity=1 << 16)
        self._moves: dict[str, tuple[str, tuple[int, ...]]] = {}
        self._codes: dict[str, tuple] = {}

    # --- parsing ---------------------------------------------------------

    def _parse(self, text: str) -> tuple[str, tuple[int, ...]]:
        """The prefix (position) of a candidate text and its move row, cached."""
        parsed = self._moves.get(text)
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
        parsed = (prefix, move_row(board, move))
        self._moves[text] = parsed
        return parsed

    def _encoded(self, texts: Sequence[str]) -> tuple[EncodedPositions, torch.Tensor]:
        """Positions of ``texts`` (each once) and, per text, the index of its position."""
        slots: dict[str, int] = {}
        codes, flags, rows, position_index = [], [], [], []
        for text in texts:
            prefix, row = self._parse(text)
            slot = slots.get(prefix)
            if slot is None:
                slot = slots[prefix] = len(slots)
                position_codes, position_flags = self._codes[prefix]
                codes.append(torch.from_numpy(position_codes))
                flags.append(torch.from_numpy(position_flags))
            rows.append(row)
            position_index.append(slot)

        encoded = EncodedPositions(
            torch.stack(codes), torch.stack(flags), torch.tensor(rows, dtype=torch.int16),
            torch.zeros(len(codes) + 1, dtype=torch.int64),  # offsets unused: moves are indexed by position_index
        )
        return encoded, torch.tensor(position_index, dtype=torch.int64)

    # --- features --------------------------------------------------------

    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        """Move features ``[len(texts), hidden_size]`` with gradients."""
        encoded, position_index = self._encoded(texts)
        device = self.device
        hidden = self.module.trunk(encoded.codes.to(device), encoded.flags.to(device))
        return self.module.move_features(hidden, encoded.moves.to(device), position_index.to(device))

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64, advance: Advance = lambda count: None) -> torch.Tensor:
        """Move features without gradients, in chunks of at least ``ENCODE_CHUNK`` texts."""
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
        return self.module.score(self.pooled(texts)).squeeze(-1).float().cpu()
