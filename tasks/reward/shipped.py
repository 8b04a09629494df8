"""Load the preference pairs shipped with w2s-bench, checked against the manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from w2s_bench.data import TaskData
from w2s_bench.errors import DataError
from w2s_bench.tasks.reward.formats import read_pairs_file
from w2s_bench.tasks.reward.pairs import pairs_to_task

DATA_DIR = Path(__file__).resolve().parent / "data"
MANIFEST = DATA_DIR / "manifest.json"


def manifest_entry(name: str, manifest: Path = MANIFEST) -> dict:
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{manifest}: manifest not found; rebuild it with build_data.py") from None
    if name not in entries:
        raise DataError(f"{manifest}: no entry for task {name!r}; rebuild it with build_data.py")
    return entries[name]


def verify_sha256(path: Path, expected: str) -> None:
    if not path.is_file():
        raise DataError(f"{path}: data file not found; rebuild it with build_data.py")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise DataError(
            f"{path}: sha256 {actual[:12]}… does not match the manifest ({expected[:12]}…); "
            "the file is corrupt or was changed, rebuild it with build_data.py"
        )


class ShippedPairsTask:
    """A pair task read from a shipped data file listed in the manifest."""

    def __init__(self, name: str, data_dir: Path = DATA_DIR) -> None:
        self.name = name
        self.data_dir = data_dir

    def load(self) -> TaskData:
        entry = manifest_entry(self.name, self.data_dir / MANIFEST.name)
        path = self.data_dir / entry["file"]
        verify_sha256(path, entry["sha256"])
        return pairs_to_task(self.name, read_pairs_file(path), str(path))
