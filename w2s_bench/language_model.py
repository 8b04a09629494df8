"""Language-model finetuning of a transformers backbone, with no labels.

Decoders train with the causal-LM loss and encoders with the masked-LM loss.
Encoder checkpoints such as all-MiniLM-L6-v2 and all-mpnet-base-v2 ship
without their masked-LM head. transformers then builds a fresh one (a dense +
GELU + LayerNorm transform and a vocabulary decoder whose weight is tied to
the input embeddings, with a zero bias). A randomly initialised transform
would send large, meaningless gradients into the pretrained encoder. So for
the first ``head_warmup_fraction`` of the steps only the head's own weights
train, with the encoder and the tied embeddings frozen, and then all weights
train.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import torch

from w2s_bench.errors import ModelLoadError, TrainingError, UserError
from w2s_bench.progress import SILENT, Progress
from w2s_bench.threads import thread_budget

logger = logging.getLogger(__name__)

MASKED_LM = "masked_lm"
CAUSAL_LM = "causal_lm"
#: Share of steps over which the learning rate warms up linearly.
LR_WARMUP_FRACTION = 0.1


@dataclass(frozen=True)
class GenerativeSettings:
    """How much and how the language-model step trains."""

    #: Training texts used after the held-out ones are set aside; None uses all.
    max_texts: int | None = None
    #: Passes over the training texts.
    epochs: int = 1
    #: Texts per optimiser step.
    batch_size: int = 8
    #: Peak AdamW learning rate (linear warm-up over 10 % of steps, then linear decay).
    lr: float = 5e-5
    #: Tokens per text; longer texts are truncated.
    max_length: int = 128
    #: Texts held out to measure the language-modelling loss; at most a quarter of the texts.
    heldout: int = 64
    #: Share of eligible tokens masked (masked-LM only).
    mlm_probability: float = 0.15
    #: Share of steps that train only a freshly created masked-LM head.
    head_warmup_fraction: float = 0.2
    #: Held-out evaluations during training, besides the one before it.
    evaluations: int = 4
    #: Seed of the text shuffle, masking, dropout and head initialisation.
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            ("max_texts", self.max_texts is None or self.max_texts >= 1, "at least 1, or 0 for all texts"),
            ("epochs", self.epochs >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("lr", self.lr > 0 and math.isfinite(self.lr), "a positive number"),
            ("max_length", self.max_length >= 8, "at least 8 tokens"),
            ("heldout", self.heldout >= 1, "at least 1"),
            ("mlm_probability", 0 < self.mlm_probability < 1, "a value in (0, 1)"),
            ("head_warmup_fraction", 0 <= self.head_warmup_fraction < 1, "a value in [0, 1)"),
            ("evaluations", self.evaluations >= 1, "at least 1"),
            ("seed", self.seed >= 0, "a non-negative integer"),
        ]
        for name, valid, expected in checks:
            if not valid:
                raise UserError(f"generative setting {name}={getattr(self, name)} is invalid; expected {expected}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)



def objective_of(backbone: Any) -> str:
    from w2s_bench.plugins.models.hf import is_encoder

    return MASKED_LM if is_encoder(backbone.config) else CAUSAL_LM


def load_language_model(backbone: Any, objective: str, seed: int) -> tuple[torch.nn.Module, bool]:
    """Load the backbone's checkpoint with an LM head; return it and whether the head is new."""
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    auto_class = AutoModelForMaskedLM if objective == MASKED_LM else AutoModelForCausalLM
    torch.manual_seed(seed)  # a fresh head is initialised from the global generator
    try:
        model, info = auto_class.from_pretrained(backbone.source, output_loading_info=True, **backbone.load_kwargs)
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"cannot load {backbone.name!r} with a {objective} head: {error}") from None

    prefix = model.base_model_prefix + "."
    fresh_head = any(not key.startswith(prefix) for key in info["missing_keys"])
    if fresh_head:
        logger.info("%s has no %s head in its checkpoint; training a fresh one tied to the input embeddings", backbone.name, objective)
    return model, fresh_head


def mlm_head(model: torch.nn.Module) -> torch.nn.Module | None:
    """The masked-LM head: the one child module besides the base model, if there is exactly one."""
    heads = [module for name, module in model.named_children() if name != model.base_model_prefix]
    return heads[0] if len(heads) == 1 else None


def mask_tokens(
    input_ids: torch.Tensor,
    special: torch.Tensor,
    probability: float,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT-style masking: of the chosen tokens, 80 % become the mask token, 10 % a random token, 10 % stay.

    ``special`` is True for positions that are never chosen (special tokens,
    padding). At least one token is chosen per batch, so the loss is defined.
    """
    eligible = ~special
    chosen = (torch.rand(input_ids.shape, generator=generator) < probability) & eligible
    if not chosen.any():
        positions = eligible.nonzero()
        pick = positions[torch.randint(len(positions), (1,), generator=generator)]
        chosen[pick[0, 0], pick[0, 1]] = True

    labels = input_ids.masked_fill(~chosen, -100)
    inputs = input_ids.clone()
    draw = torch.rand(input_ids.shape, generator=generator)
    inputs[chosen & (draw < 0.8)] = mask_id
    randomised = chosen & (draw >= 0.8) & (draw < 0.9)
    inputs[randomised] = torch.randint(vocab_size, (int(randomised.sum()),), generator=generator)
    return inputs, labels


class LanguageModelBatches:
    """Tokenised texts turned into (inputs, labels) batches for one objective."""

    def __init__(self, tokenizer: Any, objective: str, settings: GenerativeSettings, vocab_size: int) -> None:
        if objective == MASKED_LM and tokenizer.mask_token_id is None:
            raise ModelLoadError("the tokenizer has no mask token, so masked-LM training is impossible")
        self.tokenizer = tokenizer
        self.objective = objective
        self.settings = settings
        self.vocab_size = vocab_size

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), truncation=True, max_length=self.settings.max_length)["input_ids"]

    def batch(self, token_ids: list[list[int]], generator: torch.Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        padded = dict(self.tokenizer.pad({"input_ids": token_ids}, return_tensors="pt"))
        input_ids, attention = padded["input_ids"], padded["attention_mask"]

        if self.objective == CAUSAL_LM:
            return padded, input_ids.masked_fill(attention == 0, -100)

        special = torch.tensor(
            [self.tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True) for row in input_ids.tolist()],
            dtype=torch.bool,
        ) | (attention == 0)
        padded["input_ids"], labels = mask_tokens(
            input_ids, special, self.settings.mlm_probability, self.tokenizer.mask_token_id, self.vocab_size, generator
        )
        return padded, labels


def language_model_loss(model: torch.nn.Module, objective: str, inputs: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    """Mean token cross-entropy; the masked-LM head runs only on masked positions."""
    device = next(model.parameters()).device
    inputs = {name: tensor.to(device) for name, tensor in inputs.items()}
    labels = labels.to(device)

    head = mlm_head(model) if objective == MASKED_LM else None
    if head is None:
        return model(**inputs, labels=labels).loss

    hidden = model.base_model(**inputs).last_hidden_state
    targets = labels != -100
    logits = head(hidden[targets])
    return torch.nn.functional.cross_entropy(logits.float(), labels[targets])


@torch.no_grad()
def heldout_loss(model: torch.nn.Module, objective: str, batches: list[tuple[dict, torch.Tensor]]) -> float:
    """Token-weighted mean LM loss over fixed held-out batches."""
    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    for inputs, labels in batches:
        count = int((labels != -100).sum())
        total += float(language_model_loss(model, objective, inputs, labels)) * count
        tokens += count
    model.train(was_training)
    return total / max(tokens, 1)


def set_base_trainable(model: torch.nn.Module, trainable: bool) -> None:
    for parameter in model.base_model.parameters():
        parameter.requires_grad_(trainable)


def evaluation_steps(total: int, count: int) -> set[int]:
    """Steps (1-based, after the optimiser step) at which the held-out loss is measured; always includes the last."""
    return {max(1, round(total * (index + 1) / count)) for index in range(count)}


def train_language_model(
    model: torch.nn.Module,
    objective: str,
    batches: LanguageModelBatches,
    train_ids: list[list[int]],
    heldout_batches: list[tuple[dict, torch.Tensor]],
    settings: GenerativeSettings,
    total: int,
    head_warmup: int,
    advance: Any,
) -> tuple[list[tuple[int, float]], float]:
    """Run the optimiser steps; return the held-out loss curve [(step, loss)] and the last training loss."""
    from transformers import get_linear_schedule_with_warmup

    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(total * LR_WARMUP_FRACTION), total)
    generator = torch.Generator().manual_seed(settings.seed)
    checkpoints = evaluation_steps(total, settings.evaluations)

    torch.manual_seed(settings.seed)  # dropout
    curve = [(0, heldout_loss(model, objective, heldout_batches))]
    logger.info("generative step: held-out %s loss %.4f before training", objective, curve[0][1])
    model.train()
    set_base_trainable(model, head_warmup == 0)

    step, last_loss = 0, float("nan")
    for _epoch in range(settings.epochs):
        order = torch.randperm(len(train_ids), generator=generator).tolist()
        for start in range(0, len(order), settings.batch_size):
            if step == head_warmup and head_warmup > 0:
                set_base_trainable(model, True)

            inputs, labels = batches.batch([train_ids[index] for index in order[start : start + settings.batch_size]], generator)
            loss = language_model_loss(model, objective, inputs, labels)
            if not torch.isfinite(loss):
                raise TrainingError(f"generative: loss became {loss.item()} at step {step + 1} of {total}; lower lm_lr (lr={settings.lr})")

            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            last_loss = loss.item()
            advance(1)

            if step in checkpoints:
                curve.append((step, heldout_loss(model, objective, heldout_batches)))
                logger.info("generative step: held-out %s loss %.4f at step %d of %d", objective, curve[-1][1], step, total)
    return curve, last_loss


def finetune_language_model(
    backbone: Any,
    train_texts: list[str],
    heldout_texts: list[str],
    settings: GenerativeSettings,
    device: torch.device,
    progress: Progress = SILENT,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train the backbone with its LM objective; return the base model's weights and metrics."""
    started = time.monotonic()
    objective = objective_of(backbone)
    if device.type == "cpu":
        torch.set_flush_denormal(True)
    model, fresh_head = load_language_model(backbone, objective, settings.seed)
    model.to(device)

    vocab_size = min(len(backbone.tokenizer), int(model.config.vocab_size))
    batches = LanguageModelBatches(backbone.tokenizer, objective, settings, vocab_size)
    train_ids = batches.tokenize(train_texts)
    heldout_ids = batches.tokenize(heldout_texts)
    evaluation_generator = torch.Generator().manual_seed(settings.seed + 1)
    heldout_batches = [
        batches.batch(heldout_ids[start : start + settings.batch_size], evaluation_generator)
        for start in range(0, len(heldout_ids), settings.batch_size)
    ]

    steps_per_epoch = math.ceil(len(train_ids) / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    head_warmup = round(total * settings.head_warmup_fraction) if fresh_head else 0
    label = f"generative: {objective.replace('_', '-')} finetune {backbone.name}"
    with thread_budget("finetune"), progress.track(label, total) as advance:
        curve, last_loss = train_language_model(
            model, objective, batches, train_ids, heldout_batches, settings, total, head_warmup, advance
        )

    weights = {name: tensor.detach().cpu().clone() for name, tensor in model.base_model.state_dict().items()}
    metrics = {
        "objective": objective,
        "fresh_head": fresh_head,
        "head_warmup_steps": head_warmup,
        "train_texts": len(train_texts),
        "heldout_texts": len(heldout_texts),
        "steps": total,
        "final_train_loss": last_loss,
        "heldout_loss_before": curve[0][1],
        "heldout_loss_after": curve[-1][1],
        "heldout_curve": [[step_index, value] for step_index, value in curve],
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    return weights, metrics
