"""Registers the pretrained chess network family: chess-tiny, chess-small and chess-base.

Weights are looked up in the model cache; a size that was never pretrained
is pretrained on first use with the default settings (minutes on a CPU; run
``w2s-bench chess pretrain`` beforehand to watch a progress bar).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from w2s_bench.hookspecs import hookimpl
from w2s_bench.plugins.models.chess.config import LADDER, MODEL_PREFIX, SIZES, parameter_count
from w2s_bench.specs import ModelSpec

logger = logging.getLogger(__name__)

#: Pretraining epochs per size over the shipped corpus.
DEFAULT_EPOCHS = {"tiny": 3, "small": 3, "base": 3}


def default_pretrain_config(size: str) -> Any:
    from w2s_bench.plugins.models.chess.pretrain import PretrainConfig

    return PretrainConfig(size=size, epochs=DEFAULT_EPOCHS[size])


def ensure_weights(size: str) -> Path:
    """Return the cache folder of a size's default weights, pretraining them when missing."""
    from w2s_bench.plugins.models.chess.corpus import SHIPPED_CORPUS
    from w2s_bench.plugins.models.chess.pretrain import MODEL_FILE, WEIGHTS_FILE, model_dir, pretrain
    from w2s_bench.store import sha256_file

    config = default_pretrain_config(size)
    folder = model_dir(config, sha256_file(SHIPPED_CORPUS))
    if not (folder / WEIGHTS_FILE).exists():
        logger.warning(
            "%s%s is not in the model cache; pretraining it now, which takes minutes on a CPU "
            "(`w2s-bench chess pretrain --size %s` shows progress)", MODEL_PREFIX, size, size,
        )
        folder = pretrain(config)
    warn_unchecked_sets(folder / MODEL_FILE)
    return folder


def warn_unchecked_sets(model_file: Path) -> None:
    """Warn when a puzzle set known now was not checked against the corpus these weights saw."""
    from w2s_bench.tasks.chess.sets import known_sets

    checked = json.loads(model_file.read_text())["contamination_check"]["puzzle_sets"]
    for name, puzzle_set in known_sets().items():
        if all(path.is_file() for path in puzzle_set.paths) and checked.get(name) != puzzle_set.digest():
            logger.warning(
                "puzzle set %s was not checked against the pretraining corpus of %s; "
                "pretrain again with --force to drop its positions from the corpus", name, model_file.parent.name,
            )


class ChessModelSpec(ModelSpec):
    """A chess network size whose fingerprint comes from its cached weights."""

    def is_built(self) -> bool:
        """True when the default weights of this size are in the model cache."""
        from w2s_bench.plugins.models.chess.corpus import SHIPPED_CORPUS
        from w2s_bench.plugins.models.chess.pretrain import WEIGHTS_FILE, model_dir
        from w2s_bench.store import sha256_file

        size = self.name[len(MODEL_PREFIX):]
        return (model_dir(default_pretrain_config(size), sha256_file(SHIPPED_CORPUS)) / WEIGHTS_FILE).exists()

    def fingerprint(self) -> str:
        from w2s_bench.plugins.models.chess.pretrain import MODEL_FILE

        folder = ensure_weights(self.name[len(MODEL_PREFIX):])
        record = json.loads((folder / MODEL_FILE).read_text())
        return f"chessnet:{self.name}:{record['weights_sha256'][:16]}"


def backbone_factory(size: str):
    def create(device: Any = "cpu", **options: Any) -> Any:
        from w2s_bench.plugins.models.chess.backbone import ChessBackbone

        return ChessBackbone(MODEL_PREFIX + size, ensure_weights(size), device)

    return create


@hookimpl
def w2s_bench_register_models() -> list[ModelSpec]:
    specs = []
    for name in LADDER:
        size = name[len(MODEL_PREFIX):]
        count = parameter_count(SIZES[size])
        description = f"chess MLP pretrained on Stockfish self-play games, {count / 1e6:.2f}M parameters"
        specs.append(ChessModelSpec(name, backbone_factory(size), description, round(count / 1e6, 3)))
    return specs
