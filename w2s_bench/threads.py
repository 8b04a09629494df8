"""Thread counts chosen per workload.

Large matrix products (feature extraction, finetuning) use every core. Small
head training is dominated by per-step overhead, and on a shared machine it
ran about 100 times slower with two threads than with one (measured on a
2-core CPU while another job used the cores), so it uses one.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Literal

import torch

Workload = Literal["inference", "finetune", "head"]

THREADS_ENV = "W2S_BENCH_THREADS"


def threads_for(workload: Workload) -> int:
    if workload == "head":
        return 1
    configured = os.environ.get(THREADS_ENV)
    if configured:
        return max(1, int(configured))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@contextmanager
def thread_budget(workload: Workload) -> Iterator[None]:
    """Run the block with the thread count suited to ``workload``, then restore."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads_for(workload))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
