"""``w2s-bench plugins new``: write a new plugin package that installs and passes its tests.

The package uses the src layout, registers its plugin through the
``w2s_bench`` entry-point group and ships tests that run the same contract
checks as ``w2s-bench plugins check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from w2s_bench import __version__
from w2s_bench.errors import UserError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*[a-z0-9]$|^[a-z]$")
SCAFFOLD_KINDS = ("method",)


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from the plugin name the user gave."""

    name: str

    @property
    def module(self) -> str:
        return self.name.replace("-", "_")

    @property
    def package(self) -> str:
        return f"w2s_bench_{self.module}"

    @property
    def distribution(self) -> str:
        return f"w2s-bench-{self.name.replace('_', '-')}"

    @property
    def class_name(self) -> str:
        return "".join(part.capitalize() for part in re.split(r"[-_]", self.name)) + "Method"

    def substitutions(self) -> dict[str, str]:
        return {
            "name": self.name,
            "module": self.module,
            "package": self.package,
            "distribution": self.distribution,
            "class_name": self.class_name,
            "core_version": __version__,
        }


def validate_name(name: str) -> PluginNames:
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"plugin name {name!r} is invalid; use lowercase letters, digits, '-' and '_', "
            "starting with a letter (for example: confident-loss)"
        )
    return PluginNames(name)


def write_plugin_package(kind: str, name: str, output_dir: Path) -> tuple[Path, list[Path]]:
    """Write the package for a new ``kind`` plugin; return its folder and the files written.

    :raises UserError: for an invalid name, an unsupported kind or a target
        folder that exists and is not empty.
    """
    if kind not in SCAFFOLD_KINDS:
        raise UserError(f"plugin kind {kind!r} cannot be scaffolded; expected one of {', '.join(SCAFFOLD_KINDS)}")
    names = validate_name(name)
    root = output_dir / names.distribution
    if root.exists() and any(root.iterdir()):
        raise UserError(f"folder {root} already exists and is not empty; choose another name or --output-dir")

    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"src/{names.package}/__init__.py": INIT,
        f"src/{names.package}/plugin.py": METHOD_PLUGIN,
        f"tests/test_{names.module}.py": METHOD_TESTS,
    }
    written = []
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(names.substitutions()), encoding="utf-8")
        written.append(path)
    return root, written


PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "w2s-bench method plugin: $name"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["w2s-bench>=$core_version"]

[project.optional-dependencies]
test = ["pytest>=8.0"]

# w2s-bench finds plugins through this entry-point group; the key is the
# plugin name shown by `w2s-bench plugins check`.
[project.entry-points.w2s_bench]
$name = "$package.plugin"

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

README = '''\
# $distribution

A w2s-bench plugin that adds the weak-to-strong method `$name`.

    pip install -e '.[test]'
    w2s-bench list                      # shows method $name
    w2s-bench plugins check             # runs the contract checks
    w2s-bench run --method $name --max-train 400 --max-test 200
    python -m pytest

Edit `loss()` in `src/$package/plugin.py`. Every option that changes
results must appear in `config()`, because it is part of the student
phase's cache key, and `version` must change whenever `loss()` changes, so
that stored student results are not reused.
'''

INIT = '''\
"""w2s-bench plugin package for the $name method."""
'''

METHOD_PLUGIN = '''\
"""The $name method: cross-entropy on label-smoothed weak labels.

A starting point: replace loss() with your method. The hook at the end
registers it through the entry point in pyproject.toml.
"""

from __future__ import annotations

from typing import Any

import torch

from w2s_bench.errors import UserError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.losses import soft_cross_entropy
from w2s_bench.methods import Method
from w2s_bench.specs import MethodSpec


class $class_name(Method):
    """Cross-entropy against weak labels mixed with the uniform distribution.

    :param smoothing: weight of the uniform distribution over each example's
        real candidates, in [0, 1).
    """

    name = "$name"
    # Change whenever loss() changes, so stored student results are not reused.
    version = "1"

    def __init__(self, smoothing: float = 0.1) -> None:
        smoothing = float(smoothing)
        if not 0.0 <= smoothing < 1.0:
            raise UserError(f"$name option smoothing={smoothing} is invalid; expected a value in [0, 1)")
        self.smoothing = smoothing

    def config(self) -> dict[str, Any]:
        return {**super().config(), "smoothing": self.smoothing}

    def loss(self, logits: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, fraction: float) -> torch.Tensor:
        real = mask.to(targets.dtype)
        uniform = real / real.sum(dim=-1, keepdim=True)
        smoothed = (1.0 - self.smoothing) * targets + self.smoothing * uniform
        return soft_cross_entropy(logits, mask, smoothed)


@hookimpl
def w2s_bench_register_methods() -> list[MethodSpec]:
    return [MethodSpec("$name", $class_name, "cross-entropy on label-smoothed weak labels")]
'''

METHOD_TESTS = '''\
"""Tests for the $name method plugin."""

from __future__ import annotations

from importlib import metadata

import pytest
import torch

from w2s_bench.errors import UserError
from w2s_bench.plugin_check import check_plugin_object
from w2s_bench.registry import Registry

from $package import plugin
from $package.plugin import $class_name


def test_plugin_passes_contract_checks():
    assert check_plugin_object(plugin, name="$name") == []


def test_method_is_registered():
    registry = Registry(autoload=False)
    registry.register(plugin, name="$name")

    method = registry.method("$name").create()

    assert method.config()["name"] == "$name"


def test_invalid_option_is_rejected():
    with pytest.raises(UserError, match="smoothing"):
        $class_name(smoothing=1.5)


def test_loss_ignores_padded_candidates():
    method = $class_name()
    mask = torch.tensor([[True, True, False]])
    targets = torch.tensor([[1.0, 0.0, 0.0]])
    logits = torch.tensor([[2.0, 0.5, 9.0]])
    changed_padding = torch.tensor([[2.0, 0.5, -9.0]])

    loss = method.loss(logits, mask, targets, 0.0)
    loss_changed_padding = method.loss(changed_padding, mask, targets, 0.0)

    assert torch.allclose(loss, loss_changed_padding)


def test_student_learns_from_noisy_weak_labels():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(400, 8, generator=generator)
    truth = (features[:, 0] > 0).long()
    flipped = torch.rand(400, generator=generator) < 0.2
    weak_labels = torch.where(flipped, 1 - truth, truth)
    targets = torch.nn.functional.one_hot(weak_labels, 2).float()
    mask = torch.ones(400, 2, dtype=torch.bool)

    torch.manual_seed(0)
    student = torch.nn.Linear(8, 2)
    optimizer = torch.optim.AdamW(student.parameters(), lr=0.05)
    method = $class_name()
    for step in range(200):
        optimizer.zero_grad()
        method.loss(student(features), mask, targets, step / 200).backward()
        optimizer.step()
    accuracy = (student(features).argmax(dim=-1) == truth).float().mean().item()

    assert accuracy > 0.9


def test_entry_point_is_installed():
    entry_points = metadata.entry_points(group="w2s_bench")
    if "$name" not in entry_points.names:
        pytest.skip("the package is not installed; run pip install -e .")

    assert entry_points["$name"].value == "$package.plugin"
'''
