"""``w2s-bench plugins``: check installed plugins and scaffold new ones."""

from __future__ import annotations

import json
from pathlib import Path

import click

from w2s_bench.errors import UserError

#: Exit code of ``plugins check`` when a plugin has an error (2 is kept for
#: usage errors, as elsewhere in the CLI).
CHECK_FAILED_EXIT = 1


@click.group("plugins")
def plugins_group() -> None:
    """Check installed plugins and scaffold new ones."""


@plugins_group.command("check")
@click.option("--deep", is_flag=True,
              help="Also load every task's data and encode two texts with every model (loads all weights; slow).")
@click.option("--plugin", "only", multiple=True, metavar="NAME",
              help="Report only this plugin (entry-point name); repeatable. All plugins are still loaded to find clashes.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_context
def check(ctx: click.Context, deep: bool, only: tuple[str, ...], as_json: bool) -> None:
    """Load every plugin and report its package, version, registrations and contract violations.

    Exits with code 1 when any reported plugin has an error.
    """
    from w2s_bench.plugin_check import check_plugins
    from w2s_bench.registry import Registry

    registry = Registry(check_mode=True)
    unknown = sorted(set(only) - set(registry.plugins))
    if unknown:
        known = ", ".join(registry.plugins) or "none"
        raise UserError(f"no plugin named {', '.join(unknown)}; installed plugins: {known}")
    reports = check_plugins(registry, deep=deep, only=set(only) or None)

    if as_json:
        click.echo(json.dumps([report.as_dict() for report in reports], indent=2))
    else:
        print_reports(reports)

    if any(report.errors for report in reports):
        ctx.exit(CHECK_FAILED_EXIT)


def print_reports(reports: list) -> None:
    from rich.text import Text

    from w2s_bench.cli import console

    out = console(stderr=False)
    for report in reports:
        info = report.info
        status = ("error", "bold red") if report.errors else ("warning", "yellow") if report.warnings else ("ok", "green")
        line = Text.assemble((f"{status[0]:<8}", status[1]), (info.name, "bold"))
        line.append(f"  {info.distribution} {info.version}" if info.distribution else "  (not from a distribution)")
        line.append(f"  {info.source}", style="dim")
        out.print(line)

        registered = ", ".join(f"{kind} {name}" for kind, name in report.registers) or "nothing"
        if report.resolves_models:
            registered += "; resolves model names (w2s_bench_resolve_model)"
        out.print(Text(f"          registers: {registered}"))
        for problem in report.problems:
            out.print(Text(f"          {problem.severity}: {problem.message}", style="red" if problem.severity == "error" else "yellow"))

    errors = sum(1 for report in reports if report.errors)
    warnings = sum(1 for report in reports if report.warnings and not report.errors)
    noun = "plugin" if len(reports) == 1 else "plugins"
    out.print(f"{len(reports)} {noun} checked: {len(reports) - errors - warnings} ok, {warnings} with warnings, {errors} with errors")


@plugins_group.command("new")
@click.argument("kind", type=click.Choice(["method"]))
@click.argument("name")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder in which the package folder is created.")
def new(kind: str, name: str, output_dir: Path) -> None:
    """Create a plugin package for a new KIND named NAME, with an entry point and tests."""
    from w2s_bench.registry import default_registry
    from w2s_bench.scaffold import write_plugin_package

    existing = default_registry().provider(kind, name)
    if existing is not None:
        raise UserError(f"{kind} {name!r} is already registered by {existing.provider}; choose another name")

    root, written = write_plugin_package(kind, name, output_dir)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: pip install -e '{root}[test]' && (cd {root} && python -m pytest) && w2s-bench run --method {name}")
