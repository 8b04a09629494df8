"""Numerical faults, determinism, running offline and unsafe inputs."""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from conftest import CLI, REPO, run_cli
from reliability_support import read_tree
from w2s_bench.cli import cli
from w2s_bench.data import split_halves
from w2s_bench.pipeline import CellConfig, Pipeline
from w2s_bench.registry import Registry
from w2s_bench.store import RunStore

TINY_SLICE = ["--max-train", "100", "--max-test", "50"]


def tiny_run_args(model: Path | str, runs: Path, *extra: str) -> list[str]:
    return ["run", "--weak", str(model), "--strong", str(model), "--runs-dir", str(runs), *TINY_SLICE, *extra]


def stored_records(runs: Path) -> list[Path]:
    return sorted(runs.rglob("record.json"))


# --- numerical faults ----------------------------------------------------------


def test_nan_loss_stops_cell_naming_phase_and_step(tmp_path: Path, tiny_model_dir: Path) -> None:
    runs = tmp_path / "runs"

    result = run_cli(*tiny_run_args(tiny_model_dir, runs, "--lr", "1e30"))

    last_line = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2, result.stderr
    assert re.fullmatch(r"error: weak: loss became nan at step \d+ of \d+; lower the learning rate \(lr=1e\+30\)", last_line), last_line
    assert "Traceback" not in result.stderr
    assert [path.parent.parent.name for path in stored_records(runs)] == ["features"]


# --- determinism ---------------------------------------------------------------


def visible_files(runs: Path) -> dict[str, bytes]:
    return {name: content for name, content in read_tree(runs).items() if not Path(name).name.startswith(".")}


def test_same_seed_gives_identical_files(tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry()
    cell = CellConfig("rotten_tomatoes", "aux_conf", str(tiny_model_dir), str(tiny_model_dir), seed=3, max_train=100, max_test=50)

    first = Pipeline(registry, RunStore(tmp_path / "first")).run(cell)
    second = Pipeline(registry, RunStore(tmp_path / "second")).run(cell)

    assert first.record.metrics == second.record.metrics
    first_files, second_files = visible_files(tmp_path / "first"), visible_files(tmp_path / "second")
    assert sorted(first_files) == sorted(second_files)
    weak_labels = [name for name in first_files if name.startswith("weak/") and name.endswith(".safetensors")]
    assert len(weak_labels) == 1
    for name, content in first_files.items():
        assert second_files[name] == content, name


def test_different_seeds_give_different_splits(tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry()
    pipeline = Pipeline(registry, RunStore(tmp_path))
    cells = [CellConfig("rotten_tomatoes", "naive", str(tiny_model_dir), str(tiny_model_dir), seed=seed, max_train=100, max_test=50)
             for seed in (0, 1)]

    halves = []
    for cell in cells:
        weak_key = pipeline.run(cell).record.data["phases"]["weak"]
        halves.append(RunStore(tmp_path).load("weak", weak_key).tensors("predictions.safetensors")["half2"])

    assert not torch.equal(halves[0], halves[1])
    assert sorted(halves[0].tolist()) != sorted(halves[1].tolist())
    assert torch.equal(halves[0], torch.from_numpy(split_halves(100, 0).half2))
    assert torch.equal(halves[1], torch.from_numpy(split_halves(100, 1).half2))


# --- no network needed -----------------------------------------------------------


def network_namespace_command() -> list[str] | None:
    """``unshare`` arguments that cut the network off, or None where this machine forbids it."""
    if shutil.which("unshare") is None:
        return None
    for command in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
        try:
            probe = subprocess.run([*command, "true"], capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return command
    return None


def default_models_fetched() -> bool:
    from w2s_bench.cli import DEFAULT_STRONG, DEFAULT_WEAK
    from w2s_bench.plugins.models.packaged import PACKAGED_MODELS, read_manifest, source_folder

    return all(read_manifest(source_folder(PACKAGED_MODELS[name].source)) is not None for name in (DEFAULT_WEAK, DEFAULT_STRONG))


def run_without_network(runs: Path, *models: str) -> subprocess.CompletedProcess:
    """Run ``w2s-bench run`` on a tiny slice inside a network namespace, without HF_HUB_OFFLINE."""
    command = network_namespace_command()
    if command is None:
        pytest.skip("unshare cannot create a network namespace here (needs root or unprivileged user namespaces)")
    env = {name: value for name, value in os.environ.items() if name != "HF_HUB_OFFLINE"}
    arguments = ["run", *models, "--max-train", "20", "--max-test", "10", "--runs-dir", str(runs)]
    return subprocess.run([*command, *CLI, *arguments], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def test_packaged_models_run_without_network(tmp_path: Path, minilm_dir: Path) -> None:
    # minilm-l1 and minilm-l2 take the same offline path as the default pair,
    # at a fraction of mpnet-base's cost
    result = run_without_network(tmp_path / "runs", "--weak", "minilm-l1", "--strong", "minilm-l2")

    assert result.returncode == 0, result.stderr
    assert "rotten_tomatoes" in result.stdout
    assert len(list((tmp_path / "runs" / "cells").glob("*/record.json"))) == 1


@pytest.mark.slow
def test_default_run_works_without_network(tmp_path: Path) -> None:
    if not default_models_fetched():
        pytest.skip("the default models are not in the cache; run `w2s-bench models fetch` first")

    result = run_without_network(tmp_path / "runs")

    assert result.returncode == 0, result.stderr
    assert "minilm-l2" in result.stdout
    assert "mpnet-base" in result.stdout
    assert len(list((tmp_path / "runs" / "cells").glob("*/record.json"))) == 1


# --- safety of inputs ------------------------------------------------------------

SOURCE_FOLDERS = ("w2s_bench", "plugins", "tasks")

#: Calls that can run code from a file a user is handed, and what makes a call safe.
UNSAFE_LOADS = [
    (re.compile(r"\bpickle\.loads?\("), None),
    (re.compile(r"\b(cloudpickle|dill|joblib)\b"), None),
    (re.compile(r"\bread_pickle\("), None),
    (re.compile(r"\byaml\.(unsafe_)?load\("), re.compile(r"SafeLoader")),
    (re.compile(r"\b(np|numpy)\.load\("), re.compile(r"allow_pickle\s*=\s*False")),
    (re.compile(r"\btorch\.load\("), re.compile(r"weights_only\s*=\s*True")),
    (re.compile(r"trust_remote_code\s*=\s*True"), None),
]


def unsafe_loads(text: str) -> list[tuple[int, str]]:
    """Return (line, call) for each unsafe load in Python source ``text``."""
    found = []
    for pattern, safe in UNSAFE_LOADS:
        for match in pattern.finditer(text):
            call = text[match.start():text.find(")", match.end()) + 1]
            if safe is None or not safe.search(call):
                found.append((text.count("\n", 0, match.start()) + 1, call.strip()[:80]))
    return found


@pytest.mark.parametrize(("source", "unsafe"), [
    ("state = torch.load(path)", True),
    ("state = torch.load(path, map_location='cpu',\n    weights_only=False)", True),
    ("state = torch.load(path, weights_only=True)", False),
    ("rows = pickle.loads(blob)", True),
    ("array = np.load(path, allow_pickle=True)", True),
    ("array = np.load(path, allow_pickle=False)", False),
    ("config = yaml.load(text, Loader=yaml.SafeLoader)", False),
    ("model = AutoModel.from_pretrained(name, trust_remote_code=True)", True),
])
def test_unsafe_load_scan_finds_calls(source: str, unsafe: bool) -> None:
    assert bool(unsafe_loads(source)) == unsafe


def test_source_has_no_unsafe_loads() -> None:
    problems = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            for line, call in unsafe_loads(path.read_text(encoding="utf-8")):
                problems.append(f"{path.relative_to(REPO)}:{line}: {call}")

    assert problems == []


class WritesMarker:
    """A pickled object whose unpickling creates a file: the harmless form of a code-running checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def model_folder_without_weights(tiny_model_dir: Path, folder: Path) -> Path:
    shutil.copytree(tiny_model_dir, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    return folder


def run_in_process(args: list[str]):
    return CliRunner().invoke(cli, args)


def test_pickled_checkpoint_never_runs_code(tmp_path: Path, tiny_model_dir: Path) -> None:
    marker = tmp_path / "code-ran"
    model = model_folder_without_weights(tiny_model_dir, tmp_path / "model")
    with open(model / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"embeddings.word_embeddings.weight": WritesMarker(marker)}, handle, protocol=2)

    result = run_in_process(tiny_run_args(model, tmp_path / "runs"))

    assert not marker.exists()
    assert result.exit_code == 2, result.output
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"error: cannot load weights of '{model}'"), last_line
    assert "loading it could run code; use a safetensors file" in last_line
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs" / "cells").exists()


def test_remote_code_in_model_folder_never_runs(tmp_path: Path, tiny_model_dir: Path) -> None:
    marker = tmp_path / "code-ran"
    model = model_folder_without_weights(tiny_model_dir, tmp_path / "model")
    config = json.loads((model / "config.json").read_text())
    config.update(model_type="custom-bert", auto_map={"AutoConfig": "custom.CustomConfig", "AutoModel": "custom.CustomModel"})
    (model / "config.json").write_text(json.dumps(config))
    (model / "custom.py").write_text(f"open({str(marker)!r}, 'w').close()\n")

    result = run_in_process(tiny_run_args(model, tmp_path / "runs"))

    assert not marker.exists()
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: cannot load model '{model}'"), lines[0]
    assert "Traceback" not in result.output


def test_corrupt_safetensors_checkpoint_is_one_line(tmp_path: Path, tiny_model_dir: Path) -> None:
    model = model_folder_without_weights(tiny_model_dir, tmp_path / "model")
    weights = (tiny_model_dir / "model.safetensors").read_bytes()
    (model / "model.safetensors").write_bytes(weights[: len(weights) // 2])

    result = run_in_process(tiny_run_args(model, tmp_path / "runs"))

    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: cannot load weights of '{model}'")
    assert "corrupt safetensors file" in result.stderr
    assert "Traceback" not in result.output


def test_names_never_write_outside_runs_and_out(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    data.mkdir()
    rows = [json.dumps({"text": f"review number {index} of the film", "label": index % 2}) for index in range(40)]
    (data / "reviews.jsonl").write_text("\n".join(rows) + "\n")
    (work / "grid.toml").write_text(
        'name = "../../escape"\n'
        'tasks = ["file:../data/reviews.jsonl"]\n'
        f'pairs = [["{tiny_model_dir}", "{tiny_model_dir}"]]\n'
        "epochs = 2\n"
    )
    monkeypatch.chdir(work)
    before = {path for path in tmp_path.rglob("*")}

    result = run_in_process(["grid", "grid.toml", "--runs-dir", "runs", "--report", "--out", "out"])

    assert result.exit_code == 0, result.output
    written = {path for path in tmp_path.rglob("*") if path.is_file()} - before
    assert written
    outside = [path for path in written if not {work / "runs", work / "out"} & set(path.parents)]
    assert outside == []
    assert (work / "out" / "file-..-data-reviews.jsonl.md").is_file()


# --- the record checksum -----------------------------------------------------------


def saved_record(tmp_path: Path) -> tuple[RunStore, str, Path]:
    store = RunStore(tmp_path)
    key = "a" * 64
    store.save("cells", key, {"task": "t"}, {"student_accuracy": 0.625})
    return store, key, store.folder("cells", key) / "record.json"


def test_edited_metric_fails_record_checksum(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store, key, path = saved_record(tmp_path)
    path.write_text(path.read_text().replace("0.625", "0.725"))

    with caplog.at_level(logging.WARNING, logger="w2s_bench.store"):
        assert store.load("cells", key) is None
        assert list(store.records("cells")) == []

    assert str(path) in caplog.text
    assert "checksum does not match" in caplog.text


def test_record_without_checksum_is_recomputed(tmp_path: Path) -> None:
    store, key, path = saved_record(tmp_path)
    data = json.loads(path.read_text())
    del data["checksum"]
    path.write_text(json.dumps(data))

    assert store.load("cells", key) is None


def test_record_in_wrong_folder_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store, key, path = saved_record(tmp_path)
    moved = path.parent.with_name("b" * 24)
    path.parent.rename(moved)

    with caplog.at_level(logging.WARNING, logger="w2s_bench.store"):
        assert list(store.records("cells")) == []

    assert "does not match its folder" in caplog.text


def test_lock_removes_stale_temporary_files(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    folder = store.folder("weak", "c" * 64)
    folder.mkdir(parents=True)
    stale = folder / ".predictions.safetensors.k3j2.tmp"
    stale.write_bytes(b"half a tensor file")

    with store.lock("weak", "c" * 64):
        assert not stale.exists()


def test_intact_record_still_loads(tmp_path: Path) -> None:
    store, key, _ = saved_record(tmp_path)

    record = store.load("cells", key)

    assert record is not None
    assert record.metrics == {"student_accuracy": 0.625}
