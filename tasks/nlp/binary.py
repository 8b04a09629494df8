"""Turn labelled texts into a balanced binary task split by group.

A *group* is the unit that must never straddle the train and test splits: the
question of a multiple-choice item, the claim of a fact-verification pair, the
sentence that several explanations refer to. Every function here is
deterministic given its ``random.Random``, so rebuilt data is byte-identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from w2s_bench.data import example_id


@dataclass(frozen=True)
class Candidate:
    """One labelled text and the group it must share a split with."""

    group: str
    text: str
    label: int


@dataclass(frozen=True)
class MultipleChoice:
    """A question with one correct answer and at least one distractor."""

    group: str
    prompt: str
    correct: str
    distractors: tuple[str, ...]


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def binary_from_choices(questions: list[MultipleChoice], rng: random.Random, template: str) -> list[Candidate]:
    """Pair each question with its correct answer (label 1) or one distractor (label 0).

    One text per question, as in Burns et al. (2023): half the questions,
    picked at random, keep the correct answer, the other half get a random
    distractor, so the classes are balanced and no question appears twice.
    ``template`` is formatted with ``prompt`` and ``answer``.
    """
    usable = [question for question in questions if question.distractors]
    order = list(range(len(usable)))
    rng.shuffle(order)
    positives = set(order[: (len(order) + 1) // 2])

    candidates = []
    for index, question in enumerate(usable):
        if index in positives:
            answer, label = question.correct, 1
        else:
            answer, label = rng.choice(question.distractors), 0
        candidates.append(Candidate(question.group, template.format(prompt=question.prompt, answer=answer), label))
    return candidates


def deduplicate(candidates: list[Candidate]) -> list[Candidate]:
    """Keep one copy of each text; drop texts seen with both labels.

    The result is sorted by text, so it does not depend on the source's order.
    """
    labels: dict[str, set[int]] = {}
    groups: dict[str, str] = {}
    for candidate in candidates:
        labels.setdefault(candidate.text, set()).add(candidate.label)
        groups.setdefault(candidate.text, candidate.group)

    kept = [Candidate(groups[text], text, next(iter(seen))) for text, seen in labels.items() if len(seen) == 1]
    return sorted(kept, key=lambda candidate: candidate.text)


def balance(candidates: list[Candidate], rng: random.Random) -> list[Candidate]:
    """Down-sample the larger class to the size of the smaller one."""
    by_label = {label: [c for c in candidates if c.label == label] for label in (0, 1)}
    per_class = min(len(by_label[0]), len(by_label[1]))
    kept = rng.sample(by_label[0], per_class) + rng.sample(by_label[1], per_class)
    return sorted(kept, key=lambda candidate: candidate.text)


def split_by_group(candidates: list[Candidate], test_size: int, rng: random.Random) -> tuple[list[Candidate], list[Candidate]]:
    """Move whole groups into the test split until it contains ``test_size`` texts.

    A group joins the test split only while neither class would exceed half of
    ``test_size``, so the test split is balanced whenever groups are small.
    """
    by_group: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_group.setdefault(candidate.group, []).append(candidate)
    groups = sorted(by_group)
    rng.shuffle(groups)

    quota = test_size // 2
    counts = {0: 0, 1: 0}
    test_groups: set[str] = set()
    for group in groups:
        members = by_group[group]
        added = {label: sum(c.label == label for c in members) for label in (0, 1)}
        if all(counts[label] + added[label] <= quota for label in (0, 1)):
            test_groups.add(group)
            counts = {label: counts[label] + added[label] for label in (0, 1)}
        if counts[0] >= quota and counts[1] >= quota:
            break

    train = [c for c in candidates if c.group not in test_groups]
    test = [c for c in candidates if c.group in test_groups]
    return train, test


def sample_balanced(candidates: list[Candidate], size: int, rng: random.Random) -> list[Candidate]:
    """Return a class-balanced random subset of at most ``size`` texts."""
    if len(candidates) <= size:
        return candidates
    by_label = {label: [c for c in candidates if c.label == label] for label in (0, 1)}
    per_class = min(size // 2, len(by_label[0]), len(by_label[1]))
    kept = rng.sample(by_label[0], per_class) + rng.sample(by_label[1], per_class)
    return sorted(kept, key=lambda candidate: candidate.text)


def build_rows(
    candidates: list[Candidate],
    rng: random.Random,
    test_max: int,
    max_train: int | None = None,
) -> list[dict]:
    """Deduplicate, balance, split by group and (optionally) sample the train split.

    The test split takes a quarter of the balanced texts, at most ``test_max``.
    It is chosen before sampling, so a sampled build and a full
    build of the same source share one test split. Rows come out shuffled,
    test and train interleaved, each as ``{"id", "split", "text", "label"}``.
    """
    balanced = balance(deduplicate(candidates), rng)
    train, test = split_by_group(balanced, min(test_max, len(balanced) // 4), rng)
    if max_train is not None:
        train = sample_balanced(train, max_train, rng)

    rows = [("train", c) for c in train] + [("test", c) for c in test]
    rng.shuffle(rows)
    return [{"id": example_id(c.text), "split": split, "text": c.text, "label": c.label} for split, c in rows]
