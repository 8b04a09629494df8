"""Routing of the command line's named method options (--ladder, --loss) to the methods that take them."""

from __future__ import annotations

import inspect
from typing import Any

import click
from click.core import ParameterSource

from w2s_bench.errors import UserError
from w2s_bench.ladder import parse_ladder
from w2s_bench.specs import resolve_factory


def takes_option(spec: Any, option: str) -> bool:
    """True when the method's factory has a parameter named ``option``."""
    return option in inspect.signature(resolve_factory(spec.factory)).parameters


def options_per_method(registry: Any, methods: list[str], options: dict[str, Any], named: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each method's options: the ``-o`` options, plus each named option the method takes.

    :raises UserError: when a named option is given but no method takes it.
    """
    per_method = {name: dict(options) for name in methods}
    for option, value in named.items():
        if value is None:
            continue

        takers = [name for name in methods if takes_option(registry.method(name), option)]
        if not takers:
            owners = [name for name, entry in registry.entries("method").items() if takes_option(entry.spec, option)]
            raise UserError(
                f"--{option} is an option of {', '.join(owners) or 'no installed method'}; "
                f"none of the methods given ({', '.join(methods)}) takes it"
            )
        for name in takers:
            per_method[name][option] = value
    return per_method


def ladder_endpoints(ladder: Any, weak: str, strong: str, context: click.Context) -> tuple[str, str]:
    """Return the weak and strong models, defaulting to the ladder's ends when the user gave no --weak or --strong."""
    if ladder is None:
        return weak, strong

    models = parse_ladder(ladder)
    if context.get_parameter_source("weak") is ParameterSource.DEFAULT:
        weak = models[0]
    if context.get_parameter_source("strong") is ParameterSource.DEFAULT:
        strong = models[-1]
    return weak, strong
