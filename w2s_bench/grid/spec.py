"""Grid specs: the cells a grid runs, from a TOML file, command-line flags, or both.

A grid is tasks × methods × model pairs × seeds in one mode. Top-level fields
apply to every task; a task given as a table (``[tasks.NAME]``) may override
any of them for itself. Flags override both. See ``docs/grids.md`` for the
file format.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from w2s_bench.errors import RegistryError, UserError
from w2s_bench.grid.toml_source import GridSpecError, TomlSource
from w2s_bench.pipeline import MODES, CellConfig
from w2s_bench.registry import Registry

logger = logging.getLogger(__name__)

#: Fields a task table may override.
TASK_FIELDS = ("methods", "pairs", "ladders", "seeds", "mode", "max_train", "max_test", "epochs", "lr", "batch_size", "weight_decay")
GRID_FIELDS = ("name", "description", "tasks", "device", *TASK_FIELDS)
OPTIMISER_FIELDS = ("epochs", "lr", "batch_size", "weight_decay")
#: CellConfig fields a grid always sets itself; a method table may set any other.
GRID_OWNED_CELL_FIELDS = {"task", "method", "weak", "strong", "seed", "mode", "method_options", "max_train", "max_test", "train", "device"}
#: A size left unset: the run command's default for the device (a CPU slice, or all on a GPU).
DEVICE_DEFAULT = "device default"

DEFAULT_PAIR = ("minilm-l2", "mpnet-base")
DEFAULT_METHODS = ("naive",)
DEFAULT_SEEDS = (0,)


@dataclass(frozen=True)
class MethodEntry:
    """A method with its options, as one grid axis value."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    #: Further CellConfig fields, for methods whose cells carry more than options.
    cell_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskGrid:
    """Everything that sets one task's cells."""

    task: str
    methods: tuple[MethodEntry, ...]
    pairs: tuple[tuple[str, str], ...]
    seeds: tuple[int, ...]
    mode: str
    max_train: int | str | None
    max_test: int | str | None
    #: Optimiser settings that differ from the mode's defaults.
    optimiser: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GridSpec:
    name: str
    source: str
    tasks: tuple[TaskGrid, ...]
    device: str = "auto"
    description: str = ""

    def cells(self, on_gpu: bool = False) -> list[CellConfig]:
        """Expand into cells: task, then pair, then seed, then method, so that
        consecutive cells share the most loaded models and phases."""
        from w2s_bench.cli import CPU_MAX_TEST, CPU_MAX_TRAIN

        cells = []
        for task in self.tasks:
            max_train = resolve_size(task.max_train, None if on_gpu else CPU_MAX_TRAIN)
            max_test = resolve_size(task.max_test, None if on_gpu else CPU_MAX_TEST)
            train = optimiser_config(task.mode, task.optimiser)

            for (weak, strong), seed, method in itertools.product(task.pairs, task.seeds, task.methods):
                cells.append(CellConfig(
                    task=task.task, method=method.name, weak=weak, strong=strong, seed=seed, mode=task.mode,
                    method_options=dict(method.options), max_train=max_train, max_test=max_test, train=train,
                    device=self.device, **method.cell_fields,
                ))
        return cells


@dataclass(frozen=True)
class FlagOverrides:
    """Values given as command-line flags; None leaves the file's value."""

    tasks: list[str] | None = None
    methods: list[str] | None = None
    seeds: list[int] | None = None
    weak: str | None = None
    strong: str | None = None
    ladder: list[str] | None = None
    mode: str | None = None
    max_train: int | None = None
    max_test: int | None = None
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    device: str | None = None

    def as_fields(self) -> dict[str, Any]:
        """The grid fields these flags set, in the file's field names."""
        values = {
            "tasks": self.tasks, "methods": self.methods, "seeds": self.seeds, "mode": self.mode,
            "max_train": self.max_train, "max_test": self.max_test, "epochs": self.epochs, "lr": self.lr,
            "batch_size": self.batch_size, "device": self.device,
        }
        if self.ladder is not None:
            values.update(ladders=[self.ladder], pairs=[])
        return {name: value for name, value in values.items() if value is not None}


FLAG_NAMES = {
    "tasks": "--task", "methods": "--method", "seeds": "--seeds", "ladders": "--ladder", "pairs": "--ladder",
    "mode": "--mode", "max_train": "--max-train", "max_test": "--max-test", "epochs": "--epochs", "lr": "--lr",
    "batch_size": "--batch-size", "device": "--device",
}


def load_grid(path: Path | None, flags: FlagOverrides, registry: Registry) -> GridSpec:
    """Read a grid file (or none), apply the flags, check every name against the registry."""
    source = TomlSource.read(path) if path is not None else TomlSource.from_flags()
    return GridBuilder(source, flags, registry).build()


class GridBuilder:
    """Validates raw grid fields and turns them into a :class:`GridSpec`."""

    def __init__(self, source: TomlSource, flags: FlagOverrides, registry: Registry) -> None:
        self.source = source
        self.flags = flags
        self.flag_fields = flags.as_fields()
        self.registry = registry

    def fail(self, message: str, table: tuple[str, ...] = (), key: str | None = None, value: Any = None) -> GridSpecError:
        if not table and key in self.flag_fields:
            return GridSpecError(f"{FLAG_NAMES[key]}: {message}")
        return self.source.error(message, table, key, value)

    def build(self) -> GridSpec:
        data = dict(self.source.data)
        self.check_fields(data, GRID_FIELDS, ())
        data.update(self.flag_fields)

        name = data.get("name", Path(self.source.name).stem if self.source.text else "command-line")
        if not isinstance(name, str) or not name:
            raise self.fail("expected a non-empty string", key="name")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise self.fail("expected a string", key="description")
        device = data.get("device", "auto")
        if not isinstance(device, str):
            raise self.fail("expected a string such as auto, cpu or cuda", key="device")

        tasks = tuple(self.task_grid(task, overrides, data) for task, overrides in self.task_tables(data))
        return GridSpec(name, self.source.name, tasks, device, description)

    def check_fields(self, table_data: dict[str, Any], allowed: tuple[str, ...], table: tuple[str, ...]) -> None:
        for key in table_data:
            if key not in allowed:
                raise self.fail(f"unknown field {key!r}; expected one of {', '.join(allowed)}", table, key)

    # --- tasks -----------------------------------------------------------

    def task_tables(self, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Return (task name, its overrides) pairs, in file order."""
        raw = data.get("tasks")
        if raw is None:
            raise self.fail("missing; list at least one task (or give --task)", key="tasks")

        file_tasks = self.source.data.get("tasks")
        file_overrides = file_tasks if isinstance(file_tasks, dict) else {}

        if isinstance(raw, dict):
            names = list(raw)
        elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            names = raw
        else:
            raise self.fail("expected a list of task names or [tasks.NAME] tables", key="tasks")
        if not names:
            raise self.fail("is empty; list at least one task", key="tasks")
        if len(set(names)) != len(names):
            raise self.fail("lists a task twice", key="tasks")

        tables = []
        for name in names:
            overrides = file_overrides.get(name, {})
            if not isinstance(overrides, dict):
                raise self.fail("expected a table of overrides", ("tasks",), name)
            self.check_fields(overrides, TASK_FIELDS, ("tasks", name))
            try:
                self.registry.task(name)
            except RegistryError as error:
                if "tasks" in self.flag_fields:
                    raise self.fail(str(error), key="tasks") from None
                table = ("tasks", name) if isinstance(raw, dict) else ()
                raise self.fail(str(error), table, None if table else "tasks", None if table else name) from None
            tables.append((name, overrides))
        return tables

    def task_grid(self, task: str, overrides: dict[str, Any], data: dict[str, Any]) -> TaskGrid:
        def pick(key: str) -> tuple[Any, tuple[str, ...]]:
            """A field's value and the table it came from; flags beat task tables."""
            if key in overrides and key not in self.flag_fields:
                return overrides[key], ("tasks", task)
            return data.get(key), ()

        mode, where = pick("mode")
        mode = "probe" if mode is None else mode
        if mode not in MODES:
            raise self.fail(f"{mode!r} is invalid; expected one of {', '.join(MODES)}", where, "mode")

        optimiser = {}
        for key in OPTIMISER_FIELDS:
            value, where = pick(key)
            if value is not None:
                optimiser[key] = self.optimiser_value(key, value, where)

        max_train, where = pick("max_train")
        max_test, where_test = pick("max_test")
        return TaskGrid(
            task=task,
            methods=self.methods(*pick("methods")),
            pairs=self.pairs(pick("pairs"), pick("ladders")),
            seeds=self.seeds(*pick("seeds")),
            mode=mode,
            max_train=self.size(max_train, where, "max_train"),
            max_test=self.size(max_test, where_test, "max_test"),
            optimiser=optimiser,
        )

    # --- field values ----------------------------------------------------

    def methods(self, raw: Any, where: tuple[str, ...]) -> tuple[MethodEntry, ...]:
        if raw is None:
            raw = list(DEFAULT_METHODS)
        if not isinstance(raw, list) or not raw:
            raise self.fail("expected a non-empty list of method names or {name = ..., options = {...}} tables", where, "methods")

        entries = []
        for item in raw:
            entry = self.method_entry(item, where)
            try:
                # building the method checks its options; an error other than
                # UserError is a plugin bug and fails only that method's cells
                self.registry.method(entry.name).create(**entry.options)
            except UserError as error:
                raise self.fail(str(error), where, "methods", entry.name) from None
            except Exception as error:  # noqa: BLE001
                logger.debug("method %s cannot be built; its cells will fail: %s", entry.name, error)
            entries.append(entry)

        labels = [(entry.name, sorted(entry.options.items(), key=str), sorted(entry.cell_fields.items(), key=str)) for entry in entries]
        if len({repr(label) for label in labels}) != len(labels):
            raise self.fail("lists the same method with the same options twice", where, "methods")
        return tuple(entries)

    def method_entry(self, item: Any, where: tuple[str, ...]) -> MethodEntry:
        if isinstance(item, str):
            return MethodEntry(item)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise self.fail(f"entry {item!r} is invalid; expected a name or a table with a 'name'", where, "methods")

        options = item.get("options", {})
        if not isinstance(options, dict):
            raise self.fail(f"options of method {item['name']!r} must be a table", where, "methods", item["name"])

        cell_field_names = {f.name for f in dataclasses.fields(CellConfig)} - GRID_OWNED_CELL_FIELDS
        extra = {key: value for key, value in item.items() if key not in ("name", "options")}
        for key in extra:
            if key not in cell_field_names:
                allowed = ", ".join(["name", "options", *sorted(cell_field_names)])
                raise self.fail(f"method table key {key!r} is unknown; expected one of {allowed}", where, "methods", item["name"])
        return MethodEntry(item["name"], dict(options), extra)

    def pairs(self, pairs_field: tuple[Any, tuple[str, ...]], ladders_field: tuple[Any, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
        raw_pairs, pairs_where = pairs_field
        raw_ladders, ladders_where = ladders_field
        pairs: list[tuple[str, str]] = []

        for item in raw_pairs or []:
            pairs.append(self.pair(item, pairs_where))
        if raw_ladders is not None and not isinstance(raw_ladders, list):
            raise self.fail("expected a list of model lists, weakest first", ladders_where, "ladders")
        for ladder in raw_ladders or []:
            if not isinstance(ladder, list) or len(ladder) < 2 or not all(isinstance(name, str) for name in ladder):
                raise self.fail(f"ladder {ladder!r} is invalid; expected at least two model names, weakest first", ladders_where, "ladders")
            pairs.extend(itertools.combinations(ladder, 2))

        if raw_pairs is None and raw_ladders is None:
            pairs = [DEFAULT_PAIR]
        if self.flags.weak or self.flags.strong:
            pairs = [(self.flags.weak or weak, self.flags.strong or strong) for weak, strong in pairs or [DEFAULT_PAIR]]
        if not pairs:
            raise self.fail("no model pairs; give pairs or ladders", pairs_where, "pairs")

        for weak, strong in pairs:
            for model in (weak, strong):
                try:
                    self.registry.model(model)
                except RegistryError as error:
                    where, key = (pairs_where, "pairs") if raw_pairs else (ladders_where, "ladders")
                    raise self.fail(str(error), where, key, model) from None
        return tuple(dict.fromkeys(pairs))

    def pair(self, item: Any, where: tuple[str, ...]) -> tuple[str, str]:
        if isinstance(item, dict) and set(item) == {"weak", "strong"}:
            item = [item["weak"], item["strong"]]
        if isinstance(item, list) and len(item) == 2 and all(isinstance(name, str) for name in item):
            return item[0], item[1]
        raise self.fail(f"pair {item!r} is invalid; expected [\"weak\", \"strong\"] or {{weak = ..., strong = ...}}", where, "pairs")

    def seeds(self, raw: Any, where: tuple[str, ...]) -> tuple[int, ...]:
        if raw is None:
            return DEFAULT_SEEDS
        if not isinstance(raw, list) or not raw:
            raise self.fail("expected a non-empty list of non-negative integers", where, "seeds")
        for seed in raw:
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise self.fail(f"seed {seed!r} is invalid; expected a non-negative integer", where, "seeds", seed)
        if len(set(raw)) != len(raw):
            raise self.fail("lists a seed twice", where, "seeds")
        return tuple(raw)

    def size(self, raw: Any, where: tuple[str, ...], key: str) -> int | str | None:
        if raw is None:
            return DEVICE_DEFAULT
        if raw == "all" or raw == 0:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 2:
            raise self.fail(f"{raw!r} is invalid; expected an integer of at least 2, or 0 or \"all\" for every example", where, key)
        return raw

    def optimiser_value(self, key: str, value: Any, where: tuple[str, ...]) -> Any:
        if isinstance(value, bool):
            raise self.fail(f"{value!r} is invalid; expected a number", where, key)
        if key in ("epochs", "batch_size") and not (isinstance(value, int) and value >= 1):
            raise self.fail(f"{value!r} is invalid; expected a positive integer", where, key)
        if key == "lr" and not (isinstance(value, (int, float)) and value > 0):
            raise self.fail(f"{value!r} is invalid; expected a positive number", where, key)
        if key == "weight_decay" and not (isinstance(value, (int, float)) and value >= 0):
            raise self.fail(f"{value!r} is invalid; expected a non-negative number", where, key)
        return float(value) if key in ("lr", "weight_decay") else value


def resolve_size(value: int | str | None, device_default: int | None) -> int | None:
    return device_default if value == DEVICE_DEFAULT else value  # type: ignore[return-value]


def optimiser_config(mode: str, optimiser: dict[str, Any]) -> Any:
    """A TrainConfig when some optimiser field differs from the mode's default, else None.

    None keeps cell keys equal to those of ``w2s-bench run`` with default
    settings, so a grid reuses the phases such runs stored.
    """
    from w2s_bench.pipeline import DEFAULT_TRAIN

    if not optimiser:
        return None
    return dataclasses.replace(DEFAULT_TRAIN[mode], **optimiser)
