"""Facts about the machine and software a run measured, and its matmul peak."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import torch


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> str:
    """Return the vector extensions that decide fp32 and bf16 matmul speed."""
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    present = set(line.split(":", 1)[1].split())
                    return " ".join(flag for flag in wanted if flag in present) or "none of " + " ".join(wanted)
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine_facts() -> dict[str, Any]:
    import transformers

    from w2s_bench import __version__

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": cpu_model(),
        "CPU flags": cpu_flags(),
        "cores (usable / online)": f"{usable} / {os.cpu_count()}",
        "memory": memory_total(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "w2s-bench": __version__,
        "torch threads (intra-op)": torch.get_num_threads(),
        "flush denormals": "on",
        "MKL / oneDNN": f"{torch.backends.mkl.is_available()} / {torch.backends.mkldnn.is_available()}",
    }


def memory_total() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def matmul_peak(size: int, repeats: int = 5) -> float:
    """Best fp32 FLOP/s of a ``size`` x ``size`` matrix product over ``repeats`` runs.

    The best run, not the median, because the peak is what the hardware can
    reach when other processes leave it alone.
    """
    left = torch.randn(size, size)
    right = torch.randn(size, size)
    torch.mm(left, right)

    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(left, right)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best
