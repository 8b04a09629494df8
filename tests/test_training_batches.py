"""Length-grouped batches and length-sorted prediction in the training loop."""

from __future__ import annotations

from functools import lru_cache

import torch

from w2s_bench.registry import default_registry
from w2s_bench.training import LinearHead, epoch_batches, predict


@lru_cache(maxsize=1)
def all_review_lengths() -> torch.Tensor:
    data = default_registry().task("rotten_tomatoes").create().load()
    return torch.tensor([len(example.texts[0]) for example in data.train])


def review_lengths(count: int) -> torch.Tensor:
    """Character lengths of the first ``count`` real rotten_tomatoes reviews."""
    return all_review_lengths()[:count]


def padded_width(batches: list[torch.Tensor], lengths: torch.Tensor) -> int:
    return sum(len(index) * int(lengths[index].max()) for index in batches)


def test_grouped_epoch_covers_every_row():
    lengths = review_lengths(1000)

    batches = epoch_batches(1000, 16, torch.Generator().manual_seed(0), lengths)

    rows = torch.cat(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    assert all(len(index) <= 16 for index in batches)


def test_grouped_epoch_same_seed_same_batches():
    lengths = review_lengths(500)

    first = epoch_batches(500, 16, torch.Generator().manual_seed(3), lengths)
    again = epoch_batches(500, 16, torch.Generator().manual_seed(3), lengths)
    other = epoch_batches(500, 16, torch.Generator().manual_seed(4), lengths)

    assert [index.tolist() for index in first] == [index.tolist() for index in again]
    assert [index.tolist() for index in first] != [index.tolist() for index in other]


def test_grouped_epoch_pads_less_than_random():
    lengths = review_lengths(2000)

    grouped = epoch_batches(2000, 16, torch.Generator().manual_seed(0), lengths)
    random = epoch_batches(2000, 16, torch.Generator().manual_seed(0))

    assert padded_width(grouped, lengths) < 0.8 * padded_width(random, lengths)


def test_ungrouped_epoch_is_permutation_slices():
    generator = torch.Generator().manual_seed(7)
    expected = torch.randperm(50, generator=torch.Generator().manual_seed(7)).split(8)

    batches = epoch_batches(50, 8, generator)

    assert [index.tolist() for index in batches] == [index.tolist() for index in expected]


def test_sorted_predict_keeps_row_order():
    torch.manual_seed(0)
    features = torch.randn(37, 8)
    mask = torch.ones(37, 3, dtype=torch.bool)
    mask[5, 2] = False
    head = LinearHead(8, "classify", 3, torch.zeros(8), torch.ones(8))
    lengths = torch.randint(1, 100, (37,))

    unsorted = predict(head, lambda index: features[index], mask, 10)
    by_length = predict(head, lambda index: features[index], mask, 10, lengths=lengths)

    assert torch.allclose(unsorted, by_length, atol=1e-6)
    assert by_length[5, 2] == 0
    assert torch.allclose(by_length.sum(dim=1), torch.ones(37))
