"""Checks on what registration hooks return, run on every registry build.

These checks are cheap: they read spec fields and never call a factory, so
listing plugins stays fast. A spec that fails them is skipped and reported
under the plugin that returned it. Deeper checks that create methods, tasks
and models are in :mod:`w2s_bench.plugin_check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from w2s_bench.specs import MethodSpec, ModelSpec, TaskSpec

#: The spec class each registration hook must return, by kind.
SPEC_CLASSES: dict[str, type] = {"task": TaskSpec, "method": MethodSpec, "model": ModelSpec}

#: The registration hook of each kind.
REGISTRATION_HOOKS: dict[str, str] = {
    "task": "w2s_bench_register_tasks",
    "method": "w2s_bench_register_methods",
    "model": "w2s_bench_register_models",
}

#: Characters a name cannot contain: the CLI splits name lists on commas and
#: a name with whitespace cannot be typed as one shell word.
FORBIDDEN_NAME_CHARACTERS = frozenset(", \t\n\r")


@dataclass
class Registration:
    """The specs one registration hook returned, split into valid ones and violations."""

    specs: list[Any] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


def check_registration(result: Any, kind: str) -> Registration:
    """Validate the return value of one plugin's registration hook for ``kind``.

    ``None`` counts as registering nothing, as pluggy drops None results.
    """
    registration = Registration()
    hook = REGISTRATION_HOOKS[kind]
    spec_class = SPEC_CLASSES[kind]
    if result is None:
        return registration

    if not isinstance(result, (list, tuple)):
        registration.violations.append(
            f"{hook} returned {type(result).__name__}; expected a list of {spec_class.__name__}"
        )
        return registration

    for position, spec in enumerate(result):
        problems = spec_violations(spec, kind)
        if problems:
            label = f"{hook} item {position}"
            registration.violations.extend(f"{label}: {problem}" for problem in problems)
        else:
            registration.specs.append(spec)
    return registration


def spec_violations(spec: Any, kind: str) -> list[str]:
    """Return what is wrong with one spec; an empty list when it is valid."""
    spec_class = SPEC_CLASSES[kind]
    if not isinstance(spec, spec_class):
        other = next((name for name, cls in SPEC_CLASSES.items() if isinstance(spec, cls)), None)
        hint = f" (a {kind} hook must not return {other} specs)" if other else ""
        return [f"is {type(spec).__name__}, expected {spec_class.__name__}{hint}"]

    problems = name_violations(spec.name)
    problems += factory_violations(spec.factory)
    if not isinstance(spec.description, str):
        problems.append(f"field 'description' is {type(spec.description).__name__}; expected str")

    if isinstance(spec, TaskSpec):
        if not isinstance(spec.kind, str) or not spec.kind:
            problems.append(f"field 'kind' is {spec.kind!r}; expected a non-empty str")
        if not isinstance(spec.options, dict):
            problems.append(f"field 'options' is {type(spec.options).__name__}; expected dict")
    if isinstance(spec, ModelSpec) and spec.params_millions is not None:
        if isinstance(spec.params_millions, bool) or not isinstance(spec.params_millions, (int, float)):
            problems.append(f"field 'params_millions' is {spec.params_millions!r}; expected a number or None")
    return problems


def name_violations(name: Any) -> list[str]:
    if name is None or name == "":
        return ["required field 'name' is missing or empty"]
    if not isinstance(name, str):
        return [f"field 'name' is {type(name).__name__}; expected str"]

    bad = sorted({repr(character) for character in name if character in FORBIDDEN_NAME_CHARACTERS})
    if bad:
        return [f"field 'name' {name!r} contains {', '.join(bad)}; names cannot contain commas or whitespace"]
    return []


def factory_violations(factory: Any) -> list[str]:
    if factory is None:
        return ["required field 'factory' is missing"]
    if callable(factory):
        return []
    if not isinstance(factory, str):
        return [f"field 'factory' is {type(factory).__name__}; expected a callable or a 'module:attr' string"]

    module_name, _, attribute = factory.partition(":")
    if not module_name or not attribute:
        return [f"field 'factory' {factory!r} is not of the form 'module:attr'"]
    return []
