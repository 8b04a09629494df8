"""Read binary text-classification data from JSON lines, checking every field."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

from w2s_bench.data import Example, TaskData, example_id
from w2s_bench.errors import DataError

SPLITS = ("train", "test")


def verify_sha256(path: Path, expected: str) -> None:
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise DataError(
            f"{path}: sha256 {actual[:12]}… does not match the manifest ({expected[:12]}…); "
            "the file is corrupt or was changed, rebuild it with build_data.py"
        )


def open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def parse_binary_line(path: Path, line_number: int, line: str) -> tuple[str, Example]:
    """Parse one ``{"id", "split", "text", "label"}`` line into (split, example)."""
    where = f"{path}:{line_number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"{where}: invalid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")

    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: field 'text' is missing or empty")
    label = row.get("label")
    if label not in (0, 1) or isinstance(label, bool):
        raise DataError(f"{where}: field 'label' is {label!r}; expected 0 or 1")
    split = row.get("split", "train")
    if split not in SPLITS:
        raise DataError(f"{where}: field 'split' is {split!r}; expected train or test")
    identifier = row.get("id")
    if not isinstance(identifier, str) or not identifier:
        raise DataError(f"{where}: field 'id' is missing or not a string")
    # Ids are the hash of the text, so a repeated id is a repeated text, in
    # either split.
    if identifier != example_id(text):
        raise DataError(f"{where}: field 'id' is {identifier!r} but the hash of the text is {example_id(text)!r}")
    return split, Example(identifier, (text,), int(label))


def load_binary_jsonl(path: Path, name: str, expected_sha256: str | None = None) -> TaskData:
    """Load a binary task; ids must be unique and both splits non-empty."""
    if not path.exists():
        raise DataError(f"{path}: data file not found")
    if expected_sha256 is not None:
        verify_sha256(path, expected_sha256)

    splits: dict[str, list[Example]] = {split: [] for split in SPLITS}
    seen: dict[str, int] = {}
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            split, example = parse_binary_line(path, line_number, line)
            if example.id in seen:
                raise DataError(f"{path}:{line_number}: field 'id' {example.id!r} repeats line {seen[example.id]}")
            seen[example.id] = line_number
            splits[split].append(example)

    for split in SPLITS:
        if not splits[split]:
            raise DataError(f"{path}: no examples in the {split} split")
    return TaskData(name, "classify", 2, splits["train"], splits["test"])
