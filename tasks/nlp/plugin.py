"""Registers the NLP binary tasks: shipped offline data, hub datasets and user files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from w2s_bench.data import TaskData
from w2s_bench.hookspecs import hookimpl
from w2s_bench.specs import TaskSpec

DATA_DIR = Path(__file__).resolve().parent / "data"

#: A folder with a full build (``build_data --full --out DIR``) to read
#: instead of the shipped sample; it needs its own manifest.json.
DATA_DIR_ENV = "W2S_BENCH_NLP_DATA"


def data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override).expanduser() if override else DATA_DIR


def shipped_manifest() -> dict:
    return json.loads((DATA_DIR / "manifest.json").read_text())


class ShippedBinaryTask:
    """A binary task read from a data file listed in the manifest."""

    def __init__(self, name: str) -> None:
        self.name = name

    def entry(self) -> tuple[Path, dict]:
        from w2s_bench.errors import DataError

        folder = data_dir()
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise DataError(f"{manifest_path}: manifest not found; build the data with build_data.py --out {folder}")
        manifest = json.loads(manifest_path.read_text())
        if self.name not in manifest:
            raise DataError(f"{manifest_path}: no entry for task {self.name!r}; rebuild with build_data.py")
        return folder, manifest[self.name]

    def describe(self) -> dict[str, str]:
        folder, entry = self.entry()
        sampled = entry["train_rows_before_sampling"] > entry["rows"]["train"]
        note = f", a seeded sample of {entry['train_rows_before_sampling']} training texts" if sampled else ""
        return {
            "source": f"{entry['source_file']} in {entry['source_package']}{note}",
            "licence": entry["licence"],
            "availability": "offline",
            "file": str(folder / entry["file"]),
            "labels": f"0 = {entry['labels']['0']}, 1 = {entry['labels']['1']}",
            "split": f"by {entry.get('split_by', 'text')}",
        }

    def load(self) -> TaskData:
        from w2s_bench.tasks.nlp.loader import load_binary_jsonl

        folder, entry = self.entry()
        return load_binary_jsonl(folder / entry["file"], self.name, expected_sha256=entry["sha256"])


def hub_task(name: str):
    from w2s_bench.tasks.nlp.hub import HubBinaryTask

    return HubBinaryTask(name)


@hookimpl
def w2s_bench_register_tasks() -> list[TaskSpec]:
    from w2s_bench.tasks.nlp.hub import HUB_TASKS

    specs = [
        TaskSpec(name, lambda name=name: ShippedBinaryTask(name), kind="nlp",
                 description=f"offline · {entry['description']} ({entry['source_package']})")
        for name, entry in sorted(shipped_manifest().items())
    ]
    specs += [
        TaskSpec(task.name, lambda name=task.name: hub_task(name), kind="nlp",
                 description=f"hub · {task.description} ({task.path})")
        for task in HUB_TASKS
    ]
    return specs


@hookimpl
def w2s_bench_resolve_task(name: str) -> TaskSpec | None:
    from w2s_bench.tasks.nlp.user_file import PREFIX, UserFileTask

    if not name.startswith(PREFIX):
        return None
    task = UserFileTask(name)
    return TaskSpec(name, lambda: task, kind="nlp", description=f"local file {task.options.path}")
