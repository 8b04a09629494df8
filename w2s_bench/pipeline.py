"""The phases of one weak-to-strong cell, each a cached step in the run store.

split → weak supervisor (half 1, ground truth) → weak labels (half 2) →
strong ceiling (half 2, ground truth) → student (half 2, weak labels, method)
→ test metrics. The weak supervisor and the ceiling do not depend on the
method, so cells that differ only in method share them.

A method may replace the student side of a cell (everything after the weak
phase) by defining ``student_side``; see :class:`StudentSide`.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import torch

from w2s_bench import __version__
from w2s_bench.data import Split, TaskData, labels_of, split_halves
from w2s_bench.errors import UserError
from w2s_bench.features import cached_features, features_config
from w2s_bench.losses import ground_truth_loss
from w2s_bench.metrics import accuracy, accuracy_by_group, agreement, chance_accuracy, pgr
from w2s_bench.progress import SILENT, Progress
from w2s_bench.registry import Registry
from w2s_bench.specs import ModelSpec
from w2s_bench.store import Record, RunStore, content_key
from w2s_bench.threads import thread_budget
from w2s_bench.training import FinetuneModel, LinearHead, TrainConfig, feature_statistics, fit, predict, total_steps

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.safetensors"
MODES = ("probe", "finetune")

#: Optimiser defaults per mode. A linear head on frozen features trains for
#: several cheap epochs, and a whole transformer for two epochs at a small rate.
DEFAULT_TRAIN = {
    "probe": TrainConfig(epochs=5, batch_size=32, lr=1e-3, weight_decay=0.01),
    "finetune": TrainConfig(epochs=2, batch_size=16, lr=2e-5, weight_decay=0.01),
}


@dataclass(frozen=True)
class CellConfig:
    """Everything that defines one cell: task × method × weak/strong pair × seed."""

    task: str
    method: str
    weak: str
    strong: str
    seed: int = 0
    mode: str = "probe"
    method_options: dict[str, Any] = field(default_factory=dict)
    #: Training examples used (both halves together); None uses all.
    max_train: int | None = None
    #: Test examples used; None uses all.
    max_test: int | None = None
    train: TrainConfig | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"mode {self.mode!r} is invalid; expected one of {', '.join(MODES)}")
        if self.seed < 0:
            raise UserError(f"seed {self.seed} is invalid; expected a non-negative integer")
        for name in ("max_train", "max_test"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise UserError(f"{name}={value} is invalid; expected at least 2")

    @property
    def train_config(self) -> TrainConfig:
        return self.train or DEFAULT_TRAIN[self.mode]


@dataclass(frozen=True)
class CellResult:
    """Test metrics of one cell, with the record it was stored in."""

    config: CellConfig
    weak_accuracy: float
    ceiling_accuracy: float
    student_accuracy: float
    pgr: float | None
    student_weak_agreement: float
    record: Record


@dataclass(frozen=True)
class StudentSide:
    """The result of a method's own student side, returned to :meth:`Pipeline.run`.

    A method defines ``student_side(pipeline, cell, data, split, weak) ->
    StudentSide`` to replace the plain ceiling and student phases, and may
    define ``check(pipeline, cell)`` to reject a bad cell before any training.
    ``ceiling`` and ``student`` are the records whose test accuracy becomes
    the cell's ceiling and student accuracy, so the cell's PGR is computed
    against ``ceiling``. ``student.metrics`` must contain ``test_accuracy`` and
    ``weak_agreement``.
    """

    ceiling: Record
    student: Record
    #: Phase name -> key, stored in the cell record beside the weak phase. A
    #: name is the run-store folder of the phase, optionally followed by ":"
    #: and a qualifier ("bootstrap:2", "ceiling:adjusted").
    phases: dict[str, str]
    #: Extra metrics for the cell record (JSON-serialisable).
    metrics: dict[str, Any] = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"device {name!r} is invalid; expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} requested but no CUDA device is available; use --device cpu")
    return device


def provenance() -> dict[str, Any]:
    """Versions of the code and libraries that produced a record."""
    import transformers

    return {
        "w2s_bench": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


@dataclass
class PhaseInputs:
    """Cached features of one model on one task, as the training loop reads them."""

    train: Callable[[torch.Tensor], Any]
    test: Callable[[torch.Tensor], Any]
    train_rows: Callable[[torch.Tensor], Any]
    hidden: int
    mean: torch.Tensor
    std: torch.Tensor


class Pipeline:
    """Runs cells against one run store, reusing loaded data and models in memory."""

    def __init__(self, registry: Registry, store: RunStore, progress: Progress = SILENT) -> None:
        self.registry = registry
        self.store = store
        self.progress = progress
        self._data: dict[tuple[str, int | None, int | None], TaskData] = {}
        self._backbones: dict[tuple[str, str], Any] = {}
        self._derived_models: dict[str, ModelSpec] = {}
        #: While True, a model whose weights are still to be built (``is_built()``
        #: is False) gets a placeholder fingerprint instead of being built.
        self.plan_without_building = False

    # --- loading ---------------------------------------------------------

    def task_data(self, cell: CellConfig) -> TaskData:
        key = (cell.task, cell.max_train, cell.max_test)
        if key not in self._data:
            task = self.registry.task(cell.task).create()
            data = task.load().sliced(cell.max_train, cell.max_test)
            if len(data.train) < 4 or not data.test:
                raise UserError(f"task {cell.task!r} has too few examples (train {len(data.train)}, test {len(data.test)})")
            self._data[key] = data
            logger.info("task %s: %d train, %d test examples", cell.task, len(data.train), len(data.test))
        return self._data[key]

    def add_model(self, spec: ModelSpec) -> None:
        """Make a model built during a run (such as a finetuned backbone) available by name.

        Such models live only in this pipeline; the registry does not list them.
        """
        self._derived_models[spec.name] = spec

    def model_spec(self, name: str) -> ModelSpec:
        if name in self._derived_models:
            return self._derived_models[name]
        return self.registry.model(name)

    def backbone(self, name: str, device: torch.device) -> Any:
        key = (name, str(device))
        if key not in self._backbones:
            self._backbones[key] = self.model_spec(name).create(device=device)
        return self._backbones[key]

    # --- inputs ----------------------------------------------------------

    def probe_inputs(self, model_name: str, data: TaskData, device: torch.device) -> tuple[PhaseInputs, str]:
        """Cached features arranged as ``[N, d]`` (classify) or ``[N, K, d]`` (rank)."""
        backbone = self.backbone(model_name, device)
        texts, train_index, test_index = text_table(data)
        features = cached_features(self.store, backbone, texts, f"{model_name} on {data.name}", progress=self.progress)

        # both splits padded to the task's candidate count, the width of the masks
        width = data.num_candidates if data.head == "rank" else None
        train_features = gather_candidates(features, train_index, width)
        test_features = gather_candidates(features, test_index, width)
        train_mask = candidate_mask(data.train, data)
        mean, std = feature_statistics(train_features, train_mask if data.head == "rank" else None)

        inputs = PhaseInputs(
            train=lambda index: train_features[index].to(device),
            test=lambda index: test_features[index].to(device),
            train_rows=lambda rows: train_features[rows],
            hidden=features.shape[1],
            mean=mean,
            std=std,
        )
        return inputs, backbone.fingerprint

    # --- phases ----------------------------------------------------------

    def _phase(self, phase: str, config: dict[str, Any], compute: Callable[[], tuple[dict, dict]]) -> Record:
        key = content_key(config)
        record = self.store.load(phase, key)
        if record is not None:
            self.progress.note(f"{phase}: reused from the run store")
            return record

        with self.store.lock(phase, key):
            record = self.store.load(phase, key)
            if record is not None:
                return record
            logger.info("%s phase %s: computing", phase, key[:24])
            metrics, tensors = compute()
            return self.store.save(phase, key, config, metrics, tensors, extra={"versions": provenance()})

    def _train_and_predict(
        self,
        cell: CellConfig,
        model_name: str,
        data: TaskData,
        rows: torch.Tensor,
        targets: torch.Tensor,
        loss_fn: Callable,
        phase: str,
        predict_rows: torch.Tensor | None,
    ) -> tuple[dict[str, float], torch.Tensor, torch.Tensor | None]:
        """Train on ``rows`` of the train split; return fit stats, test probs and probs on ``predict_rows``."""
        device = resolve_device(cell.device)
        config = cell.train_config
        torch.manual_seed(cell.seed)
        train_mask = candidate_mask(data.train, data)
        test_mask = candidate_mask(data.test, data)

        if cell.mode == "probe":
            inputs, _ = self.probe_inputs(model_name, data, device)
            head = LinearHead(inputs.hidden, data.head, data.num_candidates, inputs.mean, inputs.std).to(device)
            model: torch.nn.Module = head
            train_inputs = lambda index: inputs.train(rows[index])  # noqa: E731
            all_train_inputs = inputs.train
            test_inputs = inputs.test
            workload = "head"
            train_lengths = test_lengths = None
        else:
            backbone = self.model_spec(model_name).create(device=device)
            hidden = backbone.hidden_size
            head = LinearHead(hidden, data.head, data.num_candidates, torch.zeros(hidden), torch.ones(hidden)).to(device)
            model = FinetuneModel(backbone, head, data.num_candidates)
            train_texts = [example.texts for example in data.train]
            test_texts = [example.texts for example in data.test]
            train_inputs = lambda index: [train_texts[i] for i in rows[index].tolist()]  # noqa: E731
            all_train_inputs = lambda index: [train_texts[i] for i in index.tolist()]  # noqa: E731
            test_inputs = lambda index: [test_texts[i] for i in index.tolist()]  # noqa: E731
            workload = "finetune"
            train_lengths, test_lengths = text_lengths(data.train), text_lengths(data.test)

        with thread_budget(workload), self.progress.track(f"{phase}: train {model_name}", total_steps(len(rows), config)) as advance:
            stats = fit(model, train_inputs, train_mask[rows], targets, loss_fn, config, cell.seed, phase, advance,
                        lengths=None if train_lengths is None else train_lengths[rows])

        with thread_budget("inference" if cell.mode == "finetune" else "head"):
            test_probs = predict(model, test_inputs, test_mask, config.batch_size * 4, lengths=test_lengths)
            other_probs = None
            if predict_rows is not None:
                other_probs = predict(model, lambda index: all_train_inputs(predict_rows[index]), train_mask[predict_rows], config.batch_size * 4,
                                      lengths=None if train_lengths is None else train_lengths[predict_rows])
        return stats, test_probs, other_probs

    def weak_phase(self, cell: CellConfig, data: TaskData, split: Split) -> Record:
        """Train the weak model on half 1 with ground truth; store weak labels on half 2."""
        config = self.weak_config(cell, data)

        def compute() -> tuple[dict, dict]:
            half1 = torch.from_numpy(split.half1)
            half2 = torch.from_numpy(split.half2)
            targets = ground_truth_targets(data, half1)
            stats, test_probs, weak_labels = self._train_and_predict(
                cell, cell.weak, data, half1, targets, ground_truth_loss, "weak", predict_rows=half2
            )
            train_labels = torch.from_numpy(labels_of(data.train))
            metrics = {
                "test_accuracy": accuracy(test_probs, torch.from_numpy(labels_of(data.test))),
                "weak_label_accuracy": accuracy(weak_labels, train_labels[half2]),
                **stats,
            }
            tensors = {PREDICTIONS_FILE: {"test": test_probs, "weak_labels": weak_labels, "half2": half2}}
            return metrics, tensors

        return self._phase("weak", config, compute)

    def ceiling_phase(self, cell: CellConfig, data: TaskData, split: Split) -> Record:
        """Train the strong model on half 2 with ground truth."""
        config = self.ceiling_config(cell, data)

        def compute() -> tuple[dict, dict]:
            half2 = torch.from_numpy(split.half2)
            targets = ground_truth_targets(data, half2)
            stats, test_probs, _ = self._train_and_predict(
                cell, cell.strong, data, half2, targets, ground_truth_loss, "ceiling", predict_rows=None
            )
            metrics = {"test_accuracy": accuracy(test_probs, torch.from_numpy(labels_of(data.test))), **stats}
            return metrics, {PREDICTIONS_FILE: {"test": test_probs}}

        return self._phase("ceiling", config, compute)

    def student_phase(self, cell: CellConfig, data: TaskData, split: Split, weak: Record, method: Any = None) -> Record:
        """Train the strong model on half 2 with the weak labels, using the method.

        ``method`` defaults to the cell's method; a method with its own student
        side passes the plain method whose loss it wraps.
        """
        if method is None:
            method = self.registry.method(cell.method).create(**cell.method_options)
        config = self.student_config(cell, data, weak.data["key"], method)

        def compute() -> tuple[dict, dict]:
            half2 = torch.from_numpy(split.half2)
            weak_predictions = weak.tensors(PREDICTIONS_FILE)
            weak_labels = weak_predictions["weak_labels"]
            stats, test_probs, _ = self._train_and_predict(
                cell, cell.strong, data, half2, weak_labels, method.loss, "student", predict_rows=None
            )
            metrics = {
                "test_accuracy": accuracy(test_probs, torch.from_numpy(labels_of(data.test))),
                "weak_agreement": agreement(test_probs, weak_predictions["test"]),
                **stats,
            }
            return metrics, {PREDICTIONS_FILE: {"test": test_probs}}

        return self._phase("student", config, compute)

    # --- phase configs: everything that enters a phase's store key ---------

    def weak_config(self, cell: CellConfig, data: TaskData) -> dict[str, Any]:
        config = self._model_phase_config(cell, data, cell.weak)
        config["trained_on"] = "half1:ground_truth"
        return config

    def ceiling_config(self, cell: CellConfig, data: TaskData) -> dict[str, Any]:
        config = self._model_phase_config(cell, data, cell.strong)
        config["trained_on"] = "half2:ground_truth"
        return config

    def student_config(self, cell: CellConfig, data: TaskData, weak_key: str, method: Any) -> dict[str, Any]:
        # options that depend on the task's head must be set before config() is read for the key
        bind_task = getattr(method, "bind_task", None)
        if bind_task is not None:
            bind_task(data.head)
        config = self._model_phase_config(cell, data, cell.strong)
        config.update(trained_on="half2:weak_labels", weak_phase=weak_key, method=method.config())
        return config

    def _model_phase_config(self, cell: CellConfig, data: TaskData, model_name: str) -> dict[str, Any]:
        device = resolve_device(cell.device)
        return {
            "task": cell.task,
            "data": data.fingerprint(),
            "model": model_name,
            "model_fingerprint": self.backbone_fingerprint(model_name, device),
            "mode": cell.mode,
            "seed": cell.seed,
            "train": cell.train_config.as_dict(),
            # finetune batches group texts of similar length (see training.epoch_batches)
            **({"batching": "length_grouped"} if cell.mode == "finetune" else {}),
        }

    def backbone_fingerprint(self, name: str, device: torch.device) -> str:
        spec = self.model_spec(name)
        is_built = getattr(spec, "is_built", None)
        if self.plan_without_building and callable(is_built) and not is_built():
            # never in the store, so every step that depends on the model counts as to run
            return f"unbuilt:{name}"
        fingerprint = getattr(spec, "fingerprint", None)
        return fingerprint() if callable(fingerprint) else self.backbone(name, device).fingerprint

    # --- a whole cell ----------------------------------------------------

    def check(self, cell: CellConfig) -> Any:
        """Reject an unknown name, an unloadable model or a bad method option; return the method.

        Runs before any training, so a bad cell fails fast.
        """
        method = self.registry.method(cell.method).create(**cell.method_options)
        for model_name in (cell.weak, cell.strong):
            self.backbone_fingerprint(model_name, resolve_device(cell.device))

        check_method = getattr(method, "check", None)
        if check_method is not None:
            check_method(self, cell)
        return method

    def plain_student_side(self, cell: CellConfig, data: TaskData, split: Split, weak: Record) -> StudentSide:
        """Run the ceiling and student phases of a plain method."""
        ceiling = self.ceiling_phase(cell, data, split)
        student = self.student_phase(cell, data, split, weak)
        phases = {"ceiling": ceiling.data["key"], "student": student.data["key"]}
        return StudentSide(ceiling=ceiling, student=student, phases=phases)

    def run(self, cell: CellConfig) -> CellResult:
        """Run (or reuse) every phase of a cell and store its metrics."""
        method = self.check(cell)

        data = self.task_data(cell)
        split = split_halves(len(data.train), cell.seed)
        logger.info("cell %s/%s %s→%s seed=%d mode=%s", cell.task, cell.method, cell.weak, cell.strong, cell.seed, cell.mode)

        weak = self.weak_phase(cell, data, split)
        run_student_side = getattr(method, "student_side", None)
        if run_student_side is None:
            side = self.plain_student_side(cell, data, split, weak)
        else:
            side = run_student_side(self, cell, data, split, weak)

        weak_accuracy = weak.metrics["test_accuracy"]
        ceiling_accuracy = side.ceiling.metrics["test_accuracy"]
        student_accuracy = side.student.metrics["test_accuracy"]
        metrics = {
            "weak_accuracy": weak_accuracy,
            "ceiling_accuracy": ceiling_accuracy,
            "student_accuracy": student_accuracy,
            "pgr": pgr(weak_accuracy, ceiling_accuracy, student_accuracy),
            "student_weak_agreement": side.student.metrics["weak_agreement"],
            "num_train": len(data.train),
            "num_test": len(data.test),
            "chance_accuracy": chance_accuracy(data.head, data.num_candidates, [len(example.texts) for example in data.test]),
            **side.metrics,
        }
        bands = band_accuracies(data, {"weak": weak, "ceiling": side.ceiling, "student": side.student})
        if bands:
            metrics["accuracy_by_band"] = bands
        config = cell_record_config(cell)
        phases = {"weak": weak.data["key"], **side.phases}
        key = cell_record_key(cell, phases)
        record = self.store.load("cells", key) or self.store.save(
            "cells", key, config, metrics, extra={"phases": phases, "versions": provenance(), "plugins": self.plugin_versions(cell)}
        )
        return CellResult(cell, weak_accuracy, ceiling_accuracy, student_accuracy, metrics["pgr"], metrics["student_weak_agreement"], record)

    def plan(self, cell: CellConfig) -> CellPlan:
        """Return the store keys of every step the cell needs, computing none of them.

        The keys come from the same configs the phases use, so a step is shared
        in the plan exactly when it is shared in a run. A phase added to
        :meth:`run` must be added here too, or grid dry-runs miscount it.
        """
        method = self.registry.method(cell.method).create(**cell.method_options)
        device = resolve_device(cell.device)
        data = self.task_data(cell)

        weak_key = content_key(self.weak_config(cell, data))
        plan_student_side = getattr(method, "plan_student_side", None)
        if plan_student_side is not None:
            side_phases, side_steps = plan_student_side(self, cell, data, weak_key)
        else:
            # NOTE: a method with its own student side but no plan_student_side is
            # planned as a plain cell, so grid dry-runs undercount its extra phases.
            side_phases = {
                "ceiling": content_key(self.ceiling_config(cell, data)),
                "student": content_key(self.student_config(cell, data, weak_key, method)),
            }
            side_steps = [
                PlannedStep("ceiling", side_phases["ceiling"], cell.strong),
                PlannedStep("student", side_phases["student"], cell.strong),
            ]
        phases = {"weak": weak_key, **side_phases}
        steps = [PlannedStep("weak", weak_key, cell.weak), *side_steps]

        if cell.mode == "probe":
            texts = text_table(data)[0]
            for model_name in dict.fromkeys([cell.weak, cell.strong, *(step.model for step in steps)]):
                _, key = features_config(self.backbone_fingerprint(model_name, device), texts)
                steps.append(PlannedStep("features", key, model_name))
        return CellPlan(cell, cell_record_key(cell, phases), tuple(steps))

    def plugin_versions(self, cell: CellConfig) -> dict[str, dict[str, str | None]]:
        """Return the plugin, distribution and version behind each part of the cell.

        Models resolved by ``w2s_bench_resolve_model`` (hub ids, local folders)
        are recorded under the plugin that resolved them.
        """
        parts = {"task": ("task", cell.task), "method": ("method", cell.method), "weak": ("model", cell.weak), "strong": ("model", cell.strong)}
        versions = {}
        for label, (kind, name) in parts.items():
            registered = self.registry.provider(kind, name)
            versions[label] = registered.as_record() if registered else {"plugin": None, "distribution": None, "version": None}
        return versions


@dataclass(frozen=True)
class PlannedStep:
    """One stored step a cell needs: a phase (or feature cache) and its store key."""

    phase: str
    key: str
    model: str


@dataclass(frozen=True)
class CellPlan:
    """The store key of a cell's record and of every step it needs."""

    cell: CellConfig
    key: str
    steps: tuple[PlannedStep, ...]


def cell_record_key(cell: CellConfig, phases: dict[str, str]) -> str:
    return content_key({**cell_record_config(cell), "phases": phases})
def band_accuracies(data: TaskData, phases: dict[str, Record]) -> dict[str, Any]:
    """Test accuracy of each phase per difficulty band, for tasks whose examples carry ``meta["band"]``."""
    bands = [str(example.meta.get("band")) for example in data.test]
    if not any(example.meta.get("band") for example in data.test):
        return {}
    labels = torch.from_numpy(labels_of(data.test))
    return {
        name: accuracy_by_group(record.tensors(PREDICTIONS_FILE)["test"], labels, bands)
        for name, record in phases.items()
    }


def cell_record_config(cell: CellConfig) -> dict[str, Any]:
    config = asdict(replace(cell, train=None))
    config["train"] = cell.train_config.as_dict()
    config.pop("device")
    return config


def text_table(data: TaskData) -> tuple[list[str], list[list[int]], list[list[int]]]:
    """Unique texts of a task and, per example, the rows of its candidates' texts."""
    rows: dict[str, int] = {}
    texts: list[str] = []

    def index_of(example_texts: tuple[str, ...]) -> list[int]:
        indices = []
        for text in example_texts:
            if text not in rows:
                rows[text] = len(texts)
                texts.append(text)
            indices.append(rows[text])
        return indices

    train_index = [index_of(example.texts) for example in data.train]
    test_index = [index_of(example.texts) for example in data.test]
    return texts, train_index, test_index


def gather_candidates(features: torch.Tensor, index: list[list[int]], width: int | None = None) -> torch.Tensor:
    """``[N, d]`` for one text per example, else ``[N, K, d]`` padded with zeros.

    ``K`` is ``width`` when given, else the most candidates of any example here.
    """
    if width is None and all(len(rows) == 1 for rows in index):
        return features[torch.tensor([rows[0] for rows in index], dtype=torch.long)]

    width = width or max(len(rows) for rows in index)
    gathered = features.new_zeros(len(index), width, features.shape[1])
    for row, rows in enumerate(index):
        gathered[row, : len(rows)] = features[torch.tensor(rows, dtype=torch.long)]
    return gathered


def text_lengths(examples: list) -> torch.Tensor:
    """Characters in each example's longest candidate text: the padded width
    of a batch follows its longest text, and characters track tokens closely
    enough to group batches without tokenizing twice."""
    return torch.tensor([max(len(text) for text in example.texts) for example in examples], dtype=torch.long)


def candidate_mask(examples: list, data: TaskData) -> torch.Tensor:
    """``[N, K]`` True for real candidates."""
    mask = torch.zeros(len(examples), data.num_candidates, dtype=torch.bool)
    for row, example in enumerate(examples):
        count = data.num_candidates if data.head == "classify" else len(example.texts)
        mask[row, :count] = True
    return mask


def ground_truth_targets(data: TaskData, rows: torch.Tensor) -> torch.Tensor:
    labels = torch.tensor([data.train[i].label for i in rows.tolist()], dtype=torch.long)
    return torch.nn.functional.one_hot(labels, data.num_candidates).float()
