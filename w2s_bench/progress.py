"""Progress reporting for long phases, kept apart from how it is shown.

Library code reports through a :class:`Progress`; the CLI passes one that
draws rich progress bars, and everything else gets :data:`SILENT`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

Advance = Callable[[int], None]


class Progress:
    """Receives the start, advance and end of each long step. Does nothing by default."""

    @contextmanager
    def track(self, description: str, total: int) -> Iterator[Advance]:
        yield lambda count: None

    def note(self, message: str) -> None:
        """Report a one-line event, such as a phase reused from the run store."""


SILENT = Progress()
