"""Frozen-backbone features, computed once per (model, texts) and cached."""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Sequence

import torch

from w2s_bench.backbone import Backbone
from w2s_bench.progress import SILENT, Progress
from w2s_bench.store import RunStore, content_key
from w2s_bench.threads import thread_budget

logger = logging.getLogger(__name__)

FEATURES_FILE = "features.safetensors"


def texts_digest(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def features_config(fingerprint: str, texts: Sequence[str]) -> tuple[dict[str, Any], str]:
    """Return the store config and key of one model's features on ``texts``."""
    config = {"model": fingerprint, "texts": texts_digest(texts), "count": len(texts)}
    return config, content_key(config)


def cached_features(
    store: RunStore,
    backbone: Backbone,
    texts: Sequence[str],
    label: str,
    batch_size: int = 64,
    progress: Progress = SILENT,
) -> torch.Tensor:
    """Return ``[len(texts), hidden]`` features, from the store when present."""
    config, key = features_config(backbone.fingerprint, texts)

    record = store.load("features", key)
    if record is not None:
        progress.note(f"features for {label}: reused from the run store")
        return record.tensors(FEATURES_FILE)["features"]

    with store.lock("features", key):
        record = store.load("features", key)
        if record is not None:
            return record.tensors(FEATURES_FILE)["features"]

        with thread_budget("inference"), progress.track(f"features: {label}", len(texts)) as advance:
            features = backbone.encode(texts, batch_size=batch_size, advance=advance)

        features = features.float().cpu()
        store.save(
            "features",
            key,
            config={**config, "label": label},
            metrics={"rows": features.shape[0], "dim": features.shape[1]},
            tensors={FEATURES_FILE: {"features": features}},
        )
        logger.info("cached features for %s: %s", label, tuple(features.shape))
        return features
