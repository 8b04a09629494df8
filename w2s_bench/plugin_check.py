"""A plugin author's checks: load every plugin and test what it registers.

The registry already records problems found while loading plugins and
calling their registration hooks. These checks go further and use each spec
the way a run would. They import "module:attr" factories, create each method
with its default options and call its loss on small batches, and create each
task. With ``deep`` they also load each task's data and encode two texts with
each model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from w2s_bench.errors import UserError
from w2s_bench.registry import PluginInfo, PluginProblem, Registered, Registry, describe
from w2s_bench.specs import resolve_factory

#: Texts encoded by each model in a deep check.
PROBE_TEXTS = ("The weak supervisor labels this text.", "A strong student learns from weak labels.")


@dataclass
class PluginReport:
    """Registrations and problems of one plugin."""

    info: PluginInfo
    registers: list[tuple[str, str]] = field(default_factory=list)
    #: Whether the plugin implements ``w2s_bench_resolve_model``.
    resolves_models: bool = False
    problems: list[PluginProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[PluginProblem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[PluginProblem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "plugin": self.info.name,
            "source": self.info.source,
            "distribution": self.info.distribution,
            "version": self.info.version,
            "loaded": self.info.loaded,
            "registers": [{"kind": kind, "name": name} for kind, name in self.registers],
            "resolves_models": self.resolves_models,
            "problems": [{"severity": p.severity, "message": p.message} for p in self.problems],
        }


def check_plugins(registry: Registry, deep: bool = False, only: set[str] | None = None) -> list[PluginReport]:
    """Run every check on the plugins of ``registry``; one report per plugin, in load order.

    :param only: plugin names to check and report; None checks all. Every
        plugin is loaded either way, so clashes with the others are found.
    """
    reports = {name: PluginReport(info) for name, info in registry.plugins.items()}
    for problem in registry.problems:
        report = reports.setdefault(problem.plugin, PluginReport(PluginInfo(problem.plugin, "unknown")))
        report.problems.append(problem)

    for name, report in reports.items():
        report.registers = registry.registrations(name)
        report.resolves_models = implements(registry, name, "w2s_bench_resolve_model")

    for kind, registered in registered_specs(registry):
        if only is not None and registered.plugin not in only:
            continue
        for message in spec_problems(kind, registered, deep):
            reports[registered.plugin].problems.append(PluginProblem(registered.plugin, message))

    for report in reports.values():
        if report.info.loaded and not report.registers and not report.resolves_models and not report.problems:
            report.problems.append(PluginProblem(report.info.name, "registers no task, method or model", "warning"))
    return [report for name, report in reports.items() if only is None or name in only]


def implements(registry: Registry, plugin_name: str, hook_name: str) -> bool:
    plugin = registry.manager.get_plugin(plugin_name)
    if plugin is None:
        return False
    return any(impl.plugin is plugin for impl in getattr(registry.manager.hook, hook_name).get_hookimpls())


def check_plugin_object(plugin: object, name: str = "plugin-under-test", with_installed: bool = True, deep: bool = False) -> list[PluginProblem]:
    """Check one plugin module or object, for use in a plugin's own tests.

    With ``with_installed`` the installed entry points are loaded too, so a
    name clash with the built-in or other installed plugins is found. When
    ``plugin`` is itself installed, its entry point is the one checked.

    :returns: the problems found with ``plugin``; an empty list when it passes.
    """
    registry = Registry(autoload=with_installed, check_mode=True)
    if registry.manager.is_registered(plugin):
        name = registry.manager.get_name(plugin) or name
    else:
        registry.add_plugin(plugin, name)

    for report in check_plugins(registry, deep, only={name}):
        return report.problems
    return []


def registered_specs(registry: Registry) -> list[tuple[str, Registered]]:
    """Return every valid spec with its kind, clashing ones included, so each is checked."""
    specs = []
    for kind in ("task", "method", "model"):
        specs.extend((kind, registered) for registered in registry.entries(kind).values())
        for registrations in registry.clashes(kind).values():
            specs.extend((kind, registered) for registered in registrations)
    return specs


def spec_problems(kind: str, registered: Registered, deep: bool) -> list[str]:
    """Use one spec the way a run would and describe what fails."""
    spec = registered.spec
    label = f"{kind} {spec.name!r}"

    if isinstance(spec.factory, str):
        try:
            resolve_factory(spec.factory)
        except UserError as error:
            return [f"{label}: {error}"]

    checks: dict[str, Callable[[Any, bool], list[str]]] = {
        "method": method_problems, "task": task_problems, "model": model_problems,
    }
    return [f"{label}: {message}" for message in checks[kind](spec, deep)]


# --- methods -------------------------------------------------------------


def method_problems(spec: Any, deep: bool) -> list[str]:
    """Create the method with default options and call its loss on two small batches."""
    try:
        method = spec.create()
    except Exception as error:  # plugin code
        return [f"factory raised {describe(error)} when called without options, as `w2s-bench run` does"]

    missing = [attribute for attribute in ("loss", "config") if not callable(getattr(method, attribute, None))]
    if missing:
        return [f"factory returned {type(method).__name__}, which has no {' or '.join(missing)} method; "
                "expected a w2s_bench.methods.Method"]

    problems = config_problems(method)
    for batch_name, batch in loss_batches().items():
        found = loss_problems(method, batch_name, *batch)
        if found:
            # Report only the first failing batch because later ones usually repeat its fault.
            return problems + found[:1]
    return problems


def config_problems(method: Any) -> list[str]:
    try:
        config = method.config()
    except Exception as error:  # plugin code
        return [f"config() raised {describe(error)}"]

    if not isinstance(config, dict):
        return [f"config() returned {type(config).__name__}; expected a dict"]
    problems = []
    if "name" not in config:
        problems.append("config() has no 'name' key; the student cache key would not name the method")
    try:
        json.dumps(config, sort_keys=True)
    except (TypeError, ValueError) as error:
        problems.append(f"config() is not JSON-serializable ({error}); the cache key would depend on repr()")
    return problems


def loss_batches() -> dict[str, tuple[Any, Any, Any]]:
    """Two batches in the shapes every method receives: a classify batch and a padded rank batch."""
    import torch

    generator = torch.Generator().manual_seed(0)
    classify_logits = torch.randn(6, 2, generator=generator)
    classify_mask = torch.ones(6, 2, dtype=torch.bool)
    classify_targets = torch.softmax(torch.randn(6, 2, generator=generator) * 3, dim=-1)

    rank_logits = torch.randn(5, 4, generator=generator)
    rank_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    rank_scores = torch.randn(5, 4, generator=generator).masked_fill(~rank_mask, float("-inf"))
    rank_targets = torch.softmax(rank_scores * 3, dim=-1)
    return {
        "classify batch [6, 2]": (classify_logits, classify_mask, classify_targets),
        "padded rank batch [5, 4]": (rank_logits, rank_mask, rank_targets),
    }


def loss_problems(method: Any, batch_name: str, logits: Any, mask: Any, targets: Any) -> list[str]:
    import torch

    # a method with its own student side trains through a wrapped loss method, not its own loss()
    if callable(getattr(method, "student_side", None)):
        return []

    problems = []
    for fraction in (0.0, 0.5):
        leaf = logits.clone().requires_grad_(True)
        try:
            loss = method.loss(leaf, mask, targets, fraction)
        except Exception as error:  # plugin code
            return [f"loss raised {describe(error)} on a {batch_name} at fraction {fraction}"]

        where = f"on a {batch_name} at fraction {fraction}"
        if not isinstance(loss, torch.Tensor):
            return [f"loss returned {type(loss).__name__} {where}; expected a scalar torch.Tensor"]
        if loss.dim() != 0:
            return [f"loss returned a tensor of shape {list(loss.shape)} {where}; expected a scalar (shape [])"]
        value = float(loss.detach()) if loss.is_floating_point() else loss.item()
        if not loss.is_floating_point() or not math.isfinite(value):
            problems.append(f"loss returned {value!r} ({loss.dtype}) {where}; expected a finite float")
            continue
        if not loss.requires_grad:
            problems.append(f"loss {where} does not depend on the logits, so training cannot change the student")
            continue
        loss.backward()
        if leaf.grad is None or not torch.isfinite(leaf.grad).all():
            problems.append(f"loss {where} gives missing or non-finite gradients")
    return problems


# --- tasks ---------------------------------------------------------------


def task_problems(spec: Any, deep: bool) -> list[str]:
    """Create the task; with ``deep`` also load it and check every example."""
    try:
        task = spec.create()
    except Exception as error:  # plugin code
        return [f"factory raised {describe(error)}"]
    if not callable(getattr(task, "load", None)):
        return [f"factory returned {type(task).__name__}, which has no load() method"]
    if not deep:
        return []

    try:
        data = task.load()
    except Exception as error:  # plugin code or its data
        return [f"load() raised {describe(error)}"]
    return task_data_problems(data)


def task_data_problems(data: Any) -> list[str]:
    from w2s_bench.data import TaskData

    if not isinstance(data, TaskData):
        return [f"load() returned {type(data).__name__}; expected w2s_bench.data.TaskData"]
    if data.head not in ("classify", "rank"):
        return [f"TaskData.head is {data.head!r}; expected 'classify' or 'rank'"]
    if not isinstance(data.num_candidates, int) or data.num_candidates < 2:
        return [f"TaskData.num_candidates is {data.num_candidates!r}; expected an int of at least 2"]

    problems = []
    for split in ("train", "test"):
        examples = getattr(data, split)
        if not examples:
            problems.append(f"the {split} split is empty")
        problems += example_problems(data, split, examples)
    return problems


def example_problems(data: Any, split: str, examples: list) -> list[str]:
    """Check every example of one split; report the first bad example of each kind of fault."""
    faults: dict[str, str] = {}
    seen: set[str] = set()
    for position, example in enumerate(examples):
        where = f"{split} example {position} (id {getattr(example, 'id', None)!r})"
        texts = getattr(example, "texts", None)
        if not isinstance(texts, tuple) or not all(isinstance(text, str) for text in texts):
            faults.setdefault("texts", f"{where}: texts is not a tuple of str")
            continue

        count = len(texts)
        if data.head == "classify" and count != 1:
            faults.setdefault("count", f"{where}: a classify example needs 1 text, got {count}")
        if data.head == "rank" and not 1 <= count <= data.num_candidates:
            faults.setdefault("count", f"{where}: a rank example needs 1 to {data.num_candidates} texts, got {count}")

        candidates = data.num_candidates if data.head == "classify" else count
        label = getattr(example, "label", None)
        if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < candidates:
            faults.setdefault("label", f"{where}: label {label!r} is not a candidate index in [0, {candidates})")
        if example.id in seen:
            faults.setdefault("id", f"{where}: id repeats an earlier {split} example")
        seen.add(example.id)
    return list(faults.values())


# --- models --------------------------------------------------------------


def model_problems(spec: Any, deep: bool) -> list[str]:
    """With ``deep``, create the backbone on the CPU and encode two texts."""
    if not deep:
        return []
    import torch

    try:
        backbone = spec.create(device=torch.device("cpu"))
    except Exception as error:  # plugin code, weights or a missing download
        return [f"factory raised {describe(error)} when called with device=cpu"]

    problems = []
    hidden_size = getattr(backbone, "hidden_size", None)
    if not isinstance(hidden_size, int) or hidden_size < 1:
        problems.append(f"hidden_size is {hidden_size!r}; expected a positive int")
    if not isinstance(getattr(backbone, "fingerprint", None), str) or not backbone.fingerprint:
        problems.append("fingerprint is missing or not a non-empty str; cached features could not be keyed")
    if problems:
        return problems

    try:
        features = backbone.encode(list(PROBE_TEXTS), batch_size=2, advance=lambda count: None)
    except Exception as error:  # plugin code
        return [f"encode() raised {describe(error)}"]
    expected = [len(PROBE_TEXTS), hidden_size]
    if not isinstance(features, torch.Tensor) or list(features.shape) != expected:
        shape = list(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        return [f"encode() returned {shape}; expected a tensor of shape {expected}"]
    if not torch.isfinite(features).all():
        return ["encode() returned non-finite features"]
    return []
