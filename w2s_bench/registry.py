"""The plugin registry: loads plugins from entry points and looks up names."""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from w2s_bench import hookspecs
from w2s_bench.errors import RegistryError
from w2s_bench.specs import MethodSpec, ModelSpec, TaskSpec

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "w2s_bench"

#: Set to a non-empty value to skip loading entry points (tests use this to
#: build registries from inline plugins only).
DISABLE_AUTOLOAD_ENV = "W2S_BENCH_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class Registered:
    """A spec together with the plugin that registered it."""

    spec: Any
    plugin: str
    distribution: str | None = None
    version: str | None = None

    @property
    def provider(self) -> str:
        if self.distribution:
            return f"{self.plugin} ({self.distribution} {self.version})"
        return self.plugin


class Registry:
    """Tasks, methods and models registered by plugins, looked up by name."""

    def __init__(self, autoload: bool = True) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self._distributions: dict[str, tuple[str, str]] = {}
        self._tables: dict[str, dict[str, Registered]] | None = None

        if autoload and not os.environ.get(DISABLE_AUTOLOAD_ENV):
            self.load_entry_points()

    # --- plugin loading --------------------------------------------------

    def load_entry_points(self) -> None:
        """Register every plugin of the ``w2s_bench`` entry-point group."""
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if self.manager.get_plugin(entry_point.name) is not None:
                continue

            plugin = entry_point.load()
            self.manager.register(plugin, name=entry_point.name)
            if entry_point.dist is not None:
                self._distributions[entry_point.name] = (
                    entry_point.dist.metadata["Name"],
                    entry_point.dist.version,
                )
            logger.debug("loaded plugin %s from %s", entry_point.name, entry_point.value)

        self.manager.check_pending()
        self._tables = None

    def register(self, plugin: object, name: str) -> None:
        """Register a plugin object directly (used by tests and embedding code)."""
        self.manager.register(plugin, name=name)
        self.manager.check_pending()
        self._tables = None

    # --- tables ----------------------------------------------------------

    def _collect(self, hook_name: str) -> dict[str, Registered]:
        table: dict[str, Registered] = {}
        hook = getattr(self.manager.hook, hook_name)

        for impl in hook.get_hookimpls():
            plugin_name = self.manager.get_name(impl.plugin) or repr(impl.plugin)
            distribution, version = self._distributions.get(plugin_name, (None, None))
            specs = impl.function() or []

            for spec in specs:
                if spec.name in table:
                    first = table[spec.name]
                    raise RegistryError(
                        f"name {spec.name!r} is registered by two plugins: "
                        f"{first.provider} and {plugin_name}"
                    )
                table[spec.name] = Registered(spec, plugin_name, distribution, version)
        return table

    def _all_tables(self) -> dict[str, dict[str, Registered]]:
        if self._tables is None:
            self._tables = {
                "task": self._collect("w2s_bench_register_tasks"),
                "method": self._collect("w2s_bench_register_methods"),
                "model": self._collect("w2s_bench_register_models"),
            }
        return self._tables

    def entries(self, kind: str) -> dict[str, Registered]:
        """Return the registered items of one kind ("task", "method", "model")."""
        return dict(sorted(self._all_tables()[kind].items()))

    # --- lookups ---------------------------------------------------------

    def _lookup(self, kind: str, name: str) -> Registered:
        table = self._all_tables()[kind]
        if name in table:
            return table[name]
        raise RegistryError(unknown_name_message(kind, name, list(table)))

    def task(self, name: str) -> TaskSpec:
        table = self._all_tables()["task"]
        if name in table:
            return table[name].spec

        resolved = self.manager.hook.w2s_bench_resolve_task(name=name)
        if resolved is not None:
            return resolved
        raise RegistryError(unknown_name_message("task", name, list(table)))

    def method(self, name: str) -> MethodSpec:
        return self._lookup("method", name).spec

    def model(self, name: str) -> ModelSpec:
        table = self._all_tables()["model"]
        if name in table:
            return table[name].spec

        resolved = self.manager.hook.w2s_bench_resolve_model(name=name)
        if resolved is not None:
            return resolved
        raise RegistryError(unknown_name_message("model", name, list(table)))

    def provider(self, kind: str, name: str) -> Registered | None:
        """Return the registration record of a name, or None if it is not registered."""
        return self._all_tables()[kind].get(name)


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    """Build the one-line error for an unknown name, with close matches first."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    listing = ", ".join(sorted(known)) or "none"
    return f"unknown {kind} {name!r}.{hint} Known {kind}s: {listing}"


_default: Registry | None = None


def default_registry() -> Registry:
    """Return the process-wide registry built from installed entry points."""
    global _default
    if _default is None:
        _default = Registry()
    return _default
