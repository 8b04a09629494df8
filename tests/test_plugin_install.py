"""Installing plugin packages with pip makes their plugins appear in the CLI and run.

Each test creates a fresh virtual environment, pip-installs a plugin
package into it and drives ``python -m w2s_bench`` there, as a user would.
Runs use small slices and the packaged minilm models to stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin_env import REPOSITORY, FreshEnv, make_fresh_env

TEST_PLUGIN = REPOSITORY / "tests" / "plugin_pkg"
EXAMPLE = REPOSITORY / "examples" / "w2s-bench-example"
SMALL_RUN = ("--weak", "minilm-l1", "--strong", "minilm-l2", "--max-train", "200", "--max-test", "100")


def cell_records(runs: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((runs / "cells").glob("*/record.json"))]


@pytest.fixture(scope="module")
def test_plugin_env(tmp_path_factory) -> FreshEnv:
    env = make_fresh_env(tmp_path_factory.mktemp("test-plugin") / "venv")
    env.pip_install(TEST_PLUGIN)
    return env


@pytest.fixture(scope="module")
def example_env(tmp_path_factory) -> FreshEnv:
    env = make_fresh_env(tmp_path_factory.mktemp("example") / "venv")
    env.pip_install(EXAMPLE)
    return env


def test_fresh_env_without_plugin_lacks_method(tmp_path):
    env = make_fresh_env(tmp_path / "venv")

    result = env.w2s_bench("list")

    assert result.returncode == 0, result.stderr
    assert "naive" in result.output
    assert "hard_weak" not in result.output


def test_installed_method_is_listed(test_plugin_env):
    result = test_plugin_env.w2s_bench("list")

    assert result.returncode == 0, result.stderr
    assert "hard_weak" in result.output
    assert "test-plugin (w2s-bench-test-plugin 0.3.1)" in result.output


def test_installed_method_runs_and_is_recorded(test_plugin_env, tmp_path):
    runs = tmp_path / "runs"

    result = test_plugin_env.w2s_bench("run", "--method", "hard_weak", *SMALL_RUN, "--runs-dir", str(runs), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "hard_weak" in result.stdout
    [record] = cell_records(runs)
    assert record["config"]["method"] == "hard_weak"
    assert record["plugins"]["method"] == {"plugin": "test-plugin", "distribution": "w2s-bench-test-plugin", "version": "0.3.1"}
    assert record["plugins"]["task"]["distribution"] == "w2s-bench"
    assert 0.0 <= record["metrics"]["student_accuracy"] <= 1.0


def test_example_plugins_are_listed(example_env):
    result = example_env.w2s_bench("list")

    assert result.returncode == 0, result.stderr
    for name in ("confident", "stdlib_docs", "ngram-bag"):
        assert name in result.output


def test_example_plugins_run_together(example_env, tmp_path):
    runs = tmp_path / "runs"

    result = example_env.w2s_bench(
        "run", "--task", "stdlib_docs", "--method", "aux_conf,confident", "--weak", "ngram-bag", "--strong", "minilm-l1",
        "--max-train", "200", "--max-test", "100", "--runs-dir", str(runs), cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    records = {record["config"]["method"]: record for record in cell_records(runs)}
    assert sorted(records) == ["aux_conf", "confident"]
    confident = records["confident"]
    assert confident["plugins"]["method"]["plugin"] == "example-confident"
    assert confident["plugins"]["task"] == {"plugin": "example-stdlib-docs", "distribution": "w2s-bench-example", "version": "0.1.0"}
    assert confident["plugins"]["weak"]["plugin"] == "example-ngram"
    assert confident["metrics"]["num_test"] == 100


def test_example_rejects_invalid_option(example_env, tmp_path):
    result = example_env.w2s_bench("run", "--method", "confident", "-o", "keep_fraction=2", *SMALL_RUN,
                                   "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)

    assert result.returncode == 2
    assert "error: confident option keep_fraction=2.0 is invalid" in result.stderr


def test_example_package_tests_pass(example_env, tmp_path):
    result = example_env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests"), cwd=tmp_path)

    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


def test_example_grid_runs_installed_plugins(example_env, tmp_path):
    if "No such command" in example_env.w2s_bench("grid", "--help").output:
        pytest.skip("this build has no `w2s-bench grid` command")
    runs = tmp_path / "runs"

    result = example_env.w2s_bench(
        "grid", str(EXAMPLE / "grid.toml"), "--task", "stdlib_docs", "--seeds", "0", "--weak", "ngram-bag",
        "--strong", "minilm-l1", "--max-train", "200", "--max-test", "100", "--runs-dir", str(runs), cwd=tmp_path,
    )

    assert result.returncode == 0, result.output
    records = cell_records(runs)
    methods = sorted((record["config"]["method"], json.dumps(record["config"]["method_options"])) for record in records)
    assert methods == [("aux_conf", "{}"), ("confident", '{"keep_fraction": 0.3}'), ("confident", "{}"), ("naive", "{}")]
    for record in records:
        assert record["plugins"]["task"]["distribution"] == "w2s-bench-example"
