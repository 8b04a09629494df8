"""Candidate-scoring throughput of a causal LM on chess puzzles, with and without prompt reuse.

Scores every legal move of the first ``--positions`` test puzzles of a chess
task twice in one run, once encoding each position's prompt once and once
running prompt and move for every candidate, checks that both give the same
features, and prints positions per second for each.

    python benchmarks/chess_scoring.py                      # a tiny random Llama, built offline
    python benchmarks/chess_scoring.py --model DIR          # any local causal LM folder
    python benchmarks/chess_scoring.py --model DIR --gguf-file NAME.gguf
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch


def build_tiny_model(folder: Path) -> Path:
    """A 2-layer Llama of width 64 with a character tokenizer; scores are random, speeds are real."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from w2s_bench.plugins.models.hf import quiet_transformers

    quiet_transformers()

    characters = " .#+=-/[]\"\n0123456789abcdefghKQRBNOPxyzSetUpFEN"
    vocabulary = {"<unk>": 0, "<s>": 1}
    for character in characters:
        vocabulary.setdefault(character, len(vocabulary))
    backend = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>").save_pretrained(folder)

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocabulary), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_positions(task: str, count: int) -> list[tuple[str, ...]]:
    from w2s_bench.registry import default_registry

    data = default_registry().task(task).create().load()
    return [example.texts for example in data.test[:count]]


def timed(scorer, positions: list[tuple[str, ...]]) -> tuple[float, torch.Tensor]:
    started = time.perf_counter()
    with torch.no_grad():
        features = torch.cat([scorer.pooled(list(texts)) for texts in positions])
    return time.perf_counter() - started, features


def main() -> None:
    from w2s_bench.plugins.models.causal_lm import CausalLMScorer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="causal LM folder (default: a tiny random Llama)")
    parser.add_argument("--gguf-file", default=None, help="GGUF file name inside --model, for GGUF checkpoints")
    parser.add_argument("--task", default="chess", help="chess task whose test puzzles are scored")
    parser.add_argument("--positions", type=int, default=10, help="puzzles scored by each path")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or build_tiny_model(Path(scratch))
        load_kwargs = {"gguf_file": args.gguf_file} if args.gguf_file else {}
        reused = CausalLMScorer("reused", str(model), reuse_prompt=True, load_kwargs=load_kwargs)
        full = CausalLMScorer("full", str(model), reuse_prompt=False, load_kwargs=load_kwargs)
        full._module = reused.module  # one copy of the weights serves both paths
        full._tokenizer = reused.tokenizer
        reused.module.eval()

        positions = test_positions(args.task, args.positions)
        candidates = sum(len(texts) for texts in positions)
        timed(reused, positions[:1])  # warm-up

        reuse_seconds, reuse_features = timed(reused, positions)
        full_seconds, full_features = timed(full, positions)

    difference = (reuse_features - full_features).abs().max().item()
    print(f"model: {args.model or 'tiny random Llama (2 layers, width 64)'}; task {args.task}: "
          f"{len(positions)} positions, {candidates} candidates; torch {torch.__version__}, "
          f"{args.threads} thread(s), {platform.processor() or platform.machine()}")
    print(f"with prompt reuse:    {len(positions) / reuse_seconds:8.2f} positions/s ({reuse_seconds:.1f} s)")
    print(f"without prompt reuse: {len(positions) / full_seconds:8.2f} positions/s ({full_seconds:.1f} s)")
    print(f"speed-up: {full_seconds / reuse_seconds:.1f}x; largest feature difference between the paths: {difference:.2e}")


if __name__ == "__main__":
    main()
