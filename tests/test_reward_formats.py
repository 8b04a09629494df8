"""Reading preference pairs: the HH-RLHF and plain layouts, and malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from w2s_bench.cli import cli
from w2s_bench.errors import DataError
from w2s_bench.tasks.reward.formats import TranscriptError, load_pairs, parse_hh_pair, read_pairs_file, split_transcript
from w2s_bench.tasks.reward.pairs import pairs_to_task, scored_text

DATA = Path(__file__).parent / "data" / "reward"
MALFORMED = DATA / "malformed"

#: Each malformed file, the line the error must name (None: the file as a
#: whole) and a part of the expected message.
MALFORMED_CASES = [
    ("invalid_json.jsonl", 2, "invalid JSON"),
    ("not_an_object.jsonl", 3, "expected a JSON object, got list"),
    ("missing_rejected.jsonl", 2, "field 'rejected' is missing"),
    ("identical_replies.jsonl", 2, "fields 'chosen' and 'rejected' contain the same reply"),
    ("empty_chosen.jsonl", 1, "field 'chosen' is empty"),
    ("chosen_not_string.jsonl", 3, "field 'chosen' is int; expected a string"),
    ("hh_no_turn_markers.jsonl", 2, "field 'chosen' has no 'Human:' or 'Assistant:' turn marker"),
    ("hh_ends_with_human.jsonl", 1, "field 'chosen' ends with a Human turn"),
    ("hh_starts_with_assistant.jsonl", 2, "field 'chosen' starts with an Assistant turn"),
    ("hh_prompts_differ.jsonl", 1, "differ before the last Assistant turn"),
    ("hh_empty_reply.jsonl", 2, "field 'rejected' has an empty reply"),
    ("hh_text_before_marker.jsonl", 1, "field 'chosen' has text before its first turn marker"),
    ("bad_split.jsonl", 2, "field 'split' is 'dev'; expected train or test"),
    ("split_on_some_rows.jsonl", 2, "field 'split' must be set on every row or on none"),
    ("duplicate_pair.jsonl", 3, "repeats line 1"),
    ("mixed_layouts.jsonl", 2, "row uses the hh layout but line 1 uses the plain layout"),
    ("not_utf8.jsonl", None, "not valid UTF-8 text"),
    ("not_gzip.jsonl.gz", None, "not a readable gzip file"),
    ("empty_file.jsonl", None, "no pairs in the file"),
    ("only_train_split.jsonl", None, "no pairs in the test split"),
]


def read_hh_fixture() -> list[dict]:
    return [json.loads(line) for line in (DATA / "hh_ten_pairs.jsonl").read_text().splitlines()]


# --- HH-RLHF layout ----------------------------------------------------------


def test_hh_file_prompts_and_replies():
    pairs = read_pairs_file(DATA / "hh_ten_pairs.jsonl")

    assert len(pairs) == 10
    assert pairs[0].prompt == "Human: How do I boil an egg?\n\nAssistant:"
    assert pairs[0].chosen == "Put the egg in boiling water for about nine minutes, then cool it in cold water."
    assert pairs[0].rejected == "Eggs are laid by hens."
    assert pairs[4].chosen == "17 times 3 is 51."
    assert pairs[4].rejected == "17 times 3 is 41."


def test_hh_file_multi_turn_prompt():
    pairs = read_pairs_file(DATA / "hh_ten_pairs.jsonl")

    birthday = pairs[2]
    assert birthday.prompt == (
        "Human: Can you help me write a birthday message for my sister?\n\n"
        "Assistant: Of course! How old is she turning?\n\n"
        "Human: She is turning 30.\n\nAssistant:"
    )
    assert birthday.chosen == "Happy 30th birthday, sis! Here's to a decade full of adventures and laughter."
    assert birthday.rejected == "Happy birthday."
    assert pairs[8].prompt.endswith("Human: Fiction, something light.\n\nAssistant:")
    assert pairs[8].rejected == "Read a dictionary."


def test_hh_scored_text_rebuilds_transcript():
    rows = read_hh_fixture()
    pairs = read_pairs_file(DATA / "hh_ten_pairs.jsonl")

    for row, pair in zip(rows, pairs):
        assert scored_text(pair.prompt, pair.chosen) == row["chosen"].strip()
        assert scored_text(pair.prompt, pair.rejected) == row["rejected"].strip()


def test_hh_file_gets_held_out_test_split():
    pairs = load_pairs(DATA / "hh_ten_pairs.jsonl")
    splits = [pair.split for pair in pairs]

    assert splits.count("test") == 2
    assert splits.count("train") == 8
    assert load_pairs(DATA / "hh_ten_pairs.jsonl") == pairs


def test_split_transcript_keeps_inner_markers():
    prompt, reply = split_transcript("Human: Say 'Assistant: hi'\n\nAssistant: Assistant: hi", "chosen")

    assert prompt == "Human: Say 'Assistant: hi'\n\nAssistant:"
    assert reply == "Assistant: hi"


def test_parse_hh_pair_rejects_empty_text():
    with pytest.raises(TranscriptError, match="no 'Human:' or 'Assistant:' turn marker"):
        parse_hh_pair("", "\n\nHuman: Hi\n\nAssistant: Hello")


# --- plain layout ------------------------------------------------------------


def test_plain_file_with_splits(tmp_path):
    rows = [
        {"prompt": "Say hi.", "chosen": "Hi there!", "rejected": "No.", "split": "train", "topic": "greeting"},
        {"prompt": "Say bye.", "chosen": "Goodbye!", "rejected": "Hi.", "split": "train"},
        {"prompt": "", "chosen": "A kind reply.", "rejected": "A rude reply.", "split": "test"},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")

    task = pairs_to_task("mine", load_pairs(path), str(path))

    assert (len(task.train), len(task.test)) == (2, 1)
    assert task.head == "rank"
    assert task.num_candidates == 2
    first = task.train[0]
    assert first.texts[first.label] == "Human: Say hi.\n\nAssistant: Hi there!"
    assert first.texts[1 - first.label] == "Human: Say hi.\n\nAssistant: No."
    assert first.meta["topic"] == "greeting"
    assert task.test[0].texts[task.test[0].label] == "A kind reply."


def test_folder_with_train_and_test_files(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    (tmp_path / "test.jsonl").write_text(json.dumps({"prompt": "q", "chosen": "c", "rejected": "d"}) + "\n")

    pairs = load_pairs(tmp_path)

    assert [(pair.prompt, pair.split) for pair in pairs] == [("p", "train"), ("q", "test")]


def test_folder_rejects_pair_in_both_files(tmp_path):
    row = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n"
    (tmp_path / "train.jsonl").write_text(row)
    (tmp_path / "test.jsonl").write_text(row)

    with pytest.raises(DataError, match="is in both the train and the test file"):
        load_pairs(tmp_path)


# --- malformed files ---------------------------------------------------------


@pytest.mark.parametrize("name, line, message", MALFORMED_CASES)
def test_malformed_file_error(name, line, message):
    path = MALFORMED / name

    with pytest.raises(DataError) as raised:
        pairs_to_task("bad", load_pairs(path), str(path))

    text = str(raised.value)
    location = f"{path}:{line}:" if line is not None else f"{path}:"
    assert text.startswith(location)
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize("name, line, message", MALFORMED_CASES)
def test_malformed_file_cli_one_line(name, line, message):
    path = MALFORMED / name
    result = CliRunner().invoke(cli, ["run", "--task", f"pairs:{path}", "--weak", "minilm-l1", "--strong", "minilm-l2"])

    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    location = f"{path}:{line}:" if line is not None else f"{path}:"
    assert lines[0].startswith(f"error: {location}")
    assert message in lines[0]
    assert result.stdout == ""


def test_missing_file_error(tmp_path):
    with pytest.raises(DataError, match="pair file not found"):
        load_pairs(tmp_path / "absent.jsonl")
