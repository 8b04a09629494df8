"""Resource requests of a grid's tasks (CPUs, GPUs, memory), from the cell's models and mode.

The numbers are estimates that a scheduler such as Ray uses to place tasks;
nothing measures or enforces them while a task runs. Memory is estimated from
a model's parameter count (``ModelSpec.params_millions``), in fp32:

* inference (feature caching): weights plus as much again for activations;
* finetuning: weights, gradients and two AdamW moments, doubled for activations;
* a linear head on cached features: nothing beyond the base.

Every task also gets :data:`BASE_MEMORY` for the interpreter, torch, the
tokenizer and the task data. A model without a parameter count adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from w2s_bench.pipeline import CellConfig

GIB = 1024**3
#: Memory of a worker with torch, a tokenizer and a task's data loaded (an estimate).
BASE_MEMORY = 1 * GIB
FP32_BYTES = 4
#: Bytes per parameter, per kind of work; see the module docstring.
BYTES_PER_PARAM = {"inference": 2 * FP32_BYTES, "finetune": 2 * 4 * FP32_BYTES, "head": 0}
#: CPUs per task on a CPU-only cluster, per mode, unless the user sets them.
DEFAULT_CPUS = {"probe": 1, "finetune": 2}


@dataclass(frozen=True)
class TaskResources:
    """The resources one task requests from the scheduler."""

    num_cpus: float
    num_gpus: float = 0
    #: Bytes.
    memory: int = 0

    def as_options(self) -> dict[str, Any]:
        """Return the request as keyword options of ``ray.remote(...).options``."""
        options: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus}
        if self.memory:
            options["memory"] = self.memory
        return options

    def describe(self) -> str:
        text = f"{self.num_cpus:g} CPU"
        if self.num_gpus:
            text += f", {self.num_gpus:g} GPU"
        return f"{text}, {self.memory / GIB:.1f} GiB"


@dataclass(frozen=True)
class ClusterShape:
    """The largest amount of each resource on one node, and the totals."""

    max_cpus: float
    max_gpus: float
    max_memory: float
    total_cpus: float
    total_gpus: float

    @classmethod
    def from_nodes(cls, nodes: Iterable[dict[str, Any]]) -> "ClusterShape":
        """Build from ``ray.nodes()`` entries; nodes that are not alive are left out."""
        alive = [node.get("Resources", {}) for node in nodes if node.get("Alive", True)]
        if not alive:
            return cls(0, 0, 0, 0, 0)
        return cls(
            max_cpus=max(resources.get("CPU", 0) for resources in alive),
            max_gpus=max(resources.get("GPU", 0) for resources in alive),
            max_memory=max(resources.get("memory", 0) for resources in alive),
            total_cpus=sum(resources.get("CPU", 0) for resources in alive),
            total_gpus=sum(resources.get("GPU", 0) for resources in alive),
        )

    def slots(self, request: TaskResources) -> int:
        """Return about how many tasks of ``request`` run at once, counting CPUs and GPUs of all nodes."""
        counts = [self.total_cpus // request.num_cpus] if request.num_cpus else []
        if request.num_gpus:
            counts.append(self.total_gpus // request.num_gpus)
        return max(1, int(min(counts))) if counts else 1


class NoGPUError(RuntimeError):
    """A cell requires a CUDA device and no node of the cluster has a GPU."""


def wants_gpu(cell: CellConfig, cluster: ClusterShape) -> bool:
    """Return whether the cell's tasks need a GPU: device cuda, or auto on a cluster with GPUs.

    :raises NoGPUError: when the cell's device is cuda and no node has a GPU.
    """
    if cell.device.startswith("cuda"):
        if cluster.max_gpus < 1:
            raise NoGPUError(f"cell device is {cell.device!r} but no node of the Ray cluster has a GPU")
        return True
    return cell.device == "auto" and cluster.max_gpus >= 1


def model_memory(params_millions: float | None, work: str) -> int:
    if params_millions is None:
        return 0
    return int(params_millions * 1e6 * BYTES_PER_PARAM[work])


def task_resources(
    cell: CellConfig,
    work: str,
    params_millions: float | None,
    cluster: ClusterShape,
    cpus: float | None = None,
) -> TaskResources:
    """Return the request of one task of ``cell`` doing ``work`` on a model with ``params_millions``.

    ``work`` is "inference", "finetune" or "head". ``cpus`` overrides the CPUs
    of tasks that run a backbone; head training always takes 1 CPU, because it
    runs one thread (see :mod:`w2s_bench.threads`). Requests are capped at the
    largest node, so that no task waits for a node that does not exist.
    """
    gpu = wants_gpu(cell, cluster)
    if work == "head":
        num_cpus = 1.0
    elif gpu:
        num_cpus = 1.0 if cpus is None else cpus
    else:
        num_cpus = float(cpus if cpus is not None else DEFAULT_CPUS[cell.mode])
    memory = BASE_MEMORY + model_memory(params_millions, work)

    # NOTE: an autoscaling cluster may add larger nodes later; requests are
    # capped at the nodes present when the grid starts.
    if cluster.max_cpus:
        num_cpus = min(num_cpus, cluster.max_cpus)
    if cluster.max_memory:
        memory = int(min(memory, cluster.max_memory))
    # every task of a GPU cell gets a whole GPU, head training included,
    # because a cell with device "cuda" fails on a worker that Ray gave no GPU
    return TaskResources(num_cpus=num_cpus, num_gpus=1.0 if gpu else 0.0, memory=memory)
