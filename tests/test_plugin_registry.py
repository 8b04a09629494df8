"""Registry loading and contract checks with inline plugins (no installation)."""

from __future__ import annotations

import logging
import types

import pytest
import torch

from w2s_bench.errors import RegistryError, UserError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.methods import Method
from w2s_bench.plugin_check import check_plugin_object, check_plugins
from w2s_bench.registry import Registry
from w2s_bench.specs import MethodSpec, ModelSpec, TaskSpec


class HalfLoss(Method):
    name = "half"

    def loss(self, logits, mask, targets, fraction):
        return 0.5 * (logits.masked_fill(~mask, 0.0) ** 2).mean()


def plugin_module(name: str, **functions) -> types.ModuleType:
    module = types.ModuleType(name)
    for attribute, function in functions.items():
        setattr(module, attribute, function)
    return module


def methods_plugin(*specs) -> types.ModuleType:
    @hookimpl
    def w2s_bench_register_methods():
        return list(specs)

    return plugin_module("methods_plugin", w2s_bench_register_methods=w2s_bench_register_methods)


def registry_with(*plugins: tuple[str, object]) -> Registry:
    registry = Registry(autoload=False, check_mode=True)
    for name, plugin in plugins:
        registry.add_plugin(plugin, name)
    return registry


def messages(registry: Registry, plugin: str) -> list[str]:
    return [problem.message for problem in registry.problems_of(plugin)]


def test_valid_plugin_registers_method():
    registry = registry_with(("good", methods_plugin(MethodSpec("half", HalfLoss, "half squared logits"))))

    assert registry.method("half").name == "half"
    assert registry.provider("method", "half").plugin == "good"
    assert registry.problems == []


def test_wrong_return_type_is_reported_and_skipped():
    @hookimpl
    def w2s_bench_register_methods():
        return {"half": HalfLoss}

    registry = registry_with(("dict-returner", plugin_module("m", w2s_bench_register_methods=w2s_bench_register_methods)))

    assert messages(registry, "dict-returner") == [
        "w2s_bench_register_methods returned dict; expected a list of MethodSpec"
    ]
    assert registry.entries("method") == {}


def test_spec_of_wrong_kind_is_reported():
    registry = registry_with(("mixed", methods_plugin(TaskSpec("a_task", dict), MethodSpec("half", HalfLoss))))

    assert messages(registry, "mixed") == [
        "w2s_bench_register_methods item 0: is TaskSpec, expected MethodSpec (a method hook must not return task specs)"
    ]
    assert list(registry.entries("method")) == ["half"]


@pytest.mark.parametrize(
    "spec, expected",
    [
        (MethodSpec("", HalfLoss), "required field 'name' is missing or empty"),
        (MethodSpec("half", None), "required field 'factory' is missing"),
        (MethodSpec("half", "no_colon_here"), "field 'factory' 'no_colon_here' is not of the form 'module:attr'"),
        (MethodSpec("half,full", HalfLoss), "contains ','; names cannot contain commas or whitespace"),
        (MethodSpec("half", HalfLoss, description=None), "field 'description' is NoneType; expected str"),
    ],
)
def test_invalid_spec_fields_are_reported(spec, expected):
    registry = registry_with(("fields", methods_plugin(spec)))

    [message] = messages(registry, "fields")
    assert message.startswith("w2s_bench_register_methods item 0: ")
    assert expected in message
    assert registry.entries("method") == {}


def test_model_spec_with_bad_size_is_reported():
    @hookimpl
    def w2s_bench_register_models():
        return [ModelSpec("tiny", dict, params_millions="12M")]

    registry = registry_with(("sizes", plugin_module("m", w2s_bench_register_models=w2s_bench_register_models)))

    assert "field 'params_millions' is '12M'" in messages(registry, "sizes")[0]


def test_hook_that_raises_is_reported():
    @hookimpl
    def w2s_bench_register_methods():
        raise KeyError("missing config")

    registry = registry_with(("raiser", plugin_module("m", w2s_bench_register_methods=w2s_bench_register_methods)))

    assert messages(registry, "raiser") == ["w2s_bench_register_methods raised KeyError: 'missing config'"]


def test_hook_with_wrong_signature_is_not_registered():
    @hookimpl
    def w2s_bench_register_methods(config):
        return []

    registry = registry_with(("signature", plugin_module("m", w2s_bench_register_methods=w2s_bench_register_methods)))

    [message] = messages(registry, "signature")
    assert message.startswith("cannot be registered: ")
    assert "config" in message
    assert registry.manager.get_plugin("signature") is None
    assert registry.plugins["signature"].loaded is False


def test_unknown_hook_name_is_not_registered():
    @hookimpl
    def w2s_bench_register_method():
        return []

    registry = registry_with(("typo", plugin_module("m", w2s_bench_register_method=w2s_bench_register_method)))

    [message] = messages(registry, "typo")
    assert "w2s_bench_register_method" in message
    assert registry.manager.get_plugin("typo") is None


def test_unmarked_hook_function_is_a_warning():
    def w2s_bench_register_methods():
        return [MethodSpec("half", HalfLoss)]

    registry = registry_with(("unmarked", plugin_module("m", w2s_bench_register_methods=w2s_bench_register_methods)))

    [problem] = registry.problems_of("unmarked")
    assert problem.severity == "warning"
    assert problem.message == "function w2s_bench_register_methods is not marked with @hookimpl, so it is never called"


def test_clash_raises_on_lookup_only():
    registry = registry_with(
        ("first", methods_plugin(MethodSpec("half", HalfLoss), MethodSpec("other", HalfLoss))),
        ("second", methods_plugin(MethodSpec("half", HalfLoss))),
    )

    with pytest.raises(RegistryError, match=r"name 'half' is registered by two plugins: first and second"):
        registry.method("half")
    assert registry.method("other").name == "other"
    assert list(registry.entries("method")) == ["other"]
    assert messages(registry, "second") == [
        "method name 'half' is also registered by first; the name cannot be used until one registration is renamed or uninstalled"
    ]


def test_clash_fails_listing_outside_check_mode():
    registry = Registry(autoload=False)
    registry.add_plugin(methods_plugin(MethodSpec("half", HalfLoss)), "first")
    registry.add_plugin(methods_plugin(MethodSpec("half", HalfLoss)), "second")

    with pytest.raises(RegistryError, match=r"name 'half' is registered by two plugins: first and second"):
        registry.entries("method")
    assert registry.entries("task") == {}


def test_clash_within_one_plugin_is_reported_once():
    registry = registry_with(("twice", methods_plugin(MethodSpec("half", HalfLoss), MethodSpec("half", HalfLoss))))

    assert messages(registry, "twice") == [
        "method name 'half' is registered twice by this plugin; the name cannot be used until one registration is renamed or uninstalled"
    ]


def test_clash_with_builtin_blames_third_party_plugin():
    registry = Registry(check_mode=True)
    registry.add_plugin(methods_plugin(MethodSpec("naive", HalfLoss)), "shadow", "shadow-dist", "1.2")

    assert registry.problems_of("naive") == []
    [message] = messages(registry, "shadow")
    assert "method name 'naive' is also registered by naive (w2s-bench " in message
    with pytest.raises(RegistryError, match=r"shadow \(shadow-dist 1.2\)"):
        registry.method("naive")
    assert registry.method("aux_conf").name == "aux_conf"


def test_taken_plugin_name_keeps_first_plugin():
    registry = registry_with(("dup", methods_plugin(MethodSpec("half", HalfLoss))))

    registered = registry.add_plugin(methods_plugin(MethodSpec("other", HalfLoss)), "dup")

    assert registered is False
    assert registry.plugins["dup"].loaded is True
    assert list(registry.entries("method")) == ["half"]
    assert messages(registry, "dup") == ["methods_plugin was not registered because dup already uses that plugin name"]


def test_import_failure_is_named_in_unknown_name_error():
    registry = registry_with(("good", methods_plugin(MethodSpec("half", HalfLoss))))
    registry._problem("broken-import", "failed to import broken:plugin: RuntimeError: boom")

    with pytest.raises(RegistryError, match=r"Plugins that failed to load: broken-import"):
        registry.method("confident")


def test_problems_are_logged_as_warnings(caplog):
    @hookimpl
    def w2s_bench_register_methods():
        return "half"

    registry = Registry(autoload=False)
    registry.add_plugin(plugin_module("m", w2s_bench_register_methods=w2s_bench_register_methods), "stringly")

    with caplog.at_level(logging.WARNING, logger="w2s_bench.registry"):
        registry.entries("method")

    assert "plugin stringly has a problem: w2s_bench_register_methods returned str" in caplog.text


def test_resolved_model_records_its_plugin():
    @hookimpl
    def w2s_bench_resolve_model(name):
        return ModelSpec(name, dict, "resolved") if name.startswith("local:") else None

    registry = registry_with(("resolver", plugin_module("m", w2s_bench_resolve_model=w2s_bench_resolve_model)))

    assert registry.model("local:abc").name == "local:abc"
    assert registry.provider("model", "local:abc").plugin == "resolver"
    with pytest.raises(RegistryError, match="unknown model 'remote'"):
        registry.model("remote")


def test_resolver_that_raises_names_plugin():
    @hookimpl
    def w2s_bench_resolve_model(name):
        raise ValueError("cannot parse")

    registry = registry_with(("bad-resolver", plugin_module("m", w2s_bench_resolve_model=w2s_bench_resolve_model)))

    with pytest.raises(RegistryError, match=r"plugin bad-resolver failed to resolve model 'x': ValueError: cannot parse"):
        registry.model("x")


# --- deeper checks ----------------------------------------------------------


class NotAMethod:
    pass


class VectorLoss(HalfLoss):
    def loss(self, logits, mask, targets, fraction):
        return logits.sum(dim=-1)


class DetachedLoss(HalfLoss):
    def loss(self, logits, mask, targets, fraction):
        return torch.tensor(1.0)


class NeedsOption(HalfLoss):
    def __init__(self, required):
        self.required = required


class OpaqueConfig(HalfLoss):
    def config(self):
        return {"name": "opaque", "device": object()}


@pytest.mark.parametrize(
    "factory, expected",
    [
        (NotAMethod, "factory returned NotAMethod, which has no loss or config method"),
        (VectorLoss, "loss returned a tensor of shape [6] on a classify batch [6, 2] at fraction 0.0; expected a scalar"),
        (DetachedLoss, "does not depend on the logits"),
        (NeedsOption, "factory raised TypeError"),
        (OpaqueConfig, "config() is not JSON-serializable"),
        ("w2s_bench.methods:NoSuchClass", "factory 'w2s_bench.methods:NoSuchClass' cannot be imported: module w2s_bench.methods has no attribute 'NoSuchClass'"),
        ("w2s_bench.no_such_module:Thing", "cannot be imported: ModuleNotFoundError: No module named 'w2s_bench.no_such_module'"),
    ],
)
def test_method_check_finds_broken_factory(factory, expected):
    problems = check_plugin_object(methods_plugin(MethodSpec("broken", factory)), name="broken", with_installed=False)

    assert [problem.severity for problem in problems] == ["error"]
    assert problems[0].message.startswith("method 'broken': ")
    assert expected in problems[0].message


def test_method_check_passes_valid_method():
    assert check_plugin_object(methods_plugin(MethodSpec("half", HalfLoss)), name="half", with_installed=False) == []


def test_task_check_finds_bad_task_data():
    from w2s_bench.data import Example, TaskData

    class BadTask:
        def load(self):
            train = [Example("a", ("x",), 0), Example("a", ("y",), 3)]
            return TaskData("bad", "classify", 2, train, [Example("t", ("z", "w"), 0)])

    @hookimpl
    def w2s_bench_register_tasks():
        return [TaskSpec("bad", BadTask)]

    plugin = plugin_module("m", w2s_bench_register_tasks=w2s_bench_register_tasks)
    shallow = check_plugin_object(plugin, name="tasks", with_installed=False)
    deep = [problem.message for problem in check_plugin_object(plugin, name="tasks", with_installed=False, deep=True)]

    assert shallow == []
    assert "task 'bad': train example 1 (id 'a'): label 3 is not a candidate index in [0, 2)" in deep
    assert "task 'bad': train example 1 (id 'a'): id repeats an earlier train example" in deep
    assert "task 'bad': test example 0 (id 't'): a classify example needs 1 text, got 2" in deep


def test_model_check_finds_wrong_feature_shape():
    class FlatBackbone:
        name = "flat"
        fingerprint = "flat:1"
        hidden_size = 8

        def encode(self, texts, batch_size, advance):
            return torch.zeros(len(texts), 4)

    @hookimpl
    def w2s_bench_register_models():
        return [ModelSpec("flat", lambda device="cpu": FlatBackbone())]

    plugin = plugin_module("m", w2s_bench_register_models=w2s_bench_register_models)
    [problem] = check_plugin_object(plugin, name="models", with_installed=False, deep=True)

    assert problem.message == "model 'flat': encode() returned [2, 4]; expected a tensor of shape [2, 8]"


def test_plugin_that_registers_nothing_is_a_warning():
    registry = registry_with(("empty", plugin_module("empty")))

    [report] = check_plugins(registry)

    assert [(problem.severity, problem.message) for problem in report.problems] == [
        ("warning", "registers no task, method or model")
    ]


# --- method options ---------------------------------------------------------


def test_unknown_method_option_is_user_error():
    with pytest.raises(UserError, match=r"method 'half' has no option alpha_max; its options are: none"):
        MethodSpec("half", HalfLoss).create(alpha_max=0.75)


def test_known_method_option_is_passed():
    registry = Registry(autoload=False)
    registry.load_entry_points()

    method = registry.method("aux_conf").create(alpha_max=0.75)

    assert method.config()["alpha_max"] == 0.75
    with pytest.raises(UserError, match=r"its options are: alpha_max, warmup_fraction, threshold"):
        registry.method("aux_conf").create(alpha=0.75)
