"""The ``ngram-bag`` model: hashed character n-grams and words, with no pretrained weights.

Each text becomes the mean of random embeddings of its hashed character
n-grams and lowercased words, a random projection of its bag of n-grams.
It needs no download, so it makes a fast weak supervisor, and in finetune
mode its embedding table is trained like any backbone.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from typing import Any, Sequence

import torch

from w2s_bench.hookspecs import hookimpl
from w2s_bench.specs import ModelSpec

#: Change when feature extraction changes, so cached features are not reused.
FEATURE_VERSION = "1"
WORD = re.compile(r"\w+")


def ngram_ids(text: str, buckets: int, min_n: int, max_n: int) -> list[int]:
    """Bucket ids of the character n-grams and words of one text.

    crc32 is used because Python's ``hash`` of a str changes between
    processes, which would change the features and the cache keys with them.
    """
    lowered = f" {text.lower()} "
    grams = [lowered[start : start + n] for n in range(min_n, max_n + 1) for start in range(len(lowered) - n + 1)]
    grams += [f"word:{word}" for word in WORD.findall(lowered)]
    return [zlib.crc32(gram.encode("utf-8")) % buckets for gram in grams]


class NgramBag(torch.nn.Module):
    """Mean of embeddings over each text's n-gram bucket ids."""

    def __init__(self, buckets: int, dim: int, seed: int) -> None:
        super().__init__()
        self.embedding = torch.nn.EmbeddingBag(buckets, dim, mode="mean")
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.randn(buckets, dim, generator=generator))

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids, offsets)


class NgramBagBackbone:
    """A :class:`w2s_bench.backbone.Backbone` over hashed n-grams."""

    def __init__(
        self,
        name: str = "ngram-bag",
        device: torch.device | str = "cpu",
        dim: int = 256,
        buckets: int = 2**16,
        min_n: int = 2,
        max_n: int = 4,
        seed: int = 0,
    ) -> None:
        self.name = name
        self.device = torch.device(device)
        self.hidden_size = dim
        self.settings = {"dim": dim, "buckets": buckets, "min_n": min_n, "max_n": max_n, "seed": seed}
        digest = hashlib.sha256(json.dumps({**self.settings, "version": FEATURE_VERSION}, sort_keys=True).encode())
        self.fingerprint = f"ngram-bag:{digest.hexdigest()[:16]}"
        self.module = NgramBag(buckets, dim, seed).to(self.device)

    def _bags(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        settings = self.settings
        bags = [ngram_ids(text, settings["buckets"], settings["min_n"], settings["max_n"]) for text in texts]
        offsets = torch.tensor([0] + [len(bag) for bag in bags[:-1]], dtype=torch.long).cumsum(dim=0)
        ids = torch.tensor([index for bag in bags for index in bag], dtype=torch.long)
        return ids.to(self.device), offsets.to(self.device)

    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        """Features ``[len(texts), dim]`` with gradients to the embedding table."""
        return self.module(*self._bags(texts))

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64, advance: Any = lambda count: None) -> torch.Tensor:
        """Features ``[len(texts), dim]`` without gradients, on the CPU."""
        self.module.eval()
        features = torch.empty(len(texts), self.hidden_size)
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            features[start : start + len(batch)] = self.pooled(batch).float().cpu()
            advance(len(batch))
        return features


def create(device: torch.device | str = "cpu", **options: Any) -> NgramBagBackbone:
    return NgramBagBackbone(device=device, **options)


@hookimpl
def w2s_bench_register_models() -> list[ModelSpec]:
    parameters = 2**16 * 256 / 1e6
    return [ModelSpec("ngram-bag", create, "hashed character n-grams and words, random 256-d embeddings", parameters)]
