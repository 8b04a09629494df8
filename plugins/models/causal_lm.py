"""Causal language models scoring candidate moves: the log-probability of each move's text after the prompt.

A candidate text (see :mod:`w2s_bench.tasks.chess.notation`) splits into a
prompt, the game so far up to the move number, and a continuation, the
candidate move (``" Nf3"``). All candidates of a position share the prompt,
so with prompt reuse the prompt is run once, its key/value cache is repeated
for the candidates, and only the continuations are run; without it, every
candidate runs prompt and continuation in full. Both paths feed the model
the same token ids, so they give the same scores.

The features of a candidate are the prompt's last hidden state, the mean
hidden state of the move's tokens, and the move's summed and mean token
log-probability; a linear probe over them is the probe mode, and the summed
log-probability alone is zero-shot scoring.

Name a model ``lm-score:SOURCE``, where SOURCE is a local model folder or a
Hugging Face hub id, e.g. ``lm-score:HuggingFaceTB/SmolLM2-135M``.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from pathlib import Path
from typing import Any, Sequence

import torch

from w2s_bench.errors import ModelLoadError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.progress import Advance
from w2s_bench.specs import ModelSpec
from w2s_bench.tasks.chess.notation import split_candidate

logger = logging.getLogger(__name__)

PREFIX = "lm-score:"


def prompt_and_move(text: str) -> tuple[str, str]:
    """Split a candidate text into the prompt and the move continuation (with its leading space)."""
    prefix, move = split_candidate(text)
    prompt = prefix.rstrip()
    separator = " " if prompt else ""
    return prompt, separator + move


class CausalLMScorer:
    """A causal LM as a backbone over candidate moves.

    ``reuse_prompt`` selects the path that encodes each position's prompt
    once; the other path exists to check and to measure it.
    """

    def __init__(
        self,
        name: str,
        source: str,
        device: torch.device | str = "cpu",
        reuse_prompt: bool = True,
        load_kwargs: dict[str, Any] | None = None,
        fingerprint: str | None = None,
    ) -> None:
        from w2s_bench.plugins.models.hf import quiet_transformers

        quiet_transformers()
        self.name = name
        self.source = source
        self.device = torch.device(device)
        self.reuse_prompt = reuse_prompt
        self.load_kwargs = dict(load_kwargs or {})
        self.config = self._load_config()
        self.hidden_size = 2 * int(self.config.hidden_size) + 2
        self.fingerprint = fingerprint or self._default_fingerprint()
        self._module: torch.nn.Module | None = None
        self._tokenizer: Any = None

    def _load_config(self) -> Any:
        from w2s_bench.plugins.models.hf import load_model_config

        return load_model_config(f"causal LM {self.name!r}", self.source, self.load_kwargs, "Without internet, give a local model folder")

    def _default_fingerprint(self) -> str:
        digest = hashlib.sha256(f"{self.source}|{sorted(self.load_kwargs.items())}".encode())
        source = Path(self.source)
        if source.is_dir():
            for path in sorted(source.iterdir()):
                if path.is_file():
                    stat = path.stat()
                    digest.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
        return f"lm-score:{digest.hexdigest()[:16]}"

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            kwargs = {k: v for k, v in self.load_kwargs.items() if k == "gguf_file"}
            self._tokenizer = AutoTokenizer.from_pretrained(self.source, **kwargs)
        return self._tokenizer

    @property
    def module(self) -> torch.nn.Module:
        if self._module is None:
            from transformers import AutoModelForCausalLM

            if self.device.type == "cpu":
                torch.set_flush_denormal(True)
            try:
                self._module = AutoModelForCausalLM.from_pretrained(self.source, **self.load_kwargs).to(self.device)
            except OSError as error:
                raise ModelLoadError(f"cannot load weights of {self.name!r} from {self.source!r}: {error}") from None
        return self._module

    # --- token ids -------------------------------------------------------

    def prompt_ids(self, prompt: str) -> list[int]:
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        bos = self.tokenizer.bos_token_id
        return ([bos] if bos is not None else []) + ids

    def move_ids(self, move: str) -> list[int]:
        ids = self.tokenizer(move, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ModelLoadError(f"{self.name}: the tokenizer turns the move {move!r} into no tokens")
        return ids

    # --- one position ----------------------------------------------------

    def position_features(self, prompt: str, moves: Sequence[str]) -> torch.Tensor:
        """Features ``[len(moves), hidden_size]`` of the candidate moves of one prompt."""
        prompt_ids = self.prompt_ids(prompt)
        move_ids = [self.move_ids(move) for move in moves]
        width = max(len(ids) for ids in move_ids)
        padded = torch.zeros(len(moves), width, dtype=torch.long)
        mask = torch.zeros(len(moves), width, dtype=torch.bool)
        for row, ids in enumerate(move_ids):
            padded[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = True

        if self.reuse_prompt:
            prompt_hidden, first_logits, move_hidden, move_logits = self._forward_reused(prompt_ids, padded)
        else:
            prompt_hidden, first_logits, move_hidden, move_logits = self._forward_full(prompt_ids, padded)
        return candidate_features(prompt_hidden, first_logits, move_hidden, move_logits, padded.to(self.device), mask.to(self.device))

    def _forward_reused(self, prompt_ids: list[int], moves: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Run the prompt once, then every move against a copy of its key/value cache."""
        module = self.module
        prompt = torch.tensor([prompt_ids], device=self.device)
        output = module(input_ids=prompt, use_cache=True, output_hidden_states=True)
        cache = output.past_key_values
        cache.batch_repeat_interleave(moves.shape[0])

        # right padding needs no mask: later positions never change earlier logits
        positions = torch.arange(len(prompt_ids), len(prompt_ids) + moves.shape[1], device=self.device).expand(moves.shape[0], -1)
        cache_argument = {cache_keyword(module): cache}
        continued = module(input_ids=moves.to(self.device), position_ids=positions, output_hidden_states=True, **cache_argument)
        prompt_hidden = output.hidden_states[-1][0, -1]
        first_logits = output.logits[0, -1]
        return prompt_hidden, first_logits, continued.hidden_states[-1], continued.logits

    def _forward_full(self, prompt_ids: list[int], moves: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Run prompt and move together for every candidate."""
        count, length = moves.shape[0], len(prompt_ids)
        prompt = torch.tensor(prompt_ids).expand(count, -1)
        output = self.module(input_ids=torch.cat([prompt, moves], dim=1).to(self.device), output_hidden_states=True)
        hidden = output.hidden_states[-1]
        # every row's prompt part is identical; take the first row's
        prompt_hidden = hidden[0, length - 1]
        first_logits = output.logits[0, length - 1]
        return prompt_hidden, first_logits, hidden[:, length:], output.logits[:, length:]

    # --- the backbone contract -------------------------------------------

    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        groups: dict[str, list[int]] = {}
        parts = [prompt_and_move(text) for text in texts]
        for row, (prompt, _move) in enumerate(parts):
            groups.setdefault(prompt, []).append(row)

        features: list[torch.Tensor | None] = [None] * len(texts)
        for prompt, rows in groups.items():
            group_features = self.position_features(prompt, [parts[row][1] for row in rows])
            for offset, row in enumerate(rows):
                features[row] = group_features[offset]
        return torch.stack(features)  # type: ignore[arg-type]

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64, advance: Advance = lambda count: None) -> torch.Tensor:
        self.module.eval()
        outputs = []
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            outputs.append(self.pooled(batch).float().cpu())
            advance(len(batch))
        return torch.cat(outputs) if outputs else torch.zeros(0, self.hidden_size)

    @torch.no_grad()
    def move_logprobs(self, texts: Sequence[str]) -> torch.Tensor:
        """Zero-shot scores: the summed log-probability of each candidate's move tokens."""
        self.module.eval()
        return self.pooled(texts)[:, -2].float().cpu()


def cache_keyword(module: torch.nn.Module) -> str:
    """``cache`` in transformers 5.x, where ``past_key_values`` is deprecated; ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(type(module).forward).parameters else "past_key_values"


def candidate_features(
    prompt_hidden: torch.Tensor,
    first_logits: torch.Tensor,
    move_hidden: torch.Tensor,
    move_logits: torch.Tensor,
    moves: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Concatenate prompt state, mean move state, summed and mean move log-probability.

    Token ``j`` of a move is predicted by the logits before it: the prompt's
    last logits for ``j = 0``, the move's own logits at ``j - 1`` after that.
    """
    count = moves.shape[0]
    predicting = torch.cat([first_logits.expand(count, 1, -1), move_logits[:, :-1]], dim=1)
    token_logprobs = torch.log_softmax(predicting.float(), dim=-1).gather(2, moves.unsqueeze(-1)).squeeze(-1)
    token_logprobs = token_logprobs.masked_fill(~mask, 0.0)
    lengths = mask.sum(dim=1).clamp_min(1)
    summed = token_logprobs.sum(dim=1)

    weights = mask.unsqueeze(-1).to(move_hidden.dtype)
    mean_hidden = (move_hidden * weights).sum(dim=1) / lengths.unsqueeze(-1).to(move_hidden.dtype)
    return torch.cat(
        [prompt_hidden.expand(count, -1), mean_hidden, summed.unsqueeze(1).to(mean_hidden.dtype), (summed / lengths).unsqueeze(1).to(mean_hidden.dtype)],
        dim=1,
    )


@hookimpl(tryfirst=True)
def w2s_bench_resolve_model(name: str) -> ModelSpec | None:
    """Resolve ``lm-score:SOURCE`` to a causal LM move scorer.

    Runs before the generic Hugging Face resolver, which would otherwise
    read ``lm-score:org/model`` as a hub id.
    """
    if not name.startswith(PREFIX):
        return None
    source = name[len(PREFIX):]

    def factory(device: torch.device | str = "cpu", **options: Any) -> CausalLMScorer:
        return CausalLMScorer(name, source, device, **options)

    return ModelSpec(name, factory, f"causal LM move scorer over {source}")
