"""Generative finetuning: the language-model step, its storage, and cells built on it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

import pytest
import torch

from rank_task import RANK_TASK, rank_task_data, registry_with_rank_task
from w2s_bench.data import Example, TaskData
from w2s_bench.errors import UserError
from w2s_bench.generative import WEIGHTS_FILE, add_finetuned_model, generative_phase, select_texts, task_texts
from w2s_bench.language_model import (
    CAUSAL_LM,
    MASKED_LM,
    GenerativeSettings,
    finetune_language_model,
    load_language_model,
    mask_tokens,
)
from w2s_bench.hookspecs import hookimpl
from w2s_bench.metrics import pgr
from w2s_bench.pipeline import CellConfig, Pipeline
from w2s_bench.plugins.models.hf import HFBackbone
from w2s_bench.registry import Registry
from w2s_bench.report import write_leaderboards
from w2s_bench.specs import ModelSpec
from w2s_bench.store import RunStore

#: Large enough steps for a randomly initialised tiny model to learn quickly.
TINY_SETTINGS = GenerativeSettings(max_texts=192, epochs=2, batch_size=16, lr=5e-3, max_length=32, heldout=48, evaluations=2)
#: A few steps, for tests that only need the step to run.
SHORT_SETTINGS = GenerativeSettings(max_texts=64, batch_size=16, lr=5e-3, max_length=32, heldout=16, evaluations=1)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from more threads, and on a busy CPU extra threads slow them down."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("W2S_BENCH_THREADS", "1")
        yield


@pytest.fixture(scope="module")
def review_data(registry: Registry) -> TaskData:
    return registry.task("rotten_tomatoes").create().load().sliced(400, 100)


@pytest.fixture(scope="module")
def tiny_decoder_dir(tmp_path_factory: pytest.TempPathFactory, minilm_dir: Path) -> Path:
    """A 2-layer Llama with random weights and the real MiniLM tokenizer."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def with_shuffled_labels(data: TaskData, seed: int) -> TaskData:
    rng = random.Random(seed)
    labels = [example.label for example in data.train]
    rng.shuffle(labels)
    train = [Example(example.id, example.texts, label) for example, label in zip(data.train, labels)]
    return TaskData(data.name, data.head, data.num_candidates, train, data.test)


# --- the language-model step ---------------------------------------------


@pytest.mark.parametrize(("fixture", "objective"), [("tiny_model_dir", MASKED_LM), ("tiny_decoder_dir", CAUSAL_LM)])
def test_heldout_lm_loss_drops(fixture: str, objective: str, review_data: TaskData, request: pytest.FixtureRequest) -> None:
    backbone = HFBackbone("tiny", str(request.getfixturevalue(fixture)))
    train, heldout = select_texts(task_texts(review_data), TINY_SETTINGS)

    _, metrics = finetune_language_model(backbone, train, heldout, TINY_SETTINGS, torch.device("cpu"))

    assert metrics["objective"] == objective
    assert metrics["heldout_loss_after"] < metrics["heldout_loss_before"] - 0.5
    assert len(metrics["heldout_curve"]) == TINY_SETTINGS.evaluations + 1
    assert metrics["heldout_curve"][-1] == [metrics["steps"], metrics["heldout_loss_after"]]
    assert metrics["steps"] == 2 * 12


def test_encoder_without_head_gets_fresh_tied_head(tiny_model_dir: Path) -> None:
    model, fresh = load_language_model(HFBackbone("tiny", str(tiny_model_dir)), MASKED_LM, seed=0)

    assert fresh
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight


def test_decoder_keeps_pretrained_head(tiny_decoder_dir: Path) -> None:
    _, fresh = load_language_model(HFBackbone("tiny", str(tiny_decoder_dir)), CAUSAL_LM, seed=0)

    assert not fresh


def test_generative_step_ignores_labels(tmp_path: Path, registry: Registry, review_data: TaskData, tiny_model_dir: Path) -> None:
    device = torch.device("cpu")
    original = generative_phase(Pipeline(registry, RunStore(tmp_path / "a")), str(tiny_model_dir), review_data, SHORT_SETTINGS, device)
    shuffled_data = with_shuffled_labels(review_data, seed=1)
    shuffled = generative_phase(Pipeline(registry, RunStore(tmp_path / "b")), str(tiny_model_dir), shuffled_data, SHORT_SETTINGS, device)

    assert [e.label for e in shuffled_data.train] != [e.label for e in review_data.train]
    assert original.data["key"] == shuffled.data["key"]
    first, second = original.tensors(WEIGHTS_FILE), shuffled.tensors(WEIGHTS_FILE)
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def test_step_trains_the_weights(tmp_path: Path, registry: Registry, review_data: TaskData, tiny_model_dir: Path) -> None:
    pipeline = Pipeline(registry, RunStore(tmp_path))
    device = torch.device("cpu")
    record = generative_phase(pipeline, str(tiny_model_dir), review_data, SHORT_SETTINGS, device)
    name = add_finetuned_model(pipeline, str(tiny_model_dir), record)

    base = pipeline.backbone(str(tiny_model_dir), device).module.state_dict()
    finetuned = pipeline.backbone(name, device).module.state_dict()
    stored = record.tensors(WEIGHTS_FILE)
    assert torch.equal(finetuned["embeddings.word_embeddings.weight"], stored["embeddings.word_embeddings.weight"])
    assert not torch.equal(finetuned["encoder.layer.0.attention.self.query.weight"], base["encoder.layer.0.attention.self.query.weight"])
    assert pipeline.backbone_fingerprint(name, device) != pipeline.backbone_fingerprint(str(tiny_model_dir), device)


def test_rank_texts_include_every_candidate() -> None:
    data = rank_task_data()
    texts = task_texts(data)

    assert len(texts) == sum(len(example.texts) for example in data.train)
    assert texts == sorted(texts)
    assert not set(texts) & {text for example in data.test for text in example.texts}


def test_select_texts_holds_out_disjoint_texts() -> None:
    texts = [f"text {index}" for index in range(100)]
    train, heldout = select_texts(texts, GenerativeSettings(max_texts=50, heldout=40))

    assert len(heldout) == 25  # at most a quarter of the texts
    assert len(train) == 50
    assert not set(train) & set(heldout)
    assert select_texts(texts, GenerativeSettings(max_texts=50, heldout=40)) == (train, heldout)


def test_mask_tokens_skips_special_positions() -> None:
    input_ids = torch.arange(1, 201).reshape(4, 50)
    special = torch.zeros(4, 50, dtype=torch.bool)
    special[:, 0] = special[:, -10:] = True
    generator = torch.Generator().manual_seed(0)

    inputs, labels = mask_tokens(input_ids, special, 0.5, mask_id=999, vocab_size=1000, generator=generator)

    chosen = labels != -100
    assert not (chosen & special).any()
    assert torch.equal(labels[chosen], input_ids[chosen])
    assert torch.equal(inputs[~chosen], input_ids[~chosen])
    assert (inputs[chosen] == 999).float().mean() > 0.6


def test_mask_tokens_masks_at_least_one() -> None:
    input_ids = torch.arange(1, 5).reshape(1, 4)
    special = torch.tensor([[True, False, False, True]])
    _, labels = mask_tokens(input_ids, special, 1e-9, mask_id=0, vocab_size=10, generator=torch.Generator().manual_seed(0))

    assert int((labels != -100).sum()) == 1


@pytest.mark.parametrize(("override", "message"), [({"lr": 0.0}, "lr=0.0"), ({"max_length": 4}, "max_length=4"), ({"max_texts": 0}, "max_texts=0")])
def test_settings_reject_bad_values(override: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        GenerativeSettings(**override)


def test_default_settings_follow_device_and_objective() -> None:
    from w2s_bench.generative import CPU_DECODER_SETTINGS, CPU_SETTINGS, GPU_SETTINGS, default_settings

    assert default_settings(torch.device("cpu"), MASKED_LM) == CPU_SETTINGS
    assert default_settings(torch.device("cpu"), CAUSAL_LM) == CPU_DECODER_SETTINGS
    assert default_settings(torch.device("cuda"), CAUSAL_LM) == GPU_SETTINGS
    assert GPU_SETTINGS.max_texts is None


def test_method_rejects_bad_option(registry: Registry) -> None:
    with pytest.raises(UserError, match="max_length=2"):
        registry.method("generative-finetune").create(lm_max_length=2)


# --- cells ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["probe", "finetune"])
def test_cell_on_padded_rank_task(tmp_path: Path, tiny_model_dir: Path, mode: str) -> None:
    registry = registry_with_rank_task()
    options = {"lm_texts": 32, "lm_batch_size": 16, "lm_max_length": 32, "lm_heldout": 16, "loss": "aux_conf"}
    cell = CellConfig(task=RANK_TASK, method="generative-finetune", weak=str(tiny_model_dir), strong=str(tiny_model_dir),
                      seed=0, mode=mode, method_options=options)
    store = RunStore(tmp_path)
    result = Pipeline(registry, store).run(cell)
    metrics = result.record.metrics
    phases = result.record.data["phases"]

    assert set(phases) == {"weak", "ceiling", "generative", "ceiling:adjusted", "student"}
    assert result.ceiling_accuracy == metrics["adjusted_ceiling_accuracy"]
    assert metrics["plain_ceiling_accuracy"] == store.load("ceiling", phases["ceiling"]).metrics["test_accuracy"]
    assert result.pgr == pgr(result.weak_accuracy, metrics["adjusted_ceiling_accuracy"], result.student_accuracy)
    assert metrics["pgr_against_plain_ceiling"] == pgr(result.weak_accuracy, metrics["plain_ceiling_accuracy"], result.student_accuracy)
    assert metrics["generative"]["train_texts"] == 32
    assert "+lm:" in store.load("student", phases["student"]).data["config"]["model"]
    if mode == "probe":
        labels = {record.data["config"]["model"] for record in store.records("features")}
        assert any("+generative:" in label for label in labels)


def test_generative_cells_share_finetuned_backbone(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    store = RunStore(tmp_path)
    pipeline = Pipeline(registry, store)
    options = {"lm_texts": 32, "lm_batch_size": 16, "lm_max_length": 32, "lm_heldout": 16}
    for loss, seed in (("naive", 0), ("aux_conf", 0), ("naive", 1)):
        pipeline.run(CellConfig(task="rotten_tomatoes", method="generative-finetune", weak=str(tiny_model_dir),
                                strong=str(tiny_model_dir), seed=seed, max_train=200, max_test=100,
                                method_options={**options, "loss": loss}))

    assert len(list((tmp_path / "generative").glob("*/record.json"))) == 1
    assert len(list((tmp_path / "student").glob("*/record.json"))) == 3


class OpaqueBackbone:
    """A backbone that is not a transformers model (like a chess network)."""

    name = "opaque"
    fingerprint = "opaque:1"
    hidden_size = 4
    device = torch.device("cpu")
    module = torch.nn.Linear(1, 4)

    def encode(self, texts, batch_size=64, advance=lambda count: None):
        return torch.stack([torch.full((4,), float(len(text))) for text in texts])

    def pooled(self, texts):
        return self.module(torch.tensor([[float(len(text))] for text in texts]))


class OpaqueModelPlugin:
    @hookimpl
    def w2s_bench_register_models(self) -> list[ModelSpec]:
        return [ModelSpec("opaque", lambda device="cpu", **options: OpaqueBackbone())]


def test_rejects_model_without_lm_objective(tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry()
    registry.register(OpaqueModelPlugin(), name="opaque-models")
    cell = CellConfig(task="rotten_tomatoes", method="generative-finetune", weak=str(tiny_model_dir), strong="opaque")

    with pytest.raises(UserError, match="'opaque' is not a transformers model"):
        Pipeline(registry, RunStore(tmp_path)).check(cell)


@pytest.mark.slow
def test_smollm2_step_round_trip(tmp_path: Path, registry: Registry) -> None:
    pipeline = Pipeline(registry, RunStore(tmp_path))
    device = torch.device("cpu")
    settings = GenerativeSettings(max_texts=16, batch_size=8, max_length=32, heldout=8, evaluations=1)
    record = generative_phase(pipeline, "smollm2-135m", rank_task_data(), settings, device)
    name = add_finetuned_model(pipeline, "smollm2-135m", record)

    features = pipeline.backbone(name, device).encode(["a short reply", "another reply"])

    assert record.metrics["objective"] == CAUSAL_LM
    assert not record.metrics["fresh_head"]
    assert features.shape == (2, 576)
    assert torch.isfinite(features).all()


def test_cli_reports_both_ceilings(tmp_path: Path, tiny_model_dir: Path) -> None:
    from conftest import run_cli

    result = run_cli("run", "--method", "generative-finetune", "--weak", str(tiny_model_dir), "--strong", str(tiny_model_dir),
                     "-o", "lm_texts=32", "-o", "lm_batch_size=16", "-o", "lm_heldout=16", "--runs-dir", str(tmp_path),
                     "--max-train", "200", "--max-test", "100", env={"W2S_BENCH_THREADS": "1", "COLUMNS": "400"})

    assert result.returncode == 0, result.stderr
    assert "generative step: masked-lm on 32 of 200 distinct training texts (16 held out)" in result.stderr
    assert "plain ceiling" in result.stdout
    assert "adjusted ceiling" in result.stdout
    assert "PGR (adjusted ceiling)" in result.stdout


def test_leaderboard_shows_both_ceilings(tmp_path: Path, registry: Registry, tiny_model_dir: Path) -> None:
    store = RunStore(tmp_path / "runs")
    cell = CellConfig(task="rotten_tomatoes", method="generative-finetune", weak=str(tiny_model_dir), strong=str(tiny_model_dir),
                      max_train=200, max_test=100, method_options={"lm_texts": 32, "lm_batch_size": 16, "lm_heldout": 16})
    result = Pipeline(registry, store).run(cell)

    [page] = write_leaderboards(store, tmp_path / "boards")
    lines = page.read_text().splitlines()
    section = lines.index("## Generative finetuning: plain and adjusted ceilings")
    row = next(line for line in lines[section:] if line.startswith("| generative-finetune"))

    assert "PGR (adjusted ceiling)" in lines[section + 6]
    assert f"| {result.record.metrics['plain_ceiling_accuracy']:.3f} " in row
    assert f"| {result.record.metrics['adjusted_ceiling_accuracy']:.3f} " in row
    assert "masked_lm, 32 texts, 2 steps" in row
