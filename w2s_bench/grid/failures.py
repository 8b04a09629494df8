"""Failed cells, kept in the run store beside the finished ones.

A failure record lives at ``<runs>/failures/<key>/record.json``, keyed by the
cell's config alone (its phase keys may be unknown when planning failed). It
contains the error, the traceback and the wall time. A later success of the same
cell removes it; the leaderboards show a failure only where no finished
record of that cell exists.
"""

from __future__ import annotations

from typing import Any

from w2s_bench.pipeline import CellConfig, cell_record_config, provenance
from w2s_bench.store import Record, RunStore, content_key

FAILURES_PHASE = "failures"


def failure_key(cell: CellConfig) -> str:
    return content_key(cell_record_config(cell))


def record_failure(store: RunStore, cell: CellConfig, error: str, traceback: str | None, seconds: float) -> Record:
    metrics: dict[str, Any] = {"seconds": seconds}
    extra = {"error": error, "traceback": traceback or "", "versions": provenance()}
    return store.save(FAILURES_PHASE, failure_key(cell), cell_record_config(cell), metrics, extra=extra)


def clear_failure(store: RunStore, cell: CellConfig) -> None:
    store.discard(FAILURES_PHASE, failure_key(cell))
