"""User files as tasks: each malformed file gives one line naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from w2s_bench.cli import cli
from w2s_bench.tasks.nlp.user_file import UserFileTask

FIXTURES = Path(__file__).parent / "fixtures" / "user_files"

#: fixture file -> text the one-line error must contain (after "error: <path>").
MALFORMED = {
    "invalid_json.jsonl": ":4: invalid JSON",
    "not_object.jsonl": ":2: expected a JSON object, got list",
    "missing_text.jsonl": ":5: field 'text' is missing",
    "empty_text.jsonl": ":7: field 'text' is empty",
    "text_not_string.jsonl": ":3: field 'text' is 42; expected a string",
    "missing_label.jsonl": ":8: field 'label' is missing",
    "label_two.jsonl": ":6: field 'label' is '2'; expected 0 or 1",
    "label_bool.jsonl": ":4: field 'label' is true",
    "label_float.jsonl": ":9: field 'label' is 0.5",
    "third_class.jsonl": ":10: field 'label' is 'neutral', a third class after 'neg' and 'pos'",
    "mixed_labels.jsonl": ":2: field 'label' is '1'; labels mix 0/1 with class names",
    "one_class.jsonl": ": field 'label' is '1' on every row",
    "duplicate_text.jsonl": ":12: field 'text' duplicates line 2",
    "too_few_rows.jsonl": ": 12 rows; at least 20 are needed",
    "bad_split.jsonl": ":5: field 'split' is 'dev'; expected train or test",
    "tiny_test_split.jsonl": ": the test split has 1 row; at least 4 are needed",
    "empty.jsonl": ": no rows",
    "bad_utf8.jsonl": ":3: not valid UTF-8",
    "csv_missing_column.csv": ":1: header has no column 'text'",
    "csv_wrong_fields.csv": ":7: row has 3 fields, the header has 2",
    "csv_empty_label.csv": ":5: field 'label' is empty",
    "reviews.txt": ": file type '.txt' is not supported",
}


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def run_task(runner: CliRunner, task: str, runs_dir: Path):
    # minilm-l1 keeps the rare successful run cheap; bad files fail before any model loads
    args = ["run", "--task", task, "--weak", "minilm-l1", "--strong", "minilm-l1", "--runs-dir", str(runs_dir)]
    return runner.invoke(cli, args)


def test_fixture_count_at_least_fifteen():
    assert len(MALFORMED) >= 15
    for name in MALFORMED:
        assert (FIXTURES / name).is_file(), name


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_one_line_error(runner, tmp_path, name):
    path = FIXTURES / name
    result = run_task(runner, f"file:{path}", tmp_path / "runs")

    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}"), lines[0]
    assert MALFORMED[name] in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs" / "cells").exists()


def test_missing_file_error(runner, tmp_path):
    result = run_task(runner, f"file:{tmp_path}/absent.jsonl", tmp_path / "runs")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path}/absent.jsonl: file not found"


def test_unknown_option_error(runner, tmp_path):
    result = run_task(runner, f"file:{FIXTURES}/valid_numeric.jsonl?txt=body", tmp_path / "runs")
    assert result.exit_code == 2
    assert "option 'txt' is unknown" in result.stderr


def test_positive_class_must_exist():
    from w2s_bench.errors import DataError

    with pytest.raises(DataError, match="positive class 'good' is not a label"):
        UserFileTask(f"file:{FIXTURES}/valid_named.jsonl?positive=good")


def test_named_classes_sorted():
    task = UserFileTask(f"file:{FIXTURES}/valid_named.jsonl")
    assert task.classes == {"neg": 0, "pos": 1}
    data = task.load()
    assert len(data.train) + len(data.test) == 24
    assert all(example.label == ("good" in example.texts[0]) for example in data.train + data.test)


def test_positive_option_flips_labels():
    task = UserFileTask(f"file:{FIXTURES}/valid_named.jsonl?positive=neg")
    assert task.classes == {"neg": 1, "pos": 0}


def test_seeded_split_stratified_and_stable():
    first = UserFileTask(f"file:{FIXTURES}/valid_numeric.jsonl").load()
    second = UserFileTask(f"file:{FIXTURES}/valid_numeric.jsonl").load()
    assert [e.id for e in first.test] == [e.id for e in second.test]
    assert sorted(e.label for e in first.test) == [0, 0, 1, 1]
    assert not {e.texts for e in first.train} & {e.texts for e in first.test}


def test_csv_columns_and_split_column():
    task = UserFileTask(f"file:{FIXTURES}/valid_columns.csv?text=review&label=stars&split=part&positive=good")
    data = task.load()
    assert len(data.test) == 6
    assert len(data.train) == 24
    assert data.test[0].texts == ("review 0, awful",)
    assert data.test[0].label == 0
    assert data.test[1].label == 1


def test_tasks_show_user_file(runner):
    result = runner.invoke(cli, ["tasks", "show", f"file:{FIXTURES}/valid_named.jsonl", "--no-leakage-check"])
    assert result.exit_code == 0, result.output
    assert "0 = neg, 1 = pos" in result.output
    assert "sizes:        train 20, test 4" in result.output


def test_user_file_runs_end_to_end(runner, tmp_path):
    result = run_task(runner, f"file:{FIXTURES}/valid_numeric.jsonl", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "runs" / "cells").iterdir())) == 1
