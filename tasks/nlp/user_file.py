"""Binary tasks from a user's JSON lines or CSV file, validated row by row.

A task name ``file:PATH`` reads ``PATH`` (``.jsonl`` or ``.csv``) with a text
column and a label column. Options follow a ``?`` like a URL query, e.g.
``file:reviews.csv?text=review&label=stars&positive=good``:

- ``text``, ``label``: column names (default ``text`` and ``label``);
- ``split``: a column holding ``train`` or ``test`` (default ``split`` when
  the file has it; otherwise a seeded, class-stratified fifth is the test split);
- ``positive``: the class name that becomes label 1 when labels are names.

Labels are 0/1 or exactly two class names (sorted, the second is label 1,
unless ``positive`` names the other). Every problem raises a
:class:`~w2s_bench.errors.DataError` naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from w2s_bench.data import Example, TaskData, example_id
from w2s_bench.errors import DataError

PREFIX = "file:"
OPTIONS = ("text", "label", "split", "positive")
SPLITS = ("train", "test")

#: Minimum rows a file must have, enough for a test split of at least 4 and two
#: training halves of at least 8 each.
MIN_ROWS = 20
MIN_TEST = 4
MIN_TRAIN = 16
TEST_FRACTION = 0.2
SPLIT_SEED = 20231214


@dataclass(frozen=True)
class FileOptions:
    path: Path
    text: str = "text"
    label: str = "label"
    split: str = "split"
    positive: str | None = None


@dataclass(frozen=True)
class Row:
    line: int
    text: str
    label: str
    split: str | None


def parse_task_name(name: str) -> FileOptions:
    """Split ``file:PATH?key=value&...`` into the path and its options."""
    body = name[len(PREFIX):]
    path_part, _, query = body.partition("?")
    if not path_part:
        raise DataError(f"task {name!r} names no file; write file:PATH.jsonl or file:PATH.csv")

    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in OPTIONS:
            raise DataError(f"task {name!r}: option {key!r} is unknown; expected one of {', '.join(OPTIONS)}")
        if not value:
            raise DataError(f"file task option {key!r} is empty")
        options[key] = value
    return FileOptions(Path(path_part).expanduser(), **options)


# --- reading ---------------------------------------------------------------


def decode_line(path: Path, line_number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}:{line_number}: not valid UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})") from None


def field_value(path: Path, line: int, row: dict, column: str, required: bool = True) -> str | None:
    """Return the field as a string; raise for types that cannot be a text or a label."""
    if column not in row or row[column] is None:
        if required:
            raise DataError(f"{path}:{line}: field {column!r} is missing")
        return None
    value = row[column]
    if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, (str, int)):
        raise DataError(f"{path}:{line}: field {column!r} is {json.dumps(value)}; expected a string or 0/1")
    return str(value)


def row_from_mapping(path: Path, line: int, mapping: dict, options: FileOptions, has_split: bool) -> Row:
    text = field_value(path, line, mapping, options.text)
    if not isinstance(mapping[options.text], str):
        raise DataError(f"{path}:{line}: field {options.text!r} is {json.dumps(mapping[options.text])}; expected a string")
    if not text.strip():
        raise DataError(f"{path}:{line}: field {options.text!r} is empty")

    label = field_value(path, line, mapping, options.label).strip()
    if not label:
        raise DataError(f"{path}:{line}: field {options.label!r} is empty")

    split = None
    if has_split:
        split = field_value(path, line, mapping, options.split)
        if split not in SPLITS:
            raise DataError(f"{path}:{line}: field {options.split!r} is {split!r}; expected train or test")
    return Row(line, " ".join(text.split()), label, split)


def read_jsonl(path: Path, raw: bytes, options: FileOptions) -> list[Row]:
    rows: list[Row] = []
    has_split: bool | None = None
    first_line = 0
    for line_number, raw_line in enumerate(raw.split(b"\n"), start=1):
        line = decode_line(path, line_number, raw_line).lstrip("\ufeff")
        if not line.strip():
            continue
        try:
            mapping = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}:{line_number}: invalid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(mapping, dict):
            raise DataError(f"{path}:{line_number}: expected a JSON object, got {type(mapping).__name__}")
        if has_split is None:
            has_split, first_line = options.split in mapping, line_number
        elif not has_split and options.split in mapping:
            # the first row decides whether the file has a split column; a
            # split set on a later row only would otherwise be ignored
            raise DataError(f"{path}:{line_number}: field {options.split!r} is set here but not on line {first_line}; "
                            "set it on every row or on none")
        rows.append(row_from_mapping(path, line_number, mapping, options, has_split))
    return rows


def read_csv(path: Path, raw: bytes, options: FileOptions) -> list[Row]:
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line_number = raw[: error.start].count(b"\n") + 1
        raise DataError(f"{path}:{line_number}: not valid UTF-8 (byte 0x{raw[error.start]:02x})") from None

    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if not header:
        raise DataError(f"{path}: no rows (the file is empty)")
    header = [column.strip() for column in header]
    for column, option in ((options.text, "text"), (options.label, "label")):
        if column not in header:
            raise DataError(f"{path}:1: header has no column {column!r} (columns: {', '.join(header)}); "
                            f"name the column with ?{option}=NAME")
    has_split = options.split in header

    rows = []
    for fields in reader:
        line_number = reader.line_num
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            raise DataError(f"{path}:{line_number}: row has {len(fields)} fields, the header has {len(header)}")
        rows.append(row_from_mapping(path, line_number, dict(zip(header, fields)), options, has_split))
    return rows


# --- validation ------------------------------------------------------------


def check_duplicates(path: Path, rows: list[Row], options: FileOptions) -> None:
    first_line: dict[str, int] = {}
    for row in rows:
        if row.text in first_line:
            raise DataError(f"{path}:{row.line}: field {options.text!r} duplicates line {first_line[row.text]}")
        first_line[row.text] = row.line


def label_mapping(path: Path, rows: list[Row], options: FileOptions) -> dict[str, int]:
    """Map the file's two label values to 0 and 1."""
    classes: list[str] = []
    for row in rows:
        if row.label in classes:
            continue
        if len(classes) == 2 and sorted(classes) == ["0", "1"]:
            raise DataError(f"{path}:{row.line}: field {options.label!r} is {row.label!r}; expected 0 or 1")
        if len(classes) == 2:
            raise DataError(f"{path}:{row.line}: field {options.label!r} is {row.label!r}, a third class after "
                            f"{classes[0]!r} and {classes[1]!r}; a binary task has two")
        classes.append(row.label)

    numeric = [name in ("0", "1") for name in classes]
    if any(numeric) and not all(numeric):
        offending = next(row for row in rows if (row.label in ("0", "1")) != numeric[0])
        raise DataError(f"{path}:{offending.line}: field {options.label!r} is {offending.label!r}; "
                        f"labels mix 0/1 with class names, use one or the other")
    if len(classes) < 2:
        raise DataError(f"{path}: field {options.label!r} is {classes[0]!r} on every row; a binary task needs both classes")

    if all(numeric):
        return {"0": 0, "1": 1}
    if options.positive is not None:
        if options.positive not in classes:
            raise DataError(f"{path}: positive class {options.positive!r} is not a label in the file "
                            f"(labels: {', '.join(sorted(classes))})")
        return {name: int(name == options.positive) for name in classes}
    ordered = sorted(classes)
    return {ordered[0]: 0, ordered[1]: 1}


def assign_splits(path: Path, rows: list[Row], labels: dict[str, int]) -> dict[str, list[Row]]:
    """Use the file's split column, or hold out a seeded, class-stratified fifth."""
    if rows[0].split is not None:
        return {split: [row for row in rows if row.split == split] for split in SPLITS}

    rng = random.Random(SPLIT_SEED)
    splits: dict[str, list[Row]] = {"train": [], "test": []}
    for label in (0, 1):
        of_class = sorted((row for row in rows if labels[row.label] == label), key=lambda row: example_id(row.text))
        rng.shuffle(of_class)
        held_out = max(MIN_TEST // 2, round(len(of_class) * TEST_FRACTION))
        splits["test"] += of_class[:held_out]
        splits["train"] += of_class[held_out:]
    for split in SPLITS:
        splits[split].sort(key=lambda row: row.line)
    return splits


def load_user_file(options: FileOptions, name: str) -> tuple[TaskData, dict[str, int]]:
    """Read, validate and split a user's file into task data and its label mapping.

    Raises DataError on the first problem found.
    """
    path = options.path
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise DataError(f"{path}: file type {suffix or '(none)'!r} is not supported; expected .jsonl or .csv")

    rows = read_rows(options)
    if not rows:
        raise DataError(f"{path}: no rows")
    check_duplicates(path, rows, options)
    labels = label_mapping(path, rows, options)
    if len(rows) < MIN_ROWS:
        raise DataError(f"{path}: {len(rows)} rows; at least {MIN_ROWS} are needed for a test split and two training halves")

    splits = assign_splits(path, rows, labels)
    for split, minimum in (("train", MIN_TRAIN), ("test", MIN_TEST)):
        if len(splits[split]) < minimum:
            count = len(splits[split])
            raise DataError(f"{path}: the {split} split has {count} row{'' if count == 1 else 's'}; at least {minimum} are needed")

    def examples(split: str) -> list[Example]:
        return [Example(example_id(row.text), (row.text,), labels[row.label], {"line": row.line}) for row in splits[split]]

    return TaskData(name, "classify", 2, examples("train"), examples("test")), labels


class UserFileTask:
    """A task read from a local file; the file is validated when the task is created."""

    def __init__(self, name: str) -> None:
        self.options = parse_task_name(name)
        self.data, self.classes = load_user_file(self.options, name)

    def describe(self) -> dict[str, str]:
        names = {value: key for key, value in self.classes.items()}
        return {
            "source": f"local file {self.options.path} (text column {self.options.text!r}, label column {self.options.label!r})",
            "licence": "as the file's owner states",
            "availability": "local file",
            "labels": f"0 = {names[0]}, 1 = {names[1]}",
        }

    def load(self) -> TaskData:
        return self.data


def read_rows(options: FileOptions) -> list[Row]:
    raw = options.path.read_bytes()
    if options.path.suffix.lower() == ".csv":
        return read_csv(options.path, raw, options)
    return read_jsonl(options.path, raw, options)
