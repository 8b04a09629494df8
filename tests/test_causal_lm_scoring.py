"""Causal-LM move scoring: prompt reuse gives the same features as full scoring."""

import chess
import pytest
import torch

from w2s_bench.plugins.models.causal_lm import CausalLMScorer, prompt_and_move
from w2s_bench.tasks.chess.notation import STANDARD_FEN, Game, legal_moves_sorted

PGN_CHARACTERS = " .#+=-/[]\"\n0123456789abcdefghKQRBNOPxyzSetUpFEN"


def write_tiny_lm(folder):
    """A randomly initialised 2-layer Llama with a character tokenizer, built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocabulary = {"<unk>": 0, "<s>": 1}
    for character in PGN_CHARACTERS:
        vocabulary.setdefault(character, len(vocabulary))
    backend = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>")
    tokenizer.save_pretrained(folder)

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocabulary), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return str(write_tiny_lm(tmp_path_factory.mktemp("tiny-lm")))


def position_texts():
    game = Game(STANDARD_FEN, tuple(chess.Move.from_uci(move) for move in ("e2e4", "e7e5", "g1f3")))
    texts = game.candidate_texts(legal_moves_sorted(game.board()))
    black_to_move = Game("r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4", ())
    return texts + black_to_move.candidate_texts(legal_moves_sorted(black_to_move.board()))


def test_prompt_and_move_split():
    assert prompt_and_move("1. e4 e5 2. Nf3") == ("1. e4 e5 2.", " Nf3")
    assert prompt_and_move("1. e4 e5 2. Nf3 Nc6") == ("1. e4 e5 2. Nf3", " Nc6")


def test_prompt_reuse_matches_full_scoring(tiny_lm):
    texts = position_texts()
    reused = CausalLMScorer("tiny", tiny_lm, reuse_prompt=True).encode(texts)
    full = CausalLMScorer("tiny", tiny_lm, reuse_prompt=False).encode(texts)

    assert reused.shape == (len(texts), 2 * 32 + 2)
    torch.testing.assert_close(reused, full, atol=1e-4, rtol=1e-4)


def test_move_logprobs_are_negative_and_vary(tiny_lm):
    scores = CausalLMScorer("tiny", tiny_lm).move_logprobs(position_texts())

    assert bool((scores < 0).all())
    assert scores.unique().numel() > 1


def test_pooled_has_gradients(tiny_lm):
    scorer = CausalLMScorer("tiny", tiny_lm)
    features = scorer.pooled(position_texts()[:5])
    features.sum().backward()

    assert any(parameter.grad is not None for parameter in scorer.module.parameters())


def test_resolves_before_hub_ids(tiny_lm):
    from w2s_bench.registry import Registry

    spec = Registry().model(f"lm-score:{tiny_lm}")
    assert isinstance(spec.create(), CausalLMScorer)
