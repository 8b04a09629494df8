"""The ``w2s-bench chess`` commands: puzzles, the pretraining corpus and the chess model ladder."""

from __future__ import annotations

import json
from pathlib import Path

import click

from w2s_bench.errors import UserError


def console(stderr: bool = True):
    from w2s_bench.cli import console as make_console

    return make_console(stderr)


def progress_bar():
    from w2s_bench.ui import RichProgress

    return RichProgress(console())


@click.group()
def chess() -> None:
    """Chess puzzles, the pretraining corpus and the chess model ladder."""


# --- puzzles -------------------------------------------------------------


@chess.command()
@click.option("--count", type=click.IntRange(min=1), default=1000, show_default=True, help="Puzzles to generate.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the self-play games.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output file (.jsonl.gz), importable with `chess import`.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Engine processes playing games in parallel.")
@click.option("--search-depth", type=click.IntRange(min=1), default=10, show_default=True, help="Depth of the search that confirms a puzzle.")
@click.option("--min-gap", type=float, default=0.5, show_default=True,
              help="Least gap in winning chances (scale -1 to 1) between the best and the second-best move.")
@click.option("--positions", type=click.Choice(["all", "random"]), default="all", show_default=True,
              help="Search every position after the book, or only those after a random move.")
def generate(count: int, seed: int, out: Path, workers: int, search_depth: int, min_gap: float, positions: str) -> None:
    """Generate puzzles with Stockfish self-play; resumable (progress is kept in OUT.work.jsonl)."""
    from collections import Counter

    from w2s_bench.tasks.chess.generate import GenerationConfig, PuzzleCriteria, generate_puzzles, write_puzzles

    criteria = PuzzleCriteria(search_depth=search_depth, min_gap=min_gap, positions=positions)
    config = GenerationConfig(seed=seed, criteria=criteria)
    work_file = out.with_name(out.name + ".work.jsonl")
    puzzles = generate_puzzles(work_file, count, config, workers=workers, progress=progress_bar())

    out.parent.mkdir(parents=True, exist_ok=True)
    digest = write_puzzles(out, puzzles)
    ratings = Counter(puzzle["rating"] for puzzle in puzzles)
    click.echo(f"wrote {len(puzzles)} puzzles to {out} (sha256 {digest[:12]}…)")
    click.echo("smallest Stockfish depth that finds the solution: " + ", ".join(f"depth {depth}: {n}" for depth, n in sorted(ratings.items())))


def print_report(report, limit: int) -> None:
    counts = report.counts_by_reason()
    click.echo(f"{report.source}: {report.accepted} puzzles accepted, {len(report.rejected)} rejected"
               f" ({report.illegal_labels} with an illegal label)")
    for reason, count in counts.items():
        click.echo(f"  {reason}: {count}")
    for rejection in report.rejected[:limit]:
        click.echo(f"  rejected {rejection.puzzle_id} at {rejection.where}: {rejection.reason}")
    if len(report.rejected) > limit:
        click.echo(f"  ... and {len(report.rejected) - limit} more (see --json)")


@chess.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "format_name", default=None, help="jsonl, bigbench, lichess, pgn or epd. Default: from the file name.")
@click.option("--show", type=click.IntRange(min=0), default=20, show_default=True, help="Rejections listed one per line.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole load report as JSON.")
def check(path: Path, format_name: str | None, show: int, as_json: bool) -> None:
    """Read a puzzle file and print its load report: what was accepted, what was rejected and why."""
    from w2s_bench.tasks.chess.formats import read_puzzles

    _puzzles, report = read_puzzles(path, format_name)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(report, show)


@chess.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Set name; the task is called chess_NAME.")
@click.option("--format", "format_name", default=None, help="jsonl, bigbench, lichess, pgn or epd. Default: from the file name.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Keep only the first N accepted puzzles.")
@click.option("--show", type=click.IntRange(min=0), default=20, show_default=True, help="Rejections listed one per line.")
def import_command(path: Path, name: str, format_name: str | None, limit: int | None, show: int) -> None:
    """Check a puzzle file and save the accepted puzzles as the task chess_NAME."""
    from w2s_bench.tasks.chess.importer import import_puzzles

    result = import_puzzles(path, name, format_name, limit)
    print_report(result.report, show)
    click.echo(f"saved {result.kept} puzzles to {result.folder}; run it with `w2s-bench run --task {result.task}`")
    if result.corpus_overlap:
        click.echo(f"warning: {result.corpus_overlap} puzzle positions occur in the shipped pretraining corpus; "
                   "pretrain the chess models again with --force to drop those games", err=True)


# --- corpus and models ---------------------------------------------------


@chess.command()
@click.option("--games", type=click.IntRange(min=1), default=3000, show_default=True, help="Self-play games to generate.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the games.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output corpus file (.jsonl.gz).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Engine processes playing games in parallel.")
def corpus(games: int, seed: int, out: Path, workers: int) -> None:
    """Generate a pretraining corpus of Stockfish self-play games; resumable (OUT.work.jsonl)."""
    from w2s_bench.plugins.models.chess.corpus import generate_corpus, write_corpus

    work_file = out.with_name(out.name + ".work.jsonl")
    rows = generate_corpus(work_file, games, seed, workers=workers, progress=progress_bar())
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = write_corpus(out, rows)
    click.echo(f"wrote {len(rows)} games to {out} (sha256 {digest[:12]}…); pretrain on it with --corpus {out}")


@chess.command()
@click.option("--size", "sizes", default="all", show_default=True, help="tiny, small, base, several separated by commas, or all.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Passes over the corpus. Default: per size (see `chess models`).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of initialisation and batch order.")
@click.option("--corpus", "corpus_path", type=click.Path(path_type=Path), default=None,
              help="Corpus of games (.jsonl.gz from `chess corpus`, or .pgn). Default: the shipped corpus.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Torch threads. One is fastest when other jobs share the CPU.")
@click.option("--force", is_flag=True, help="Train again even when finished weights are cached.")
def pretrain(sizes: str, epochs: int | None, seed: int, corpus_path: Path | None, threads: int, force: bool) -> None:
    """Pretrain chess networks to predict the played move (resumable, seeded); weights go to the model cache."""
    import time
    from dataclasses import replace

    from w2s_bench.plugins.models.chess.config import SIZES
    from w2s_bench.plugins.models.chess.corpus import SHIPPED_CORPUS
    from w2s_bench.plugins.models.chess.plugin import default_pretrain_config
    from w2s_bench.plugins.models.chess.pretrain import MODEL_FILE
    from w2s_bench.plugins.models.chess.pretrain import pretrain as run_pretrain

    chosen = list(SIZES) if sizes == "all" else [size.strip() for size in sizes.split(",") if size.strip()]
    for size in chosen:
        if size not in SIZES:
            raise UserError(f"chess model size {size!r} is unknown; expected {', '.join(SIZES)} or all")

    progress = progress_bar()
    for size in chosen:
        config = default_pretrain_config(size)
        config = replace(config, seed=seed, **({"epochs": epochs} if epochs else {}))
        started = time.monotonic()
        folder = run_pretrain(config, corpus_path or SHIPPED_CORPUS, progress, threads=threads, force=force)
        record = json.loads((folder / MODEL_FILE).read_text())
        click.echo(f"chess-{size}: {record['parameters']:,} parameters, validation move accuracy "
                   f"{record['validation_move_accuracy']:.3f}, {time.monotonic() - started:.0f} s; weights in {folder}")


@chess.command("models")
def models_command() -> None:
    """List the chess model ladder with the state of each size's default weights."""
    from rich.table import Table

    from w2s_bench.plugins.models.chess.config import LADDER, SIZES, parameter_count
    from w2s_bench.plugins.models.chess.corpus import SHIPPED_CORPUS
    from w2s_bench.plugins.models.chess.plugin import default_pretrain_config
    from w2s_bench.plugins.models.chess.pretrain import MODEL_FILE, model_dir
    from w2s_bench.store import sha256_file

    corpus_sha = sha256_file(SHIPPED_CORPUS)
    table = Table(title="chess model ladder, weakest first")
    for column in ("model", "parameters", "epochs", "validation move accuracy", "pretraining wall time", "weights"):
        table.add_column(column)
    for name, size in zip(LADDER, SIZES):
        config = default_pretrain_config(size)
        folder = model_dir(config, corpus_sha)
        record = json.loads((folder / MODEL_FILE).read_text()) if (folder / MODEL_FILE).exists() else None
        table.add_row(
            name, f"{parameter_count(SIZES[size]):,}", str(config.epochs),
            f"{record['validation_move_accuracy']:.3f}" if record else "-",
            f"{record['wall_seconds']:.0f} s" if record else "-",
            str(folder) if record else "not pretrained",
        )
    console(stderr=False).print(table)
