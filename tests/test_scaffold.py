"""``w2s-bench plugins new``: the generated package installs, passes its tests and runs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from plugin_env import make_fresh_env
from w2s_bench.cli import cli
from w2s_bench.scaffold import validate_name, write_plugin_package


def test_scaffolded_package_installs_and_passes_its_tests(tmp_path):
    env = make_fresh_env(tmp_path / "venv")
    created = env.w2s_bench("plugins", "new", "method", "smooth-ce", "--output-dir", str(tmp_path), cwd=tmp_path)
    assert created.returncode == 0, created.output
    package = tmp_path / "w2s-bench-smooth-ce"

    env.pip_install(package)
    tests = env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", cwd=package)
    listed = env.w2s_bench("list")
    checked = env.w2s_bench("plugins", "check", "--plugin", "smooth-ce")

    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "6 passed" in tests.stdout
    assert "skipped" not in tests.stdout
    assert "smooth-ce (w2s-bench-smooth-ce 0.1.0)" in listed.output
    assert checked.returncode == 0, checked.output
    assert "1 plugin checked: 1 ok" in checked.stdout


def test_scaffold_writes_expected_files(tmp_path):
    root, written = write_plugin_package("method", "product_loss", tmp_path)

    relative = sorted(str(path.relative_to(root)) for path in written)
    assert root == tmp_path / "w2s-bench-product-loss"
    assert relative == [
        "README.md",
        "pyproject.toml",
        "src/w2s_bench_product_loss/__init__.py",
        "src/w2s_bench_product_loss/plugin.py",
        "tests/test_product_loss.py",
    ]
    pyproject = (root / "pyproject.toml").read_text()
    assert 'product_loss = "w2s_bench_product_loss.plugin"' in pyproject
    assert "class ProductLossMethod(Method):" in (root / "src/w2s_bench_product_loss/plugin.py").read_text()


def test_scaffolded_code_compiles(tmp_path):
    root, written = write_plugin_package("method", "m2", tmp_path)

    for path in written:
        if path.suffix == ".py":
            compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize("name", ["Bad", "9lives", "has space", "trailing-", "x.y", ""])
def test_invalid_names_are_rejected(name):
    from w2s_bench.errors import UserError

    with pytest.raises(UserError, match="is invalid"):
        validate_name(name)


def test_new_rejects_builtin_name(tmp_path):
    result = CliRunner().invoke(cli, ["plugins", "new", "method", "naive", "--output-dir", str(tmp_path)])

    assert result.exit_code == 2
    assert "error: method 'naive' is already registered by naive (w2s-bench " in result.output
    assert list(tmp_path.iterdir()) == []


def test_new_rejects_non_empty_folder(tmp_path):
    existing = tmp_path / "w2s-bench-mine"
    existing.mkdir()
    (existing / "notes.txt").write_text("keep me")

    result = CliRunner().invoke(cli, ["plugins", "new", "method", "mine", "--output-dir", str(tmp_path)])

    assert result.exit_code == 2
    assert "already exists and is not empty" in result.output
    assert (existing / "notes.txt").read_text() == "keep me"


def test_new_rejects_unknown_kind(tmp_path):
    result = CliRunner().invoke(cli, ["plugins", "new", "optimizer", "adam2", "--output-dir", str(tmp_path)])

    assert result.exit_code == 2
    assert "'optimizer' is not 'method'" in result.output
