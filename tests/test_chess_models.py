"""The chess network family: corpus, pretraining, resuming, and the backbone over candidate texts."""

import json
from dataclasses import replace
from pathlib import Path

import chess
import pytest
import torch

from w2s_bench.plugins.models.chess.config import LADDER, SIZES, parameter_count
from w2s_bench.plugins.models.chess.corpus import ContaminationCheck, CorpusGame, clean_games, read_corpus
from w2s_bench.plugins.models.chess.encoding import board_codes, move_row
from w2s_bench.plugins.models.chess.network import ChessNet
from w2s_bench.plugins.models.chess.network import parameter_count as built_parameter_count
from w2s_bench.tasks.chess.engine import stockfish_path
from w2s_bench.tasks.chess.selfplay import opening_book_path
from w2s_bench.tasks.chess.formats import read_puzzles
from w2s_bench.tasks.chess.notation import legal_moves_sorted, position_key
from w2s_bench.tasks.chess.puzzles import puzzle_example

DATA = Path(__file__).parent / "data"

# Two short real games in PGN, enough for a pretraining run of a few steps.
GAMES_PGN = """[Event "Opera"]
[Result "1-0"]

1. e4 e5 2. Nf3 d6 3. d4 Bg4 4. dxe5 Bxf3 5. Qxf3 dxe5 6. Bc4 Nf6 7. Qb3 Qe7
8. Nc3 c6 9. Bg5 b5 10. Nxb5 cxb5 11. Bxb5+ Nbd7 12. O-O-O Rd8 13. Rxd7 Rxd7
14. Rd1 Qe6 15. Bxd7+ Nxd7 16. Qb8+ Nxb8 17. Rd8# 1-0

[Event "Immortal"]
[Result "1-0"]

1. e4 e5 2. f4 exf4 3. Bc4 Qh4+ 4. Kf1 b5 5. Bxb5 Nf6 6. Nf3 Qh6 7. d3 Nh5
8. Nh4 Qg5 9. Nf5 c6 10. g4 Nf6 11. Rg1 cxb5 12. h4 Qg6 13. h5 Qg5 14. Qf3 Ng8
15. Bxf4 Qf6 16. Nc3 Bc5 17. Nd5 Qxb2 18. Bd6 Bxg1 19. e5 Qxa1+ 20. Ke2 Na6
21. Nxg7+ Kd8 22. Qf6+ Nxf6 23. Be7# 1-0
"""


@pytest.fixture()
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("W2S_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def pgn_corpus(tmp_path):
    path = tmp_path / "games.pgn"
    path.write_text(GAMES_PGN)
    return path


def test_parameter_count_formula_matches_network():
    for size, config in SIZES.items():
        assert parameter_count(config) == built_parameter_count(ChessNet(config)), size


def test_ladder_grows_in_parameters():
    counts = [parameter_count(SIZES[name.removeprefix("chess-")]) for name in LADDER]
    assert LADDER == ("chess-tiny", "chess-small", "chess-base")
    assert all(larger > 5 * smaller for smaller, larger in zip(counts, counts[1:]))


def test_encoding_is_from_side_to_move():
    white = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3")
    black = white.mirror()  # colours swapped, ranks flipped, black to move

    white_codes, white_flags = board_codes(white)
    black_codes, black_flags = board_codes(black)
    assert (white_codes == black_codes).all()
    assert (white_flags == black_flags).all()
    assert move_row(white, chess.Move.from_uci("f3e5")) == move_row(black, chess.Move.from_uci("f6e4"))


def test_move_row_fields():
    board = chess.Board("1r2k3/P7/8/8/8/8/8/4K3 w - - 0 1")
    row = move_row(board, chess.Move.from_uci("a7b8q"))
    assert row == (chess.A7, chess.B8, 4, chess.PAWN - 1, chess.ROOK, 1)


def test_pgn_corpus_reads_games(pgn_corpus):
    games = read_corpus(pgn_corpus)
    assert [len(game.moves) for game in games] == [33, 45]
    assert set(games[0].sources) == {"g"}


def test_clean_games_drops_game_reaching_puzzle_position(pgn_corpus):
    games = read_corpus(pgn_corpus)
    board = chess.Board()
    for move in games[1].moves[:10]:
        board.push_uci(move)
    check = ContaminationCheck(puzzle_sets={"test": "x"}, puzzle_positions=1)

    kept = [game for game, _boards in clean_games(games, {position_key(board)}, check)]
    assert kept == [games[0]]
    assert check.games_dropped == 1
    assert check.games_checked == 2


def test_corpus_game_checks_sources():
    with pytest.raises(Exception, match="source letters"):
        CorpusGame(("e2e4", "e7e5"), "e")


def pretrain_tiny(corpus, epochs=1, **options):
    from w2s_bench.plugins.models.chess.pretrain import PretrainConfig, pretrain

    config = PretrainConfig(size="tiny", epochs=epochs, batch_size=8, warmup_steps=2)
    return pretrain(config, corpus, **options), config


def test_pretrain_saves_weights_and_record(isolated_cache, pgn_corpus):
    from w2s_bench.plugins.models.chess.pretrain import MODEL_FILE, WEIGHTS_FILE

    folder, _config = pretrain_tiny(pgn_corpus)
    record = json.loads((folder / MODEL_FILE).read_text())

    assert (folder / WEIGHTS_FILE).exists()
    assert record["parameters"] == parameter_count(SIZES["tiny"])
    assert record["contamination_check"]["games_checked"] == 2
    assert "chess" in record["contamination_check"]["puzzle_sets"]
    assert 0.0 <= record["validation_move_accuracy"] <= 1.0
    assert folder.is_relative_to(isolated_cache)


def test_pretrain_is_seeded_and_reused(isolated_cache, pgn_corpus):
    from w2s_bench.plugins.models.chess.pretrain import MODEL_FILE

    folder, _config = pretrain_tiny(pgn_corpus)
    first = json.loads((folder / MODEL_FILE).read_text())["weights_sha256"]
    again, _config = pretrain_tiny(pgn_corpus)
    assert again == folder
    retrained, _config = pretrain_tiny(pgn_corpus, force=True)
    assert json.loads((retrained / MODEL_FILE).read_text())["weights_sha256"] == first


def test_pretrain_resumes_from_checkpoint(isolated_cache, pgn_corpus, monkeypatch):
    from w2s_bench.plugins.models.chess import pretrain as pretrain_module

    folder, config = pretrain_tiny(pgn_corpus, epochs=2)
    direct = json.loads((folder / pretrain_module.MODEL_FILE).read_text())["weights_sha256"]

    # a run killed after its first checkpoint
    real_save = pretrain_module.save_checkpoint

    def save_then_stop(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain_module, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pretrain_module.pretrain(config, pgn_corpus, checkpoint_seconds=0.0, force=True)
    assert (folder / pretrain_module.CHECKPOINT_FILE).exists()

    monkeypatch.setattr(pretrain_module, "save_checkpoint", real_save)
    (folder / pretrain_module.WEIGHTS_FILE).unlink()
    resumed = pretrain_module.pretrain(config, pgn_corpus)
    assert json.loads((resumed / pretrain_module.MODEL_FILE).read_text())["weights_sha256"] == direct
    assert not (folder / pretrain_module.CHECKPOINT_FILE).exists()


def test_backbone_features_for_candidates(isolated_cache, pgn_corpus):
    from w2s_bench.plugins.models.chess.backbone import ChessBackbone

    folder, _config = pretrain_tiny(pgn_corpus)
    backbone = ChessBackbone("chess-tiny", folder)
    puzzles, _report = read_puzzles(DATA / "lichess_hand.csv")
    examples = [puzzle_example(puzzle, "elo") for puzzle in puzzles[:4]]
    texts = [text for example in examples for text in example.texts]

    features = backbone.encode(texts, batch_size=16)
    assert features.shape == (len(texts), 2 * SIZES["tiny"].feature_size + 1)
    torch.testing.assert_close(features, backbone.encode(list(reversed(texts))).flip(0), atol=1e-5, rtol=1e-5)
    assert backbone.fingerprint.startswith("chessnet:chess-tiny:")

    # the pretrained scorer is a linear map of the features
    scores = backbone.scores(texts[:10])
    torch.testing.assert_close(scores, backbone.module.score(features[:10, : SIZES["tiny"].feature_size]).squeeze(-1))

    pooled = backbone.pooled(texts[:10])
    pooled.sum().backward()
    assert backbone.module.input.weight.grad is not None


def test_backbone_rejects_bad_text(isolated_cache, pgn_corpus):
    from w2s_bench.errors import DataError
    from w2s_bench.plugins.models.chess.backbone import ChessBackbone

    folder, _config = pretrain_tiny(pgn_corpus)
    with pytest.raises(DataError, match="not a legal game"):
        ChessBackbone("chess-tiny", folder).encode(["1. e4 e5 2. Ke3 Nc6"])


def engine_available() -> bool:
    try:
        stockfish_path()
        opening_book_path()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not engine_available(), reason="Stockfish is not installed")
def test_generated_corpus_rows(tmp_path):
    from w2s_bench.plugins.models.chess.corpus import generate_corpus, write_corpus
    from w2s_bench.tasks.chess.selfplay import SelfPlayConfig

    fast = SelfPlayConfig(book_plies=(2, 4), max_plies=30, depths=(1, 2))
    rows = generate_corpus(tmp_path / "work.jsonl", 3, seed=5, selfplay=fast)
    assert [row["game"] for row in rows] == [0, 1, 2]
    path = tmp_path / "corpus.jsonl.gz"
    write_corpus(path, rows)
    games = read_corpus(path)
    for game in games:
        board = chess.Board()
        for move, source in zip(game.moves, game.sources):
            assert source in "ber"
            assert chess.Move.from_uci(move) in legal_moves_sorted(board)
            board.push_uci(move)
    assert replace(fast, max_plies=30) == fast


def test_grid_dry_run_does_not_pretrain_missing_networks(tmp_path):
    from conftest import run_cli

    cache = tmp_path / "cache"
    grid = tmp_path / "chess.toml"
    grid.write_text('seeds = [0]\nmethods = ["naive"]\n[tasks.chess]\nladders = [["chess-tiny", "chess-base"]]\n')

    result = run_cli("grid", str(grid), "--dry-run", "--runs-dir", str(tmp_path / "runs"), env={"W2S_BENCH_CACHE": str(cache)})

    assert result.returncode == 0, result.stderr
    assert "to run" in result.stdout
    assert not (cache / "chess-models").exists() or not any((cache / "chess-models").glob("chess-*/weights.safetensors"))


def test_pretrain_nan_loss_names_step(isolated_cache, pgn_corpus):
    from w2s_bench.errors import TrainingError
    from w2s_bench.plugins.models.chess.pretrain import PretrainConfig, pretrain

    config = PretrainConfig(size="tiny", epochs=2, batch_size=8, warmup_steps=1, lr=1e30)

    with pytest.raises(TrainingError, match=r"pretraining tiny: loss became (nan|inf) at step \d+"):
        pretrain(config, pgn_corpus)
