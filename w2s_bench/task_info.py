"""The ``w2s-bench tasks`` commands: what a task is made of before running it."""

from __future__ import annotations

import click

from w2s_bench.errors import DataError

#: Characters of each example text shown; longer texts are cut with an ellipsis.
EXAMPLE_CHARS = 400


@click.group("tasks")
def tasks_group() -> None:
    """Inspect tasks: source, licence, splits, balance and examples."""


def shorten(text: str, limit: int = EXAMPLE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def balance_line(counts: list[int]) -> str:
    total = sum(counts) or 1
    return " / ".join(f"{count} label {label} ({100 * count / total:.1f}%)" for label, count in enumerate(counts))


def describe(task: object) -> dict[str, str]:
    describe_method = getattr(task, "describe", None)
    return describe_method() if callable(describe_method) else {}


@tasks_group.command("show")
@click.argument("name")
@click.option("--no-leakage-check", is_flag=True, help="Skip the bag-of-words leakage check (a few seconds).")
def show(name: str, no_leakage_check: bool) -> None:
    """Show a task's source, licence, split sizes, class balance and two examples."""
    from w2s_bench.hygiene import LEAKAGE_THRESHOLD, bag_of_words_check, class_balance, split_overlap
    from w2s_bench.registry import default_registry

    spec = default_registry().task(name)
    task = spec.create()
    info = describe(task)
    click.echo(f"task:         {name}" + (f" ({info['availability']})" if "availability" in info else ""))
    if spec.description:
        click.echo(f"description:  {spec.description}")
    for key in ("source", "licence", "labels", "split", "file"):
        if key in info:
            click.echo(f"{key + ':':<13} {info[key]}")

    data = task.load()
    click.echo(f"sizes:        train {len(data.train)}, test {len(data.test)}")
    click.echo(f"balance:      train {balance_line(class_balance(data.train, data.num_candidates))}")
    click.echo(f"              test  {balance_line(class_balance(data.test, data.num_candidates))}")

    overlap = split_overlap(data)
    if overlap:
        raise DataError(f"task {name!r}: {len(overlap)} texts occur in both the train and the test split")
    click.echo("overlap:      no text occurs in both the train and the test split")

    if not no_leakage_check:
        check = bag_of_words_check(data)
        if check is None:
            click.echo("leakage:      bag-of-words check not applicable (not single-text classification)")
        elif check.flagged:
            click.echo(f"leakage:      WARNING bag-of-words test accuracy {check.test_accuracy:.3f} ≥ {LEAKAGE_THRESHOLD}; "
                       "the formatting probably gives the label away")
        else:
            click.echo(f"leakage:      bag-of-words test accuracy {check.test_accuracy:.3f} (flagged at ≥ {LEAKAGE_THRESHOLD})")

    click.echo("examples:")
    for label in range(data.num_candidates):
        example = next((example for example in data.train if example.label == label), None)
        if example is not None:
            texts = " || ".join(shorten(text).replace("\n", " \\n ") for text in example.texts)
            click.echo(f"  [train, label {label}, id {example.id}] {texts}")
