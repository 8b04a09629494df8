"""What plugins register: one small spec per task, method and model.

A spec carries a name and a factory. Factories are called only when the item is
used, so listing plugins never loads torch, data or weights.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from w2s_bench.errors import RegistryError, UserError


def resolve_factory(factory: Callable[..., Any] | str) -> Callable[..., Any]:
    """Return the callable behind a factory given as a callable or "module:attr".

    :raises RegistryError: when the module cannot be imported or lacks the attribute.
    """
    if callable(factory):
        return factory

    module_name, _, attribute = factory.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"factory {factory!r} is not of the form 'module:attr'")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # plugin code can raise anything while it is imported
        raise RegistryError(f"factory {factory!r} cannot be imported: {type(error).__name__}: {error}") from error
    if not hasattr(module, attribute):
        raise RegistryError(f"factory {factory!r} cannot be imported: module {module_name} has no attribute {attribute!r}")
    return getattr(module, attribute)


def reject_unknown_options(kind: str, name: str, factory: Callable[..., Any], options: dict[str, Any]) -> None:
    """Raise UserError when ``factory`` has no parameter for some of ``options``.

    Factories that take ``**kwargs``, or whose signature cannot be read,
    are not checked.
    """
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return

    keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    accepted = [parameter.name for parameter in parameters if parameter.kind in keyword_kinds]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise UserError(
            f"{kind} {name!r} has no option {', '.join(unknown)}; "
            f"its options are: {', '.join(accepted) or 'none'}"
        )


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
        factory = resolve_factory(self.factory)
        reject_unknown_options("method", self.name, factory, options)
        return factory(**options)


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
