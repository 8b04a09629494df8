"""The ``stdlib_docs`` task: a binary classification task read from a local CSV file.

The file has the columns ``id``, ``split`` (train or test), ``text`` and
``label`` (0 or 1). The shipped file contains the first paragraphs of Python
standard library docstrings; ``build_data.py`` next to ``pyproject.toml``
made it. To use your own file, register another :class:`CsvTask` with its
path.
"""

from __future__ import annotations

import csv
from pathlib import Path

from w2s_bench.data import Example, TaskData
from w2s_bench.errors import DataError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.specs import TaskSpec

DATA_FILE = Path(__file__).resolve().parent / "data" / "stdlib_docs.csv"
COLUMNS = ("id", "split", "text", "label")
SPLITS = ("train", "test")


class CsvTask:
    """A binary task whose examples are the rows of one CSV file."""

    def __init__(self, name: str, path: Path | str) -> None:
        self.name = name
        self.path = Path(path)

    def load(self) -> TaskData:
        """Read and check every row; a bad row raises DataError naming its line and field."""
        if not self.path.is_file():
            raise DataError(f"{self.path}: data file not found")

        splits: dict[str, list[Example]] = {split: [] for split in SPLITS}
        seen: dict[str, int] = {}
        with open(self.path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{self.path}:1: header lacks column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")

            for row in reader:
                line = reader.line_num
                split, example = parse_row(self.path, line, row)
                if example.id in seen:
                    raise DataError(f"{self.path}:{line}: field 'id' {example.id!r} repeats line {seen[example.id]}")
                seen[example.id] = line
                splits[split].append(example)

        for split in SPLITS:
            if not splits[split]:
                raise DataError(f"{self.path}: no rows in the {split} split")
        return TaskData(self.name, "classify", 2, splits["train"], splits["test"])


def parse_row(path: Path, line: int, row: dict[str, str | None]) -> tuple[str, Example]:
    where = f"{path}:{line}"
    identifier = (row.get("id") or "").strip()
    if not identifier:
        raise DataError(f"{where}: field 'id' is empty")
    split = (row.get("split") or "").strip()
    if split not in SPLITS:
        raise DataError(f"{where}: field 'split' is {split!r}; expected train or test")
    text = row.get("text") or ""
    if not text.strip():
        raise DataError(f"{where}: field 'text' is empty")
    label = (row.get("label") or "").strip()
    if label not in ("0", "1"):
        raise DataError(f"{where}: field 'label' is {label!r}; expected 0 or 1")
    return split, Example(identifier, (text,), int(label))


@hookimpl
def w2s_bench_register_tasks() -> list[TaskSpec]:
    return [
        TaskSpec(
            "stdlib_docs",
            CsvTask,
            kind="nlp",
            description="Python stdlib docstrings: text-processing (0) vs OS and file (1) modules",
            options={"name": "stdlib_docs", "path": DATA_FILE},
        ),
    ]
