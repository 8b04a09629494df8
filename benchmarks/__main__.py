"""Run every benchmark module, print the figures and write docs/benchmarks.md.

``python -m benchmarks`` runs sizes meant to fit a 2-core CPU in about 15
minutes. ``--quick`` runs tiny sizes to check the code, and ``--only``
picks modules by name.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import resource
import sys
import time
from pathlib import Path
from types import ModuleType

import torch

import benchmarks
from benchmarks.support.figures import Context, Figure, Settings
from benchmarks.support.machine import load_average, machine_facts
from benchmarks.support.output import figures_table, markdown_page

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
ANALYSIS = Path(__file__).with_name("analysis.md")


def benchmark_modules() -> list[ModuleType]:
    """Import every module of the package that defines ``measure``, in ``ORDER``."""
    found = []
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        if callable(getattr(module, "measure", None)):
            found.append(module)
    return sorted(found, key=lambda module: (getattr(module, "ORDER", 100), module.__name__))


def configure_torch() -> int:
    """Use every usable core and flush denormals, as the harness does for finetuning."""
    from w2s_bench.threads import threads_for

    threads = threads_for("finetune")
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    return threads


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children: on a loaded machine
    it shows what the run costs better than wall time does."""
    total = 0.0
    for scope in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(scope)
        total += usage.ru_utime + usage.ru_stime
    return total


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Tiny sizes: checks that every figure runs, measures nothing useful.")
    parser.add_argument("--defaults", action="store_true",
                        help="Measure peak memory of `w2s-bench run` and the default grid at their own defaults (can take hours on a CPU).")
    parser.add_argument("--only", default=None, help="Benchmark modules to run, separated by commas (e.g. overhead,padding).")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to write. Default: docs/benchmarks.md.")
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    parser.add_argument("--list", action="store_true", help="Print the benchmark module names in run order and exit.")
    return parser.parse_args(argv)


def select(modules: list[ModuleType], only: str | None) -> list[ModuleType]:
    if not only:
        return modules
    names = [name.strip() for name in only.split(",") if name.strip()]
    available = {module.__name__.rsplit(".", 1)[1]: module for module in modules}
    unknown = [name for name in names if name not in available]
    if unknown:
        raise SystemExit(f"error: unknown benchmark {', '.join(unknown)}; available: {', '.join(available)}")
    return [available[name] for name in names]


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    arguments = parse_arguments(argv)
    if arguments.list:
        for module in benchmark_modules():
            print(module.__name__.rsplit(".", 1)[1])
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from w2s_bench.plugins.models.hf import quiet_transformers

    quiet_transformers()
    threads = configure_torch()
    sizes = "quick" if arguments.quick else "standard"
    if arguments.defaults:
        sizes = "defaults"
    settings = {"quick": Settings.quick, "standard": Settings.full, "defaults": Settings.defaults}[sizes]()
    context = Context(settings)
    console = Console(stderr=True)
    table_console = Console()
    if not table_console.is_terminal:
        table_console = Console(width=max(table_console.width, 140))

    load_before = load_average()
    start = time.perf_counter()
    figures: list[Figure] = []
    timings = {}
    for module in select(benchmark_modules(), arguments.only):
        name = module.__name__.rsplit(".", 1)[1]
        console.print(f"[bold]{name}[/]: measuring (load average {load_average()})")
        module_start = time.perf_counter()
        try:
            figures.extend(module.measure(context))
        except Exception as error:  # one broken benchmark must not lose the others' figures
            logging.getLogger("benchmarks").exception("benchmark %s failed", name)
            figures.append(Figure("!", f"{name} failed", f"{type(error).__name__}: {error}"[:200], float("nan"), met=False))
        timings[name] = time.perf_counter() - module_start
    elapsed = time.perf_counter() - start

    table_console.print(figures_table(figures))
    run = {
        "sizes": sizes,
        "torch threads used": threads,
        "load average (1/5/15 min) at start": load_before,
        "load average (1/5/15 min) at end": load_average(),
        "benchmark wall time": f"{elapsed:.0f} s ({', '.join(f'{name} {seconds:.0f} s' for name, seconds in timings.items())})",
        "benchmark CPU time (this process and its children, user + system)": f"{cpu_seconds():.0f} s",
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    if not arguments.no_write:
        analysis = ANALYSIS.read_text(encoding="utf-8") if ANALYSIS.exists() and not arguments.quick else ""
        page = markdown_page(figures, machine_facts(), run, context.sections, analysis)
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        arguments.output.write_text(page, encoding="utf-8")
        console.print(f"wrote {arguments.output}")
    console.print(f"benchmarks took {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
