"""Padding: batches padded to their own longest text, with rows sorted (inference)
or grouped (training) by length, against batches padded to a fixed width."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from benchmarks.support.figures import Context, Figure
from benchmarks.support.timing import measure_alternately
from benchmarks.support.workload import LabelledTexts, harness_finetune, harness_model, load_backbone, task_texts
from w2s_bench.plugins.models.hf import mean_pool
from w2s_bench.training import FinetuneModel, predict

ORDER = 30
SEED = 0
#: Rows per batch of feature extraction, as the feature cache uses.
ENCODE_BATCH = 64


class FixedWidthBackbone:
    """A backbone whose ``pooled`` pads every batch to ``width`` tokens."""

    def __init__(self, backbone: Any, width: int) -> None:
        self.backbone = backbone
        self.width = width
        self.module = backbone.module
        self.hidden_size = backbone.hidden_size

    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        encoded = self.backbone.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.width, return_tensors="pt")
        hidden = self.module(**encoded).last_hidden_state
        return mean_pool(hidden, encoded["attention_mask"])


@torch.inference_mode()
def encode_fixed_width(backbone: Any, texts: list[str], width: int) -> torch.Tensor:
    """Feature extraction as ``encode`` does it, but every batch padded to ``width``."""
    module = backbone.module
    module.eval()
    features = []
    for start in range(0, len(texts), ENCODE_BATCH):
        encoded = backbone.tokenizer(texts[start : start + ENCODE_BATCH], padding="max_length", truncation=True,
                                     max_length=width, return_tensors="pt")
        features.append(mean_pool(module(**encoded).last_hidden_state, encoded["attention_mask"]))
    return torch.cat(features)


def longest_text(backbone: Any, texts: list[str]) -> int:
    """Tokens in the task's longest training text: the tightest fixed width that truncates nothing."""
    return max(len(ids) for ids in backbone.tokenizer(texts, truncation=True, max_length=backbone.max_length)["input_ids"])


def predict_texts(model: FinetuneModel, data: LabelledTexts, batch_size: int, sort: bool) -> torch.Tensor:
    texts = [(text,) for text in data.texts]
    mask = torch.ones(len(texts), data.num_classes, dtype=torch.bool)
    return predict(model, lambda index: [texts[i] for i in index.tolist()], mask, batch_size,
                   lengths=data.char_lengths if sort else None)


def measure(context: Context) -> list[Figure]:
    settings = context.settings
    everything = task_texts(context)
    backbone = load_backbone(settings.model)
    width = longest_text(backbone, everything.texts)
    encoded = everything.sample(settings.padding_texts, seed=SEED)
    shared = {"model": settings.model, "fixed width (longest training text)": f"{width} tokens"}

    inference = measure_alternately({
        "fixed width": lambda: encode_fixed_width(backbone, encoded.texts, width),
        "sorted dynamic": lambda: backbone.encode(encoded.texts, batch_size=ENCODE_BATCH),
    }, settings.repeats)
    ratio = inference.ratio("fixed width", "sorted dynamic")
    figures = [Figure(
        "3", "Padding, inference", "fixed-width / length-sorted dynamic padding (encode)",
        ratio, target=">= 1.5", met=ratio >= 1.5,
        details={**shared, "texts per run": len(encoded.texts), "batch size": ENCODE_BATCH, **inference.details()},
    )]

    # training: the same examples, steps and optimiser settings in each variant
    data = everything.sample(max(1, settings.finetune_steps // 2) * settings.batch_size, seed=SEED)
    model = harness_model(backbone, data.num_classes)
    fixed_model = FinetuneModel(FixedWidthBackbone(load_backbone(settings.model), width), model.head, data.num_classes)
    training = measure_alternately({
        "fixed width": lambda: harness_finetune(fixed_model, data, settings.batch_size, SEED, lengths=None),
        "random batches": lambda: harness_finetune(model, data, settings.batch_size, SEED, lengths=None),
        "grouped": lambda: harness_finetune(model, data, settings.batch_size, SEED, lengths=data.char_lengths),
    }, settings.repeats)
    ratio = training.ratio("fixed width", "grouped")
    figures.append(Figure(
        "3", "Padding, training", "fixed-width / length-grouped dynamic padding (fit)",
        ratio, target=">= 1.5", met=ratio >= 1.5,
        details={**shared, "examples per run": len(data.texts), "batch size": settings.batch_size,
                 **training.details("fixed width", "grouped")},
    ))
    figures.append(Figure(
        "3", "Change: grouped training", "random-batch / length-grouped dynamic padding (fit)",
        training.ratio("random batches", "grouped"), details=training.details("random batches", "grouped"),
    ))

    predicted = everything.sample(settings.padding_texts, seed=SEED + 1)
    prediction = measure_alternately({
        "unsorted": lambda: predict_texts(model, predicted, settings.batch_size * 4, sort=False),
        "sorted": lambda: predict_texts(model, predicted, settings.batch_size * 4, sort=True),
    }, settings.repeats)
    figures.append(Figure(
        "3", "Change: sorted prediction", "unsorted / length-sorted batches (predict, finetune mode)",
        prediction.ratio("unsorted", "sorted"), details={"texts per run": len(predicted.texts), **prediction.details()},
    ))
    return figures
