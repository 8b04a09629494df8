"""Stockfish: puzzle generation, its determinism and resumption, the supervisor models, a missing engine."""

import chess
import pytest

from w2s_bench.errors import UserError
from w2s_bench.tasks.chess.engine import STOCKFISH_ENV, Strength, parse_strength, stockfish_path
from w2s_bench.tasks.chess.generate import GenerationConfig, PuzzleCriteria, generate_puzzles
from w2s_bench.tasks.chess.notation import STANDARD_FEN, Game, legal_moves_sorted
from w2s_bench.tasks.chess.selfplay import SelfPlayConfig, opening_book_path

def engine_missing() -> bool:
    try:
        stockfish_path()
        opening_book_path()
    except UserError:
        return True
    return False


needs_engine = pytest.mark.skipif(engine_missing(), reason="needs Stockfish and the gnuchess opening book (apt-get install stockfish gnuchess-book)")

#: Short games and shallow searches keep a generation test to a few seconds.
FAST = GenerationConfig(
    seed=7,
    selfplay=SelfPlayConfig(book_plies=(2, 4), max_plies=40, depths=(1, 2)),
    criteria=PuzzleCriteria(search_depth=4, prefilter_depth=2, max_rating_depth=4, min_gap=0.5),
)


@needs_engine
def test_generation_is_deterministic(tmp_path):
    first = generate_puzzles(tmp_path / "a.jsonl", 4, FAST)
    second = generate_puzzles(tmp_path / "b.jsonl", 4, FAST)

    assert len(first) == 4
    assert first == second


@needs_engine
def test_generation_resumes_after_interruption(tmp_path):
    direct = generate_puzzles(tmp_path / "direct.jsonl", 6, FAST)

    work = tmp_path / "resumed.jsonl"
    generate_puzzles(work, 2, FAST)
    with open(work, "a") as handle:
        handle.write('{"game": 99, "puzz')  # a line torn by a killed run
    resumed = generate_puzzles(work, 6, FAST)

    assert resumed == direct


@needs_engine
def test_generated_puzzles_are_legal_and_rated(tmp_path):
    puzzles = generate_puzzles(tmp_path / "p.jsonl", 4, FAST)
    for puzzle in puzzles:
        board = chess.Board()
        for move in puzzle["moves"]:
            board.push_uci(move)
        assert chess.Move.from_uci(puzzle["solution"]) in board.legal_moves
        assert 1 <= puzzle["rating"] <= FAST.criteria.max_rating_depth + 1
        assert puzzle["gap"] >= FAST.criteria.min_gap
        assert puzzle["split"] in ("train", "test")


@needs_engine
def test_resume_rejects_other_config(tmp_path):
    work = tmp_path / "w.jsonl"
    generate_puzzles(work, 1, FAST)
    other = GenerationConfig(seed=8, selfplay=FAST.selfplay, criteria=FAST.criteria)
    with pytest.raises(UserError, match="another config"):
        generate_puzzles(work, 2, other)


def test_missing_engine_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(STOCKFISH_ENV, str(tmp_path / "no-stockfish"))
    with pytest.raises(UserError, match="not a file"):
        stockfish_path()

    monkeypatch.delenv(STOCKFISH_ENV)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("w2s_bench.tasks.chess.engine.DEBIAN_STOCKFISH", tmp_path / "absent")
    with pytest.raises(UserError, match="apt-get install stockfish"):
        stockfish_path()


def test_strength_parsing():
    assert parse_strength("depth=3") == Strength(depth=3)
    assert parse_strength("depth=2,nodes=500") == Strength(depth=2, nodes=500)
    for bad in ("skill=3", "depth=x", "depth", "depth=0"):
        with pytest.raises(UserError):
            parse_strength(bad)


# --- the supervisor model ------------------------------------------------


@needs_engine
def test_stockfish_supervisor_prefers_the_mate():
    from w2s_bench.plugins.models.stockfish import FEATURES, StockfishSupervisor

    game = Game("r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4", ())
    candidates = legal_moves_sorted(game.board())
    texts = game.candidate_texts(candidates)
    supervisor = StockfishSupervisor("stockfish-d1", Strength(depth=1))
    try:
        features = supervisor.encode(texts)
    finally:
        supervisor.close()

    mate = candidates.index(chess.Move.from_uci("h5f7"))
    assert features.shape == (len(texts), len(FEATURES))
    assert features[mate, FEATURES.index("is_best")] == 1.0
    assert features[mate, FEATURES.index("mates")] == 1.0
    assert features[:, FEATURES.index("is_best")].sum() == 1.0


@needs_engine
def test_stockfish_supervisor_resolves_by_name():
    from w2s_bench.registry import Registry

    registry = Registry()
    spec = registry.model("stockfish:nodes=200")
    supervisor = spec.create()
    try:
        assert supervisor.fingerprint.startswith("stockfish:nodes=200:")
        texts = Game(STANDARD_FEN, ()).candidate_texts(legal_moves_sorted(chess.Board()))
        assert supervisor.pooled(texts).shape == (20, 5)
    finally:
        supervisor.close()
    assert registry.model("stockfish-d2").name == "stockfish-d2"
