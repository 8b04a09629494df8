"""The bootstrap method: ladders, their validation, stored steps and their reuse."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest
import torch

from conftest import SMALL, run_cli
from rank_task import RANK_TASK, registry_with_rank_task
from w2s_bench.data import split_halves
from w2s_bench.errors import UserError
from w2s_bench.ladder import STEP_PHASE, parse_ladder
from w2s_bench.metrics import pgr
from w2s_bench.pipeline import PREDICTIONS_FILE, CellConfig, CellResult, Pipeline
from w2s_bench.registry import Registry
from w2s_bench.report import write_leaderboards
from w2s_bench.store import RunStore


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from more threads, and on a busy CPU extra threads slow them down."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("W2S_BENCH_THREADS", "1")
        yield


def bootstrap_cell(weak: Path | str, ladder: list[str], **overrides) -> CellConfig:
    options = {"ladder": ",".join(ladder), **overrides.pop("method_options", {})}
    settings = dict(task="rotten_tomatoes", method="bootstrap", weak=str(weak), strong=ladder[-1], seed=0,
                    max_train=300, max_test=200, method_options=options)
    settings.update(overrides)
    return CellConfig(**settings)


class TrainingSpy:
    """Records (phase label, model) of every training the pipeline runs."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.calls: list[tuple[str, str]] = []
        original = pipeline._train_and_predict

        def spy(cell, model_name, data, rows, targets, loss_fn, phase, predict_rows):
            self.calls.append((phase, model_name))
            return original(cell, model_name, data, rows, targets, loss_fn, phase, predict_rows)

        pipeline._train_and_predict = spy  # type: ignore[method-assign]


# --- ladders -------------------------------------------------------------


def test_default_ladder_follows_packaged_family(registry: Registry) -> None:
    hook = registry.manager.hook.w2s_bench_default_ladder

    assert hook(task_kind="nlp", weak="minilm-l2", strong="mpnet-base") == ["minilm-l2", "minilm-l6", "mpnet-base"]
    assert hook(task_kind="reward", weak="minilm-l1", strong="minilm-l6") == ["minilm-l1", "minilm-l2", "minilm-l6"]
    assert hook(task_kind="nlp", weak="mpnet-base", strong="minilm-l2") is None
    assert hook(task_kind="nlp", weak="minilm-l2", strong="smollm2-135m") is None
    assert hook(task_kind="nlp", weak="org/model", strong="mpnet-base") is None


@pytest.mark.parametrize(
    ("ladder", "message"),
    [("minilm-l2", "has 1 model"), ("", "has 0 models"), ("minilm-l2,minilm-l6,minilm-l2", "more than once")],
)
def test_parse_ladder_rejects_bad_ladders(ladder: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_ladder(ladder)


def test_parse_ladder_accepts_list_and_text() -> None:
    assert parse_ladder(" minilm-l1 , minilm-l6 ") == ["minilm-l1", "minilm-l6"]
    assert parse_ladder(["minilm-l1", "minilm-l6"]) == ["minilm-l1", "minilm-l6"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--ladder", "minilm-l2"], "ladder minilm-l2 has 1 model"),
        (["--ladder", "minilm-l2,no-such-model,mpnet-base"], "unknown model 'no-such-model'"),
        (["--ladder", "minilm-l2,minilm-l6", "--strong", "mpnet-base"], "ends with minilm-l6, but the strong model is mpnet-base"),
        (["-o", "ladder=minilm-l1,minilm-l6", "--weak", "minilm-l2", "--strong", "minilm-l6"], "starts with minilm-l1, but the weak model is minilm-l2"),
        (["--weak", "minilm-l6", "--strong", "minilm-l2"], "no default bootstrap ladder from minilm-l6 to minilm-l2"),
        (["--loss", "bootstrap"], "not a plain student loss"),
    ],
)
def test_cli_rejects_bad_ladder(tmp_path: Path, arguments: list[str], message: str) -> None:
    result = run_cli("run", "--method", "bootstrap", "--runs-dir", str(tmp_path), *SMALL, *arguments)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "weak").exists()


def test_cli_ladder_option_needs_bootstrap(tmp_path: Path) -> None:
    result = run_cli("run", "--method", "naive", "--ladder", "minilm-l1,minilm-l6", "--runs-dir", str(tmp_path))

    assert result.returncode == 2
    assert "--ladder is an option of bootstrap" in result.stderr


# --- steps ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ladder_run(tmp_path_factory: pytest.TempPathFactory, registry: Registry, tiny_model_dir: Path) -> tuple[RunStore, CellResult]:
    """One bootstrap cell tiny → minilm-l1 → minilm-l2, shared by the tests that only read it."""
    store = RunStore(tmp_path_factory.mktemp("ladder-runs"))
    cell = bootstrap_cell(tiny_model_dir, [str(tiny_model_dir), "minilm-l1", "minilm-l2"])
    return store, Pipeline(registry, store).run(cell)


def store_with_features(root: Path, source: RunStore) -> RunStore:
    """A fresh run store holding only the cached features of ``source``, so no test recomputes them."""
    shutil.copytree(source.root / "features", root / "features")
    return RunStore(root)


def test_steps_reuse_half_two(ladder_run: tuple[RunStore, CellResult]) -> None:
    store, result = ladder_run
    phases = result.record.data["phases"]
    split = split_halves(300, seed=0)

    step2 = store.load(STEP_PHASE, phases["bootstrap:2"])
    step3 = store.load(STEP_PHASE, phases["bootstrap:3"])
    assert step2.data["config"]["previous_step"] == phases["weak"]
    assert step3.data["config"]["previous_step"] == phases["bootstrap:2"]
    for step in (step2, step3):
        assert step.data["config"]["trained_on"] == "half2:previous_step_labels"
        assert torch.equal(step.tensors(PREDICTIONS_FILE)["half2"], torch.from_numpy(split.half2))
        assert step.tensors(PREDICTIONS_FILE)["labels"].shape == (150, 2)


def test_cell_reports_both_students(ladder_run: tuple[RunStore, CellResult], tiny_model_dir: Path) -> None:
    store, result = ladder_run
    metrics = result.record.metrics
    phases = result.record.data["phases"]

    final = store.load(STEP_PHASE, phases["bootstrap:3"])
    direct = store.load("student", phases["student"])
    assert result.student_accuracy == final.metrics["test_accuracy"]
    assert metrics["direct_student_accuracy"] == direct.metrics["test_accuracy"]
    assert result.pgr == pgr(result.weak_accuracy, result.ceiling_accuracy, result.student_accuracy)
    assert metrics["direct_pgr"] == pgr(result.weak_accuracy, result.ceiling_accuracy, metrics["direct_student_accuracy"])
    assert [step["model"] for step in metrics["ladder_steps"]] == [str(tiny_model_dir), "minilm-l1", "minilm-l2"]
    assert metrics["ladder_steps"][0]["test_accuracy"] == result.weak_accuracy


def test_rerun_trains_nothing(ladder_run: tuple[RunStore, CellResult], registry: Registry) -> None:
    store, first = ladder_run
    pipeline = Pipeline(registry, store)
    spy = TrainingSpy(pipeline)
    second = pipeline.run(first.config)

    assert spy.calls == []
    assert second.record.metrics == first.record.metrics


def test_direct_jump_shared_with_plain_method(ladder_run: tuple[RunStore, CellResult], registry: Registry, tiny_model_dir: Path) -> None:
    store, _ = ladder_run
    ladder = [str(tiny_model_dir), "minilm-l1", "minilm-l2"]
    bootstrap = Pipeline(registry, store).run(bootstrap_cell(tiny_model_dir, ladder, method_options={"loss": "aux_conf"}))

    pipeline = Pipeline(registry, store)
    spy = TrainingSpy(pipeline)
    plain = pipeline.run(CellConfig(task="rotten_tomatoes", method="aux_conf", weak=str(tiny_model_dir), strong="minilm-l2",
                                    seed=0, max_train=300, max_test=200))

    assert spy.calls == []
    assert plain.record.data["phases"]["student"] == bootstrap.record.data["phases"]["student"]
    assert bootstrap.record.metrics["loss"]["name"] == "aux_conf"


def test_shared_prefix_trains_only_new_steps(tmp_path: Path, ladder_run: tuple[RunStore, CellResult], registry: Registry,
                                             tiny_model_dir: Path) -> None:
    store = store_with_features(tmp_path, ladder_run[0])
    Pipeline(registry, store).run(bootstrap_cell(tiny_model_dir, [str(tiny_model_dir), "minilm-l1"]))
    step_records = {path: path.stat().st_mtime_ns for path in (tmp_path / STEP_PHASE).glob("*/record.json")}

    second = Pipeline(registry, store)
    spy = TrainingSpy(second)
    result = second.run(bootstrap_cell(tiny_model_dir, [str(tiny_model_dir), "minilm-l1", "minilm-l2"]))

    bootstrap_trainings = [call for call in spy.calls if call[0].startswith("bootstrap")]
    assert bootstrap_trainings == [("bootstrap step 3/3", "minilm-l2")]
    assert ("weak", str(tiny_model_dir)) not in spy.calls
    assert len(step_records) == 1
    assert {path: path.stat().st_mtime_ns for path in step_records} == step_records
    assert len(list((tmp_path / STEP_PHASE).glob("*/record.json"))) == 2
    assert result.record.metrics["ladder_steps"][1]["model"] == "minilm-l1"


def test_bootstrap_on_padded_rank_task(tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = registry_with_rank_task()
    cell = CellConfig(task=RANK_TASK, method="bootstrap", weak=str(tiny_model_dir), strong="minilm-l2", seed=0,
                      method_options={"ladder": f"{tiny_model_dir},minilm-l1,minilm-l2", "loss": "aux_conf"})
    result = Pipeline(registry, RunStore(tmp_path)).run(cell)
    step = RunStore(tmp_path).load(STEP_PHASE, result.record.data["phases"]["bootstrap:2"])
    labels = step.tensors(PREDICTIONS_FILE)["labels"]

    assert labels.shape == (60, 4)
    assert torch.allclose(labels.sum(dim=-1), torch.ones(60))
    # examples with two candidates put no probability on the padded slots
    data = registry.task(RANK_TASK).create().load()
    half2 = split_halves(len(data.train), 0).half2
    widths = torch.tensor([len(data.train[row].texts) for row in half2])
    assert float(labels[widths == 2][:, 2:].abs().sum()) == 0.0
    assert len(result.record.metrics["ladder_steps"]) == 3


def test_leaderboard_shows_steps_and_direct_jump(tmp_path: Path, ladder_run: tuple[RunStore, CellResult]) -> None:
    store, result = ladder_run
    [page] = write_leaderboards(store, tmp_path)
    lines = page.read_text().splitlines()
    section = lines.index("## Bootstrap: every ladder step, the bootstrapped student and the direct jump")
    row = next(line for line in lines[section:] if line.startswith("| bootstrap(ladder=") and "aux_conf" not in line)
    steps = result.record.metrics["ladder_steps"]

    assert f"minilm-l1 {steps[1]['test_accuracy']:.3f} → minilm-l2 {steps[2]['test_accuracy']:.3f}" in row
    assert f"| {result.record.metrics['direct_student_accuracy']:.3f} " in row
    assert f"| {result.student_accuracy:.3f} " in row


def test_cli_prints_every_step(tmp_path: Path, tiny_model_dir: Path) -> None:
    result = run_cli("run", "--method", "bootstrap", "--ladder", f"{tiny_model_dir},minilm-l1", "--runs-dir", str(tmp_path),
                     "--max-train", "200", "--max-test", "100", env={"W2S_BENCH_THREADS": "1", "COLUMNS": "400"})

    assert result.returncode == 0, result.stderr
    assert "bootstrap ladder steps" in result.stdout
    assert "half 2, labels of step 1" in result.stdout
    assert "direct-jump student" in result.stdout
    assert "bootstrap PGR" in result.stdout
