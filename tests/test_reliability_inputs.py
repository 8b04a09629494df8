"""Malformed input across every format the command line reads, as one table.

Each row is one bad input: the files it needs, the command line, and text the
error must contain (the input's path with line, the option, or the value).
Every row must end with exit code 2, exactly one ``error: ...`` line on
stderr, no traceback, and nothing stored in the runs folder. To cover a new
format, add rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from w2s_bench.cli import cli

#: Cheap packaged models for rows that get as far as naming models; bad input
#: fails before any weights load.
MODELS = ["--weak", "minilm-l1", "--strong", "minilm-l1"]


@dataclass(frozen=True)
class BadInput:
    """One malformed input: files to create under ``{tmp}``, the arguments, the expected error text."""

    name: str
    args: list[str]
    expect: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)


def task_rows(count: int = 24, start: int = 0) -> list[str]:
    """Valid JSON lines of a binary task: distinct texts, both classes."""
    return [json.dumps({"text": f"review number {index} of the film", "label": index % 2}) for index in range(start, start + count)]


def task_file(*bad_lines: str, at: int = 2) -> str:
    """A valid task file with ``bad_lines`` inserted so that the first is on line ``at``."""
    rows = task_rows()
    rows[at - 1:at - 1] = list(bad_lines)
    return "\n".join(rows) + "\n"


def csv_file(header: str, *bad_lines: str) -> str:
    rows = [header] + [f"review number {index} of the film,{index % 2}" for index in range(24)]
    rows[2:2] = list(bad_lines)
    return "\n".join(rows) + "\n"


def pair(prompt: str = "Which reply is kinder?", chosen: str = "A kind reply.", rejected: str = "A rude reply.", **extra) -> str:
    return json.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected, **extra})


def pairs_file(*bad_lines: str) -> str:
    rows = [pair(prompt=f"Question {index}?", chosen=f"Helpful answer {index}.", rejected=f"Unhelpful answer {index}.") for index in range(12)]
    rows[1:1] = list(bad_lines)
    return "\n".join(rows) + "\n"


def grid(body: str) -> str:
    return 'name = "bad"\n' + body + "\n"


def run_task(path: str) -> list[str]:
    return ["run", "--task", path, *MODELS]


TMP = "{tmp}"

CORPUS = [
    # --- task files, JSON lines (file:PATH) --------------------------------------
    BadInput("task-invalid-json", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "invalid JSON"], {"t.jsonl": task_file('{"text": "x", ')}),
    BadInput("task-not-object", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "expected a JSON object"], {"t.jsonl": task_file("[1, 2]")}),
    BadInput("task-missing-text", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "'text' is missing"], {"t.jsonl": task_file('{"label": 0}')}),
    BadInput("task-empty-text", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "'text' is empty"], {"t.jsonl": task_file('{"text": "", "label": 0}')}),
    BadInput("task-text-number", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "'text' is 5"], {"t.jsonl": task_file('{"text": 5, "label": 1}')}),
    BadInput("task-missing-label", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "'label' is missing"], {"t.jsonl": task_file('{"text": "no label here"}')}),
    BadInput("task-label-two", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:4:", "'label' is '2'"],
             {"t.jsonl": task_file('{"text": "a third label", "label": 2}', at=4)}),
    BadInput("task-label-bool", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "'label' is true"], {"t.jsonl": task_file('{"text": "a bool label", "label": true}')}),
    BadInput("task-label-float", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "'label' is 0.5"], {"t.jsonl": task_file('{"text": "a float label", "label": 0.5}')}),
    BadInput("task-duplicate-text", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:", "duplicates line 1"],
             {"t.jsonl": task_file(task_rows(1)[0].replace('"label": 0', '"label": 1'))}),
    BadInput("task-bad-split", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:1:", "'split' is 'dev'"],
             {"t.jsonl": task_file('{"text": "dev row", "label": 0, "split": "dev"}', at=1)}),
    BadInput("task-split-on-one-row", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "'split' is set here but not on line 1"],
             {"t.jsonl": task_file('{"text": "test row", "label": 0, "split": "test"}')}),
    BadInput("task-too-few-rows", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:", "5 rows"], {"t.jsonl": "\n".join(task_rows(5)) + "\n"}),
    BadInput("task-one-class", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:", "on every row"],
             {"t.jsonl": "\n".join(json.dumps({"text": f"row {index}", "label": 1}) for index in range(24)) + "\n"}),
    BadInput("task-empty-file", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:", "no rows"], {"t.jsonl": ""}),
    BadInput("task-not-utf8", run_task(f"file:{TMP}/t.jsonl"), [f"{TMP}/t.jsonl:2:", "not valid UTF-8"],
             {"t.jsonl": task_file('{"text": "cafe", "label": 0}').encode().replace(b"cafe", b"caf\xe9")}),
    BadInput("task-missing-file", run_task(f"file:{TMP}/absent.jsonl"), [f"{TMP}/absent.jsonl: file not found"]),
    BadInput("task-unknown-option", run_task(f"file:{TMP}/t.jsonl?txt=body"), [f"file:{TMP}/t.jsonl?txt=body", "option 'txt' is unknown"], {"t.jsonl": task_file()}),
    BadInput("task-unsupported-type", run_task(f"file:{TMP}/t.txt"), [f"{TMP}/t.txt:", "'.txt' is not supported"], {"t.txt": "text,label\n"}),
    # --- task files, CSV ------------------------------------------------------
    BadInput("csv-missing-column", run_task(f"file:{TMP}/t.csv"), [f"{TMP}/t.csv:1:", "no column 'text'"], {"t.csv": csv_file("review,label")}),
    BadInput("csv-wrong-field-count", run_task(f"file:{TMP}/t.csv"), [f"{TMP}/t.csv:3:", "3 fields"], {"t.csv": csv_file("text,label", "one,two,0")}),
    BadInput("csv-empty-label", run_task(f"file:{TMP}/t.csv"), [f"{TMP}/t.csv:3:", "'label' is empty"], {"t.csv": csv_file("text,label", "no label,")}),
    BadInput("csv-header-only", run_task(f"file:{TMP}/t.csv"), [f"{TMP}/t.csv:", "no rows"], {"t.csv": "text,label\n"}),
    # --- preference pairs (pairs:PATH) -------------------------------------------
    BadInput("pairs-invalid-json", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:2:", "invalid JSON"], {"p.jsonl": pairs_file('{"prompt": ')}),
    BadInput("pairs-not-object", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:2:", "expected a JSON object"], {"p.jsonl": pairs_file('"a string"')}),
    BadInput("pairs-missing-rejected", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:2:", "'rejected' is missing"],
             {"p.jsonl": pairs_file(json.dumps({"prompt": "Q?", "chosen": "A."}))}),
    BadInput("pairs-identical-replies", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:2:", "the same reply"],
             {"p.jsonl": pairs_file(pair(chosen="Same.", rejected="Same."))}),
    BadInput("pairs-empty-chosen", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:2:", "'chosen' is empty"], {"p.jsonl": pairs_file(pair(chosen=""))}),
    BadInput("pairs-chosen-number", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:2:", "'chosen' is int"],
             {"p.jsonl": pairs_file(json.dumps({"prompt": "Q?", "chosen": 3, "rejected": "No."}))}),
    BadInput("pairs-bad-split", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:2:", "'split' is 'dev'"], {"p.jsonl": pairs_file(pair(split="dev"))}),
    BadInput("pairs-duplicate", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:3:", "repeats line 2"], {"p.jsonl": pairs_file(pair(), pair())}),
    BadInput("pairs-empty-file", run_task(f"pairs:{TMP}/p.jsonl"), [f"{TMP}/p.jsonl:", "no pairs"], {"p.jsonl": ""}),
    BadInput("pairs-not-gzip", run_task(f"pairs:{TMP}/p.jsonl.gz"), [f"{TMP}/p.jsonl.gz:", "not a readable gzip file"], {"p.jsonl.gz": "plain text"}),
    BadInput("pairs-missing-file", run_task(f"pairs:{TMP}/absent.jsonl"), [f"{TMP}/absent.jsonl:", "not found"]),
    BadInput("pairs-folder-without-train", run_task(f"pairs:{TMP}/pairs_folder"), [f"{TMP}/pairs_folder:", "no train.jsonl"],
             {"pairs_folder/test.jsonl": pairs_file()}),
    # --- grid TOML files ------------------------------------------------------
    BadInput("grid-invalid-toml", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:", "invalid TOML"], {"g.toml": "tasks = [\n"}),
    BadInput("grid-unknown-field", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "unknown field 'sedes'"],
             {"g.toml": grid('tasks = ["rotten_tomatoes"]\nsedes = [0]')}),
    BadInput("grid-unknown-task", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:2:", "unknown task 'imbd'"], {"g.toml": grid('tasks = ["imbd"]')}),
    BadInput("grid-unknown-method", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "unknown method 'naiv'"],
             {"g.toml": grid('tasks = ["rotten_tomatoes"]\nmethods = ["naiv"]')}),
    BadInput("grid-unknown-model", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "unknown model 'minilm-l9'"],
             {"g.toml": grid('tasks = ["rotten_tomatoes"]\npairs = [["minilm-l9", "minilm-l1"]]')}),
    BadInput("grid-negative-seed", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "seed -1 is invalid"], {"g.toml": grid('tasks = ["rotten_tomatoes"]\nseeds = [-1]')}),
    BadInput("grid-seed-text", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "seed 'one' is invalid"], {"g.toml": grid('tasks = ["rotten_tomatoes"]\nseeds = ["one"]')}),
    BadInput("grid-duplicate-seed", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "lists a seed twice"], {"g.toml": grid('tasks = ["rotten_tomatoes"]\nseeds = [1, 1]')}),
    BadInput("grid-zero-epochs", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "epochs: 0 is invalid"], {"g.toml": grid('tasks = ["rotten_tomatoes"]\nepochs = 0')}),
    BadInput("grid-negative-lr", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "lr: -0.1 is invalid"], {"g.toml": grid('tasks = ["rotten_tomatoes"]\nlr = -0.1')}),
    BadInput("grid-max-train-one", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "max_train: 1 is invalid"],
             {"g.toml": grid('tasks = ["rotten_tomatoes"]\nmax_train = 1')}),
    BadInput("grid-bad-mode", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "'train' is invalid"], {"g.toml": grid('tasks = ["rotten_tomatoes"]\nmode = "train"')}),
    BadInput("grid-empty-methods", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "non-empty list"], {"g.toml": grid('tasks = ["rotten_tomatoes"]\nmethods = []')}),
    BadInput("grid-pair-of-three", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "is invalid"],
             {"g.toml": grid('tasks = ["rotten_tomatoes"]\npairs = [["minilm-l1", "minilm-l2", "minilm-l6"]]')}),
    BadInput("grid-no-tasks", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:", "tasks", "missing"], {"g.toml": grid('seeds = [0]')}),
    BadInput("grid-one-model-ladder", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "at least two model names"],
             {"g.toml": grid('tasks = ["rotten_tomatoes"]\nladders = [["minilm-l1"]]')}),
    BadInput("grid-option-not-number", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "alpha_max='high' is invalid"],
             {"g.toml": grid('tasks = ["rotten_tomatoes"]\nmethods = [{ name = "aux_conf", options = { alpha_max = "high" } }]')}),
    BadInput("grid-not-utf8", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml", "cannot be read"], {"g.toml": b'name = "caf\xe9"\n'}),
    BadInput("grid-missing-file", ["grid", f"{TMP}/absent.toml"], [f"{TMP}/absent.toml not found"]),
    BadInput("grid-file-is-folder", ["grid", f"{TMP}/folder.toml"], [f"{TMP}/folder.toml", "is a directory"], {"folder.toml/keep": ""}),
    BadInput("grid-task-outside", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:2:", "unknown task '../../escape'"], {"g.toml": grid('tasks = ["../../escape"]')}),
    BadInput("grid-method-outside", ["grid", f"{TMP}/g.toml"], [f"{TMP}/g.toml:3:", "unknown method '../escape'"],
             {"g.toml": grid('tasks = ["rotten_tomatoes"]\nmethods = ["../escape"]')}),
    # --- command-line values ----------------------------------------------------
    BadInput("cli-negative-seed", ["run", "--seed", "-1", *MODELS], ["--seed", "seed -1 is negative"]),
    BadInput("cli-seed-text", ["run", "--seed", "x", *MODELS], ["--seed", "seed 'x' is not an integer"]),
    BadInput("cli-seed-empty", ["run", "--seed", ",", *MODELS], ["--seed", "give at least one seed"]),
    BadInput("cli-zero-epochs", ["run", "--epochs", "0", *MODELS], ["--epochs", "0 is not in the range"]),
    BadInput("cli-negative-max-train", ["run", "--max-train", "-5", *MODELS], ["--max-train", "-5"]),
    BadInput("cli-max-train-one", ["run", "--max-train", "1", *MODELS], ["max_train=1 is invalid"]),
    BadInput("cli-max-test-one", ["run", "--max-test", "1", *MODELS], ["max_test=1 is invalid"]),
    BadInput("cli-negative-lr", ["run", "--lr", "-1", *MODELS], ["lr=-1.0 is invalid"]),
    BadInput("cli-nan-lr", ["run", "--lr", "nan", *MODELS], ["lr=nan is invalid"]),
    BadInput("cli-zero-batch-size", ["run", "--batch-size", "0", *MODELS], ["--batch-size", "0 is not in the range"]),
    BadInput("cli-unknown-mode", ["run", "--mode", "train", *MODELS], ["--mode", "'train' is not one of"]),
    BadInput("cli-unknown-device", ["run", "--device", "tpu7", *MODELS], ["device 'tpu7' is invalid"]),
    BadInput("cli-unknown-task", ["run", "--task", "imbd", *MODELS], ["unknown task 'imbd'"]),
    BadInput("cli-unknown-method", ["run", "--method", "naive,naiv", *MODELS], ["unknown method 'naiv'"]),
    BadInput("cli-unknown-model", ["run", "--weak", "minilm-l9", "--strong", "minilm-l1"], ["unknown model 'minilm-l9'"]),
    BadInput("cli-task-outside", ["run", "--task", "../../escape", *MODELS], ["unknown task '../../escape'"]),
    BadInput("cli-method-outside", ["run", "--method", "../escape", *MODELS], ["unknown method '../escape'"]),
    BadInput("cli-option-without-value", ["run", "--method", "aux_conf", "-o", "alpha_max", *MODELS], ["-o/--option", "'alpha_max' is not of the form KEY=VALUE"]),
    BadInput("cli-unknown-option", ["run", "--method", "aux_conf", "-o", "alpha=1", *MODELS], ["no option alpha"]),
    BadInput("cli-option-not-number", ["run", "--method", "aux_conf", "-o", "alpha_max=high", *MODELS], ["alpha_max='high' is invalid"]),
    BadInput("cli-option-out-of-range", ["run", "--method", "aux_conf", "-o", "alpha_max=3", *MODELS], ["alpha_max=3"]),
    BadInput("cli-one-model-ladder", ["run", "--method", "bootstrap", "--ladder", "minilm-l1"], ["ladder minilm-l1 has 1 model"]),
    BadInput("cli-unknown-flag", ["run", "--sed", "1"], ["--sed"]),
    BadInput("cli-missing-argument", ["plugins", "new"], ["Missing argument", "plugins new --help"]),
    BadInput("cli-grid-zero-jobs", ["grid", "--task", "rotten_tomatoes", "--jobs", "0"], ["--jobs", "0 is not in the range"]),
    BadInput("cli-grid-negative-seed", ["grid", "--task", "rotten_tomatoes", "--seeds", "-3"], ["--seeds", "seed -3 is negative"]),
    BadInput("cli-grid-task-outside", ["grid", "--task", "../escape"], ["--task", "unknown task '../escape'"]),
    BadInput("cli-grid-json-without-dry-run", ["grid", "--task", "rotten_tomatoes", "--json"], ["--json only applies to --dry-run"]),
    BadInput("cli-grid-without-input", ["grid"], ["give a grid file"]),
    BadInput("cli-report-format", ["report", "--format", "html"], ["--format", "'html' is not one of"]),
    BadInput("cli-report-missing-runs", ["report", "--runs-dir", f"{TMP}/absent"], [f"runs folder {TMP}/absent not found"]),
    BadInput("cli-tasks-show-unknown", ["tasks", "show", "../escape"], ["unknown task '../escape'"]),
    BadInput("cli-models-fetch-unknown", ["models", "fetch", "minilm-l9"], ["'minilm-l9' is not a packaged model"]),
]


def test_corpus_covers_every_format() -> None:
    prefixes = {case.name.split("-")[0] for case in CORPUS}

    assert len(CORPUS) >= 40
    assert prefixes == {"task", "csv", "pairs", "grid", "cli"}
    assert len({case.name for case in CORPUS}) == len(CORPUS)


def materialise(case: BadInput, tmp_path: Path) -> tuple[list[str], list[str]]:
    """Write the case's files under ``tmp_path``; return its arguments and expected texts."""
    for relative, content in case.files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    def fill(text: str) -> str:
        return text.replace(TMP, str(tmp_path))

    return [fill(arg) for arg in case.args], [fill(text) for text in case.expect]


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_bad_input_is_one_line_exit_2(case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args, expected = materialise(case, tmp_path)
    runs = tmp_path / "runs"
    if args[0] in ("run", "grid", "report") and "--runs-dir" not in args:
        args += ["--runs-dir", str(runs)]
    monkeypatch.chdir(tmp_path)  # a stray default folder would land here, not in the repository

    result = CliRunner().invoke(cli, args)

    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0]
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert list(tmp_path.rglob("record.json")) == []


def test_group_without_command_prints_help() -> None:
    result = CliRunner().invoke(cli, ["models"])

    assert "Usage: cli models" in result.output
    assert "error:" not in result.output
