"""Real data and models shared by the benchmarks: the default NLP task's texts,
packaged backbones, and the FLOP count of a finetune step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from benchmarks.support.figures import Context
from w2s_bench.losses import ground_truth_loss
from w2s_bench.training import FinetuneModel, LinearHead, TrainConfig, fit


@dataclass(frozen=True)
class LabelledTexts:
    """Training texts of the default task, in the task's own order."""

    texts: list[str]
    labels: torch.Tensor
    num_classes: int

    def sample(self, count: int, seed: int = 0) -> LabelledTexts:
        """``count`` rows drawn at random, so their lengths follow the task's distribution."""
        if count > len(self.texts):
            raise ValueError(f"{count} examples requested but the task has {len(self.texts)}")
        rows = torch.randperm(len(self.texts), generator=torch.Generator().manual_seed(seed))[:count].tolist()
        return LabelledTexts([self.texts[row] for row in rows], self.labels[rows], self.num_classes)

    @property
    def char_lengths(self) -> torch.Tensor:
        return torch.tensor([len(text) for text in self.texts], dtype=torch.long)


def batch_shapes(tokenizer: Any, texts: Sequence[str], batches: Sequence[torch.Tensor], max_length: int) -> list[tuple[int, int]]:
    """(rows, padded length) of each batch when padded to its longest text."""
    lengths = [len(ids) for ids in tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]]
    return [(len(index), max(lengths[i] for i in index.tolist())) for index in batches]


def task_texts(context: Context) -> LabelledTexts:
    def load() -> LabelledTexts:
        from w2s_bench.registry import default_registry

        data = default_registry().task(context.settings.task).create().load()
        if data.head != "classify":
            raise ValueError(f"the benchmarks need a classify task; {context.settings.task} has head {data.head!r}")
        texts = [example.texts[0] for example in data.train]
        labels = torch.tensor([example.label for example in data.train], dtype=torch.long)
        return LabelledTexts(texts, labels, data.num_candidates)

    return context.shared("task_texts", load)


def load_backbone(name: str) -> Any:
    """Create a packaged backbone and load its weights (each call gets its own copy)."""
    from w2s_bench.registry import default_registry

    backbone = default_registry().model(name).create(device="cpu")
    backbone.module  # noqa: B018 -- loads the weights now, outside any timed block
    return backbone


def harness_model(backbone: Any, num_classes: int) -> FinetuneModel:
    """Build the model the pipeline builds in finetune mode (classify head, no feature scaling)."""
    hidden = backbone.hidden_size
    head = LinearHead(hidden, "classify", num_classes, torch.zeros(hidden), torch.ones(hidden))
    return FinetuneModel(backbone, head, num_classes)


def harness_finetune(model: FinetuneModel, data: LabelledTexts, batch_size: int, seed: int, lengths: torch.Tensor | None) -> None:
    """Run one epoch of :func:`w2s_bench.training.fit`, called as the pipeline calls it."""
    texts = [(text,) for text in data.texts]
    mask = torch.ones(len(texts), data.num_classes, dtype=torch.bool)
    targets = torch.nn.functional.one_hot(data.labels, data.num_classes).float()
    config = TrainConfig(epochs=1, batch_size=batch_size, lr=2e-5, weight_decay=0.01)
    fit(model, lambda index: [texts[i] for i in index.tolist()], mask, targets, ground_truth_loss, config, seed,
        "benchmark", lambda count: None, lengths=lengths)


def step_flops(module: torch.nn.Module, batch_shapes: Sequence[tuple[int, int]]) -> float:
    """Estimated FLOPs of training steps of a BERT-style encoder.

    Counts ``6 * P * tokens`` for the weight matrices of the transformer
    layers (forward 2, backward 4 FLOPs per weight and token) plus
    ``12 * layers * T^2 * hidden`` per sequence for the attention products
    QK^T and AV, over the padded tokens the model computes. ``batch_shapes``
    contains (rows, padded length) per step. Embedding
    lookups, layer norms, softmax, GELU and the optimiser update are left
    out, so the count is a lower bound.
    """
    config = module.config
    layer_parameters = sum(parameter.numel() for parameter in module.encoder.parameters())
    hidden, layers = config.hidden_size, config.num_hidden_layers

    total = 0.0
    for rows, width in batch_shapes:
        total += 6 * layer_parameters * rows * width + 12 * layers * rows * width**2 * hidden
    return total
