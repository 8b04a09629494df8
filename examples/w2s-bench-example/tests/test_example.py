"""Tests for the example plugins: contracts, the confident method, the CSV task and the n-gram model."""

from __future__ import annotations

import pytest
import torch

from w2s_bench.errors import DataError, UserError
from w2s_bench.plugin_check import check_plugin_object
from w2s_bench_example import confident, csv_task, ngram
from w2s_bench_example.confident import ConfidentMethod
from w2s_bench_example.csv_task import CsvTask
from w2s_bench_example.ngram import NgramBagBackbone


@pytest.mark.parametrize(
    "module, name",
    [(confident, "example-confident"), (csv_task, "example-stdlib-docs"), (ngram, "example-ngram")],
)
def test_plugin_passes_deep_contract_checks(module, name):
    assert check_plugin_object(module, name=name, deep=True) == []


# --- confident -------------------------------------------------------------


def test_confident_keeps_most_confident_rows():
    method = ConfidentMethod(keep_fraction=0.5)
    mask = torch.ones(4, 2, dtype=torch.bool)
    targets = torch.tensor([[0.55, 0.45], [0.05, 0.95], [0.7, 0.3], [0.9, 0.1]])

    kept_mask = method.kept_rows(mask, targets)

    assert kept_mask.tolist() == [False, True, False, True]


def test_confident_ignores_padding_in_confidence():
    method = ConfidentMethod(keep_fraction=0.5)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    # the padded candidate of row 0 carries a large value that must not count
    targets = torch.tensor([[0.5, 0.5, 0.99], [0.8, 0.1, 0.1]])

    kept_mask = method.kept_rows(mask, targets)

    assert kept_mask.tolist() == [False, True]


def test_confident_min_confidence_can_drop_batch():
    method = ConfidentMethod(keep_fraction=1.0, min_confidence=0.9)
    logits = torch.randn(3, 2, requires_grad=True)
    mask = torch.ones(3, 2, dtype=torch.bool)
    targets = torch.tensor([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])

    loss = method.loss(logits, mask, targets, 0.0)
    loss.backward()

    assert loss.item() == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_confident_loss_uses_kept_rows_only():
    method = ConfidentMethod(keep_fraction=0.5)
    mask = torch.ones(2, 2, dtype=torch.bool)
    targets = torch.tensor([[0.6, 0.4], [0.0, 1.0]])
    logits = torch.tensor([[5.0, -5.0], [0.0, 2.0]], requires_grad=True)

    method.loss(logits, mask, targets, 0.0).backward()

    assert torch.equal(logits.grad[0], torch.zeros(2))
    assert logits.grad[1].abs().sum() > 0


@pytest.mark.parametrize("options", [{"keep_fraction": 0}, {"keep_fraction": 1.5}, {"min_confidence": -0.1}])
def test_confident_rejects_invalid_options(options):
    with pytest.raises(UserError, match="confident option"):
        ConfidentMethod(**options)


# --- CSV task ---------------------------------------------------------------


def test_shipped_task_loads_balanced_splits():
    data = CsvTask("stdlib_docs", csv_task.DATA_FILE).load()

    assert (len(data.train), len(data.test)) == (452, 156)
    assert sum(example.label for example in data.train) == 226
    assert data.head == "classify"


def write_csv(path, rows):
    path.write_text("id,split,text,label\n" + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "rows, message",
    [
        (["a,train,some text,2", "b,test,more text,0"], r":2: field 'label' is '2'"),
        (["a,train,some text,1", "b,valid,more text,0"], r":3: field 'split' is 'valid'"),
        (["a,train,,1", "b,test,more text,0"], r":2: field 'text' is empty"),
        (["a,train,some text,1", "a,test,more text,0"], r":3: field 'id' 'a' repeats line 2"),
        (["a,train,some text,1"], r"no rows in the test split"),
    ],
)
def test_csv_task_rejects_bad_rows(tmp_path, rows, message):
    path = write_csv(tmp_path / "bad.csv", rows)

    with pytest.raises(DataError, match=message):
        CsvTask("bad", path).load()


def test_csv_task_rejects_missing_column(tmp_path):
    path = tmp_path / "columns.csv"
    path.write_text("id,text,label\na,x,1\n", encoding="utf-8")

    with pytest.raises(DataError, match=r"header lacks column\(s\) split"):
        CsvTask("columns", path).load()


def test_csv_task_reports_missing_file(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        CsvTask("missing", tmp_path / "missing.csv").load()


# --- n-gram model -----------------------------------------------------------


def test_ngram_features_are_deterministic():
    texts = ["Open a file and return a stream.", "Split the string at whitespace."]

    first = NgramBagBackbone().encode(texts)
    second = NgramBagBackbone().encode(texts)

    assert torch.equal(first, second)
    assert first.shape == (2, 256)
    assert not torch.allclose(first[0], first[1])


def test_ngram_fingerprint_follows_settings():
    assert NgramBagBackbone().fingerprint == NgramBagBackbone().fingerprint
    assert NgramBagBackbone(dim=64).fingerprint != NgramBagBackbone().fingerprint


def test_ngram_pooled_has_gradients():
    backbone = NgramBagBackbone(dim=16, buckets=1024)

    backbone.pooled(["a short text"]).sum().backward()

    assert backbone.module.embedding.weight.grad.abs().sum() > 0
