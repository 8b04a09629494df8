"""The chess network: an MLP over the position with a move head and a value head.

The trunk reads the one-hot piece codes, flags and attack counts of a
position (see :mod:`encoding`) through residual MLP blocks into a position
vector.

The move head scores each candidate move. Two read-outs of the position
vector feed it: a global vector and one small vector per square. Each move
gathers the vectors of its from- and to-square, adds embeddings of its
piece, capture, promotion and check, and passes through a two-layer MLP into
the move's feature vector; a linear layer turns that into the move's score.

The value head maps the position vector through one hidden layer to the
winning chances of the side to move, in [-1, 1].

For a candidate move the harness gets the move's feature vector, the value
head's hidden layer for the position after the move, and minus that
position's value (the opponent moves there). A linear probe on them can
express the pretrained move scorer and the one-move look-ahead exactly.

MLPs were chosen over a transformer on 64 square tokens because, measured on
a 2-core CPU with one thread, a 3-layer transformer of width 96 trained at
about 500 positions a second and an MLP of width 1024 and depth 4 at about
4,000.
"""

from __future__ import annotations

import torch
from torch import nn

from w2s_bench.plugins.models.chess.config import NetConfig
from w2s_bench.plugins.models.chess.encoding import FLAGS, MOVE_FIELD_SIZES, PIECE_CODES

INPUT_SIZE = 64 * PIECE_CODES + FLAGS


class ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.inner(self.norm(hidden))


class ChessNet(nn.Module):
    """Scores candidate moves; see the module docstring for the layout."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        width, square, features = config.trunk_width, config.square_width, config.feature_size

        self.input = nn.Linear(INPUT_SIZE, width)
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in range(config.trunk_blocks))
        self.norm = nn.LayerNorm(width)
        self.global_out = nn.Linear(width, features)
        self.square_out = nn.Linear(width, 64 * square)
        # promotion, moving piece, captured piece and check; the squares come from square_out
        self.move_embeddings = nn.ModuleList(nn.Embedding(size, features) for size in MOVE_FIELD_SIZES[2:])
        self.move_mlp = nn.Sequential(
            nn.Linear(features + 2 * square, features), nn.GELU(),
            nn.Linear(features, features), nn.GELU(),
        )
        self.score = nn.Linear(features, 1)
        self.value_hidden = nn.Sequential(nn.Linear(width, features), nn.GELU())
        self.value_out = nn.Linear(features, 1)

    def trunk(self, codes: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
        """Position vectors ``[P, trunk_width]`` from codes ``[P, 64]`` and flags ``[P, 12]``."""
        one_hot = nn.functional.one_hot(codes.long(), PIECE_CODES).flatten(1)
        inputs = torch.cat([one_hot, flags.long()], dim=1).to(self.input.weight.dtype)
        hidden = torch.relu(self.input(inputs))
        for block in self.blocks:
            hidden = block(hidden)
        return self.norm(hidden)

    def move_features(self, hidden: torch.Tensor, moves: torch.Tensor, position_index: torch.Tensor) -> torch.Tensor:
        """Feature vectors ``[M, feature_size]`` of moves ``[M, 6]`` of positions ``position_index[M]``."""
        moves = moves.long()
        squares = self.square_out(hidden).view(hidden.shape[0], 64, -1)
        from_vectors = squares[position_index, moves[:, 0]]
        to_vectors = squares[position_index, moves[:, 1]]

        move_vectors = self.global_out(hidden)[position_index]
        for column, embedding in enumerate(self.move_embeddings, start=2):
            move_vectors = move_vectors + embedding(moves[:, column])
        return self.move_mlp(torch.cat([move_vectors, from_vectors, to_vectors], dim=1))

    def value(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The value head's hidden layer ``[P, feature_size]`` and the value ``[P]`` in [-1, 1]."""
        value_hidden = self.value_hidden(hidden)
        return value_hidden, torch.tanh(self.value_out(value_hidden)).squeeze(-1)

    def forward(self, codes: torch.Tensor, flags: torch.Tensor, moves: torch.Tensor, position_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores ``[M]`` of the moves and values ``[P]`` of the positions."""
        hidden = self.trunk(codes, flags)
        scores = self.score(self.move_features(hidden, moves, position_index)).squeeze(-1)
        return scores, self.value(hidden)[1]


def parameter_count(network: nn.Module) -> int:
    return sum(parameter.numel() for parameter in network.parameters())
