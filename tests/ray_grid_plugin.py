"""A plugin for the Ray grid tests: a method that fails a set number of times, and
two models that log every load and every feature computation.

Both write to files named by environment variables, so that the tests can
count what Ray workers did in other processes:

* ``W2S_TEST_ATTEMPTS_DIR``: the ``failing`` method appends one line to
  ``<dir>/<tag>`` per failed attempt and raises, until ``failures`` lines exist;
* ``W2S_TEST_COUNTER_FILE``: ``counted-weak`` and ``counted-strong`` append
  ``create NAME`` when a backbone is built and ``encode NAME`` when features
  are computed;
* ``W2S_TEST_TINY_MODEL``: the folder of the small BERT both models load.
"""

from __future__ import annotations

import os
from pathlib import Path

from w2s_bench.hookspecs import hookimpl
from w2s_bench.losses import soft_cross_entropy
from w2s_bench.methods import Method
from w2s_bench.plugins.models.hf import HFBackbone
from w2s_bench.specs import MethodSpec, ModelSpec


def append_line(path: str, line: str) -> None:
    # one short write in append mode, so lines from several processes never interleave
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class FailingMethod(Method):
    name = "failing"

    def __init__(self, failures: int = 1, tag: str = "default"):
        self.failures = failures
        self.tag = tag

    def config(self):
        return {**super().config(), "failures": self.failures, "tag": self.tag}

    def loss(self, logits, mask, targets, fraction):
        attempts_file = Path(os.environ["W2S_TEST_ATTEMPTS_DIR"]) / self.tag
        failed_before = len(attempts_file.read_text().splitlines()) if attempts_file.exists() else 0
        if failed_before < self.failures:
            append_line(str(attempts_file), "failed")
            raise RuntimeError(f"failing on purpose ({failed_before + 1} of {self.failures})")
        return soft_cross_entropy(logits, mask, targets)


class CountedBackbone(HFBackbone):
    def encode(self, texts, batch_size=64, advance=lambda count: None):
        append_line(os.environ["W2S_TEST_COUNTER_FILE"], f"encode {self.name}")
        return super().encode(texts, batch_size=batch_size, advance=advance)


class CountedModelSpec(ModelSpec):
    """A model whose fingerprint is known without loading it, so only trainings and features load it."""

    def fingerprint(self) -> str:
        return f"{self.name}:{os.environ['W2S_TEST_TINY_MODEL']}"


def counted_factory(name: str):
    def create(device="cpu", **options):
        append_line(os.environ["W2S_TEST_COUNTER_FILE"], f"create {name}")
        folder = os.environ["W2S_TEST_TINY_MODEL"]
        return CountedBackbone(name, folder, device, fingerprint=f"{name}:{folder}", **options)

    return create


@hookimpl
def w2s_bench_register_methods():
    return [MethodSpec("failing", FailingMethod, "naive loss after a set number of failures (tests only)")]


@hookimpl
def w2s_bench_register_models():
    return [
        CountedModelSpec(name, counted_factory(name), "small BERT that logs loads and feature computations (tests only)", 1.0)
        for name in ("counted-weak", "counted-strong")
    ]
