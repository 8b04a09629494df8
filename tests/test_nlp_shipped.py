"""Shipped offline NLP tasks: checksums, balance, splits by group, no leakage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from w2s_bench.cli import CPU_MAX_TEST, CPU_MAX_TRAIN
from w2s_bench.data import split_halves
from w2s_bench.errors import DataError
from w2s_bench.hygiene import bag_of_words_check, class_balance, split_overlap
from w2s_bench.registry import default_registry
from w2s_bench.tasks.nlp.loader import load_binary_jsonl
from w2s_bench.tasks.nlp.plugin import DATA_DIR, ShippedBinaryTask

MANIFEST = json.loads((DATA_DIR / "manifest.json").read_text())
OFFLINE_TASKS = sorted(MANIFEST)
#: Tasks whose texts start with a question that several texts could share.
QUESTION_TASKS = ("quartz", "social_iqa")


@pytest.fixture(scope="module", params=OFFLINE_TASKS)
def loaded(request):
    return request.param, ShippedBinaryTask(request.param).load()


def test_at_least_ten_offline_tasks():
    assert len(OFFLINE_TASKS) >= 10
    registered = default_registry().entries("task")
    for name in OFFLINE_TASKS:
        assert registered[name].spec.description.startswith("offline · ")


def test_shipped_data_is_small():
    total = sum(path.stat().st_size for path in DATA_DIR.iterdir())
    assert total < 4_000_000


def test_sizes_and_balance_match_manifest(loaded):
    name, data = loaded
    entry = MANIFEST[name]
    assert len(data.train) == entry["rows"]["train"]
    assert len(data.test) == entry["rows"]["test"]
    for split, examples in (("train", data.train), ("test", data.test)):
        counts = class_balance(examples, 2)
        assert counts == [entry["class_balance"][split]["0"], entry["class_balance"][split]["1"]]
        assert abs(counts[0] - counts[1]) <= 1


def test_no_test_text_in_training_halves(loaded):
    name, data = loaded
    assert not split_overlap(data)

    # the halves the pipeline trains on, at the CLI's default sizes
    sliced = data.sliced(CPU_MAX_TRAIN, CPU_MAX_TEST)
    test_texts = {example.texts for example in sliced.test}
    for seed in (0, 1, 2):
        split = split_halves(len(sliced.train), seed)
        for half in (split.half1, split.half2):
            assert not {sliced.train[i].texts for i in half} & test_texts


@pytest.mark.parametrize("name", QUESTION_TASKS)
def test_split_by_question(name):
    data = ShippedBinaryTask(name).load()

    def question(example) -> str:
        return example.texts[0].split("\nAnswer:")[0]

    assert not {question(e) for e in data.train} & {question(e) for e in data.test}


def test_vitaminc_claims_not_shared():
    data = ShippedBinaryTask("vitaminc").load()

    def claim(example) -> str:
        return example.texts[0].rsplit("\nClaim:", 1)[-1]

    assert not {claim(e) for e in data.train} & {claim(e) for e in data.test}


def test_bag_of_words_does_not_flag(loaded):
    name, data = loaded
    check = bag_of_words_check(data.sliced(1500, 400), epochs=30)
    assert check is not None
    assert not check.flagged, f"{name}: bag-of-words accuracy {check.test_accuracy:.3f}"


def test_corrupt_file_fails_checksum(tmp_path):
    entry = MANIFEST["strategyqa"]
    copy = tmp_path / entry["file"]
    shutil.copy(DATA_DIR / entry["file"], copy)
    copy.write_bytes(copy.read_bytes()[:-20] + b"\x00" * 20)

    with pytest.raises(DataError, match="does not match the manifest"):
        load_binary_jsonl(copy, "strategyqa", expected_sha256=entry["sha256"])


def test_full_build_folder_override(tmp_path, monkeypatch):
    shutil.copy(DATA_DIR / "manifest.json", tmp_path / "manifest.json")
    shutil.copy(DATA_DIR / "sports_understanding.jsonl.gz", tmp_path)
    monkeypatch.setenv("W2S_BENCH_NLP_DATA", str(tmp_path))

    assert len(ShippedBinaryTask("sports_understanding").load().test) == MANIFEST["sports_understanding"]["rows"]["test"]
    with pytest.raises(DataError, match="data file not found"):
        ShippedBinaryTask("quartz").load()
