"""The plugin registry: loads plugins from entry points and looks up names.

Loading is defensive: a plugin that fails to import, whose hooks do not match
the hookspecs, whose hook raises or returns specs that break the contracts
in :mod:`w2s_bench.contracts` is skipped and recorded as a
:class:`PluginProblem`, so one broken plugin never stops the others from
working. A name registered by two plugins is recorded too. Looking that name
up raises a :class:`RegistryError` naming both plugins, and so does listing
the names of its kind, except in check mode.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

import pluggy

from w2s_bench import hookspecs
from w2s_bench.contracts import REGISTRATION_HOOKS, check_registration, spec_violations
from w2s_bench.errors import RegistryError, UserError
from w2s_bench.specs import MethodSpec, ModelSpec, TaskSpec

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "w2s_bench"

#: Set to a non-empty value to skip loading entry points (tests use this to
#: build registries from inline plugins only).
DISABLE_AUTOLOAD_ENV = "W2S_BENCH_DISABLE_PLUGIN_AUTOLOAD"

#: Distribution of the built-in plugins, which are never blamed for a clash
#: with a third-party plugin.
CORE_DISTRIBUTION = "w2s-bench"

KINDS = ("task", "method", "model")
HOOK_NAMES = frozenset(name for name in dir(hookspecs) if name.startswith("w2s_bench_"))

Severity = Literal["error", "warning"]


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

    def as_record(self) -> dict[str, str | None]:
        """The plugin, distribution and version, as stored in result records."""
        return {"plugin": self.plugin, "distribution": self.distribution, "version": self.version}


@dataclass(frozen=True)
class PluginInfo:
    """One plugin: its name, where it comes from and whether it loaded."""

    name: str
    #: The entry point's "module:attr", or the repr of an object registered directly.
    source: str
    distribution: str | None = None
    version: str | None = None
    loaded: bool = False

    @property
    def label(self) -> str:
        if self.distribution:
            return f"{self.name} ({self.distribution} {self.version})"
        return self.name


@dataclass(frozen=True)
class PluginProblem:
    """A contract violation found while loading a plugin or calling its hooks.

    An ``error`` means the plugin, or the specs named in the message, were
    skipped; a ``warning`` means everything was kept but is likely a mistake.
    """

    plugin: str
    message: str
    severity: Severity = "error"


class Registry:
    """Tasks, methods and models registered by plugins, looked up by name.

    :param autoload: load the ``w2s_bench`` entry points now (unless
        :data:`DISABLE_AUTOLOAD_ENV` is set).
    :param check_mode: collect problems without logging them, and list the
        names of a kind even when another name of that kind clashes, as
        ``w2s-bench plugins check`` needs. Otherwise each problem is logged
        as a warning when it is found and :meth:`entries` raises on a clash.
    """

    def __init__(self, autoload: bool = True, check_mode: bool = False) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.check_mode = check_mode
        self.plugins: dict[str, PluginInfo] = {}
        self._load_problems: list[PluginProblem] = []
        self._table_problems: list[PluginProblem] = []
        self._tables: dict[str, dict[str, Registered]] | None = None
        self._clashes: dict[str, dict[str, list[Registered]]] = {kind: {} for kind in KINDS}
        self._registered_by: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._resolved: dict[str, Registered] = {}

        if autoload and not os.environ.get(DISABLE_AUTOLOAD_ENV):
            self.load_entry_points()

    # --- plugin loading --------------------------------------------------

    def load_entry_points(self) -> None:
        """Register every plugin of the ``w2s_bench`` entry-point group.

        Calling it again loads only entry points not seen before.
        """
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            distribution = version = None
            if entry_point.dist is not None:
                distribution = entry_point.dist.metadata["Name"]
                version = entry_point.dist.version
            info = PluginInfo(entry_point.name, entry_point.value, distribution, version)

            known = self.plugins.get(entry_point.name)
            if known is not None:
                if (known.source, known.distribution) != (info.source, info.distribution):
                    self._problem(
                        entry_point.name,
                        f"entry point {entry_point.name!r} = {entry_point.value!r} from {distribution} was not loaded "
                        f"because {known.label} already uses that plugin name; rename one of the entry points",
                    )
                continue

            self.plugins[info.name] = info
            try:
                plugin = entry_point.load()
            except Exception as error:  # a third-party import can raise anything
                self._problem(info.name, f"failed to import {entry_point.value}: {describe(error)}")
                continue
            self._add(plugin, info)

        self._tables = None

    def register(self, plugin: object, name: str) -> None:
        """Register a plugin object directly (used by tests and embedding code).

        Unlike entry points, an invalid plugin raises here: pluggy's
        ``PluginValidationError`` for a hook that does not match its
        hookspec, ``ValueError`` for a name registered twice.
        """
        self.manager.register(plugin, name=name)
        self.manager.check_pending()
        self.plugins[name] = PluginInfo(name, repr(plugin), loaded=True)
        self._tables = None

    def add_plugin(self, plugin: object, name: str, distribution: str | None = None, version: str | None = None) -> bool:
        """Register a plugin object defensively, recording problems instead of raising.

        Returns whether the plugin was registered.
        """
        info = PluginInfo(name, getattr(plugin, "__name__", repr(plugin)), distribution, version)
        known = self.plugins.get(name)
        if known is not None:
            self._problem(name, f"{info.source} was not registered because {known.label} already uses that plugin name")
            return False

        self.plugins[name] = info
        self._tables = None
        return self._add(plugin, info)

    def _add(self, plugin: object, info: PluginInfo) -> bool:
        try:
            self.manager.register(plugin, name=info.name)
        except (pluggy.PluginValidationError, ValueError) as error:
            self._problem(info.name, f"cannot be registered: {one_line(str(error))}")
            return False

        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            # Plugins registered earlier already passed, so the new one is at fault.
            self.manager.unregister(plugin)
            self._problem(info.name, f"cannot be registered: {one_line(str(error))}")
            return False

        for message in unmarked_hook_messages(self.manager, plugin):
            self._problem(info.name, message, "warning")
        self.plugins[info.name] = PluginInfo(info.name, info.source, info.distribution, info.version, loaded=True)
        logger.debug("loaded plugin %s from %s", info.name, info.source)
        return True

    def _problem(self, plugin: str, message: str, severity: Severity = "error", stage: str = "load") -> None:
        problem = PluginProblem(plugin, message, severity)
        (self._load_problems if stage == "load" else self._table_problems).append(problem)
        if not self.check_mode:
            action = "was not loaded" if stage == "load" and severity == "error" else "has a problem"
            logger.warning(
                "plugin %s %s: %s (run `w2s-bench plugins check` for a full report)",
                self._label(plugin), action, message,
            )

    def _label(self, plugin: str) -> str:
        info = self.plugins.get(plugin)
        return info.label if info else plugin

    # --- problems and what each plugin registers -------------------------

    @property
    def problems(self) -> list[PluginProblem]:
        """Every problem found so far, loading problems first."""
        self._all_tables()
        return [*self._load_problems, *self._table_problems]

    def problems_of(self, plugin: str) -> list[PluginProblem]:
        return [problem for problem in self.problems if problem.plugin == plugin]

    def registrations(self, plugin: str) -> list[tuple[str, str]]:
        """Return the (kind, name) pairs a plugin registered, clashing names included."""
        self._all_tables()
        return list(self._registered_by.get(plugin, []))

    def clashes(self, kind: str) -> dict[str, list[Registered]]:
        """Return the names of one kind registered by more than one plugin, with every registration."""
        self._all_tables()
        return dict(self._clashes[kind])

    # --- tables ----------------------------------------------------------

    def _distribution_of(self, plugin_name: str) -> tuple[str | None, str | None]:
        info = self.plugins.get(plugin_name)
        return (info.distribution, info.version) if info else (None, None)

    def _collect(self, kind: str) -> dict[str, Registered]:
        table: dict[str, Registered] = {}
        hook_name = REGISTRATION_HOOKS[kind]
        hook = getattr(self.manager.hook, hook_name)

        for impl in hook.get_hookimpls():
            plugin_name = self.manager.get_name(impl.plugin) or repr(impl.plugin)
            distribution, version = self._distribution_of(plugin_name)
            try:
                result = impl.function()
            except Exception as error:  # a third-party hook can raise anything
                self._problem(plugin_name, f"{hook_name} raised {describe(error)}", stage="tables")
                continue

            registration = check_registration(result, kind)
            for violation in registration.violations:
                self._problem(plugin_name, violation, stage="tables")

            for spec in registration.specs:
                registered = Registered(spec, plugin_name, distribution, version)
                self._registered_by[plugin_name].append((kind, spec.name))
                if spec.name in self._clashes[kind]:
                    self._clashes[kind][spec.name].append(registered)
                elif spec.name in table:
                    self._clashes[kind][spec.name] = [table.pop(spec.name), registered]
                else:
                    table[spec.name] = registered

        for name, registrations in self._clashes[kind].items():
            self._report_clash(kind, name, registrations)
        return table

    def _report_clash(self, kind: str, name: str, registrations: list[Registered]) -> None:
        """Record a clash under every plugin involved except the built-in ones."""
        blamed = [item for item in registrations if item.distribution != CORE_DISTRIBUTION] or registrations
        unique = {item.plugin: item for item in reversed(blamed)}
        for item in unique.values():
            others = sorted({other.provider for other in registrations if other is not item})
            where = "registered twice by this plugin" if others == [item.provider] else f"also registered by {', '.join(others)}"
            self._problem(
                item.plugin,
                f"{kind} name {name!r} is {where}; "
                "the name cannot be used until one registration is renamed or uninstalled",
                stage="tables",
            )

    def _all_tables(self) -> dict[str, dict[str, Registered]]:
        if self._tables is None:
            self._table_problems = []
            self._registered_by.clear()
            self._clashes = {kind: {} for kind in KINDS}
            self._tables = {kind: self._collect(kind) for kind in KINDS}
        return self._tables

    def entries(self, kind: str) -> dict[str, Registered]:
        """Return the registered items of one kind ("task", "method", "model").

        :raises RegistryError: when two plugins register one name of this
            kind, naming both. In check mode such names are left out instead.
        """
        table = self._all_tables()[kind]
        if not self.check_mode:
            for name in sorted(self._clashes[kind]):
                self._raise_if_clash(kind, name)
        return dict(sorted(table.items()))

    # --- lookups ---------------------------------------------------------

    def _lookup(self, kind: str, name: str) -> Registered:
        table = self._all_tables()[kind]
        if name in table:
            return table[name]
        self._raise_if_clash(kind, name)
        raise RegistryError(self._unknown_message(kind, name, list(table)))

    def _raise_if_clash(self, kind: str, name: str) -> None:
        registrations = self._clashes[kind].get(name)
        if registrations:
            providers = " and ".join(item.provider for item in registrations)
            raise RegistryError(
                f"name {name!r} is registered by two plugins: {providers}; "
                "uninstall or rename one of them (`w2s-bench plugins check` lists every plugin)"
            )

    def _unknown_message(self, kind: str, name: str, known: list[str]) -> str:
        message = unknown_name_message(kind, name, known)
        failed = sorted({problem.plugin for problem in self._load_problems if problem.severity == "error"})
        if failed:
            message += f". Plugins that failed to load: {', '.join(failed)} (see `w2s-bench plugins check`)"
        return message

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
        self._raise_if_clash("model", name)

        resolved = self.resolve_model(name)
        if resolved is not None:
            return resolved.spec
        raise RegistryError(self._unknown_message("model", name, list(table)))

    def resolve_model(self, name: str) -> Registered | None:
        """Ask the ``w2s_bench_resolve_model`` hooks for an unregistered model name.

        Hooks are called in pluggy's order (last registered first, tryfirst
        and trylast respected); the first spec returned wins, as with
        ``firstresult``. Calling them here, not through pluggy, records which
        plugin resolved the name.
        """
        if name in self._resolved:
            return self._resolved[name]

        hook = self.manager.hook.w2s_bench_resolve_model
        for impl in reversed(hook.get_hookimpls()):
            plugin_name = self.manager.get_name(impl.plugin) or repr(impl.plugin)
            try:
                spec = impl.function(name=name)
            except UserError:
                raise
            except Exception as error:  # a third-party hook can raise anything
                raise RegistryError(
                    f"plugin {self._label(plugin_name)} failed to resolve model {name!r}: {describe(error)}"
                ) from error
            if spec is None:
                continue

            violations = spec_violations(spec, "model")
            if violations:
                raise RegistryError(
                    f"plugin {self._label(plugin_name)} resolved model {name!r} to an invalid spec: {'; '.join(violations)}"
                )
            distribution, version = self._distribution_of(plugin_name)
            self._resolved[name] = Registered(spec, plugin_name, distribution, version)
            return self._resolved[name]
        return None

    def provider(self, kind: str, name: str) -> Registered | None:
        """Return the registration record of a name, or None if it is not registered.

        A model name resolved by ``w2s_bench_resolve_model`` counts once it
        has been looked up.
        """
        registered = self._all_tables()[kind].get(name)
        if registered is None and kind == "model":
            return self._resolved.get(name)
        return registered


def describe(error: BaseException) -> str:
    """Return ``Type: message`` for an exception raised by plugin code."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def unmarked_hook_messages(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    """Warn about functions named like hooks that lack the ``@hookimpl`` marker.

    pluggy ignores such functions silently, so the plugin registers nothing.
    """
    messages = []
    for attribute in dir(plugin):
        if not attribute.startswith("w2s_bench_") or not callable(getattr(plugin, attribute, None)):
            continue
        if manager.parse_hookimpl_opts(plugin, attribute) is not None:
            continue

        if attribute in HOOK_NAMES:
            messages.append(f"function {attribute} is not marked with @hookimpl, so it is never called")
        else:
            close = difflib.get_close_matches(attribute, sorted(HOOK_NAMES), n=1, cutoff=0.8)
            if close:
                messages.append(f"function {attribute} is not a hook; did you mean {close[0]} (marked with @hookimpl)?")
    return messages


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
