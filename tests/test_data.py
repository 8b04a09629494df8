"""Task data: the seeded split, the shipped sentiment task and the loader's checks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from w2s_bench.data import split_halves
from w2s_bench.errors import DataError
from w2s_bench.registry import Registry
from w2s_bench.tasks.nlp.loader import example_id, load_binary_jsonl


def test_split_is_deterministic_and_disjoint() -> None:
    first, again, other = split_halves(101, seed=3), split_halves(101, seed=3), split_halves(101, seed=4)

    assert np.array_equal(first.half1, again.half1)
    assert set(first.half1).isdisjoint(first.half2)
    assert sorted([*first.half1, *first.half2]) == list(range(101))
    assert not np.array_equal(first.half1, other.half1)


def test_shipped_sentiment_task() -> None:
    data = Registry().task("rotten_tomatoes").create().load()
    train_texts = {example.texts[0] for example in data.train}
    test_texts = {example.texts[0] for example in data.test}

    assert len(data.test) >= 1000
    assert sum(example.label for example in data.test) == len(data.test) // 2
    assert train_texts.isdisjoint(test_texts)
    assert len({example.id for example in data.train + data.test}) == len(data.train) + len(data.test)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = [
    json.dumps({"id": example_id("fine"), "split": "train", "text": "fine", "label": 1}),
    json.dumps({"id": example_id("bad"), "split": "test", "text": "bad", "label": 0}),
]
ID_X = example_id("x")


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("{not json", r":3: invalid JSON"),
        (json.dumps({"id": ID_X, "split": "train", "text": "", "label": 1}), r":3: field 'text'"),
        (json.dumps({"id": ID_X, "split": "train", "text": "x", "label": 2}), r":3: field 'label' is 2"),
        (json.dumps({"id": ID_X, "split": "train", "text": "x", "label": True}), r":3: field 'label'"),
        (json.dumps({"id": ID_X, "split": "dev", "text": "x", "label": 1}), r":3: field 'split'"),
        (json.dumps({"split": "train", "text": "x", "label": 1}), r":3: field 'id'"),
        (json.dumps({"id": "c", "split": "train", "text": "x", "label": 1}), r":3: field 'id' is 'c' but the hash of the text"),
        (json.dumps({"id": example_id("fine"), "split": "test", "text": "fine", "label": 1}), r":3: field 'id' .* repeats line 1"),
        (json.dumps([1, 2]), r":3: expected a JSON object"),
    ],
)
def test_malformed_line_names_file_line_and_field(tmp_path: Path, bad_line: str, expected: str) -> None:
    path = write_lines(tmp_path / "task.jsonl", [*GOOD, bad_line])

    with pytest.raises(DataError, match=expected) as raised:
        load_binary_jsonl(path, "t")
    assert str(path) in str(raised.value)


def test_checksum_mismatch_is_reported(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "task.jsonl", GOOD)

    with pytest.raises(DataError, match="does not match the manifest"):
        load_binary_jsonl(path, "t", expected_sha256="0" * 64)


def test_gzip_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "task.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(GOOD) + "\n")

    data = load_binary_jsonl(path, "t")
    assert [example.id for example in data.train] == [example_id("fine")]


def test_empty_split_is_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "task.jsonl", GOOD[:1])

    with pytest.raises(DataError, match="no examples in the test split"):
        load_binary_jsonl(path, "t")
