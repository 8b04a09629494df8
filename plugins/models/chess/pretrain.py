"""Pretraining a chess network: predict the played move among the legal moves.

Training is seeded and resumable: a checkpoint (weights, optimizer state and
step) is written every ``checkpoint_seconds``, and a rerun with the same
config continues from it with the same batch order. The finished weights are
saved as safetensors in the model cache together with ``model.json`` (config,
corpus hash, the contamination check and validation accuracy), and reused by
every later run.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from w2s_bench.errors import TrainingError, UserError
from w2s_bench.paths import cache_dir
from w2s_bench.plugins.models.chess.corpus import SHIPPED_CORPUS, ContaminationCheck, encode_corpus, read_corpus
from w2s_bench.plugins.models.chess.encoding import EncodedPositions
from w2s_bench.plugins.models.chess.config import SIZES, NetConfig
from w2s_bench.plugins.models.chess.network import ChessNet, parameter_count
from w2s_bench.progress import SILENT, Progress
from w2s_bench.store import atomic_write_json, content_key, sha256_file
from w2s_bench.tasks.chess.sets import puzzle_position_keys

logger = logging.getLogger(__name__)

#: Bumped when the encoding or the network changes in a way that makes old weights unusable.
FORMAT_VERSION = 2
WEIGHTS_FILE = "weights.safetensors"
MODEL_FILE = "model.json"
CHECKPOINT_FILE = "checkpoint.pt"
#: Every ``VALIDATION_EVERY``-th corpus game is held out to measure move-prediction accuracy.
VALIDATION_EVERY = 50
#: Weight of the value loss (mean squared error on winning chances in [-1, 1])
#: next to the move loss (cross-entropy over the legal moves).
VALUE_WEIGHT = 2.0

@dataclass(frozen=True)
class PretrainConfig:
    """Optimiser settings of one pretraining run."""

    size: str
    epochs: int = 3
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise UserError(f"chess model size {self.size!r} is unknown; expected one of {', '.join(SIZES)}")
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise UserError("epochs and batch_size must be at least 1 and lr positive")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def models_dir() -> Path:
    return cache_dir() / "chess-models"


def model_dir(config: PretrainConfig, corpus_sha256: str) -> Path:
    """The cache folder of one (size, optimiser settings, corpus) combination."""
    key = content_key({"format": FORMAT_VERSION, "net": SIZES[config.size].as_dict(), "pretrain": config.as_dict(), "corpus": corpus_sha256})
    return models_dir() / f"chess-{config.size}-{key[:12]}"


# --- the corpus as tensors -----------------------------------------------


@dataclass
class CorpusTensors:
    positions: EncodedPositions
    targets: torch.Tensor
    values: torch.Tensor
    game_numbers: torch.Tensor
    check: dict[str, Any]


def corpus_tensors(corpus: Path, progress: Progress = SILENT) -> CorpusTensors:
    """Encode the corpus once, without puzzle positions, and cache the tensors."""
    corpus_sha = sha256_file(corpus)
    sets, keys = puzzle_position_keys()
    cache_key = content_key({"format": FORMAT_VERSION, "corpus": corpus_sha, "puzzle_sets": sets})
    path = models_dir() / f"corpus-{cache_key[:16]}.safetensors"
    check_path = path.with_suffix(".json")

    if path.exists() and check_path.exists():
        tensors = load_file(path)
        check = json.loads(check_path.read_text())
        positions = EncodedPositions(tensors["codes"], tensors["flags"], tensors["moves"], tensors["offsets"])
        return CorpusTensors(positions, tensors["targets"], tensors["values"], tensors["game_numbers"], check)

    check = ContaminationCheck(puzzle_sets=sets, puzzle_positions=len(keys))
    games = read_corpus(corpus)
    positions, targets, values, game_numbers = encode_corpus(games, keys, check, progress)
    record = {**check.as_dict(), "corpus": str(corpus), "corpus_sha256": corpus_sha, "positions": len(targets)}
    logger.info("corpus %s: %d positions; dropped %d of %d games that reached a puzzle position",
                corpus.name, len(targets), check.games_dropped, check.games_checked)

    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {"codes": positions.codes, "flags": positions.flags, "moves": positions.moves, "offsets": positions.offsets,
               "targets": targets, "values": values, "game_numbers": game_numbers}
    temporary = path.with_name(path.name + ".tmp")
    save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(temporary))
    temporary.replace(path)
    atomic_write_json(check_path, record)
    return CorpusTensors(positions, targets, values, game_numbers, record)


# --- batches -------------------------------------------------------------


@dataclass
class Batch:
    codes: torch.Tensor
    flags: torch.Tensor
    moves: torch.Tensor
    position_index: torch.Tensor
    within: torch.Tensor
    targets: torch.Tensor
    values: torch.Tensor


def make_batch(positions: EncodedPositions, targets: torch.Tensor, values: torch.Tensor, rows: torch.Tensor) -> Batch:
    """Gather positions ``rows`` and all their moves into one batch."""
    starts = positions.offsets[rows]
    lengths = positions.offsets[rows + 1] - starts
    position_index = torch.repeat_interleave(torch.arange(len(rows)), lengths)
    first_of_position = torch.cumsum(lengths, 0) - lengths
    within = torch.arange(int(lengths.sum())) - first_of_position[position_index]
    move_rows = starts[position_index] + within
    return Batch(positions.codes[rows], positions.flags[rows], positions.moves[move_rows], position_index, within, targets[rows], values[rows])


def padded_scores(scores: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Scores ``[M]`` as ``[B, max moves]``, with -inf where a position has fewer moves."""
    width = int(batch.within.max()) + 1 if len(batch.within) else 1
    padded = scores.new_full((len(batch.targets), width), float("-inf"))
    padded[batch.position_index, batch.within] = scores
    return padded


def batch_outputs(network: ChessNet, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded move scores ``[B, max moves]`` and position values ``[B]``."""
    scores, values = network(batch.codes, batch.flags, batch.moves, batch.position_index)
    return padded_scores(scores, batch), values


def batch_loss(network: ChessNet, batch: Batch) -> torch.Tensor:
    scores, values = batch_outputs(network, batch)
    loss = torch.nn.functional.cross_entropy(scores, batch.targets)
    known = ~torch.isnan(batch.values)
    if known.any():
        loss = loss + VALUE_WEIGHT * torch.nn.functional.mse_loss(values[known], batch.values[known])
    return loss


@torch.no_grad()
def validation_metrics(network: ChessNet, data: "CorpusTensors", rows: torch.Tensor, batch_size: int = 1024) -> dict[str, float]:
    """Move accuracy (top-scored move is the played move) and value mean squared error."""
    network.eval()
    correct, squared, known = 0, 0.0, 0
    for start in range(0, len(rows), batch_size):
        batch = make_batch(data.positions, data.targets, data.values, rows[start : start + batch_size])
        scores, values = batch_outputs(network, batch)
        correct += int((scores.argmax(dim=1) == batch.targets).sum())
        mask = ~torch.isnan(batch.values)
        squared += float(((values[mask] - batch.values[mask]) ** 2).sum())
        known += int(mask.sum())
    network.train()
    return {
        "validation_move_accuracy": round(correct / max(1, len(rows)), 4),
        "validation_value_mse": round(squared / known, 4) if known else float("nan"),
    }


def learning_rate(config: PretrainConfig, step: int, total: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, total - config.warmup_steps)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


# --- the training run ----------------------------------------------------


def pretrain(
    config: PretrainConfig,
    corpus: Path = SHIPPED_CORPUS,
    progress: Progress = SILENT,
    threads: int = 1,
    checkpoint_seconds: float = 60.0,
    force: bool = False,
) -> Path:
    """Pretrain one size and return its cache folder; reuse finished weights unless ``force``."""
    corpus_sha = sha256_file(corpus)
    folder = model_dir(config, corpus_sha)
    if (folder / WEIGHTS_FILE).exists() and (folder / MODEL_FILE).exists() and not force:
        progress.note(f"chess-{config.size}: reused weights in {folder}")
        return folder
    folder.mkdir(parents=True, exist_ok=True)

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        started, started_cpu = time.monotonic(), time.process_time()
        data = corpus_tensors(corpus, progress)
        network, summary = train_network(config, data, folder, progress, checkpoint_seconds, force)
        # wall time depends on what else runs on the machine; process CPU time much less so
        summary["wall_seconds"] = round(time.monotonic() - started, 1)
        summary["cpu_seconds"] = round(time.process_time() - started_cpu, 1)
        save_weights(network, config, data, folder, summary)
    finally:
        torch.set_num_threads(previous_threads)
    return folder


def train_network(
    config: PretrainConfig,
    data: CorpusTensors,
    folder: Path,
    progress: Progress,
    checkpoint_seconds: float,
    restart: bool,
) -> tuple[ChessNet, dict[str, Any]]:
    torch.manual_seed(config.seed)
    network = ChessNet(SIZES[config.size])
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    held_out = data.game_numbers % VALIDATION_EVERY == 0
    train_rows = torch.nonzero(~held_out).squeeze(1)
    validation_rows = torch.nonzero(held_out).squeeze(1)
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    total = steps_per_epoch * config.epochs

    # resume
    step = 0
    checkpoint = folder / CHECKPOINT_FILE
    if checkpoint.exists() and not restart:
        state = torch.load(checkpoint, weights_only=True)
        if state["config"] == json.dumps(config.as_dict(), sort_keys=True):
            network.load_state_dict(state["network"])
            optimizer.load_state_dict(state["optimizer"])
            step = int(state["step"])
            progress.note(f"chess-{config.size}: resuming at step {step} of {total}")

    network.train()
    last_saved = time.monotonic()
    last_loss = float("nan")
    with progress.track(f"pretrain chess-{config.size} ({parameter_count(network):,} parameters)", total) as advance:
        advance(step)
        while step < total:
            epoch, index = divmod(step, steps_per_epoch)
            order = train_rows[torch.randperm(len(train_rows), generator=torch.Generator().manual_seed(config.seed * 1000 + epoch))]
            rows = order[index * config.batch_size : (index + 1) * config.batch_size]

            # forward and loss
            batch = make_batch(data.positions, data.targets, data.values, rows)
            loss = batch_loss(network, batch)
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"pretraining {config.size}: loss became {loss.item()} at step {step + 1} of {total}; "
                    f"lower the learning rate (lr={config.lr})"
                )

            # backward and step
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step, total)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            last_loss = loss.item()
            advance(1)

            # checkpoint
            if time.monotonic() - last_saved > checkpoint_seconds and step < total:
                save_checkpoint(checkpoint, network, optimizer, step, config)
                last_saved = time.monotonic()

    validation = validation_metrics(network, data, validation_rows)
    progress.note(f"chess-{config.size}: validation move accuracy {validation['validation_move_accuracy']:.3f}, "
                  f"value mean squared error {validation['validation_value_mse']:.3f} on {len(validation_rows)} positions")
    summary = {"steps": total, "final_loss": round(last_loss, 4), **validation,
               "validation_positions": len(validation_rows), "train_positions": len(train_rows)}
    return network, summary


def save_checkpoint(path: Path, network: ChessNet, optimizer: torch.optim.Optimizer, step: int, config: PretrainConfig) -> None:
    temporary = path.with_name(path.name + ".tmp")
    state = {"network": network.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
             "config": json.dumps(config.as_dict(), sort_keys=True)}
    torch.save(state, temporary)
    temporary.replace(path)


def save_weights(network: ChessNet, config: PretrainConfig, data: CorpusTensors, folder: Path, summary: dict[str, Any]) -> None:
    """Write the weights and ``model.json``, then remove the checkpoint."""
    record = {
        "name": f"chess-{config.size}",
        "format": FORMAT_VERSION,
        "net": SIZES[config.size].as_dict(),
        "pretrain": config.as_dict(),
        "parameters": parameter_count(network),
        "contamination_check": data.check,
        **summary,
    }
    temporary = folder / (WEIGHTS_FILE + ".tmp")
    state = {name: tensor.contiguous() for name, tensor in network.state_dict().items()}
    # one metadata entry only: safetensors writes several in varying order, which would change the file's sha256
    metadata = {"chess_net": json.dumps({"net": record["net"], "format": FORMAT_VERSION}, sort_keys=True)}
    save_file(state, str(temporary), metadata=metadata)
    temporary.replace(folder / WEIGHTS_FILE)
    record["weights_sha256"] = sha256_file(folder / WEIGHTS_FILE)
    atomic_write_json(folder / MODEL_FILE, record)
    (folder / CHECKPOINT_FILE).unlink(missing_ok=True)
    logger.info("saved chess-%s weights to %s", config.size, folder)


def load_network(folder: Path) -> tuple[ChessNet, dict[str, Any]]:
    record = json.loads((folder / MODEL_FILE).read_text())
    network = ChessNet(NetConfig(**record["net"]))
    network.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    network.eval()
    return network, record
