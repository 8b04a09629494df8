"""Examples, task data and the seeded split into the two training halves.

Every example is a set of candidates and a ground-truth candidate index. A
``classify`` task has one text and ``num_candidates`` classes; a ``rank`` task
has one text per candidate (a reply, a move) and the model scores each.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Head = Literal["classify", "rank"]


@dataclass(frozen=True)
class Example:
    """One labelled example.

    ``texts`` holds one text for a classify task, or one text per candidate
    for a rank task. ``label`` is the index of the true candidate.
    """

    id: str
    texts: tuple[str, ...]
    label: int
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class TaskData:
    """The loaded examples of a task, with its train and test splits kept apart."""

    name: str
    head: Head
    num_candidates: int
    train: list[Example]
    test: list[Example]

    def fingerprint(self) -> str:
        """Return a hash of every id, text and label, used in cache keys."""
        digest = hashlib.sha256()
        digest.update(f"{self.head}:{self.num_candidates}".encode())

        for split_name, examples in (("train", self.train), ("test", self.test)):
            for example in examples:
                record = [split_name, example.id, list(example.texts), example.label]
                digest.update(json.dumps(record, ensure_ascii=False).encode())
        return digest.hexdigest()

    def sliced(self, max_train: int | None, max_test: int | None) -> "TaskData":
        """Return the first ``max_train`` and ``max_test`` examples of each split.

        Slicing keeps the stored order, which does not depend on the run seed,
        so every seed of a cell shares one set of cached features.
        """
        train = self.train if max_train is None else self.train[:max_train]
        test = self.test if max_test is None else self.test[:max_test]
        return TaskData(self.name, self.head, self.num_candidates, train, test)


@dataclass(frozen=True)
class Split:
    """Indices into ``TaskData.train``: half 1 for the weak supervisor, half 2 for the rest."""

    half1: np.ndarray
    half2: np.ndarray


def split_halves(num_train: int, seed: int) -> Split:
    """Split train indices into two halves, deterministically from the seed."""
    order = np.random.default_rng(seed).permutation(num_train)
    middle = num_train // 2
    return Split(half1=np.sort(order[:middle]), half2=np.sort(order[middle:]))


def example_id(*parts: str) -> str:
    """Return a stable id from the text content of an example."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:16]


def labels_of(examples: list[Example]) -> np.ndarray:
    return np.array([example.label for example in examples], dtype=np.int64)
