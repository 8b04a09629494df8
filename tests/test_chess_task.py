"""The chess tasks as users meet them: shipped sets, imports through the CLI, a whole cell, the corpus check."""

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from w2s_bench.cli import cli, model_pair
from w2s_bench.plugins.models.chess.config import LADDER
from w2s_bench.registry import Registry
from w2s_bench.tasks.chess.engine import stockfish_path
from w2s_bench.tasks.chess.notation import parse_candidate, position_key
from w2s_bench.tasks.chess.sets import puzzle_position, read_set_rows, shipped_sets

DATA = Path(__file__).parent / "data"


def engine_available() -> bool:
    try:
        stockfish_path()
    except Exception:
        return False
    return True


needs_engine = pytest.mark.skipif(not engine_available(), reason="Stockfish is not installed")


@pytest.fixture()
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("W2S_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_shipped_sets_are_tasks_with_the_ladder():
    registry = Registry()
    for name in ("chess", "chess_generated", "chess_mate_in_one"):
        spec = registry.task(name)
        assert spec.kind == "chess"
        assert spec.models == LADDER
        assert model_pair(spec, None, None) == ("chess-tiny", "chess-base")
        assert model_pair(spec, "stockfish-d1", None) == ("stockfish-d1", "chess-base")
    assert model_pair(registry.task("rotten_tomatoes"), None, None) == ("minilm-l2", "mpnet-base")


def test_generated_set_loads_as_ranked_task():
    registry = Registry()
    task = registry.task("chess_generated").create()
    data = task.load()
    manifest = json.loads((shipped_sets()["chess_generated"].paths[0].parent / "manifest.json").read_text())["chess_generated"]

    assert data.head == "rank"
    assert len(data.train) == manifest["rows"]["train"]
    assert len(data.test) == manifest["rows"]["test"]
    assert len(data.train) + len(data.test) >= 1000
    assert task.report.rejected == []
    assert data.num_candidates == max(len(example.texts) for example in data.train + data.test)
    for example in data.test[:50]:
        board, move = parse_candidate(example.texts[example.label])
        assert board.san(move) == example.meta["solution_san"]
        assert example.meta["band"] in ("mate", "check", "capture", "quiet move")


def test_default_set_interleaves_both_sets():
    data = Registry().task("chess").create().load()
    generated = Registry().task("chess_generated").create().load()
    mate_in_one = Registry().task("chess_mate_in_one").create().load()

    assert len(data.train) == len(generated.train) + len(mate_in_one.train)
    assert len(data.test) == len(generated.test) + len(mate_in_one.test)
    first_thousand = [example.meta["source"] for example in data.train[:1000]]
    assert 300 < first_thousand.count("checkmate_in_one") < 700
    assert {example.meta["band"] for example in data.test} == {"mate", "check", "capture", "quiet move"}


def test_mate_in_one_set_labels_mate():
    data = Registry().task("chess_mate_in_one").create().load()
    assert len(data.train) + len(data.test) == 3500
    for example in data.test[:100]:
        assert example.texts[example.label].endswith("#")
        assert sum(text.endswith("#") for text in example.texts) == 1
        assert example.meta["band"] == "mate"


def test_shipped_corpus_has_no_puzzle_position():
    from w2s_bench.plugins.models.chess.corpus import SHIPPED_CORPUS, read_corpus
    import chess

    puzzle_keys = set()
    for puzzle_set in shipped_sets().values():
        for path in puzzle_set.paths:
            puzzle_keys.update(position_key(puzzle_position(row)) for row in read_set_rows(path))
    assert len(puzzle_keys) > 4000

    games = read_corpus(SHIPPED_CORPUS)
    assert len(games) >= 1000
    for game in games:
        board = chess.Board()
        assert position_key(board) not in puzzle_keys
        for move in game.moves:
            board.push_uci(move)
            assert position_key(board) not in puzzle_keys

    manifest = json.loads((SHIPPED_CORPUS.parent / "manifest.json").read_text())["corpus"]
    assert set(manifest["contamination_check"]["puzzle_sets"]) == set(shipped_sets())
    assert manifest["games"] == len(games)


def test_cli_check_lists_rejections():
    result = CliRunner().invoke(cli, ["chess", "check", str(DATA / "lichess_malformed.csv")])

    assert result.exit_code == 0, result.output
    assert "1 puzzles accepted, 16 rejected" in result.output
    assert "rejected twomates01" in result.output
    assert "label not unique: 1" in result.output


def test_cli_check_json_report():
    result = CliRunner().invoke(cli, ["chess", "check", str(DATA / "lichess_malformed.csv"), "--json"])
    report = json.loads(result.output)

    assert report["accepted"] == 1
    assert report["illegal_labels"] == 3
    assert {row["id"] for row in report["rejections"]} >= {"badfen01", "columns02", "empty01"}


def test_cli_check_unknown_format_is_one_line_error(tmp_path):
    path = tmp_path / "puzzles.txt"
    path.write_text("x")
    result = CliRunner().invoke(cli, ["chess", "check", str(path)])

    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert "cannot tell the puzzle format" in result.output


def test_cli_import_makes_a_task(isolated_cache):
    result = CliRunner().invoke(cli, ["chess", "import", str(DATA / "lichess_hand.csv"), "--name", "hand"])
    assert result.exit_code == 0, result.output
    assert "saved 20 puzzles" in result.output

    registry = Registry()
    data = registry.task("chess_hand").create().load()
    assert len(data.train) + len(data.test) == 20
    bands = {example.meta["band"] for example in data.train + data.test}
    assert bands <= {"<1200", "1200-1599", "1600-1999", "2000+"}

    record = json.loads((isolated_cache / "chess" / "puzzle-sets" / "hand" / "set.json").read_text())
    assert record["rating_scale"] == "elo"
    assert record["load_report"]["accepted"] == 20
    with gzip.open(isolated_cache / "chess" / "puzzle-sets" / "hand" / "puzzles.jsonl.gz", "rt") as handle:
        assert len(handle.readlines()) == 20


def test_cli_import_rejects_bad_name(isolated_cache):
    result = CliRunner().invoke(cli, ["chess", "import", str(DATA / "lichess_hand.csv"), "--name", "Bad Name"])
    assert result.exit_code == 2
    assert "name 'Bad Name' is invalid" in result.output


@needs_engine
def test_cell_on_imported_set_with_stockfish_supervisors(isolated_cache, tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["chess", "import", str(DATA / "lichess_hand.csv"), "--name", "hand"]).exit_code == 0

    runs = tmp_path / "runs"
    result = runner.invoke(cli, [
        "run", "--task", "chess_hand", "--weak", "stockfish-d1", "--strong", "stockfish:depth=3",
        "--runs-dir", str(runs), "--epochs", "3", "--device", "cpu",
    ])
    assert result.exit_code == 0, result.output

    record_path = next((runs / "cells").glob("*/record.json"))
    metrics = json.loads(record_path.read_text())["metrics"]
    assert 0.0 <= metrics["ceiling_accuracy"] <= 1.0
    bands = metrics["accuracy_by_band"]
    assert set(bands) == {"weak", "ceiling", "student"}
    assert sum(entry["count"] for entry in bands["weak"].values()) == metrics["num_test"]

    report = runner.invoke(cli, ["report", "--runs-dir", str(runs), "--out", str(tmp_path / "boards")])
    assert report.exit_code == 0, report.output
    board = (tmp_path / "boards" / "chess_hand.md").read_text()
    assert "Accuracy by difficulty band" in board
    assert "stockfish-d1: stockfish" in board


def test_chance_accuracy_averages_one_over_legal_moves():
    from w2s_bench.metrics import chance_accuracy

    assert chance_accuracy("rank", 0, [2, 4, 20]) == pytest.approx((1 / 2 + 1 / 4 + 1 / 20) / 3)
    assert chance_accuracy("classify", 2, [1, 1]) == 0.5
