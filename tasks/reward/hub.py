"""Preference datasets on the Hugging Face hub: Anthropic HH-RLHF and Stanford SHP.

They load with ``datasets.load_dataset`` and need network access; offline the
load fails with one line that names the closest shipped task.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from w2s_bench.data import TaskData
from w2s_bench.errors import DataError
from w2s_bench.tasks.reward.formats import TranscriptError, parse_hh_pair
from w2s_bench.tasks.reward.pairs import PreferencePair, pair_id, pairs_to_task

logger = logging.getLogger(__name__)

#: Hub split names read for the train and test splits.
HUB_SPLITS = {"train": "train", "test": "test"}


def hh_rlhf_pair(row: dict[str, Any], split: str) -> PreferencePair:
    """Convert one Anthropic/hh-rlhf row (two full transcripts) into a pair.

    :raises TranscriptError: when the row does not parse or its replies are
        empty or identical.
    """
    prompt, chosen, rejected = parse_hh_pair(row["chosen"], row["rejected"])
    if not chosen or not rejected:
        raise TranscriptError("a reply is empty")
    if chosen == rejected:
        raise TranscriptError("chosen and rejected replies are identical")
    return PreferencePair(pair_id(prompt, chosen, rejected), prompt, chosen, rejected, split)


def shp_pair(row: dict[str, Any], split: str) -> PreferencePair:
    """Convert one stanfordnlp/SHP row into a pair; ``labels`` is 1 when comment A is preferred."""
    prompt = row["history"].strip()
    first, second = row["human_ref_A"].strip(), row["human_ref_B"].strip()
    chosen, rejected = (first, second) if row["labels"] == 1 else (second, first)
    if not chosen or not rejected:
        raise TranscriptError("a comment is empty")
    if chosen == rejected:
        raise TranscriptError("the two comments are identical")

    meta = {"domain": row.get("domain", ""), "score_ratio": row.get("score_ratio", 0.0)}
    return PreferencePair(pair_id(prompt, chosen, rejected), prompt, chosen, rejected, split, meta)


def convert_rows(rows: Iterable[dict[str, Any]], split: str, convert: Callable[[dict[str, Any], str], PreferencePair], dataset: str) -> list[PreferencePair]:
    """Convert hub rows, skipping the few that do not parse and logging how many."""
    pairs, skipped = [], 0
    seen: set[str] = set()
    for row in rows:
        try:
            pair = convert(row, split)
        except TranscriptError:
            skipped += 1
            continue
        if pair.id not in seen:
            seen.add(pair.id)
            pairs.append(pair)
    if skipped:
        logger.warning("%s %s: skipped %d rows that do not parse or have empty or identical replies", dataset, split, skipped)
    return pairs


class HubPairsTask:
    """A preference dataset read from the hub with ``datasets.load_dataset``.

    NOTE: the tests cover the row converters on hand-written rows in each
    dataset's schema and the offline failure; the download itself has not
    been run, because it needs network access.
    """

    def __init__(self, name: str, dataset: str, convert: Callable[[dict[str, Any], str], PreferencePair], data_dir: str | None = None) -> None:
        self.name = name
        self.dataset = dataset
        self.convert = convert
        self.data_dir = data_dir

    def load(self) -> TaskData:
        import datasets

        pairs: list[PreferencePair] = []
        for split, hub_split in HUB_SPLITS.items():
            try:
                rows = datasets.load_dataset(self.dataset, data_dir=self.data_dir, split=hub_split)
            except OSError as error:  # ConnectionError and DatasetNotFoundError are OSErrors
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise DataError(
                    f"task {self.name!r} needs the Hugging Face hub dataset {self.dataset}, which could not be loaded "
                    f"({reason}); offline, use rm-hhh for real preference pairs or --task pairs:PATH for a local file"
                ) from None
            pairs.extend(convert_rows(rows, split, self.convert, self.dataset))
        return pairs_to_task(self.name, pairs, f"hub dataset {self.dataset}")
