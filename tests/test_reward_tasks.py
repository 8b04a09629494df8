"""Reward-model tasks: shipped pairs, candidate order, hub rows and aux_conf on pairs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from w2s_bench.errors import DataError
from w2s_bench.losses import harden_predictions
from w2s_bench.plugins.methods.aux_conf import AuxConfMethod
from w2s_bench.registry import Registry
from w2s_bench.tasks.reward.formats import TranscriptError, read_pairs_file
from w2s_bench.tasks.reward.hub import convert_rows, hh_rlhf_pair, shp_pair
from w2s_bench.tasks.reward.pairs import PreferencePair, chosen_position, scored_text, to_example
from w2s_bench.tasks.reward.plugin import SHIPPED_TASKS
from w2s_bench.tasks.reward.shipped import DATA_DIR, ShippedPairsTask, manifest_entry

FIXTURES = Path(__file__).parent / "data" / "reward"
CLI = [sys.executable, "-m", "w2s_bench.cli"]


# --- shipped tasks -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHIPPED_TASKS))
def test_shipped_task_matches_manifest(name):
    entry = manifest_entry(name)
    data = ShippedPairsTask(name).load()

    assert data.head == "rank"
    assert data.num_candidates == 2
    assert len(data.train) == entry["rows"]["train"]
    assert len(data.test) == entry["rows"]["test"]


@pytest.mark.parametrize("name", sorted(SHIPPED_TASKS))
def test_shipped_task_keeps_test_prompts_out_of_training(name):
    data = ShippedPairsTask(name).load()
    train_prompts = {example.meta["prompt"] for example in data.train}
    test_prompts = {example.meta["prompt"] for example in data.test}

    if name != "rm-sarcasm":  # one prompt for every pair; split by pair instead
        assert not train_prompts & test_prompts
    train_texts = {text for example in data.train for text in example.texts}
    assert not train_texts & {text for example in data.test for text in example.texts}


@pytest.mark.parametrize("name", sorted(SHIPPED_TASKS))
def test_shipped_task_chosen_position_balanced(name):
    data = ShippedPairsTask(name).load()
    labels = [example.label for example in data.train + data.test]

    share = sum(labels) / len(labels)
    assert 0.4 < share < 0.6


def test_shipped_task_label_is_chosen_reply():
    path = DATA_DIR / manifest_entry("rm-hhh")["file"]
    pairs = {pair.id: pair for pair in read_pairs_file(path)}
    data = ShippedPairsTask("rm-hhh").load()

    for example in data.train + data.test:
        pair = pairs[example.id]
        assert example.texts[example.label] == scored_text(pair.prompt, pair.chosen)
        assert example.texts[1 - example.label] == scored_text(pair.prompt, pair.rejected)


def test_hhh_has_all_221_pairs_and_subsets():
    data = ShippedPairsTask("rm-hhh").load()
    subsets = [example.meta["subset"] for example in data.train + data.test]

    assert len(subsets) == 221
    assert {subset: subsets.count(subset) for subset in set(subsets)} == {"harmless": 58, "helpful": 59, "honest": 61, "other": 43}
    assert {example.meta["subset"] for example in data.test} == {"harmless", "helpful", "honest", "other"}


def test_shipped_file_checksum_mismatch(tmp_path):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    path = tmp_path / "data" / manifest_entry("rm-hhh")["file"]
    path.write_bytes(path.read_bytes()[:-10])

    with pytest.raises(DataError, match="does not match the manifest"):
        ShippedPairsTask("rm-hhh", data_dir=tmp_path / "data").load()


# --- candidate order ---------------------------------------------------------


def test_candidate_order_stable_and_seeded():
    pair = PreferencePair("abc123", "Say hi.", "Hi!", "No.")

    example = to_example(pair)
    assert to_example(pair) == example
    positions = {chosen_position(f"pair-{index}") for index in range(64)}
    assert positions == {0, 1}
    assert [chosen_position(f"pair-{index}", seed=1) for index in range(64)] != [chosen_position(f"pair-{index}") for index in range(64)]


def test_swapped_pair_labels_other_reply():
    pair = PreferencePair("abc123", "Say hi.", "Hi!", "No.")

    example = to_example(pair)
    swapped = to_example(pair.swapped())
    assert set(example.texts) == set(swapped.texts)
    assert swapped.texts[swapped.label] == example.texts[1 - example.label]


def test_long_prompt_clipped_from_start():
    prompt = "word " * 400 + "the question at the end?"
    text = scored_text(prompt, "The reply.")

    assert text.startswith("Human: …")
    assert text.endswith("the question at the end?\n\nAssistant: The reply.")
    assert len(text) < 700


# --- hub rows ----------------------------------------------------------------


def test_hh_rlhf_row_to_pair():
    row = json.loads((FIXTURES / "hh_ten_pairs.jsonl").read_text().splitlines()[1])

    pair = hh_rlhf_pair(row, "test")

    assert pair.prompt == "Human: What is the capital of France?\n\nAssistant:"
    assert pair.chosen == "The capital of France is Paris."
    assert pair.rejected == "I think it might be Lyon, but I am not sure."
    assert pair.split == "test"


def test_shp_row_label_picks_preferred_comment():
    row = {
        "post_id": "abc", "domain": "askscience_train", "upvote_ratio": 0.97,
        "history": "Why is the sky blue?", "c_root_id_A": "x1", "c_root_id_B": "x2",
        "created_at_utc_A": 1, "created_at_utc_B": 2, "score_A": 40, "score_B": 5,
        "human_ref_A": "Rayleigh scattering: shorter wavelengths scatter more.", "human_ref_B": "Because it reflects the ocean.",
        "labels": 1, "seconds_difference": 1.0, "score_ratio": 8.0,
    }

    preferred_a = shp_pair(row, "train")
    preferred_b = shp_pair({**row, "labels": 0}, "train")

    assert preferred_a.chosen == "Rayleigh scattering: shorter wavelengths scatter more."
    assert preferred_a.rejected == "Because it reflects the ocean."
    assert preferred_b.chosen == "Because it reflects the ocean."
    assert preferred_a.meta["domain"] == "askscience_train"


def test_hub_rows_that_do_not_parse_are_skipped():
    good = json.loads((FIXTURES / "hh_ten_pairs.jsonl").read_text().splitlines()[0])
    rows = [good, {"chosen": "no markers", "rejected": "none"}, {**good, "rejected": good["chosen"]}, good]

    pairs = convert_rows(rows, "train", hh_rlhf_pair, "Anthropic/hh-rlhf")

    assert len(pairs) == 1
    with pytest.raises(TranscriptError):
        hh_rlhf_pair(rows[1], "train")


@pytest.mark.parametrize("task", ["rm-hh-rlhf", "rm-shp"])
def test_hub_task_offline_error(task, tmp_path):
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run(
        [*CLI, "run", "--task", task, "--weak", "minilm-l1", "--strong", "minilm-l2", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, env=environment, timeout=300,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: task {task!r} needs the Hugging Face hub dataset")
    assert "rm-hhh" in lines[0]


# --- aux_conf on pairs -------------------------------------------------------


def test_argmax_rule_hardens_own_preference():
    probs = torch.tensor([[0.6, 0.4], [0.7, 0.3], [0.8, 0.2], [0.55, 0.45]])
    mask = torch.ones_like(probs, dtype=torch.bool)

    by_argmax = harden_predictions(probs, mask, "argmax")
    by_median = harden_predictions(probs, mask, "half")

    assert by_argmax[:, 0].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert by_median[:, 1].sum().item() == 2.0


def test_aux_conf_auto_threshold_follows_head():
    on_pairs = AuxConfMethod()
    on_pairs.bind_task("rank")
    on_classes = AuxConfMethod()
    on_classes.bind_task("classify")
    explicit = AuxConfMethod(threshold="half")
    explicit.bind_task("rank")

    assert on_pairs.config()["threshold"] == "argmax"
    assert on_classes.config()["threshold"] == "half"
    assert explicit.config()["threshold"] == "half"


def test_pairs_file_task_resolves_by_prefix():
    registry = Registry()
    spec = registry.task(f"pairs:{FIXTURES / 'hh_ten_pairs.jsonl'}")

    data = spec.create().load()

    assert (len(data.train), len(data.test)) == (8, 2)
    assert spec.kind == "reward"


def test_leaderboard_name_of_pairs_task():
    from w2s_bench.report_markdown import task_page_name

    assert task_page_name("pairs:/data/my pairs/train.jsonl") == "pairs-data-my-pairs-train.jsonl.md"
    assert task_page_name("rm-reviews") == "rm-reviews.md"


def test_paired_gap_standard_error():
    from w2s_bench.tasks.reward.gap import paired_gap

    weak = torch.tensor([True, False, True, True])
    ceiling = torch.tensor([True, True, True, True])

    gap, standard_error = paired_gap(weak, ceiling)

    assert gap == pytest.approx(0.25)
    assert standard_error == pytest.approx(0.25)


def test_wilson_interval_known_values():
    from w2s_bench.tasks.reward.gap import wilson_interval

    low, high = wilson_interval(0.5, 100)

    assert low == pytest.approx(0.4038, abs=1e-4)
    assert high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(1.0, 10)[1] == pytest.approx(1.0)
