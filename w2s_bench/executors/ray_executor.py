"""Cells on a Ray cluster, or on a local Ray instance started for the grid.

Each shared phase of the grid (a feature cache, a weak model with its weak
labels, a ceiling, as listed in :mod:`w2s_bench.executors.shared_steps`) runs
once as its own Ray task. The driver, this process, submits a cell's task only when
every shared phase the cell needs has ended, so a waiting cell reserves no CPU or
GPU. Phases and cells exchange results through the run store, which must be
on a filesystem that every node mounts at the same path; the store's file
locks remain the guard against two tasks computing one phase.

Every task asks Ray for the CPUs, GPUs and memory of its work
(:mod:`w2s_bench.executors.task_resources`). A failed cell, whether it raised
or its worker died, is submitted again up to ``retries`` times and then
yielded as failed. Ray's own task retries are turned off for cells so that
every retry is counted and logged here.

Ray is an optional dependency: ``pip install 'w2s-bench[ray]'``.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import traceback as traceback_module
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Iterator, Sequence

from w2s_bench.errors import UserError
from w2s_bench.executors.base import CellJob, CellOutcome, Executor, StartCallback, run_cell
from w2s_bench.executors.shared_steps import SharedStep, StepGraph, StepId, build_step_graph, compute_shared_step
from w2s_bench.executors.task_resources import ClusterShape, NoGPUError, TaskResources, task_resources
from w2s_bench.pipeline import CellConfig
from w2s_bench.registry import Registry

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'w2s-bench[ray]'"
DEFAULT_RETRIES = 2
#: Read by Ray when it is imported. Set to "0", Ray gives the node the
#: loopback address, so every server of a local instance listens on
#: 127.0.0.1 only (checked with Ray 2.60 on Linux). Without it they listen on
#: all interfaces.
RAY_SINGLE_MACHINE_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
RAY_USAGE_STATS_ENV = "RAY_USAGE_STATS_ENABLED"


def import_ray() -> Any:
    """Import Ray, or raise a UserError with the command that installs it."""
    try:
        import ray
    except ImportError as error:
        raise UserError(f"--executor ray needs Ray, which is not installed; install it with: {INSTALL_HINT}") from error
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Raise a UserError unless ``address``, when of the form HOST:PORT, accepts a TCP connection.

    Without this check, ray.init retries an address where nothing listens for
    minutes (Ray 2.60). Other forms ("auto", "ray://...") are left to Ray.
    """
    host, separator, port = address.rpartition(":")
    if not separator or not host or "/" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise UserError(f"cannot connect to the Ray cluster at {address!r}: {error}; "
                        "check the address printed by `ray start --head`") from error


@dataclass
class CellAttempt:
    job: CellJob
    attempt: int
    started: float
    #: Worker time of the earlier attempts, in seconds.
    earlier_seconds: float


class RayExecutor(Executor):
    """Runs shared phases once and cells as Ray tasks, on the cluster at ``address``.

    Without ``address`` it starts a local Ray instance, bound to loopback,
    with ``num_cpus`` CPUs (default: every core), and shuts it down in
    :meth:`close`. When Ray is already initialised in this process, that
    instance is used and left running.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        retries: int = DEFAULT_RETRIES,
        cpus_per_task: float | None = None,
        registry: Registry | None = None,
        num_cpus: int | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries={retries} is invalid; expected at least 0")
        if cpus_per_task is not None and cpus_per_task <= 0:
            raise ValueError(f"cpus_per_task={cpus_per_task} is invalid; expected a positive number")
        self.address = address
        self.retries = retries
        self.cpus_per_task = cpus_per_task
        self.registry = registry
        self.num_cpus = num_cpus
        #: Tasks submitted: "shared <phase>" per shared phase, "cell", "retry".
        self.counts: Counter[str] = Counter()
        self._ray: Any = None
        self._started_here = False
        self._stopped = False
        self.cluster = ClusterShape(0, 0, 0, 0, 0)

    # --- connecting --------------------------------------------------------

    def connect(self) -> ClusterShape:
        """Connect to the cluster, or start the local instance; return the cluster's shape."""
        if self._ray is not None:
            return self.cluster
        if self.address is None and "ray" not in sys.modules:
            os.environ.setdefault(RAY_SINGLE_MACHINE_ENV, "0")
        ray = import_ray()

        if not ray.is_initialized():
            self._init(ray)
        self._ray = ray
        self.cluster = ClusterShape.from_nodes(ray.nodes())
        logger.info("Ray cluster: %g CPUs, %g GPUs on %d nodes", self.cluster.total_cpus, self.cluster.total_gpus, len(ray.nodes()))
        return self.cluster

    def _init(self, ray: Any) -> None:
        if self.address is None:
            # a local instance serves this grid only, so it reports no usage statistics
            os.environ.setdefault(RAY_USAGE_STATS_ENV, "0")
            if os.environ.get(RAY_SINGLE_MACHINE_ENV) != "0":
                logger.warning("Ray was imported before the local instance started, so it may listen on every interface; "
                               "set %s=0 before Ray is imported to keep it on loopback", RAY_SINGLE_MACHINE_ENV)
            ray.init(address="local", num_cpus=self.num_cpus, include_dashboard=False, logging_level=logging.WARNING)
            self._started_here = True
            return

        check_reachable(self.address)
        try:
            ray.init(address=self.address, logging_level=logging.WARNING)
        except ConnectionError as error:
            raise UserError(f"cannot connect to the Ray cluster at {self.address!r}: {error}; "
                            "check the address printed by `ray start --head`") from error

    def close(self) -> None:
        """Shut down the local instance if this executor started it."""
        if self._started_here and self._ray is not None:
            self._ray.shutdown()
        self._started_here = False
        self._ray = None

    def stop(self) -> None:
        self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped

    # --- resources ---------------------------------------------------------

    def params_millions(self, model: str) -> float | None:
        from w2s_bench.registry import default_registry

        registry = self.registry or default_registry()
        try:
            return registry.model(model).params_millions
        except Exception:  # noqa: BLE001 - an unknown size only drops the model's memory estimate
            return None

    def cell_resources(self, cell: CellConfig) -> TaskResources:
        """Return the request of a cell's own task: its student side on the strong model."""
        sizes = [size for size in (self.params_millions(cell.weak), self.params_millions(cell.strong)) if size is not None]
        work = "finetune" if cell.mode == "finetune" else "inference"
        return task_resources(cell, work, max(sizes) if sizes else None, self.cluster, self.cpus_per_task)

    def step_resources(self, step: SharedStep) -> TaskResources:
        if step.phase == "features":
            work = "inference"
        else:
            work = "finetune" if step.cell.mode == "finetune" else "head"
        return task_resources(step.cell, work, self.params_millions(step.model), self.cluster, self.cpus_per_task)

    def parallel_cells(self, cells: Sequence[CellConfig]) -> int:
        """Return about how many of ``cells`` the cluster runs at once (for time estimates)."""
        self.connect()
        if not cells:
            return 1
        try:
            return min(self.cluster.slots(self.cell_resources(cell)) for cell in cells)
        except NoGPUError:
            return 1

    # --- running -----------------------------------------------------------

    def run(self, jobs: Sequence[CellJob], on_start: StartCallback) -> Iterator[CellOutcome]:
        # connect() first, because it sets the loopback switch before Ray is imported
        self.connect()
        ray = self._ray
        jobs = [replace(job, runs_dir=os.path.abspath(job.runs_dir)) for job in jobs]
        return _GridOnRay(self, ray, jobs, on_start).outcomes()


class _GridOnRay:
    """The driver loop of one :meth:`RayExecutor.run`: submit tasks as their inputs end, collect outcomes."""

    def __init__(self, executor: RayExecutor, ray: Any, jobs: list[CellJob], on_start: StartCallback) -> None:
        self.executor = executor
        self.ray = ray
        self.on_start = on_start
        self.graph: StepGraph = build_step_graph(jobs)
        self.waiting: list[CellJob] = list(jobs)
        self.steps_waiting: list[StepId] = list(self.graph.steps)
        self.steps_ended: set[StepId] = set()
        self.step_refs: dict[Any, StepId] = {}
        self.steps_cancelled = False
        self.cell_refs: dict[Any, CellAttempt] = {}
        self.log_level = logging.getLogger().level
        self.step_task = ray.remote(run_shared_step_task)
        self.cell_task = ray.remote(run_cell_task)

    def outcomes(self) -> Iterator[CellOutcome]:
        yield from self.reject_impossible()
        try:
            while True:
                self.submit_steps()
                self.submit_cells()
                if not self.step_refs and not self.cell_refs:
                    return
                ready, _ = self.ray.wait([*self.step_refs, *self.cell_refs], num_returns=1)
                for ref in ready:
                    if ref in self.step_refs:
                        self.end_step(ref)
                    else:
                        outcome = self.end_cell(ref)
                        if outcome is not None:
                            yield outcome
        finally:
            for ref in [*self.step_refs, *self.cell_refs]:
                self.ray.cancel(ref, force=True)

    def reject_impossible(self) -> Iterator[CellOutcome]:
        """Yield a failed outcome for each cell whose resources no node has (a GPU cell on a CPU cluster)."""
        possible = []
        for job in self.waiting:
            try:
                self.executor.cell_resources(job.cell)
            except NoGPUError as error:
                yield CellOutcome(job.index, False, 0.0, error=f"NoGPUError: {error}")
                continue
            possible.append(job)
        self.waiting = possible

    # --- shared steps ----------------------------------------------------

    def submit_steps(self) -> None:
        if self.executor.stopped:
            if self.steps_waiting or not self.steps_cancelled:
                for ref in self.step_refs:
                    self.ray.cancel(ref)
                self.steps_waiting.clear()
                self.steps_cancelled = True
            return
        for step_id in list(self.steps_waiting):
            step = self.graph.steps[step_id]
            if not all(before in self.steps_ended for before in step.after):
                continue
            try:
                resources = self.executor.step_resources(step)
            except NoGPUError:
                # the cells that need this step fail on the same error
                self.steps_waiting.remove(step_id)
                self.steps_ended.add(step_id)
                continue
            threads = max(1, int(resources.num_cpus))
            ref = self.step_task.options(**resources.as_options(), max_retries=1, name=f"w2s {step.label}").remote(
                step, threads, self.log_level)
            self.step_refs[ref] = step_id
            self.steps_waiting.remove(step_id)
            self.executor.counts[f"shared {step.phase}"] += 1
            logger.info("submitted shared step %s (%s)", step.label, resources.describe())

    def end_step(self, ref: Any) -> None:
        step_id = self.step_refs.pop(ref)
        step = self.graph.steps[step_id]
        try:
            status = self.ray.get(ref)
        except self.ray.exceptions.RayError as error:
            status = f"failed: {error}"
        if status != "stored":
            logger.warning("shared step %s %s; the cells that need it compute it themselves", step.label, status)
        self.steps_ended.add(step_id)

    # --- cells -------------------------------------------------------------

    def submit_cells(self) -> None:
        if self.executor.stopped:
            return
        for job in list(self.waiting):
            if not all(step_id in self.steps_ended for step_id in self.graph.needs.get(job.index, [])):
                continue
            resources = self.executor.cell_resources(job.cell)
            if len(self.cell_refs) >= self.executor.cluster.slots(resources):
                return
            self.waiting.remove(job)
            self.submit_cell(CellAttempt(job, 1, time.monotonic(), 0.0), resources)

    def submit_cell(self, attempt: CellAttempt, resources: TaskResources) -> None:
        job = attempt.job
        threads = max(1, int(resources.num_cpus))
        # retries are counted here, so Ray retries no cell by itself
        ref = self.cell_task.options(**resources.as_options(), max_retries=0, name=f"w2s cell {job.index}").remote(
            job, threads, self.log_level)
        self.cell_refs[ref] = attempt
        self.executor.counts["cell"] += 1
        self.on_start(job)

    def end_cell(self, ref: Any) -> CellOutcome | None:
        """Return the cell's outcome, or None when a failed attempt was submitted again."""
        attempt = self.cell_refs.pop(ref)
        job = attempt.job
        try:
            outcome: CellOutcome = self.ray.get(ref)
        except self.ray.exceptions.RayError as error:
            outcome = task_lost(job, attempt.started, error)
        outcome = replace(outcome, seconds=attempt.earlier_seconds + outcome.seconds)

        attempts_allowed = 1 + self.executor.retries
        if outcome.ok or attempt.attempt >= attempts_allowed or self.executor.stopped:
            if not outcome.ok and attempt.attempt > 1:
                logger.warning("cell %d failed on all %d attempts: %s", job.index, attempt.attempt, outcome.error)
            return outcome

        logger.warning("cell %d failed (attempt %d of %d): %s; retrying", job.index, attempt.attempt, attempts_allowed, outcome.error)
        self.executor.counts["retry"] += 1
        retry = CellAttempt(job, attempt.attempt + 1, time.monotonic(), outcome.seconds)
        self.submit_cell(retry, self.executor.cell_resources(job.cell))
        return None


def task_lost(job: CellJob, started: float, error: BaseException) -> CellOutcome:
    """Return the failed outcome of a cell whose task ended without one (worker or node died, cancelled)."""
    from w2s_bench.grid.plan import describe_error

    logger.info("cell %d: Ray task ended without a result: %s", job.index, describe_error(error))
    return CellOutcome(job.index, False, time.monotonic() - started, error=describe_error(error),
                       traceback="".join(traceback_module.format_exception(error)))


# --- inside a Ray worker -----------------------------------------------------

_worker_pipelines: dict = {}


def worker_pipeline(runs_dir: str) -> Any:
    """Return this worker process's pipeline for ``runs_dir``; tasks in one worker share loaded models and data."""
    from w2s_bench.pipeline import Pipeline
    from w2s_bench.registry import default_registry
    from w2s_bench.store import RunStore

    if runs_dir not in _worker_pipelines:
        _worker_pipelines[runs_dir] = Pipeline(default_registry(), RunStore(runs_dir))
    return _worker_pipelines[runs_dir]


def run_shared_step_task(step: SharedStep, threads: int, log_level: int) -> str:
    """Compute one shared step; return "stored", or why the cells must compute it."""
    from w2s_bench.executors.local import init_worker
    from w2s_bench.grid.plan import describe_error

    init_worker(threads, log_level)
    try:
        return compute_shared_step(worker_pipeline(step.runs_dir), step)
    except Exception as error:  # noqa: BLE001 - the cells meet the same error and record it
        return f"failed: {describe_error(error)}"


def run_cell_task(job: CellJob, threads: int, log_level: int) -> CellOutcome:
    from w2s_bench.executors.local import init_worker

    init_worker(threads, log_level)
    return run_cell(worker_pipeline(job.runs_dir), job)
