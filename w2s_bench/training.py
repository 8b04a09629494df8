"""One training loop for probe and finetune modes.

A model here maps a batch of example indices to candidate logits ``[B, K]``.
In probe mode that is a linear head over cached features; in finetune mode it
is the backbone followed by the same head, reading the texts.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from w2s_bench.errors import TrainingError, UserError
from w2s_bench.progress import Advance

logger = logging.getLogger(__name__)

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings for one training phase."""

    #: Passes over the training examples.
    epochs: int = 10
    #: Examples per optimiser step; aux_conf sets its threshold per batch.
    batch_size: int = 32
    #: AdamW learning rate.
    lr: float = 1e-3
    #: AdamW weight decay.
    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise UserError(f"epochs={self.epochs} is invalid; expected at least 1")
        if self.batch_size < 1:
            raise UserError(f"batch_size={self.batch_size} is invalid; expected at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UserError(f"lr={self.lr} is invalid; expected a positive number")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LinearHead(nn.Module):
    """Candidate logits from features: ``classify`` maps one vector to K logits,
    ``rank`` maps each candidate's vector to one score.

    Features are standardised with statistics of the training rows, which are
    stored as buffers so prediction uses the same scaling.
    """

    def __init__(self, hidden: int, head: str, num_candidates: int, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.head = head
        outputs = num_candidates if head == "classify" else 1
        self.linear = nn.Linear(hidden, outputs)
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone().clamp_min(1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        scaled = (features - self.mean) / self.std
        logits = self.linear(scaled)
        if self.head == "rank":
            logits = logits.squeeze(-1)  # [B, K, 1] -> [B, K]
        return logits


def feature_statistics(features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of feature rows, ignoring padded candidates."""
    rows = features if mask is None else features[mask]
    rows = rows.reshape(-1, features.shape[-1])
    return rows.mean(dim=0), rows.std(dim=0)


#: Batches per length-sorted group. Larger groups pad less but make batch
#: contents less random; 50 is the group size of the Hugging Face Trainer's
#: ``group_by_length`` sampler.
BATCHES_PER_LENGTH_GROUP = 50


def epoch_batches(
    count: int, batch_size: int, generator: torch.Generator, lengths: torch.Tensor | None = None
) -> list[torch.Tensor]:
    """Return one epoch's index batches, drawn from ``generator``.

    Without ``lengths`` the batches are consecutive slices of a random
    permutation. With ``lengths``, each run of ``BATCHES_PER_LENGTH_GROUP``
    batches of that permutation is sorted by length and cut into batches,
    and the batches are then shuffled, so a batch contains rows of similar
    length and pads little.
    """
    order = torch.randperm(count, generator=generator)
    if lengths is None:
        return list(order.split(batch_size))

    batches: list[torch.Tensor] = []
    for group in order.split(batch_size * BATCHES_PER_LENGTH_GROUP):
        by_length = torch.sort(lengths[group], descending=True, stable=True).indices
        batches.extend(group[by_length].split(batch_size))

    shuffled = torch.randperm(len(batches), generator=generator)
    return [batches[i] for i in shuffled.tolist()]


def adamw(parameters: list[nn.Parameter], config: TrainConfig) -> torch.optim.AdamW:
    """AdamW, fused into one kernel per step where torch supports it.

    The fused kernel computes the same update as the default per-tensor loop
    in one pass over memory. On minilm-l6's 22.7M parameters it ran about 4
    times faster than the loop on a 2-core CPU (``benchmarks/settings.py``).
    """
    fused = bool(parameters) and all(
        parameter.device.type in ("cpu", "cuda") and parameter.dtype.is_floating_point for parameter in parameters
    )
    return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay, fused=fused)


def fit(
    model: nn.Module,
    inputs: Callable[[torch.Tensor], Any],
    mask: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: LossFn,
    config: TrainConfig,
    seed: int,
    phase: str,
    advance: Advance,
    lengths: torch.Tensor | None = None,
) -> dict[str, float]:
    """Train ``model`` so that ``model(inputs(index))`` fits ``targets[index]``.

    Shuffling uses its own generator seeded with ``seed``, so the result does
    not depend on other random draws in the process. ``lengths`` (one number
    per row, such as the text length) groups rows of similar length into a
    batch; see :func:`epoch_batches`.

    :raises TrainingError: when the loss is NaN or infinite, naming the phase and step.
    """
    count = targets.shape[0]
    steps_per_epoch = math.ceil(count / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = adamw(parameters, config)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device

    model.train()
    step = 0
    last_loss = float("nan")
    for _epoch in range(config.epochs):
        for index in epoch_batches(count, config.batch_size, generator, lengths):
            # forward and loss
            logits = model(inputs(index))
            batch_mask = mask[index].to(device)
            batch_targets = targets[index].to(device)
            loss = loss_fn(logits, batch_mask, batch_targets, step / total_steps)

            if not torch.isfinite(loss):
                raise TrainingError(
                    f"{phase}: loss became {loss.item()} at step {step + 1} of {total_steps}; "
                    f"lower the learning rate (lr={config.lr})"
                )

            # backward and step
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

            step += 1
            last_loss = loss.item()
            advance(1)

    logger.debug("%s: %d steps, final loss %.4f", phase, total_steps, last_loss)
    return {"steps": total_steps, "final_loss": last_loss}


@torch.no_grad()
def predict(
    model: nn.Module,
    inputs: Callable[[torch.Tensor], Any],
    mask: torch.Tensor,
    batch_size: int,
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return candidate probabilities ``[N, K]``; padded candidates get 0.

    With ``lengths`` the rows are batched in order of length, so each batch
    pads little; the result is in row order either way.
    """
    model.eval()
    count = mask.shape[0]
    order = torch.arange(count) if lengths is None else torch.sort(lengths, stable=True).indices
    probs = torch.zeros(count, mask.shape[1])

    for index in order.split(batch_size):
        logits = model(inputs(index)).float().cpu()
        logits = logits.masked_fill(~mask[index], float("-inf"))
        probs[index] = torch.softmax(logits, dim=-1)
    return probs


def total_steps(count: int, config: TrainConfig) -> int:
    return math.ceil(count / config.batch_size) * config.epochs


class FinetuneModel(nn.Module):
    """The backbone and a head trained together on texts (finetune mode)."""

    def __init__(self, backbone: Any, head: LinearHead, num_candidates: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.body = backbone.module
        self.head = head
        self.num_candidates = num_candidates

    def forward(self, texts: Sequence[tuple[str, ...]]) -> torch.Tensor:
        if self.head.head == "classify":
            pooled = self.backbone.pooled([example[0] for example in texts])
            return self.head(pooled)

        # rank: score every candidate text, then pad each example to K
        flat = [text for example in texts for text in example]
        pooled = self.backbone.pooled(flat)
        padded = pooled.new_zeros(len(texts), self.num_candidates, pooled.shape[-1])
        offset = 0
        for row, example in enumerate(texts):
            padded[row, : len(example)] = pooled[offset : offset + len(example)]
            offset += len(example)
        return self.head(padded)
