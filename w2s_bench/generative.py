"""Generative finetuning: unsupervised language-model training of a backbone on task text.

The step reads only the text of a task's training examples: every candidate
of every example (for a reward task every prompt + reply), never a label. The
texts are deduplicated and sorted before a seeded shuffle, so neither the
labels nor the order of candidates can change the result. The training itself
is in :mod:`w2s_bench.language_model`.

The finetuned backbone is stored as a phase (safetensors of the base model's
weights, without any LM head) and is shared by every cell that needs it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import torch

from w2s_bench.data import TaskData
from w2s_bench.errors import ModelLoadError, UserError
from w2s_bench.features import texts_digest
from w2s_bench.language_model import CAUSAL_LM, MASKED_LM, GenerativeSettings, finetune_language_model, objective_of
from w2s_bench.specs import ModelSpec
from w2s_bench.store import Record

logger = logging.getLogger(__name__)

PHASE = "generative"
WEIGHTS_FILE = "backbone.safetensors"

#: Sized so that the step on mpnet-base finishes within 10 minutes on a
#: 2-core CPU: 512 texts in 64 steps of 8 texts of at most 128 tokens.
CPU_SETTINGS = GenerativeSettings(max_texts=512, epochs=1, batch_size=8, max_length=128, heldout=64, evaluations=2)
#: A causal-LM step on SmolLM2-135M cost about 2.9 times as much per step as
#: the masked-LM step on mpnet-base on the same 2-core CPU (the decoder scores
#: every token over a 49k vocabulary), so decoders get 20 steps on a CPU.
CPU_DECODER_SETTINGS = replace(CPU_SETTINGS, max_texts=160, heldout=32)
#: Every training text, longer inputs and larger batches.
GPU_SETTINGS = GenerativeSettings(max_texts=None, epochs=1, batch_size=32, max_length=256, heldout=512)


def default_settings(device: torch.device, objective: str = MASKED_LM) -> GenerativeSettings:
    if device.type == "cuda":
        return GPU_SETTINGS
    return CPU_DECODER_SETTINGS if objective == CAUSAL_LM else CPU_SETTINGS


# --- texts ---------------------------------------------------------------


def task_texts(data: TaskData) -> list[str]:
    """Collect every distinct candidate text of the training examples, sorted, without labels."""
    return sorted({text for example in data.train for text in example.texts})


def select_texts(texts: Sequence[str], settings: GenerativeSettings) -> tuple[list[str], list[str]]:
    """Split texts into (training, held-out) with a seeded shuffle.

    The held-out texts are the first ``min(heldout, len(texts) // 4)`` of the
    shuffle; the training texts are the next ``max_texts`` (or all the rest).
    """
    order = np.random.default_rng(settings.seed).permutation(len(texts))
    heldout_count = min(settings.heldout, len(texts) // 4)
    if heldout_count < 1:
        raise UserError(f"generative finetuning needs at least 4 distinct training texts; the task has {len(texts)}")

    heldout = [texts[index] for index in order[:heldout_count]]
    rest = order[heldout_count:]
    if settings.max_texts is not None:
        rest = rest[: settings.max_texts]
    return [texts[index] for index in rest], heldout


# --- the language model --------------------------------------------------


def require_transformers_backbone(backbone: Any, name: str) -> None:
    from w2s_bench.plugins.models.hf import HFBackbone

    if not isinstance(backbone, HFBackbone):
        raise UserError(
            f"model {name!r} is not a transformers model, so it has no language-modelling objective; "
            "generative finetuning needs a transformers encoder or decoder as the strong model"
        )


# --- the phase and the finetuned model -----------------------------------


def generative_phase_config(backbone: Any, model_name: str, fingerprint: str, texts: list[str], settings: GenerativeSettings) -> dict[str, Any]:
    """Build the phase's key inputs: the model, the texts and the settings, but never labels or the cell seed."""
    return {
        "model": model_name,
        "model_fingerprint": fingerprint,
        "objective": objective_of(backbone),
        "texts": texts_digest(texts),
        "text_count": len(texts),
        "settings": settings.as_dict(),
    }


def generative_phase(pipeline: Any, model_name: str, data: TaskData, settings: GenerativeSettings, device: torch.device) -> Record:
    """Finetune ``model_name`` on the task's training texts, or reuse the stored result."""
    backbone = pipeline.backbone(model_name, device)
    require_transformers_backbone(backbone, model_name)
    texts = task_texts(data)
    train_texts, heldout_texts = select_texts(texts, settings)
    fingerprint = pipeline.backbone_fingerprint(model_name, device)
    config = generative_phase_config(backbone, model_name, fingerprint, texts, settings)

    pipeline.progress.note(
        f"generative step: {config['objective'].replace('_', '-')} on {len(train_texts)} of {len(texts)} distinct "
        f"training texts ({len(heldout_texts)} held out), {settings.epochs} epoch(s) of batch {settings.batch_size}, "
        f"max length {settings.max_length} tokens, lr {settings.lr:g}"
    )

    def compute() -> tuple[dict, dict]:
        started_wall, started_cpu = time.monotonic(), time.process_time()
        weights, metrics = finetune_language_model(backbone, train_texts, heldout_texts, settings, device, pipeline.progress)
        # CPU seconds measure the cost of the step even on a machine shared with other jobs
        metrics.update(wall_seconds=round(time.monotonic() - started_wall, 1), cpu_seconds=round(time.process_time() - started_cpu, 1))
        return metrics, {WEIGHTS_FILE: weights}

    record = pipeline._phase(PHASE, config, compute)
    pipeline.progress.note(
        f"generative step: held-out {record.metrics['objective'].replace('_', '-')} loss "
        f"{record.metrics['heldout_loss_before']:.3f} → {record.metrics['heldout_loss_after']:.3f} "
        f"over {record.metrics['steps']} steps"
        + (f", {record.metrics['wall_seconds']:.0f} s wall, {record.metrics['cpu_seconds']:.0f} s CPU" if "cpu_seconds" in record.metrics else "")
    )
    return record


@dataclass(frozen=True)
class FinetunedModelSpec(ModelSpec):
    """A model whose weights are a base model's, replaced by a stored generative phase."""

    weights_fingerprint: str = ""

    def fingerprint(self) -> str:
        return self.weights_fingerprint


def load_finetuned_backbone(base: ModelSpec, record: Record, name: str, fingerprint: str, device: torch.device | str) -> Any:
    """Create the base backbone and load the stored finetuned weights into it."""
    backbone = base.create(device=device)
    weights = record.tensors(WEIGHTS_FILE)
    result = backbone.module.load_state_dict(weights, strict=False)

    # The LM classes build their base model without the pooler that AutoModel
    # adds; pooling here never uses it, so it keeps its pretrained weights.
    missing = [key for key in result.missing_keys if not key.startswith("pooler.")]
    if missing or result.unexpected_keys:
        raise ModelLoadError(
            f"stored generative weights in {record.folder} do not fit {base.name}: "
            f"missing {missing[:3]}, unexpected {result.unexpected_keys[:3]}"
        )
    backbone.name = name
    backbone.fingerprint = fingerprint
    return backbone


def add_finetuned_model(pipeline: Any, base_name: str, record: Record) -> str:
    """Register the finetuned backbone of ``record`` with the pipeline; return its name."""
    key = record.data["key"]
    name = f"{base_name}+lm:{key[:12]}"
    base = pipeline.model_spec(base_name)
    fingerprint = f"{record.data['config']['model_fingerprint']}+generative:{key[:16]}"

    def factory(device: torch.device | str = "cpu", **options: Any) -> Any:
        return load_finetuned_backbone(base, record, name, fingerprint, device)

    description = f"{base_name} after generative finetuning (phase {key[:12]})"
    pipeline.add_model(FinetunedModelSpec(name, factory, description, weights_fingerprint=fingerprint))
    return name


def settings_with_overrides(base: GenerativeSettings, overrides: dict[str, Any]) -> GenerativeSettings:
    """Return ``base`` with the non-None overrides applied; ``max_texts=0`` means every text."""
    values = {name: value for name, value in overrides.items() if value is not None}
    if values.get("max_texts") == 0:
        values["max_texts"] = None
    return replace(base, **values)
