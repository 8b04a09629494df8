"""``w2s-bench plugins check`` with five broken plugins installed, and the CLI around them.

The fixture package tests/broken_plugins installs one plugin per contract
violation (raises on import, returns the wrong type, clashes with a built-in
name, lacks a required field, declares a wrong hook signature) and one valid
plugin, still-works.
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from plugin_env import REPOSITORY, FreshEnv, make_fresh_env

BROKEN = REPOSITORY / "tests" / "broken_plugins"
DISTRIBUTION = "w2s-bench-broken-fixtures"
SMALL_RUN = ("--weak", "minilm-l1", "--strong", "minilm-l2", "--max-train", "200", "--max-test", "100")

EXPECTED_ERRORS = {
    "broken-import": "failed to import w2s_bench_broken_fixtures.raises_on_import: "
                     "RuntimeError: this plugin cannot find its configuration file",
    "broken-return-type": "w2s_bench_register_methods returned dict; expected a list of MethodSpec",
    "broken-clash": "method name 'naive' is also registered by naive (w2s-bench 0.1.0)",
    "broken-missing-field": "w2s_bench_register_methods item 0: required field 'factory' is missing",
    "broken-signature": "Argument(s) {'options'} are declared in the hookimpl but can not be found in the hookspec",
}


@pytest.fixture(scope="module")
def broken_env(tmp_path_factory) -> FreshEnv:
    env = make_fresh_env(tmp_path_factory.mktemp("broken") / "venv")
    env.pip_install(BROKEN)
    return env


@pytest.fixture(scope="module")
def json_report(broken_env) -> tuple[int, dict[str, dict]]:
    result = broken_env.w2s_bench("plugins", "check", "--json")
    reports = {report["plugin"]: report for report in json.loads(result.stdout)}
    return result.returncode, reports


def test_check_exits_one_on_errors(json_report):
    returncode, _ = json_report

    assert returncode == 1


@pytest.mark.parametrize("plugin", sorted(EXPECTED_ERRORS))
def test_check_reports_each_broken_plugin(json_report, plugin):
    _, reports = json_report
    report = reports[plugin]

    assert report["distribution"] == DISTRIBUTION
    assert report["version"] == "0.1.0"
    errors = [problem["message"] for problem in report["problems"] if problem["severity"] == "error"]
    assert len(errors) == 1, errors
    assert EXPECTED_ERRORS[plugin] in errors[0]


def test_check_keeps_valid_plugins_clean(json_report):
    _, reports = json_report

    for plugin in ("still-works", "naive", "aux-conf", "nlp-tasks", "packaged-models"):
        assert reports[plugin]["problems"] == [], plugin
    assert reports["still-works"]["registers"] == [{"kind": "method", "name": "still_works"}]
    assert reports["broken-clash"]["registers"] == [{"kind": "method", "name": "naive"}]


def test_check_text_report_names_plugins(broken_env):
    result = broken_env.w2s_bench("plugins", "check")

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    for plugin in EXPECTED_ERRORS:
        [header] = [line for line in lines if f" {plugin} " in line]
        assert header.startswith("error"), header
        assert f"{DISTRIBUTION} 0.1.0" in header
    assert lines[-1].endswith(" 5 with errors")


def test_check_filters_one_plugin(broken_env):
    result = broken_env.w2s_bench("plugins", "check", "--plugin", "still-works")

    assert result.returncode == 0, result.output
    assert "1 plugin checked: 1 ok, 0 with warnings, 0 with errors" in result.stdout
    assert "broken-import" not in result.stdout


def test_list_names_clash_and_warns(broken_env):
    result = broken_env.w2s_bench("list")

    assert result.returncode == 2
    error_line = result.stderr.strip().splitlines()[-1]
    assert error_line.startswith("error: name 'naive' is registered by two plugins: ")
    assert f"broken-clash ({DISTRIBUTION} 0.1.0)" in error_line
    for plugin in EXPECTED_ERRORS:
        assert f"plugin {plugin} ({DISTRIBUTION} 0.1.0)" in result.stderr


def test_list_works_without_clash(tmp_path):
    env = make_fresh_env(tmp_path / "venv")
    fixtures = tmp_path / "fixtures"
    shutil.copytree(BROKEN, fixtures)
    pyproject = fixtures / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('broken-clash = "w2s_bench_broken_fixtures.clash"\n', ""))
    env.pip_install(fixtures)

    result = env.w2s_bench("list")

    assert result.returncode == 0, result.output
    for name in ("naive", "aux_conf", "still_works", "rotten_tomatoes", "minilm-l1"):
        assert name in result.output
    assert "broken-clash" not in result.output
    for plugin in ("broken-import", "broken-return-type", "broken-missing-field", "broken-signature"):
        assert f"plugin {plugin} ({DISTRIBUTION} 0.1.0)" in result.stderr


def test_run_works_for_other_methods(broken_env, tmp_path):
    result = broken_env.w2s_bench("run", "--method", "aux_conf,still_works", *SMALL_RUN,
                                  "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)

    assert result.returncode == 0, result.output
    assert "still_works" in result.stdout


def test_run_with_clashing_name_names_both_plugins(broken_env, tmp_path):
    result = broken_env.w2s_bench("run", "--method", "naive", *SMALL_RUN, "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)

    assert result.returncode == 2
    error_line = result.stderr.strip().splitlines()[-1]
    assert error_line.startswith("error: name 'naive' is registered by two plugins: ")
    assert "naive (w2s-bench 0.1.0)" in error_line
    assert f"broken-clash ({DISTRIBUTION} 0.1.0)" in error_line


def test_run_with_skipped_method_names_failed_plugins(broken_env, tmp_path):
    result = broken_env.w2s_bench("run", "--method", "needs_options", *SMALL_RUN, "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_line = result.stderr.strip().splitlines()[-1]
    assert error_line.startswith("error: unknown method 'needs_options'")
    assert "Plugins that failed to load: broken-import, broken-signature" in error_line


# --- in-process checks of the command itself --------------------------------


def test_check_on_core_plugins_passes():
    from w2s_bench.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "check", "--json"])

    assert result.exit_code == 0, result.output
    reports = {report["plugin"]: report for report in json.loads(result.output)}
    assert {"naive", "aux-conf", "nlp-tasks", "packaged-models", "hf-models"} <= set(reports)
    assert reports["hf-models"]["resolves_models"] is True


def test_check_unknown_plugin_is_usage_error():
    from w2s_bench.cli import cli

    result = CliRunner().invoke(cli, ["plugins", "check", "--plugin", "no-such-plugin"])

    assert result.exit_code == 2
    assert "error: no plugin named no-such-plugin; installed plugins: " in result.output
