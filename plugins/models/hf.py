"""Hugging Face transformers backbones: any hub id or local model folder.

Pooling follows the architecture: mean pooling over real tokens for encoders
(models with a masked-LM head type), and the last real token for decoders,
found from the attention mask so that neither padding side nor pad id matters.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from pathlib import Path
from typing import Any, Sequence

import torch
from safetensors import SafetensorError

from w2s_bench.errors import ModelLoadError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.progress import Advance
from w2s_bench.specs import ModelSpec

logger = logging.getLogger(__name__)

POOLINGS = ("auto", "mean", "last")


def quiet_transformers() -> None:
    import transformers

    # transformers 5.x prints a load report for every model otherwise.
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    # A failed hub request is reported once, by ModelLoadError, not also as a warning.
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


def is_encoder(config: Any) -> bool:
    """True for architectures with a masked-LM head type (BERT, MPNet, RoBERTa, ...)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    return config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(config, "is_decoder", False)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of hidden states ``[B, T, d]`` over positions where the mask is 1."""
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def last_token_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Hidden state of the last position whose mask is 1, for left or right padding."""
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    last = (attention_mask * positions).argmax(dim=1)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def load_model_config(label: str, source: str, load_kwargs: dict[str, Any], hint: str) -> Any:
    """Load a transformers config, turning a failure into a one-line :class:`ModelLoadError`.

    :param label: what is being loaded, for the message, e.g. ``model 'x'``.
    :param hint: the next step to suggest to the user.
    """
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source, **load_kwargs)
    except (OSError, ValueError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ModelLoadError(f"cannot load {label} from {source!r}: {first_line.rstrip('.')}. {hint}") from None

class HFBackbone:
    """A transformers model used as a feature extractor or finetuned whole.

    The config is read at construction, so a missing model fails early; the
    weights load on first use.
    """

    def __init__(
        self,
        name: str,
        source: str,
        device: torch.device | str = "cpu",
        pooling: str = "auto",
        max_length: int = 256,
        fingerprint: str | None = None,
        load_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if pooling not in POOLINGS:
            raise ModelLoadError(f"pooling {pooling!r} is invalid; expected one of {', '.join(POOLINGS)}")
        quiet_transformers()

        self.name = name
        self.source = source
        self.device = torch.device(device)
        self.max_length = max_length
        self.load_kwargs = dict(load_kwargs or {})
        self.config = self._load_config()
        if pooling == "auto":
            pooling = "mean" if is_encoder(self.config) else "last"
        self.pooling = pooling
        self.hidden_size = int(self.config.hidden_size)
        self.fingerprint = fingerprint or self._default_fingerprint()
        self._module: torch.nn.Module | None = None
        self._tokenizer: Any = None

    def _load_config(self) -> Any:
        return load_model_config(
            f"model {self.name!r}", self.source, self.load_kwargs,
            "Without internet, use a local model folder or a packaged model (w2s-bench list)",
        )

    def _default_fingerprint(self) -> str:
        source = Path(self.source)
        digest = hashlib.sha256(f"{self.source}|{self.pooling}|{self.max_length}|{sorted(self.load_kwargs.items())}".encode())
        if source.is_dir():
            for path in sorted(source.iterdir()):
                if path.is_file():
                    stat = path.stat()
                    digest.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
        else:
            digest.update(str(getattr(self.config, "_commit_hash", "")).encode())
        return f"hf:{self.name}:{digest.hexdigest()[:16]}"

    # --- lazy loading ----------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            tokenizer_kwargs = {key: value for key, value in self.load_kwargs.items() if key == "gguf_file"}
            self._tokenizer = AutoTokenizer.from_pretrained(self.source, **tokenizer_kwargs)
            if self._tokenizer.pad_token is None:
                self._tokenizer.pad_token = self._tokenizer.eos_token
        return self._tokenizer

    @property
    def module(self) -> torch.nn.Module:
        if self._module is None:
            from transformers import AutoModel

            logger.info("loading weights of %s from %s", self.name, self.source)
            if self.device.type == "cpu":
                torch.set_flush_denormal(True)
            try:
                self._module = AutoModel.from_pretrained(self.source, **self.load_kwargs).to(self.device)
            except OSError as error:
                raise ModelLoadError(f"cannot load weights of {self.name!r} from {self.source!r}: {error}") from None
            except pickle.UnpicklingError:
                # transformers (5.x) reads pickled checkpoints with torch.load(weights_only=True),
                # which rejects any object that is not a plain tensor container
                raise ModelLoadError(
                    f"cannot load weights of {self.name!r} from {self.source!r}: the pickled checkpoint contains "
                    "objects other than tensors, and loading it could run code; use a safetensors file"
                ) from None
            except SafetensorError as error:
                raise ModelLoadError(f"cannot load weights of {self.name!r} from {self.source!r}: corrupt safetensors file ({error})") from None
        return self._module

    # --- features --------------------------------------------------------

    def _forward(self, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
        encoded = {key: value.to(self.device) for key, value in encoded.items()}
        hidden = self.module(**encoded).last_hidden_state
        mask = encoded["attention_mask"]
        return mean_pool(hidden, mask) if self.pooling == "mean" else last_token_pool(hidden, mask)

    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        encoded = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return self._forward(dict(encoded))

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64, advance: Advance = lambda count: None) -> torch.Tensor:
        """Pooled features for many texts, batched by token length to limit padding."""
        module = self.module
        module.eval()
        token_ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda index: len(token_ids[index]))
        features = torch.empty(len(texts), self.hidden_size)

        for start in range(0, len(order), batch_size):
            batch_rows = order[start : start + batch_size]
            batch = self.tokenizer.pad({"input_ids": [token_ids[row] for row in batch_rows]}, return_tensors="pt")
            pooled = self._forward(dict(batch))
            features[torch.tensor(batch_rows)] = pooled.float().cpu()
            advance(len(batch_rows))
        return features


def looks_like_hub_id(name: str) -> bool:
    owner, slash, model = name.partition("/")
    return bool(slash and owner and model and "/" not in model and " " not in name)


@hookimpl
def w2s_bench_resolve_model(name: str) -> ModelSpec | None:
    """Resolve a local model folder or a hub id ("org/model", or "hf:model")."""
    source = name[3:] if name.startswith("hf:") else name
    if os.path.isdir(source) or name.startswith("hf:") or looks_like_hub_id(source):

        def factory(device: torch.device | str = "cpu", **options: Any) -> HFBackbone:
            return HFBackbone(name, source, device, **options)

        return ModelSpec(name, factory, f"Hugging Face model {source}")
    return None
