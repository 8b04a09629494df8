"""Sizes of the chess network family and the ladder they form, importable without torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class NetConfig:
    """Sizes of one chess network."""

    #: Width of the trunk MLP.
    trunk_width: int
    #: Residual blocks after the input layer.
    trunk_blocks: int
    #: Width of each square's read-out vector.
    square_width: int
    #: Width of a move's feature vector and of the value head's hidden layer.
    feature_size: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


SIZES: dict[str, NetConfig] = {
    "tiny": NetConfig(trunk_width=8, trunk_blocks=0, square_width=2, feature_size=8),
    "small": NetConfig(trunk_width=96, trunk_blocks=1, square_width=8, feature_size=32),
    "base": NetConfig(trunk_width=512, trunk_blocks=2, square_width=32, feature_size=128),
}

MODEL_PREFIX = "chess-"

#: The chess model ladder, weakest first: the default weak supervisor is the
#: first and the default strong student the last, and methods that step up a
#: ladder of supervisors walk it in this order.
LADDER: tuple[str, ...] = tuple(MODEL_PREFIX + size for size in SIZES)


def parameter_count(config: NetConfig) -> int:
    """Parameters of a :class:`~w2s_bench.plugins.models.chess.network.ChessNet` of this size, without building it."""
    width, square, features = config.trunk_width, config.square_width, config.feature_size
    inputs = 64 * 13 + 12 + 2 * 64  # one-hot piece codes, castling and en passant flags, attack counts
    count = inputs * width + width
    count += config.trunk_blocks * (2 * width + 2 * (width * width + width))
    count += 2 * width  # final layer norm
    count += width * features + features  # global read-out
    count += width * 64 * square + 64 * square  # square read-outs
    count += (5 + 6 + 7 + 2) * features  # promotion, piece, captured, check embeddings
    count += (features + 2 * square) * features + features + features * features + features  # move MLP
    count += features + 1  # score
    count += width * features + features + features + 1  # value head
    return count
