"""What plugins register: one small spec per task, method and model.

A spec carries a name and a factory. Factories are called only when the item is
used, so listing plugins never loads torch, data or weights.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable


def resolve_factory(factory: Callable[..., Any] | str) -> Callable[..., Any]:
    """Return the callable behind a factory given as a callable or "module:attr"."""
    if callable(factory):
        return factory

    module_name, _, attribute = factory.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"factory {factory!r} is not of the form 'module:attr'")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class TaskSpec:
    """A task: a named dataset with a train and a test split.

    ``factory(**options)`` returns an object with ``load() -> TaskData``.
    """

    name: str
    factory: Callable[..., Any] | str
    kind: str = "nlp"
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    #: Default model ladder for this task, weakest first; ``run`` takes the
    #: first as the weak supervisor and the last as the strong student when
    #: none is given. Empty: the harness-wide defaults.
    models: tuple[str, ...] = ()

    def create(self, **options: Any) -> Any:
        return resolve_factory(self.factory)(**{**self.options, **options})


@dataclass(frozen=True)
class MethodSpec:
    """A weak-to-strong method: how the student learns from the weak labels.

    ``factory(**options)`` returns a :class:`w2s_bench.methods.Method`.
    """

    name: str
    factory: Callable[..., Any] | str
    description: str = ""

    def create(self, **options: Any) -> Any:
        return resolve_factory(self.factory)(**options)


@dataclass(frozen=True)
class ModelSpec:
    """A model: a backbone that turns texts into features.

    ``factory(device=...)`` returns a :class:`w2s_bench.backbone.Backbone`.
    """

    name: str
    factory: Callable[..., Any] | str
    description: str = ""
    params_millions: float | None = None

    def create(self, **options: Any) -> Any:
        return resolve_factory(self.factory)(**options)
