"""The interface of a benchmark module: the Context it receives and the Figures it returns."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Settings:
    """Sizes of the workloads. ``full()`` is sized for about 15 minutes on an
    otherwise idle 2-core CPU, and ``quick()`` only checks that the code runs.

    NOTE: under heavy load from other processes a ``full()`` run takes
    several times longer; the page records its wall and CPU time.
    """

    #: Strong and weak packaged models of the finetune and probe workloads.
    model: str = "minilm-l6"
    weak_model: str = "minilm-l2"
    task: str = "rotten_tomatoes"
    #: Optimiser steps per timed finetune run, and examples per step (the
    #: finetune default of the pipeline).
    finetune_steps: int = 12
    batch_size: int = 16
    #: Timed runs of each side of a comparison, run alternately.
    repeats: int = 3
    #: Texts encoded per timed run of the inference padding figure.
    padding_texts: int = 384
    #: Training examples (both halves) of the feature cache figure; test is a quarter.
    cache_train: int = 1000
    #: Training examples of the 1x scaling point; test is a quarter.
    scaling_train: int = 400
    #: Examples of the memory runs: ``w2s-bench run`` and ``w2s-bench grid`` slices.
    #: None runs the commands with their own defaults.
    memory_train: int | None = 400
    #: Models of the default grid slice; None keeps the grid file's ladder.
    grid_ladder: str | None = "minilm-l1,minilm-l2,minilm-l6"
    grid_seeds: str | None = "0"
    #: Side of the square fp32 matrices of the matmul peak.
    matmul_size: int = 2048
    profile_steps: int = 4

    @classmethod
    def full(cls) -> Settings:
        return cls()

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            model="minilm-l1", weak_model="minilm-l1", finetune_steps=2, batch_size=4, repeats=1,
            padding_texts=32, cache_train=40, scaling_train=20, memory_train=40,
            grid_ladder="minilm-l1,minilm-l2", matmul_size=256, profile_steps=1,
        )

    @classmethod
    def defaults(cls) -> Settings:
        """Run the demo and grid memory figures at the commands' own defaults (hours on a CPU)."""
        return cls(memory_train=None, grid_ladder=None, grid_seeds=None)


@dataclass
class Figure:
    """One measured ratio (or amount) with its target."""

    number: str
    name: str
    #: The two measurements the ratio divides, "A / B" in words.
    compares: str
    value: float
    unit: str = "x"
    #: Human-readable target, such as "<= 1.05", and whether the value meets it.
    target: str = ""
    met: bool | None = None
    #: Raw measurements behind the value (seconds, counts, settings).
    details: dict[str, Any] = field(default_factory=dict)
    #: Markdown paragraphs for docs/benchmarks.md: what limits the figure.
    notes: str = ""

    def formatted(self) -> str:
        if self.unit == "%":
            return f"{self.value:.1f} %"
        if self.unit == "MiB":
            return f"{self.value:,.0f} MiB"
        if self.unit == "s":
            return f"{self.value:.2f} s"
        return f"{self.value:.3f}x"


@dataclass
class Context:
    """Settings and state shared by the benchmark modules of one run."""

    settings: Settings
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="w2s-bench-benchmarks-")))
    #: Markdown sections (title -> body) that modules add, such as profiles.
    sections: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def shared(self, key: str, build: Callable[[], Any]) -> Any:
        """Return a value built once per run, such as a loaded model or the matmul peak."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]
