"""The plugin registry: entry points, lookups, and name clashes."""

from __future__ import annotations

import pluggy
import pytest

from w2s_bench.errors import RegistryError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.registry import Registry
from w2s_bench.specs import MethodSpec


class FirstPlugin:
    @hookimpl
    def w2s_bench_register_methods(self):
        return [MethodSpec("shared_name", "builtins:dict")]


class SecondPlugin:
    @hookimpl
    def w2s_bench_register_methods(self):
        return [MethodSpec("shared_name", "builtins:dict")]


class MisspelledHookPlugin:
    @hookimpl
    def w2s_bench_register_method(self):  # missing final "s"
        return []


def test_builtins_register_through_entry_points() -> None:
    registry = Registry()

    assert "rotten_tomatoes" in registry.entries("task")
    assert {"naive", "aux_conf"} <= set(registry.entries("method"))
    assert {"minilm-l2", "minilm-l6", "mpnet-base"} <= set(registry.entries("model"))
    assert registry.provider("method", "naive").distribution == "w2s-bench"


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(RegistryError) as raised:
        Registry().method("aux_cnf")

    message = str(raised.value)
    assert "unknown method 'aux_cnf'" in message
    assert "Did you mean aux_conf" in message
    assert "naive" in message


def test_unknown_model_name_is_not_sent_to_hub() -> None:
    with pytest.raises(RegistryError, match="unknown model 'mpnet'"):
        Registry().model("mpnet")


def test_name_clash_names_both_plugins() -> None:
    registry = Registry(autoload=False)
    registry.register(FirstPlugin(), name="first-plugin")
    registry.register(SecondPlugin(), name="second-plugin")

    with pytest.raises(RegistryError) as raised:
        registry.entries("method")

    assert "first-plugin" in str(raised.value)
    assert "second-plugin" in str(raised.value)


def test_misspelled_hook_fails_at_registration() -> None:
    registry = Registry(autoload=False)

    with pytest.raises(pluggy.PluginValidationError):
        registry.register(MisspelledHookPlugin(), name="typo")


def test_autoload_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("W2S_BENCH_DISABLE_PLUGIN_AUTOLOAD", "1")

    assert Registry().entries("task") == {}
