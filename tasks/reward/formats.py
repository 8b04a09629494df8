"""Read preference pairs from JSON lines files, validating every row.

Two layouts are read, detected per row:

- plain: ``{"prompt": ..., "chosen": ..., "rejected": ...}``;
- HH-RLHF: ``{"chosen": ..., "rejected": ...}``, each a full transcript of
  ``Human:`` and ``Assistant:`` turns that ends with an Assistant turn. The
  shared part up to the last ``Assistant:`` marker is the prompt, and the
  text after it is the reply.

Both layouts may carry ``id`` and ``split`` ("train" or "test"). Errors name
the file and line and stop the load at the first bad row.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path
from typing import Any, Iterator

from w2s_bench.errors import DataError
from w2s_bench.tasks.reward.pairs import SPLITS, PreferencePair, assign_test_split, pair_id

#: A turn marker: ``Human:`` or ``Assistant:`` at the start of a line.
TURN_MARKER = re.compile(r"(?:\A|\n)[ \t]*(Human|Assistant):")

#: Share of prompts held out as the test split when a file sets no split.
DEFAULT_TEST_FRACTION = 0.2
#: Seed of that hold-out; fixed so a file always splits the same way.
SPLIT_SEED = 20231214

PAIR_FILE_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


class TranscriptError(ValueError):
    """A transcript that cannot be split into a prompt and a final reply."""


# --- HH-RLHF transcripts ---------------------------------------------------


def split_transcript(text: str, field_name: str) -> tuple[str, str]:
    """Split a transcript into (prompt up to the last ``Assistant:`` marker, reply)."""
    markers = list(TURN_MARKER.finditer(text))
    if not markers:
        raise TranscriptError(f"field {field_name!r} has no 'Human:' or 'Assistant:' turn marker at the start of a line")
    if text[: markers[0].start()].strip():
        raise TranscriptError(f"field {field_name!r} has text before its first turn marker")
    if markers[0].group(1) != "Human":
        raise TranscriptError(f"field {field_name!r} starts with an Assistant turn; expected 'Human:' first")
    if markers[-1].group(1) != "Assistant":
        raise TranscriptError(f"field {field_name!r} ends with a Human turn; the last turn must be the Assistant reply")

    last = markers[-1]
    return text[: last.end()].strip(), text[last.end() :].strip()


def parse_hh_pair(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Return (prompt, chosen reply, rejected reply) from two full transcripts.

    :raises TranscriptError: when a transcript does not parse or the two
        differ before their last Assistant turn.
    """
    chosen_prompt, chosen_reply = split_transcript(chosen, "chosen")
    rejected_prompt, rejected_reply = split_transcript(rejected, "rejected")
    if chosen_prompt != rejected_prompt:
        raise TranscriptError("fields 'chosen' and 'rejected' differ before the last Assistant turn; they must share the prompt")
    return chosen_prompt, chosen_reply, rejected_reply


# --- rows ------------------------------------------------------------------


def require_text(row: dict[str, Any], name: str, where: str, allow_empty: bool = False) -> str:
    if name not in row:
        raise DataError(f"{where}: field {name!r} is missing")
    value = row[name]
    if not isinstance(value, str):
        raise DataError(f"{where}: field {name!r} is {type(value).__name__}; expected a string")
    if not allow_empty and not value.strip():
        raise DataError(f"{where}: field {name!r} is empty")
    return value


def row_layout(row: dict[str, Any], where: str) -> str:
    if "prompt" in row:
        return "plain"
    if "chosen" in row and "rejected" in row:
        return "hh"
    missing = [name for name in ("chosen", "rejected") if name not in row]
    raise DataError(f"{where}: field {missing[0]!r} is missing; expected prompt/chosen/rejected or HH-RLHF chosen/rejected transcripts")


def parse_row(row: dict[str, Any], where: str) -> tuple[str, PreferencePair]:
    """Parse one row into (layout, pair); the pair's split is its ``split`` field or ""."""
    layout = row_layout(row, where)
    chosen = require_text(row, "chosen", where)
    rejected = require_text(row, "rejected", where)

    if layout == "plain":
        prompt = require_text(row, "prompt", where, allow_empty=True).strip()
        chosen, rejected = chosen.strip(), rejected.strip()
    else:
        try:
            prompt, chosen, rejected = parse_hh_pair(chosen, rejected)
        except TranscriptError as error:
            raise DataError(f"{where}: {error}") from None
        for name, reply in (("chosen", chosen), ("rejected", rejected)):
            if not reply:
                raise DataError(f"{where}: field {name!r} has an empty reply after its last 'Assistant:' marker")

    if chosen == rejected:
        raise DataError(f"{where}: fields 'chosen' and 'rejected' contain the same reply; a pair needs two different replies")

    split = row.get("split", "")
    if split != "" and split not in SPLITS:
        raise DataError(f"{where}: field 'split' is {split!r}; expected train or test")

    identifier = row.get("id", pair_id(prompt, chosen, rejected))
    if not isinstance(identifier, str) or not identifier:
        raise DataError(f"{where}: field 'id' is {identifier!r}; expected a non-empty string")

    meta = {key: value for key, value in row.items() if key not in ("id", "prompt", "chosen", "rejected", "split") and isinstance(value, (str, int, float))}
    return layout, PreferencePair(identifier, prompt, chosen, rejected, split, meta)


# --- files -----------------------------------------------------------------


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) of a plain or gzip'd UTF-8 text file."""
    try:
        if path.name.endswith(".gz"):
            handle = gzip.open(path, "rt", encoding="utf-8")
        else:
            handle = open(path, encoding="utf-8")
        with handle:
            yield from enumerate(handle, start=1)
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not valid UTF-8 text ({error.reason} at byte {error.start})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataError(f"{path}: not a readable gzip file ({error})") from None


def read_pairs_file(path: Path, forced_split: str | None = None) -> list[PreferencePair]:
    """Read every pair of one file; rows must agree on layout and on setting ``split``.

    :param forced_split: the split every row belongs to (a ``train``/``test``
        file of a folder); a row whose ``split`` field disagrees is an error.
    """
    if not path.is_file():
        raise DataError(f"{path}: pair file not found")

    pairs: list[PreferencePair] = []
    first_layout: tuple[str, int] | None = None
    first_split_setting: tuple[bool, int] | None = None
    seen: dict[str, int] = {}

    for line_number, line in numbered_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{line_number}"

        # JSON and fields
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{where}: invalid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        layout, pair = parse_row(row, where)

        # agreement with earlier rows
        if first_layout is None:
            first_layout = (layout, line_number)
        elif layout != first_layout[0]:
            raise DataError(f"{where}: row uses the {layout} layout but line {first_layout[1]} uses the {first_layout[0]} layout")
        sets_split = bool(pair.split)
        if first_split_setting is None:
            first_split_setting = (sets_split, line_number)
        elif sets_split != first_split_setting[0]:
            state = "sets" if first_split_setting[0] else "does not set"
            raise DataError(f"{where}: field 'split' must be set on every row or on none; line {first_split_setting[1]} {state} it")
        if forced_split is not None:
            if pair.split and pair.split != forced_split:
                raise DataError(f"{where}: field 'split' is {pair.split!r} in the {forced_split} file")
            pair = PreferencePair(pair.id, pair.prompt, pair.chosen, pair.rejected, forced_split, pair.meta)

        if pair.id in seen:
            raise DataError(f"{where}: pair {pair.id!r} repeats line {seen[pair.id]}")
        seen[pair.id] = line_number
        pairs.append(pair)

    if not pairs:
        raise DataError(f"{path}: no pairs in the file")
    return pairs


def find_split_file(folder: Path, split: str) -> Path:
    for suffix in PAIR_FILE_SUFFIXES:
        candidate = folder / f"{split}{suffix}"
        if candidate.is_file():
            return candidate
    raise DataError(f"{folder}: no {split}.jsonl or {split}.jsonl.gz in the folder")


def load_pairs(path: Path, test_fraction: float = DEFAULT_TEST_FRACTION) -> list[PreferencePair]:
    """Read pairs from a file or from a folder with ``train`` and ``test`` files.

    A file whose rows set no ``split`` gets a seeded hold-out of about
    ``test_fraction`` of its prompts as the test split.
    """
    if path.is_dir():
        pairs = read_pairs_file(find_split_file(path, "train"), "train") + read_pairs_file(find_split_file(path, "test"), "test")
        check_unique_ids(pairs, path)
        return pairs

    pairs = read_pairs_file(path)
    if not pairs[0].split:
        pairs = assign_test_split(pairs, test_fraction, SPLIT_SEED)
    return pairs


def check_unique_ids(pairs: list[PreferencePair], source: Path) -> None:
    splits_by_id: dict[str, str] = {}
    for pair in pairs:
        if pair.id in splits_by_id:
            raise DataError(f"{source}: pair {pair.id!r} is in both the {splits_by_id[pair.id]} and the {pair.split} file")
        splits_by_id[pair.id] = pair.split
