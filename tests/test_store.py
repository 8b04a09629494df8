"""The run store: atomic records, checksums, and recomputation of corrupt files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from w2s_bench.errors import UserError
from w2s_bench.store import RunStore, content_key

CONFIG = {"task": "t", "seed": 0}


def saved(tmp_path: Path) -> tuple[RunStore, str]:
    store = RunStore(tmp_path)
    key = content_key(CONFIG)
    store.save("weak", key, CONFIG, {"test_accuracy": 0.75}, {"p.safetensors": {"test": torch.arange(6.0)}})
    return store, key


def test_round_trip(tmp_path: Path) -> None:
    store, key = saved(tmp_path)
    record = store.load("weak", key)

    assert record.metrics == {"test_accuracy": 0.75}
    assert record.tensors("p.safetensors")["test"].tolist() == [0, 1, 2, 3, 4, 5]


def test_key_depends_on_every_field() -> None:
    assert content_key({"a": 1, "b": 2}) == content_key({"b": 2, "a": 1})
    assert content_key({"a": 1}) != content_key({"a": 2})


def test_flipped_byte_in_tensor_file_is_detected(tmp_path: Path) -> None:
    store, key = saved(tmp_path)
    path = store.folder("weak", key) / "p.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))

    assert store.load("weak", key) is None


def test_missing_tensor_file_is_detected(tmp_path: Path) -> None:
    store, key = saved(tmp_path)
    (store.folder("weak", key) / "p.safetensors").unlink()

    assert store.load("weak", key) is None


def test_truncated_record_is_detected(tmp_path: Path) -> None:
    store, key = saved(tmp_path)
    record_path = store.folder("weak", key) / "record.json"
    record_path.write_text(record_path.read_text()[:40])

    assert store.load("weak", key) is None
    assert list(store.records("weak")) == []


def test_record_with_another_key_is_rejected(tmp_path: Path) -> None:
    store, key = saved(tmp_path)
    record_path = store.folder("weak", key) / "record.json"
    record = json.loads(record_path.read_text())
    record["key"] = "0" * 64
    record_path.write_text(json.dumps(record))

    assert store.load("weak", key) is None


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    store, key = saved(tmp_path)
    leftovers = [path.name for path in store.folder("weak", key).iterdir() if path.name.endswith(".tmp")]

    assert leftovers == []


def test_runs_folder_under_a_file_is_rejected(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")

    with pytest.raises(UserError, match="not writable"):
        RunStore(blocker / "runs")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_runs_folder_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    folder.chmod(0o500)

    with pytest.raises(UserError, match="not writable"):
        RunStore(folder)
