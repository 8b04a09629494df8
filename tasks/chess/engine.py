"""Finding and starting Stockfish, and the strength knob of a search.

Stockfish speaks UCI; python-chess drives it through ``SimpleEngine``. The
binary is found from ``$W2S_BENCH_STOCKFISH``, then ``stockfish`` on the
``PATH``, then ``/usr/games/stockfish`` (where Debian's ``stockfish``
package installs it).
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import chess
import chess.engine

from w2s_bench.errors import UserError

STOCKFISH_ENV = "W2S_BENCH_STOCKFISH"
DEBIAN_STOCKFISH = Path("/usr/games/stockfish")


class EngineNotFound(UserError):
    """No Stockfish binary could be found."""


def stockfish_path() -> str:
    """Return the Stockfish binary to run.

    :raises EngineNotFound: with what to install or set when none is found.
    """
    configured = os.environ.get(STOCKFISH_ENV)
    if configured:
        if not Path(configured).is_file():
            raise EngineNotFound(f"{STOCKFISH_ENV}={configured} is not a file; point it at a Stockfish binary")
        return configured

    found = shutil.which("stockfish")
    if found:
        return found
    if DEBIAN_STOCKFISH.is_file():
        return str(DEBIAN_STOCKFISH)
    raise EngineNotFound(
        "Stockfish not found; install it (Debian/Ubuntu: apt-get install stockfish) "
        f"or set {STOCKFISH_ENV} to the engine binary"
    )


def open_engine(threads: int = 1, hash_mb: int = 16) -> chess.engine.SimpleEngine:
    """Start Stockfish with a fixed thread count and hash size.

    One thread keeps depth- and node-limited searches deterministic.
    """
    path = stockfish_path()
    try:
        engine = chess.engine.SimpleEngine.popen_uci(path)
    except (OSError, chess.engine.EngineError) as error:
        raise EngineNotFound(f"cannot start Stockfish at {path}: {error}") from None
    engine.configure({"Threads": threads, "Hash": hash_mb})
    return engine


@dataclass(frozen=True)
class Strength:
    """How hard the engine searches: a depth limit, a node limit, or both (the first reached stops it)."""

    depth: int | None = None
    nodes: int | None = None

    def __post_init__(self) -> None:
        if self.depth is None and self.nodes is None:
            raise UserError("engine strength needs a depth or a node limit, e.g. depth=4 or nodes=2000")
        if self.depth is not None and self.depth < 1:
            raise UserError(f"depth={self.depth} is invalid; expected at least 1")
        if self.nodes is not None and self.nodes < 1:
            raise UserError(f"nodes={self.nodes} is invalid; expected at least 1")

    def limit(self) -> chess.engine.Limit:
        return chess.engine.Limit(depth=self.depth, nodes=self.nodes)

    def label(self) -> str:
        return ",".join(f"{name}={value}" for name, value in (("depth", self.depth), ("nodes", self.nodes)) if value is not None)


def parse_strength(text: str) -> Strength:
    """Read ``depth=4``, ``nodes=2000`` or ``depth=4,nodes=2000`` into a :class:`Strength`."""
    values: dict[str, int] = {}
    for part in text.split(","):
        key, equals, raw = part.strip().partition("=")
        if not equals or key not in ("depth", "nodes"):
            raise UserError(f"engine strength {text!r} is invalid; expected KEY=N pairs with keys depth and nodes")
        try:
            values[key] = int(raw)
        except ValueError:
            raise UserError(f"engine strength {text!r}: {key}={raw!r} is not an integer") from None
    return Strength(**values)


def winning_chances(score: chess.engine.PovScore, color: chess.Color) -> float:
    """Winning chances in [-1, 1] for ``color``, from centipawns with a logistic curve.

    The curve's constant 0.00368208 is the one Lichess uses for its
    accuracy metric; a forced mate counts as the maximum.
    """
    relative = score.pov(color)
    if relative.is_mate():
        mate = relative.mate()
        return 1.0 if mate is not None and mate > 0 else -1.0
    centipawns = relative.score()
    return 2.0 / (1.0 + math.exp(-0.00368208 * centipawns)) - 1.0
