"""Finetune step cost: the harness against a bare PyTorch loop and the Hugging
Face Trainer, and its FLOP/s against the machine's matmul peak."""

from __future__ import annotations

import contextlib
import io

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.support.figures import Context, Figure
from benchmarks.support.machine import matmul_peak
from benchmarks.support.timing import measure_alternately
from benchmarks.support.workload import (
    LabelledTexts, batch_shapes, harness_finetune, harness_model, load_backbone, step_flops, task_texts,
)
from w2s_bench.plugins.models.hf import mean_pool
from w2s_bench.training import epoch_batches

ORDER = 10
SEED = 0


def bare_finetune(backbone, data: LabelledTexts, batch_size: int, linear: nn.Linear) -> None:
    """Run the same epoch written directly against torch and transformers."""
    module, tokenizer = backbone.module, backbone.tokenizer
    parameters = [*module.parameters(), *linear.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=2e-5, weight_decay=0.01, fused=True)  # as fit() uses it
    batches = epoch_batches(len(data.texts), batch_size, torch.Generator().manual_seed(SEED))

    module.train()
    for index in batches:
        encoded = tokenizer([data.texts[i] for i in index.tolist()], padding=True, truncation=True,
                            max_length=backbone.max_length, return_tensors="pt")
        hidden = module(**encoded).last_hidden_state
        logits = linear(mean_pool(hidden, encoded["attention_mask"]))
        loss = F.cross_entropy(logits, data.labels[index])

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


class PooledClassifier(nn.Module):
    """Encoder, mean pooling and a linear head, in the form the Trainer expects."""

    def __init__(self, module: nn.Module, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.body = module
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, input_ids, attention_mask, labels, token_type_ids=None):
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        logits = self.classifier(mean_pool(hidden, attention_mask))
        return {"loss": F.cross_entropy(logits, labels), "logits": logits}


def trainer_finetune(backbone, model: PooledClassifier, data: LabelledTexts, batch_size: int, sampling: str, workdir) -> None:
    """Run one epoch through ``transformers.Trainer``, tokenizing the data as its examples do."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    encoded = backbone.tokenizer(data.texts, truncation=True, max_length=backbone.max_length)
    rows = [
        {**{key: values[row] for key, values in encoded.items()}, "labels": int(data.labels[row])}
        for row in range(len(data.texts))
    ]
    arguments = TrainingArguments(
        output_dir=str(workdir / "trainer"), per_device_train_batch_size=batch_size, num_train_epochs=1,
        learning_rate=2e-5, weight_decay=0.01, use_cpu=True, report_to=[], save_strategy="no",
        logging_strategy="no", disable_tqdm=True, dataloader_num_workers=0, seed=SEED,
        train_sampling_strategy=sampling,
    )
    trainer = Trainer(model=model, args=arguments, train_dataset=rows, data_collator=DataCollatorWithPadding(backbone.tokenizer))
    with contextlib.redirect_stdout(io.StringIO()):  # the Trainer prints its final metrics
        trainer.train()


def profile_table(run, rows: int = 15) -> str:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        run()
    averages = profiler.key_averages()
    total = sum(event.self_cpu_time_total for event in averages) or 1
    ranked = sorted(averages, key=lambda event: event.self_cpu_time_total, reverse=True)[:rows]
    lines = ["| op | self CPU (ms) | share | calls |", "|---|---:|---:|---:|"]
    for event in ranked:
        lines.append(f"| `{event.key}` | {event.self_cpu_time_total / 1000:.1f} | "
                     f"{100 * event.self_cpu_time_total / total:.1f} % | {event.count} |")
    return "\n".join(lines)


def measure(context: Context) -> list[Figure]:
    settings = context.settings
    data = task_texts(context).sample(settings.finetune_steps * settings.batch_size, seed=SEED)
    harness_backbone = load_backbone(settings.model)
    bare_backbone = load_backbone(settings.model)
    model = harness_model(harness_backbone, data.num_classes)
    linear = nn.Linear(bare_backbone.hidden_size, data.num_classes)
    trainer_model = PooledClassifier(load_backbone(settings.model).module, harness_backbone.hidden_size, data.num_classes)

    def trainer_run(sampling: str):
        return lambda: trainer_finetune(harness_backbone, trainer_model, data, settings.batch_size, sampling, context.workdir)

    # random batches: the same ones in fit() and the bare loop (both draw them
    # from epoch_batches with one seed); the Trainer draws its own
    timings = measure_alternately({
        "w2s-bench, random batches": lambda: harness_finetune(model, data, settings.batch_size, SEED, lengths=None),
        "bare loop, random batches": lambda: bare_finetune(bare_backbone, data, settings.batch_size, linear),
        "w2s-bench, grouped batches": lambda: harness_finetune(model, data, settings.batch_size, SEED, lengths=data.char_lengths),
        "Trainer, random sampler": trainer_run("random"),
        "Trainer, group_by_length sampler": trainer_run("group_by_length"),
    }, settings.repeats)

    shared = {"model": settings.model, "steps per run": settings.finetune_steps, "batch size": settings.batch_size}
    overhead = timings.ratio("w2s-bench, random batches", "bare loop, random batches")
    figures = [Figure(
        "1", "Harness overhead", "w2s-bench fit() / bare PyTorch loop, same batches",
        overhead, target="<= 1.05", met=overhead <= 1.05,
        details={**shared, **timings.details("w2s-bench, random batches", "bare loop, random batches")},
    )]

    for harness_name, trainer_name, label in (
        ("w2s-bench, random batches", "Trainer, random sampler", "both random batches"),
        ("w2s-bench, grouped batches", "Trainer, random sampler", "each with its default batching"),
        ("w2s-bench, grouped batches", "Trainer, group_by_length sampler", "both length-grouped"),
    ):
        ratio = timings.ratio(harness_name, trainer_name)
        figures.append(Figure(
            "2", "Versus HF Trainer", f"w2s-bench fit() / transformers Trainer, {label}",
            ratio, target="<= 1.0", met=ratio <= 1.0, details=timings.details(harness_name, trainer_name),
        ))

    figures.append(machine_limit(context, harness_backbone, data, min(timings.seconds["w2s-bench, random batches"])))

    profiled = data.sample(settings.profile_steps * settings.batch_size, seed=SEED)
    context.sections["Profile of the finetune step"] = (
        f"torch.profiler over {settings.profile_steps} steps of `fit()` ({settings.model}, batch "
        f"{settings.batch_size}, random batches), ops ranked by their own CPU time:\n\n"
        + profile_table(lambda: harness_finetune(model, profiled, settings.batch_size, SEED, lengths=None))
    )
    return figures


def machine_limit(context: Context, backbone, data: LabelledTexts, harness_seconds: float) -> Figure:
    """Figure 5: FLOP/s of the harness step against a large matmul on the same threads.

    Both sides take their fastest run (``harness_seconds`` is the fastest
    harness run), because other processes can only slow a run down.
    """
    settings = context.settings
    batches = epoch_batches(len(data.texts), settings.batch_size, torch.Generator().manual_seed(SEED))
    shapes = batch_shapes(backbone.tokenizer, data.texts, batches, backbone.max_length)
    flops = step_flops(backbone.module, shapes)
    peak = context.shared("matmul_peak", lambda: matmul_peak(settings.matmul_size))
    achieved = flops / harness_seconds
    return Figure(
        "5", "Machine limit", "finetune step FLOP/s / fp32 matmul peak",
        100 * achieved / peak, unit="%", target=">= 50 %", met=achieved / peak >= 0.5,
        details={
            "FLOPs per run (estimate)": f"{flops:.3e}",
            "padded tokens per run": sum(rows * width for rows, width in shapes),
            "achieved": f"{achieved / 1e9:.1f} GFLOP/s (fastest w2s-bench run, random batches)",
            "matmul peak": f"{peak / 1e9:.1f} GFLOP/s (best of 5, {settings.matmul_size}x{settings.matmul_size} fp32)",
        },
    )
