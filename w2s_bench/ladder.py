"""Bootstrap ladders: a chain of models, each trained on the previous one's labels.

Step 1 of a ladder M1 → … → Mn is the cell's weak phase: M1 trained on half 1
with ground truth, labelling half 2. Each step j > 1 trains Mj on half 2 with
the labels of step j − 1 and then labels half 2 again for step j + 1. Every
step reuses half 2, as Burns et al. (2023) did for their bootstrapping
experiments, so each model labels the same examples it was trained on. A
fresh slice of data per step would avoid that, but it would shrink each
step's training set by a factor of n − 1.

Each step is its own phase in the run store, keyed by the previous step's key,
the model, the loss and the optimiser settings. Two ladders that share a
prefix therefore share the trained steps of that prefix.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import torch

from w2s_bench.data import Split, TaskData, labels_of
from w2s_bench.errors import UserError
from w2s_bench.metrics import accuracy, agreement
from w2s_bench.pipeline import PREDICTIONS_FILE
from w2s_bench.store import Record

logger = logging.getLogger(__name__)

#: Run-store folder of the steps after the first.
STEP_PHASE = "bootstrap"
#: Tensor names in a step's predictions file.
TEST_PROBS = "test"
HALF2_LABELS = "labels"
HALF2_ROWS = "half2"


def parse_ladder(value: str | Sequence[str]) -> list[str]:
    """Return model names from a comma-separated string or a sequence of names.

    :raises UserError: for fewer than two models or a model listed twice.
    """
    names = value.split(",") if isinstance(value, str) else list(value)
    ladder = [str(name).strip() for name in names if str(name).strip()]

    if len(ladder) < 2:
        raise UserError(
            f"ladder {','.join(ladder) or '(empty)'} has {len(ladder)} model{'' if len(ladder) == 1 else 's'}; "
            "a bootstrap ladder needs at least two, "
            "weak first and strong last, e.g. --ladder minilm-l2,minilm-l6,mpnet-base"
        )
    repeated = sorted({name for name in ladder if ladder.count(name) > 1})
    if repeated:
        raise UserError(f"ladder {','.join(ladder)} lists {', '.join(repeated)} more than once; give each model once")
    return ladder


def default_ladder(registry: Any, task: str, weak: str, strong: str) -> list[str]:
    """Return the task's own model ladder, else ask the plugins (hook
    ``w2s_bench_default_ladder``) for the ladder from weak to strong.

    :raises UserError: when no plugin returns a ladder between the two models.
    """
    spec = registry.task(task)
    kind = spec.kind
    # a task that names its own model family (the chess networks) supplies the ladder
    task_models = list(getattr(spec, "models", ()) or ())
    if weak in task_models and strong in task_models and task_models.index(weak) < task_models.index(strong):
        return task_models[task_models.index(weak) : task_models.index(strong) + 1]

    ladder = registry.manager.hook.w2s_bench_default_ladder(task_kind=kind, weak=weak, strong=strong)
    if ladder is None:
        raise UserError(
            f"no default bootstrap ladder from {weak} to {strong} for task {task!r} (kind {kind}); "
            "give one with --ladder M1,M2,...,Mn"
        )
    return parse_ladder(ladder)


def check_ladder_ends(ladder: list[str], weak: str, strong: str) -> None:
    """Require the ladder to start with the weak model and end with the strong model."""
    text = ",".join(ladder)
    if ladder[-1] != strong:
        raise UserError(
            f"ladder {text} ends with {ladder[-1]}, but the strong model is {strong}; "
            f"end the ladder with {strong} or pass --strong {ladder[-1]}"
        )
    if ladder[0] != weak:
        raise UserError(
            f"ladder {text} starts with {ladder[0]}, but the weak model is {weak}; "
            f"start the ladder with {weak} or pass --weak {ladder[0]}"
        )


def step_config(pipeline: Any, cell: Any, data: TaskData, model: str, previous_key: str, loss_config: dict[str, Any]) -> dict[str, Any]:
    """Build everything that determines a step's result. Its hash is the step's key."""
    config = pipeline._model_phase_config(cell, data, model)
    config.update(trained_on="half2:previous_step_labels", labels_on="half2", previous_step=previous_key, loss=loss_config)
    return config


def step_labels(record: Record) -> torch.Tensor:
    """Load the half-2 labels that a step (or the weak phase, as step 1) produced."""
    if record.data["phase"] == STEP_PHASE:
        return record.tensors(PREDICTIONS_FILE)[HALF2_LABELS]
    return record.tensors(PREDICTIONS_FILE)["weak_labels"]


def run_step(
    pipeline: Any,
    cell: Any,
    data: TaskData,
    split: Split,
    weak: Record,
    previous: Record,
    model: str,
    method: Any,
    label: str,
) -> Record:
    """Train ``model`` on half 2 with ``previous``'s labels and label half 2 (cached)."""
    config = step_config(pipeline, cell, data, model, previous.data["key"], method.config())

    def compute() -> tuple[dict, dict]:
        half2 = torch.from_numpy(split.half2)
        targets = step_labels(previous)
        stats, test_probs, half2_probs = pipeline._train_and_predict(
            cell, model, data, half2, targets, method.loss, label, predict_rows=half2
        )

        test_labels = torch.from_numpy(labels_of(data.test))
        train_labels = torch.from_numpy(labels_of(data.train))
        previous_test = previous.tensors(PREDICTIONS_FILE)["test"]
        weak_test = weak.tensors(PREDICTIONS_FILE)["test"]
        metrics = {
            "test_accuracy": accuracy(test_probs, test_labels),
            "label_accuracy": accuracy(half2_probs, train_labels[half2]),
            "weak_agreement": agreement(test_probs, weak_test),
            "previous_agreement": agreement(test_probs, previous_test),
            **stats,
        }
        tensors = {PREDICTIONS_FILE: {TEST_PROBS: test_probs, HALF2_LABELS: half2_probs, HALF2_ROWS: half2}}
        return metrics, tensors

    return pipeline._phase(STEP_PHASE, config, compute)


def run_ladder(pipeline: Any, cell: Any, data: TaskData, split: Split, weak: Record, ladder: list[str], method: Any) -> list[Record]:
    """Run (or reuse) steps 2..n of a ladder whose step 1 is ``weak``; return their records."""
    records = []
    previous = weak
    for index, model in enumerate(ladder[1:], start=2):
        label = f"bootstrap step {index}/{len(ladder)}"
        previous = run_step(pipeline, cell, data, split, weak, previous, model, method, label)
        logger.info("%s (%s): test accuracy %.4f", label, model, previous.metrics["test_accuracy"])
        records.append(previous)
    return records


def step_summaries(ladder: list[str], weak: Record, steps: list[Record]) -> list[dict[str, Any]]:
    """One row per ladder step for the cell record: model, data, accuracies."""
    rows = [{
        "step": 1,
        "model": ladder[0],
        "trained_on": "half1:ground_truth",
        "test_accuracy": weak.metrics["test_accuracy"],
        "label_accuracy": weak.metrics["weak_label_accuracy"],
    }]
    for index, (model, record) in enumerate(zip(ladder[1:], steps), start=2):
        rows.append({
            "step": index,
            "model": model,
            "trained_on": f"half2:labels_of_step_{index - 1}",
            "test_accuracy": record.metrics["test_accuracy"],
            "label_accuracy": record.metrics["label_accuracy"],
        })
    return rows
