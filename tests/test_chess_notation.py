"""Candidate texts: written from games, read back by python-chess and by the fast parser."""

import io

import chess
import chess.pgn
import pytest

from w2s_bench.tasks.chess.notation import (
    STANDARD_FEN,
    Game,
    NotationError,
    legal_moves_sorted,
    load_fen,
    parse_candidate,
    parse_candidates,
    parse_move,
    same_move,
    split_candidate,
)

ITALIAN = ("e2e4", "e7e5", "g1f3", "b8c6", "f1c4")
SCHOLAR_FEN = "r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4"


def game_of(start_fen, moves):
    return Game(start_fen, tuple(chess.Move.from_uci(move) for move in moves))


def read_back_with_python_chess(text):
    game = chess.pgn.read_game(io.StringIO(text))
    moves = list(game.mainline_moves())
    board = game.board()
    for move in moves[:-1]:
        board.push(move)
    return board, moves[-1]


def test_candidate_text_from_start():
    game = game_of(STANDARD_FEN, ITALIAN)
    board = game.board()
    texts = game.candidate_texts([chess.Move.from_uci("g8f6")])

    assert texts == ["1. e4 e5 2. Nf3 Nc6 3. Bc4 Nf6"]
    assert board.turn == chess.BLACK


def test_candidate_text_white_move_has_number():
    game = game_of(STANDARD_FEN, ITALIAN[:4])
    assert game.candidate_texts([chess.Move.from_uci("f1b5")]) == ["1. e4 e5 2. Nf3 Nc6 3. Bb5"]


def test_candidate_text_with_fen_header():
    game = game_of(SCHOLAR_FEN, ())
    texts = game.candidate_texts([chess.Move.from_uci("h5f7")])

    assert texts == [f'[SetUp "1"]\n[FEN "{SCHOLAR_FEN}"]\n\n4. Qxf7#']


def test_candidate_text_black_to_move_from_fen():
    fen = "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R b KQkq - 1 2"
    game = game_of(fen, ("g8f6",))
    text = game.candidate_texts([chess.Move.from_uci("f3e5")])[0]

    assert text.endswith("\n\n2... Nf6 3. Nxe5")


@pytest.mark.parametrize("start_fen, moves", [
    (STANDARD_FEN, ITALIAN),
    (STANDARD_FEN, ()),
    (SCHOLAR_FEN, ()),
    ("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R b KQkq - 1 2", ("g8f6", "b1c3")),
    ("8/P7/8/8/8/8/k6p/4K3 w - - 0 60", ()),  # promotions, both colours
])
def test_every_candidate_reads_back(start_fen, moves):
    game = game_of(start_fen, moves)
    board = game.board()
    candidates = legal_moves_sorted(board)
    texts = game.candidate_texts(candidates)

    for text, move in zip(texts, candidates):
        parsed_board, parsed_move = parse_candidate(text)
        assert parsed_move == move
        assert parsed_board.fen() == board.fen()

        library_board, library_move = read_back_with_python_chess(text)
        assert library_move == move
        assert library_board.fen() == board.fen()


def test_parse_candidates_replays_shared_prefix_once():
    game = game_of(STANDARD_FEN, ITALIAN)
    candidates = legal_moves_sorted(game.board())
    parsed = parse_candidates(game.candidate_texts(candidates))

    assert [move for _board, move in parsed] == candidates
    assert len({id(board) for board, _move in parsed}) == 1


def test_split_candidate_handles_glued_number():
    assert split_candidate("1. e4 e5 2.Nf3") == ("1. e4 e5 ", "Nf3")


def test_parse_candidate_rejects_illegal_prefix():
    with pytest.raises(NotationError, match="illegal"):
        parse_candidate("1. e4 e5 2. Ke3 Nc6")


def test_parse_candidate_rejects_illegal_last_move():
    with pytest.raises(NotationError, match="Qh7"):
        parse_candidate("1. e4 e5 2. Qh7")


def test_parse_candidate_rejects_comments():
    with pytest.raises(NotationError, match="comments"):
        parse_candidate("1. e4 {best by test} e5 2. Nf3")


def test_san_and_uci_are_the_same_move():
    board = chess.Board()
    assert same_move(board, "Nf3", "g1f3")
    assert not same_move(board, "Nf3", "g1h3")
    assert parse_move(board, "e2e4") == parse_move(board, "e4")


def test_parse_move_rejects_illegal_and_empty():
    board = chess.Board()
    with pytest.raises(NotationError, match="illegal"):
        parse_move(board, "e2e5")
    with pytest.raises(NotationError, match="neither"):
        parse_move(board, "Zz9")
    with pytest.raises(NotationError, match="empty"):
        parse_move(board, " ")


def test_load_fen_rejects_impossible_position():
    with pytest.raises(NotationError, match="invalid position"):
        load_fen("8/8/8/8/8/8/8/8 w - - 0 1")
    with pytest.raises(NotationError, match="invalid FEN"):
        load_fen("not a fen")


def test_load_fen_reads_fullmove_zero_as_one():
    assert load_fen("4k3/8/8/8/8/8/8/4K2R w K - 1 0").fullmove_number == 1
