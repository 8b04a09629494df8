"""Runtime settings the harness chooses, each measured against its alternative:
thread count, gradient mode of feature extraction, and denormal flushing."""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import torch

from benchmarks.support.figures import Context, Figure
from benchmarks.support.timing import measure_alternately
from benchmarks.support.workload import harness_finetune, harness_model, load_backbone, task_texts
from w2s_bench.plugins.models.hf import mean_pool

ORDER = 80
SEED = 0
ENCODE_BATCH = 64


def encode_under(backbone: Any, texts: list[str], grad_mode: Callable[[], contextlib.AbstractContextManager]) -> torch.Tensor:
    """Length-sorted feature extraction, as ``encode`` runs it, under ``grad_mode``."""
    module = backbone.module
    module.eval()
    token_ids = backbone.tokenizer(texts, truncation=True, max_length=backbone.max_length)["input_ids"]
    order = sorted(range(len(texts)), key=lambda row: len(token_ids[row]))
    features = torch.empty(len(texts), backbone.hidden_size)
    with grad_mode():
        for start in range(0, len(order), ENCODE_BATCH):
            rows = order[start : start + ENCODE_BATCH]
            batch = backbone.tokenizer.pad({"input_ids": [token_ids[row] for row in rows]}, return_tensors="pt")
            features[torch.tensor(rows)] = mean_pool(module(**batch).last_hidden_state, batch["attention_mask"])
    return features


@contextlib.contextmanager
def threads(count: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def denormals(flush: bool):
    torch.set_flush_denormal(flush)
    try:
        yield
    finally:
        torch.set_flush_denormal(True)


def optimiser_step(parameters: list[torch.nn.Parameter], fused: bool, steps: int) -> None:
    optimizer = torch.optim.AdamW(parameters, lr=2e-5, weight_decay=0.01, fused=fused, foreach=None if fused else False)
    for _ in range(steps):
        optimizer.step()


def measure(context: Context) -> list[Figure]:
    settings = context.settings
    everything = task_texts(context)
    backbone = load_backbone(settings.model)
    texts = everything.sample(settings.padding_texts, seed=SEED).texts
    figures = []

    # the optimiser update alone, on the finetuned model's parameters
    parameters = [parameter for parameter in backbone.module.parameters()]
    for parameter in parameters:
        parameter.grad = torch.randn_like(parameter) * 1e-3
    steps = max(1, settings.finetune_steps // 4)
    optimiser = measure_alternately({
        "per-tensor loop": lambda: optimiser_step(parameters, fused=False, steps=steps),
        "fused": lambda: optimiser_step(parameters, fused=True, steps=steps),
    }, settings.repeats)
    figures.append(Figure(
        "S", "Change: fused AdamW", "AdamW step, per-tensor loop / fused kernel",
        optimiser.ratio("per-tensor loop", "fused"),
        details={"parameters": f"{sum(parameter.numel() for parameter in parameters):,}", "steps per run": steps,
                 **optimiser.details()},
    ))
    for parameter in parameters:
        parameter.grad = None

    # threads: only meaningful with more than one core
    cores = torch.get_num_threads()
    if cores > 1:
        data = everything.sample(max(1, settings.finetune_steps // 4) * settings.batch_size, seed=SEED)
        model = harness_model(backbone, data.num_classes)

        def finetune_with(count: int) -> None:
            with threads(count):
                harness_finetune(model, data, settings.batch_size, SEED, lengths=data.char_lengths)

        single = measure_alternately({"1 thread": lambda: finetune_with(1), f"{cores} threads": lambda: finetune_with(cores)},
                                     settings.repeats)
        figures.append(Figure(
            "S", "Setting: threads", f"finetune with 1 thread / with {cores} threads",
            single.ratio("1 thread", f"{cores} threads"), details=single.details(),
        ))

    extraction = measure_alternately({
        "no_grad": lambda: encode_under(backbone, texts, torch.no_grad),
        "inference_mode": lambda: encode_under(backbone, texts, torch.inference_mode),
        "inference_mode, denormals kept": lambda: encode_with_denormals(backbone, texts, flush=False),
    }, settings.repeats)
    figures.append(Figure(
        "S", "Setting: inference_mode", "feature extraction under no_grad / under inference_mode",
        extraction.ratio("no_grad", "inference_mode"),
        details={"texts per run": len(texts), **extraction.details("no_grad", "inference_mode")},
    ))
    figures.append(Figure(
        "S", "Setting: flush denormals", "feature extraction with denormals kept / flushed",
        extraction.ratio("inference_mode, denormals kept", "inference_mode"),
        details=extraction.details("inference_mode, denormals kept", "inference_mode"),
    ))
    return figures


def encode_with_denormals(backbone: Any, texts: list[str], flush: bool) -> None:
    with denormals(flush):
        encode_under(backbone, texts, torch.inference_mode)
