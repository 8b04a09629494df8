"""Preference pairs and their conversion into two-candidate rank examples.

A pair is a prompt with a chosen and a rejected reply. The reward model scores
each (prompt, reply) text with one scalar, and the two-candidate softmax of
the scores is the Bradley–Terry probability σ(r_chosen − r_rejected). Which
reply sits at candidate 0 is decided per pair by a seeded hash, so position
never reveals the label.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Iterable

from w2s_bench.data import Example, TaskData
from w2s_bench.errors import DataError

SPLITS = ("train", "test")

#: Seed of the per-pair candidate order. It is part of the data, not of a run,
#: so every run seed uses the same order.
ORDER_SEED = 1729

#: Characters of the prompt kept in a scored text, counted from its end.
#: NOTE: the packaged backbones truncate texts at 256 tokens from the right,
#: so a long prompt would push the reply out of the text. Keeping the end of
#: the prompt (about 150 tokens of English) leaves the replies room.
PROMPT_CHAR_BUDGET = 600

ASSISTANT_MARKER = "Assistant:"


@dataclass(frozen=True)
class PreferencePair:
    """A prompt with the reply people preferred (``chosen``) and the other one."""

    id: str
    prompt: str
    chosen: str
    rejected: str
    split: str = "train"
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def swapped(self) -> "PreferencePair":
        """Return the pair with chosen and rejected exchanged."""
        return PreferencePair(self.id, self.prompt, self.rejected, self.chosen, self.split, dict(self.meta))


def pair_id(prompt: str, chosen: str, rejected: str) -> str:
    """Return a stable id from the text of a pair."""
    digest = hashlib.sha256("\x1f".join((prompt, chosen, rejected)).encode("utf-8")).hexdigest()
    return digest[:16]


def clip_prompt(prompt: str, budget: int = PROMPT_CHAR_BUDGET) -> str:
    """Keep the last ``budget`` characters of a prompt, cut at a word boundary."""
    if len(prompt) <= budget:
        return prompt

    tail = prompt[-budget:]
    space = tail.find(" ")
    if 0 <= space < 40:
        tail = tail[space + 1 :]
    return "…" + tail


def scored_text(prompt: str, reply: str) -> str:
    """Return the text the reward model scores for one reply.

    A prompt that already ends with an ``Assistant:`` turn marker (the
    HH-RLHF transcript layout) is followed by the reply directly. Any other
    prompt is framed as one Human turn, so every task reads as a dialogue. An
    empty prompt leaves the reply alone.
    """
    if not prompt.strip():
        return reply

    clipped = clip_prompt(prompt.rstrip())
    if clipped.endswith(ASSISTANT_MARKER):
        return f"{clipped} {reply}"
    return f"Human: {clipped}\n\n{ASSISTANT_MARKER} {reply}"


def chosen_position(identifier: str, seed: int = ORDER_SEED) -> int:
    """Return 0 or 1, the candidate index of the chosen reply, from a hash of the id."""
    digest = hashlib.sha256(f"{seed}:{identifier}".encode("utf-8")).digest()
    return digest[0] & 1


def to_example(pair: PreferencePair, seed: int = ORDER_SEED) -> Example:
    """Return a rank example whose label is the candidate index of the chosen reply."""
    chosen_text = scored_text(pair.prompt, pair.chosen)
    rejected_text = scored_text(pair.prompt, pair.rejected)

    position = chosen_position(pair.id, seed)
    texts = (chosen_text, rejected_text) if position == 0 else (rejected_text, chosen_text)
    meta = {**pair.meta, "prompt": pair.prompt}
    return Example(pair.id, texts, position, meta)


def assign_test_split(pairs: list[PreferencePair], test_fraction: float, seed: int) -> list[PreferencePair]:
    """Hold out about ``test_fraction`` of the prompts as the test split.

    Pairs that share a prompt always land in the same split, so no test
    prompt is seen in training.
    """
    prompts = sorted({pair.prompt for pair in pairs})
    random.Random(seed).shuffle(prompts)
    test_count = max(1, round(len(prompts) * test_fraction)) if len(prompts) > 1 else 0
    test_prompts = set(prompts[:test_count])

    return [
        PreferencePair(pair.id, pair.prompt, pair.chosen, pair.rejected, "test" if pair.prompt in test_prompts else "train", pair.meta)
        for pair in pairs
    ]


def pairs_to_task(name: str, pairs: Iterable[PreferencePair], source: str) -> TaskData:
    """Build a two-candidate rank task; both splits must be non-empty.

    :param source: where the pairs came from, named in errors.
    """
    splits: dict[str, list[Example]] = {split: [] for split in SPLITS}
    for pair in pairs:
        splits[pair.split].append(to_example(pair))

    for split in SPLITS:
        if not splits[split]:
            raise DataError(f"{source}: no pairs in the {split} split")
    return TaskData(name, "rank", 2, splits["train"], splits["test"])
