"""Data hygiene checks for a loaded task: class balance, split overlap, label leakage.

The leakage check trains a bag-of-words logistic regression on the formatted
training texts. When it is near-perfect on the test split, the formatting
(not the content a model should reason about) probably gives the label away,
as in formatters that mark the correct answer with different wording.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import torch

from w2s_bench.data import Example, TaskData

#: Bag-of-words test accuracy at or above which a task is flagged.
LEAKAGE_THRESHOLD = 0.98
MAX_VOCABULARY = 50_000
TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class LeakageCheck:
    """Test accuracy of a bag-of-words classifier and whether it flags leakage."""

    test_accuracy: float
    flagged: bool


def class_balance(examples: list[Example], num_candidates: int) -> list[int]:
    """Examples per label, index = label."""
    counts = Counter(example.label for example in examples)
    return [counts[label] for label in range(num_candidates)]


def split_overlap(data: TaskData) -> set[str]:
    """Texts that occur in both the train and the test split."""
    train_texts = {text for example in data.train for text in example.texts}
    return {text for example in data.test for text in example.texts if text in train_texts}


def tokens(text: str) -> list[str]:
    words = TOKEN.findall(text.lower())
    return words + [f"{first} {second}" for first, second in zip(words, words[1:])]


def encode(texts: list[str], vocabulary: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and offsets for ``torch.nn.EmbeddingBag``; unknown tokens are dropped."""
    ids: list[int] = []
    offsets: list[int] = []
    for text in texts:
        offsets.append(len(ids))
        ids.extend(sorted({vocabulary[token] for token in tokens(text) if token in vocabulary}))
    return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


def bag_of_words_check(data: TaskData, epochs: int = 60, seed: int = 0) -> LeakageCheck | None:
    """Fit a unigram+bigram logistic regression on train, score it on test.

    Returns None for tasks that are not single-text classification, where
    the check does not apply.
    """
    if data.head != "classify" or any(len(example.texts) != 1 for example in data.train + data.test):
        return None

    train_texts = [example.texts[0] for example in data.train]
    counts = Counter(token for text in train_texts for token in set(tokens(text)))
    vocabulary = {token: index for index, (token, _) in enumerate(counts.most_common(MAX_VOCABULARY))}

    torch.manual_seed(seed)
    model = torch.nn.EmbeddingBag(len(vocabulary) + 1, data.num_candidates, mode="mean")
    torch.nn.init.zeros_(model.weight)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.1, weight_decay=1e-5)

    train_ids, train_offsets = encode(train_texts, vocabulary)
    train_labels = torch.tensor([example.label for example in data.train])
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(train_ids, train_offsets), train_labels)
        loss.backward()
        optimiser.step()

    test_ids, test_offsets = encode([example.texts[0] for example in data.test], vocabulary)
    test_labels = torch.tensor([example.label for example in data.test])
    with torch.no_grad():
        accuracy = float((model(test_ids, test_offsets).argmax(dim=-1) == test_labels).float().mean())
    return LeakageCheck(accuracy, accuracy >= LEAKAGE_THRESHOLD)
