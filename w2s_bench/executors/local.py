"""Cells on this machine: in this process (one job) or in worker processes (several).

With several jobs, each worker process gets an equal share of the thread
budget (``W2S_BENCH_THREADS`` when set, else every core the process may use),
so N workers never run more compute threads than one job would. Head
training keeps its single thread (see :mod:`w2s_bench.threads`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator, Sequence

from w2s_bench.executors.base import CellJob, CellOutcome, Executor, StartCallback, run_cell
from w2s_bench.progress import SILENT, Progress
from w2s_bench.registry import Registry
from w2s_bench.threads import THREADS_ENV

logger = logging.getLogger(__name__)

#: Variables that size the thread pools of the numeric libraries torch may use.
LIBRARY_THREAD_ENVS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def thread_budget_total() -> int:
    configured = os.environ.get(THREADS_ENV)
    if configured:
        return max(1, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_per_worker(jobs: int) -> int:
    """Return each of ``jobs`` workers' share of the thread budget, at least 1."""
    return max(1, thread_budget_total() // jobs)


class LocalExecutor(Executor):
    """Runs cells in this process when ``jobs`` is 1, else in ``jobs`` worker processes.

    In-process runs reuse loaded models and task data across cells and may
    use a caller's registry (with inline plugins) and progress display.
    Worker processes build their registry from installed entry points, so
    ``registry`` must be None when ``jobs`` > 1.
    """

    name = "local"

    def __init__(self, jobs: int = 1, registry: Registry | None = None, progress: Progress = SILENT) -> None:
        if jobs < 1:
            raise ValueError(f"jobs={jobs} is invalid; expected at least 1")
        if jobs > 1 and registry is not None:
            raise ValueError("worker processes load plugins from entry points; pass registry=None with jobs > 1")
        self.jobs = jobs
        self.registry = registry
        self.progress = progress
        self._stopped = False
        self._pipelines: dict[str, Any] = {}

    def adopt(self, pipeline: Any) -> None:
        """Run in-process jobs for ``pipeline``'s run store on it, reusing what it has loaded."""
        self._pipelines[str(pipeline.store.root)] = pipeline

    def stop(self) -> None:
        self._stopped = True

    def run(self, jobs: Sequence[CellJob], on_start: StartCallback) -> Iterator[CellOutcome]:
        if self.jobs == 1:
            return self._run_here(jobs, on_start)
        return self._run_in_workers(jobs, on_start)

    # --- one job: this process -------------------------------------------

    def _run_here(self, jobs: Sequence[CellJob], on_start: StartCallback) -> Iterator[CellOutcome]:
        from w2s_bench.pipeline import Pipeline
        from w2s_bench.registry import default_registry
        from w2s_bench.store import RunStore

        registry = self.registry or default_registry()
        for job in jobs:
            if self._stopped:
                return
            if job.runs_dir not in self._pipelines:
                self._pipelines[job.runs_dir] = Pipeline(registry, RunStore(job.runs_dir), self.progress)
            on_start(job)
            yield run_cell(self._pipelines[job.runs_dir], job)

    # --- several jobs: worker processes ----------------------------------

    def _new_pool(self) -> ProcessPoolExecutor:
        threads = threads_per_worker(self.jobs)
        if self.jobs > thread_budget_total():
            logger.warning("%d jobs exceed the thread budget of %d; each worker uses 1 thread", self.jobs, thread_budget_total())
        # spawn, not fork: a forked child would inherit torch's thread pools
        # and any locks held by other threads of this process
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.jobs, mp_context=context, initializer=init_worker,
                                   initargs=(threads, logging.getLogger().level))

    def _run_in_workers(self, jobs: Sequence[CellJob], on_start: StartCallback) -> Iterator[CellOutcome]:
        queue = deque(jobs)
        # Any job running when a worker died may have killed it. Each reruns
        # alone, and a job that breaks the pool while alone is recorded as failed.
        suspects: deque[CellJob] = deque()
        in_flight: dict[Future, tuple[CellJob, float]] = {}
        pool = self._new_pool()
        try:
            while queue or suspects or in_flight:
                if self._stopped and suspects:
                    for job in suspects:
                        yield worker_died(job, time.monotonic())
                    suspects.clear()
                self._submit(pool, queue, suspects, in_flight, on_start)
                if not in_flight:
                    return

                done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                broken: list[tuple[CellJob, float]] = []
                for future in done:
                    job, started = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        broken.append((job, started))
                if not broken:
                    continue

                # every other job in flight ran on the same broken pool
                broken += [in_flight.pop(future) for future in list(in_flight)]
                if len(broken) == 1:
                    yield worker_died(*broken[0])
                else:
                    logger.warning("a worker died while %d cells ran; rerunning each alone", len(broken))
                    suspects.extend(job for job, _ in broken)
                pool.shutdown(wait=False, cancel_futures=True)
                pool = self._new_pool()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, pool: ProcessPoolExecutor, queue: deque, suspects: deque, in_flight: dict, on_start: StartCallback) -> None:
        """Hand jobs to the pool: one suspect at a time when there are any, else up to ``jobs``."""
        if self._stopped:
            return
        if suspects:
            if not in_flight:
                job = suspects.popleft()
                in_flight[pool.submit(run_job_in_worker, job)] = (job, time.monotonic())
                on_start(job)
            return
        while queue and len(in_flight) < self.jobs:
            job = queue.popleft()
            in_flight[pool.submit(run_job_in_worker, job)] = (job, time.monotonic())
            on_start(job)


def worker_died(job: CellJob, started: float) -> CellOutcome:
    message = "worker process exited unexpectedly (killed, out of memory or crashed)"
    logger.warning("cell %d: %s", job.index, message)
    return CellOutcome(job.index, False, time.monotonic() - started, error=f"WorkerDied: {message}")


# --- inside a worker process ---------------------------------------------

_worker_pipelines: dict = {}


def init_worker(threads: int, log_level: int) -> None:
    """Set the worker's thread budget before any cell runs."""
    os.environ[THREADS_ENV] = str(threads)
    for name in LIBRARY_THREAD_ENVS:
        os.environ[name] = str(threads)
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")

    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once parallel work started in this process
        pass


def run_job_in_worker(job: CellJob) -> CellOutcome:
    """Run a job on this process's pipeline for the job's run store."""
    from w2s_bench.pipeline import Pipeline
    from w2s_bench.registry import default_registry
    from w2s_bench.store import RunStore

    if job.runs_dir not in _worker_pipelines:
        _worker_pipelines[job.runs_dir] = Pipeline(default_registry(), RunStore(job.runs_dir))
    return run_cell(_worker_pipelines[job.runs_dir], job)
