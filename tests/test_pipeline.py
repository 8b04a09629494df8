"""The weak-to-strong pipeline on real data with real (small) models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from w2s_bench.metrics import pgr
from w2s_bench.pipeline import CellConfig, Pipeline
from w2s_bench.plugins.models.hf import last_token_pool, mean_pool
from w2s_bench.registry import Registry
from w2s_bench.report import write_leaderboards
from w2s_bench.store import RunStore


def small_cell(weak: Path | str, method: str = "naive", **overrides) -> CellConfig:
    settings = dict(task="rotten_tomatoes", method=method, weak=str(weak), strong="minilm-l1", seed=0, max_train=300, max_test=200)
    settings.update(overrides)
    return CellConfig(**settings)


def phase_folders(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.glob("*/*") if path.is_dir()}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


def test_cell_metrics_are_consistent(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    result = Pipeline(registry, RunStore(tmp_path)).run(small_cell(tiny_model_dir))

    for value in (result.weak_accuracy, result.ceiling_accuracy, result.student_accuracy):
        assert 0.0 <= value <= 1.0
    assert result.pgr == pgr(result.weak_accuracy, result.ceiling_accuracy, result.student_accuracy)
    assert result.record.metrics["num_test"] == 200


def test_methods_share_weak_and_ceiling(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    pipeline = Pipeline(registry, RunStore(tmp_path))
    naive = pipeline.run(small_cell(tiny_model_dir))
    aux = pipeline.run(small_cell(tiny_model_dir, method="aux_conf"))

    assert len(list((tmp_path / "weak").iterdir())) == 1
    assert len(list((tmp_path / "ceiling").iterdir())) == 1
    assert len(list((tmp_path / "student").iterdir())) == 2
    assert naive.weak_accuracy == aux.weak_accuracy


def test_rerun_reuses_every_phase(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    first = Pipeline(registry, RunStore(tmp_path)).run(small_cell(tiny_model_dir))
    folders = phase_folders(tmp_path)
    mtimes = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("record.json")}

    second = Pipeline(registry, RunStore(tmp_path)).run(small_cell(tiny_model_dir))

    assert phase_folders(tmp_path) == folders
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("record.json")} == mtimes
    assert second.record.metrics == first.record.metrics


def test_same_seed_gives_identical_metrics(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    first = Pipeline(registry, RunStore(tmp_path / "a")).run(small_cell(tiny_model_dir, method="aux_conf"))
    second = Pipeline(registry, RunStore(tmp_path / "b")).run(small_cell(tiny_model_dir, method="aux_conf"))

    assert first.record.metrics == second.record.metrics


def test_corrupt_weak_labels_are_recomputed(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    first = Pipeline(registry, RunStore(tmp_path)).run(small_cell(tiny_model_dir))
    predictions = next((tmp_path / "weak").glob("*/predictions.safetensors"))
    predictions.write_bytes(predictions.read_bytes()[:-10])

    second = Pipeline(registry, RunStore(tmp_path)).run(small_cell(tiny_model_dir))

    assert second.weak_accuracy == first.weak_accuracy
    assert RunStore(tmp_path).load("weak", second.record.data["phases"]["weak"]) is not None


def test_finetune_mode_trains_the_backbone(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    cell = small_cell(tiny_model_dir, strong=str(tiny_model_dir), mode="finetune", max_train=64, max_test=32)
    result = Pipeline(registry, RunStore(tmp_path)).run(cell)

    assert result.record.data["config"]["mode"] == "finetune"
    assert 0.0 <= result.student_accuracy <= 1.0


def test_report_renders_markdown_table(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    store = RunStore(tmp_path / "runs")
    pipeline = Pipeline(registry, store)
    for seed in (0, 1):
        pipeline.run(small_cell(tiny_model_dir, seed=seed))

    [page] = write_leaderboards(store, tmp_path / "boards")
    lines = page.read_text().splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("| method"))

    assert page.name == "rotten_tomatoes.md"
    assert set(lines[header + 1]) <= set("|-: ")
    assert "0,1" in lines[header + 2]


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0], [3.0], [100.0]]])
    mask = torch.tensor([[1, 1, 0]])

    assert mean_pool(hidden, mask).item() == 2.0


@pytest.mark.parametrize(
    ("mask", "expected"),
    [([[1, 1, 0, 0]], 2.0), ([[0, 0, 1, 1]], 4.0), ([[1, 1, 1, 1]], 4.0)],
)
def test_last_token_pool_uses_mask_not_pad_id(mask: list, expected: float) -> None:
    hidden = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])

    assert last_token_pool(hidden, torch.tensor(mask)).item() == expected
