"""Puzzle formats: each read into checked puzzles, bad input rejected with its id and reason."""

import json
from pathlib import Path

import chess
import pytest

from w2s_bench.errors import DataError
from w2s_bench.tasks.chess.formats import detect_format, read_puzzles
from w2s_bench.tasks.chess.notation import parse_candidate
from w2s_bench.tasks.chess.puzzles import band_of, puzzle_example

DATA = Path(__file__).parent / "data"


def by_id(puzzles):
    return {puzzle.id: puzzle for puzzle in puzzles}


# --- Lichess CSV ---------------------------------------------------------


def test_lichess_hand_written_set_loads():
    puzzles, report = read_puzzles(DATA / "lichess_hand.csv")

    assert report.accepted == 20
    assert report.rejected == []
    assert len(puzzles) == 20


@pytest.mark.parametrize("puzzle_id, position_after_setup, label_san", [
    # 3...Nf6 sets up the scholar's mate
    ("hand01", "r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4", "Qxf7#"),
    # 2.g4 sets up the fool's mate, so black solves
    ("hand02", "rnbqkbnr/pppp1ppp/8/4p3/6P1/5P2/PPPPP2P/RNBQKBNR b KQkq - 0 2", "Qh4#"),
    # 7.Ke2 allows the underpromotion to a knight with check
    ("hand08", "rnbqk1nr/ppp2ppp/8/4P3/1BP5/8/PP2KpPP/RN1Q1BNR b kq - 1 7", "fxg1=N+"),
    # black's double pawn push allows en passant
    ("hand17", "4k3/8/8/3Pp3/8/8/8/4K3 w - e6 0 2", "dxe6"),
    # the king steps away and white castles queenside
    ("hand16", "8/2k5/8/8/8/8/8/R3K2R w KQ - 1 2", "O-O-O"),
])
def test_lichess_setup_move_is_applied(puzzle_id, position_after_setup, label_san):
    puzzle = by_id(read_puzzles(DATA / "lichess_hand.csv")[0])[puzzle_id]
    board = puzzle.game().board()

    assert board.fen() == position_after_setup
    assert len(puzzle.moves) == 1
    assert board.san(chess.Move.from_uci(puzzle.solution)) == label_san


def test_lichess_metadata_kept():
    puzzle = by_id(read_puzzles(DATA / "lichess_hand.csv")[0])["hand04"]

    assert puzzle.rating == 1000
    assert puzzle.themes == ("mate", "mateIn1", "opening", "smotheredMate")
    assert band_of(puzzle.rating, "elo") == "<1200"
    assert band_of(1600, "elo") == "1600-1999"


def test_lichess_example_candidates_are_legal_moves():
    puzzle = by_id(read_puzzles(DATA / "lichess_hand.csv")[0])["hand09"]
    example = puzzle_example(puzzle, "elo")
    board = puzzle.game().board()

    assert len(example.texts) == board.legal_moves.count()
    parsed_board, label_move = parse_candidate(example.texts[example.label])
    assert label_move.uci() == "c6d4"
    assert parsed_board.fen() == board.fen()
    assert example.meta["band"] == "1600-1999"
    assert example.texts[example.label].endswith("9. h3 Nd4")


MALFORMED = {
    "badfen01": "invalid FEN",
    "badfen02": "invalid FEN",
    "badfen03": "invalid FEN",
    "badprefix01": "illegal prefix move",
    "badprefix02": "illegal prefix move",
    "badlabel01": "illegal label",
    "badlabel02": "illegal label",
    "badlabel03": "illegal label",
    "empty01": "empty moves",
    "empty02": "empty moves",
    "columns01": "wrong column count",
    "columns02": "wrong column count",
    "rating01": "invalid rating",
    "twomates01": "label not unique",
    "over01": "no legal moves",
    "good01": "duplicate id",
}


def test_lichess_malformed_rows_rejected_with_ids():
    puzzles, report = read_puzzles(DATA / "lichess_malformed.csv")
    rejected = {rejection.puzzle_id: rejection.category for rejection in report.rejected}

    assert [puzzle.id for puzzle in puzzles] == ["good01"]
    assert rejected == MALFORMED
    assert report.illegal_labels == 3
    assert report.counts_by_reason()["invalid FEN"] == 3


def test_lichess_rejection_names_line():
    _puzzles, report = read_puzzles(DATA / "lichess_malformed.csv")
    where = {rejection.puzzle_id: rejection.where for rejection in report.rejected}

    assert where["badfen01"].endswith("lichess_malformed.csv:2")
    assert where["columns01"].endswith("lichess_malformed.csv:12")


def test_lichess_without_header(tmp_path):
    rows = (DATA / "lichess_hand.csv").read_text().splitlines()[1:4]
    path = tmp_path / "noheader.csv"
    path.write_text("\n".join(rows) + "\n")

    puzzles, report = read_puzzles(path)
    assert [puzzle.id for puzzle in puzzles] == ["hand01", "hand02", "hand03"]


# --- other formats -------------------------------------------------------


def test_bigbench_task_json(tmp_path):
    task = {
        "name": "checkmate_in_one",
        "examples": [
            {"input": "1. e4 e5 2. Bc4 Nc6 3. Qh5 Nf6", "target": "Qxf7#"},
            {"input": "1. f3 e5 2. g4", "target": "Qh4#"},
            {"input": "1. e4 e5 2. Bc4 Nc6 3. Qh5 Nf6", "target": "Qxf6"},
            {"input": "1. e4 e5 2. Ke3", "target": "Qh4"},
        ],
    }
    path = tmp_path / "task.json"
    path.write_text(json.dumps(task))

    puzzles, report = read_puzzles(path)
    assert [puzzle.solution for puzzle in puzzles] == ["h5f7", "d8h4"]
    assert {rejection.puzzle_id: rejection.category for rejection in report.rejected} == {
        "checkmate_in_one-0002": "illegal label",
        "checkmate_in_one-0003": "illegal prefix move",
    }


PGN = """[Event "?"]
[FEN "r2qkb1r/pp2nppp/3p4/2pNN1B1/2BnP3/3P4/PPP2PPP/R2bK2R w KQkq - 1 0"]
[SetUp "1"]
[Termination "mate in 2"]

1. Nf6+ gxf6 2. Bxf7# *

[Event "?"]
[FEN "4kb1r/p2n1ppp/4q3/4p1B1/4P3/1Q6/PPP2PPP/2KR4 w k - 1 0"]
[SetUp "1"]
[Termination "mate in 2"]

1. Qb8+ Nxb8 *

[Event "?"]
[FEN "4kb1r/p2n1ppp/4q3/4p1B1/4P3/1Q6/PPP2PPP/2KR4 w k - 1 0"]
[SetUp "1"]

1. Qh8 *

[Event "Müller"]
[FEN "4kb1r/p2n1ppp/4q3/4p1B1/4P3/1Q6/PPP2PPP/2KR4 w k - 1 0"]
[SetUp "1"]

*
"""


def test_pgn_puzzles_latin1(tmp_path):
    path = tmp_path / "mate_in_2.pgn"
    path.write_bytes(PGN.encode("latin-1"))

    puzzles, report = read_puzzles(path)
    assert [(puzzle.id, puzzle.solution) for puzzle in puzzles] == [("mate_in_2-0001", "d5f6")]
    assert {rejection.puzzle_id: rejection.category for rejection in report.rejected} == {
        "mate_in_2-0002": "illegal label",  # the line stops before the claimed mate
        "mate_in_2-0003": "illegal label",
        "mate_in_2-0004": "empty moves",
    }


def test_epd_positions(tmp_path):
    path = tmp_path / "suite.epd"
    path.write_text(
        'r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - bm Qxf7#; id "scholar";\n'
        '6k1/6pp/8/8/8/8/8/R3R1K1 w - - bm Ra8# Re8#; id "two";\n'
        'r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - id "nobm";\n'
        'r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP w KQkq - bm Qxf7#; id "short";\n'
    )
    puzzles, report = read_puzzles(path)

    assert [(puzzle.id, puzzle.solution) for puzzle in puzzles] == [("scholar", "h5f7")]
    assert {rejection.puzzle_id: rejection.category for rejection in report.rejected} == {
        "two": "label not unique", "nobm": "empty moves", "short": "invalid FEN",
    }


def test_jsonl_prefix_and_fen(tmp_path):
    rows = [
        {"id": "p1", "prefix": "1. e4 e5 2. Bc4 Nc6 3. Qh5 Nf6", "target": "Qxf7#"},
        {"id": "p2", "fen": "4k3/8/8/4n3/8/8/3Q4/6K1 b - - 1 1", "target": "e5f3", "rating": 900},
        {"id": "p3", "fen": "4k3/8/8/4n3/8/8/8/4Q1K1 w - - 0 1", "moves": ["Qd2"], "target": "Nf3+"},
        {"id": "p4", "prefix": "1. e4 e5 2. Bc4 Nc6 3. Qh5 Nf6"},
        {"id": "p5", "prefix": "1. e4 {good} e5", "target": "Nf3"},
        {"id": "p6", "fen": "4k3/8/8/4n3/8/8/3Q4/6K1 b - - 1 1", "target": "e5f3", "split": "dev"},
    ]
    path = tmp_path / "puzzles.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\nnot json\n")

    puzzles, report = read_puzzles(path)
    assert [puzzle.id for puzzle in puzzles] == ["p1", "p2", "p3"]
    assert by_id(puzzles)["p3"].moves == ("e1d2",)
    assert {rejection.puzzle_id: rejection.category for rejection in report.rejected} == {
        "p4": "empty moves", "p5": "illegal prefix move", "p6": "invalid split", "line 7": "invalid JSON",
    }


def test_detect_format_and_missing_file(tmp_path):
    assert detect_format(Path("x.csv")) == "lichess"
    assert detect_format(Path("x.jsonl.gz")) == "jsonl"
    assert detect_format(Path("bigbench-1.0.0.tar.gz")) == "bigbench"
    with pytest.raises(DataError, match="cannot tell"):
        detect_format(Path("x.txt"))
    with pytest.raises(DataError, match="not found"):
        read_puzzles(tmp_path / "absent.csv")
