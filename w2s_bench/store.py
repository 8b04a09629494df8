"""The run store: every phase's config, metrics and tensors, keyed by content.

Layout: ``<runs>/<phase>/<key>/record.json`` plus the tensor files the record
lists. The key is a hash of everything that affects the phase's result. Files
are written to a temporary name and renamed, and ``record.json`` is written
last with the sha256 of every tensor file, so a killed run never leaves a
record that looks complete. ``record.json`` also carries the sha256 of its own
content, so an edited or bit-flipped metric is caught like a damaged tensor
file. A record whose files are missing or whose checksums do not match is
reported and recomputed, never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
from filelock import FileLock
from safetensors.torch import load_file, save_file

from w2s_bench.errors import UserError

logger = logging.getLogger(__name__)

RECORD_FILE = "record.json"
#: Schema 2 added the record's own ``checksum``; records of schema 1 have none,
#: fail the check and are recomputed.
SCHEMA_VERSION = 2
CHECKSUM_FIELD = "checksum"


def content_key(config: dict[str, Any]) -> str:
    """Return the sha256 of a config dict in canonical JSON form."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_checksum(data: dict[str, Any]) -> str:
    """Return the sha256 of a record's content, every field but the checksum itself.

    ``data`` must be in its JSON form (as read back from ``record.json``), so
    that the writer and the reader hash the same canonical text.
    """
    return content_key({name: value for name, value in data.items() if name != CHECKSUM_FIELD})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, payload: dict[str, Any]) -> None:
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Save tensors as safetensors through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        contiguous = {name: tensor.detach().contiguous().cpu() for name, tensor in tensors.items()}
        save_file(contiguous, temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class Record:
    """A finished phase: its folder, its JSON record and its tensor files."""

    folder: Path
    data: dict[str, Any]

    @property
    def metrics(self) -> dict[str, Any]:
        return self.data.get("metrics", {})

    def tensors(self, name: str) -> dict[str, torch.Tensor]:
        return load_file(str(self.folder / name))


class RunStore:
    """Phase records under one runs folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._ensure_writable()

    def _ensure_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".write-check-", delete=True)
            probe.close()
        except OSError as error:
            raise UserError(
                f"runs folder {self.root} is not writable ({error.strerror}); "
                "choose another with --runs-dir"
            ) from None

    def folder(self, phase: str, key: str) -> Path:
        return self.root / phase / key[:24]

    @contextmanager
    def lock(self, phase: str, key: str) -> Iterator[None]:
        """Hold an inter-process lock on one phase key while it is computed.

        Temporary files left in the folder by a writer that was killed are
        removed once the lock is held. The pipeline and the feature cache write
        a locked folder only while holding its lock, so none of them can
        belong to a live writer.
        """
        folder = self.folder(phase, key)
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder / ".lock")):
            for stale in folder.glob(".*.tmp"):
                logger.info("removing %s, left by a run that was killed while writing", stale)
                stale.unlink(missing_ok=True)
            yield

    def load(self, phase: str, key: str) -> Record | None:
        """Return the finished record for a key, or None if absent or corrupt."""
        folder = self.folder(phase, key)
        record_path = folder / RECORD_FILE
        if not record_path.exists():
            return None

        try:
            data = json.loads(record_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            logger.warning("corrupt record %s (%s); recomputing", record_path, error)
            return None

        if not isinstance(data, dict) or data.get(CHECKSUM_FIELD) != record_checksum(data):
            logger.warning("record %s is corrupt or was edited (its checksum does not match); recomputing", record_path)
            return None

        if data.get("key") != key:
            logger.warning("record %s has key %s, expected %s; recomputing", record_path, data.get("key"), key)
            return None

        for name, expected in data.get("files", {}).items():
            path = folder / name
            if not path.exists() or sha256_file(path) != expected:
                logger.warning("file %s is missing or fails its checksum; recomputing", path)
                return None
        return Record(folder, data)

    def save(
        self,
        phase: str,
        key: str,
        config: dict[str, Any],
        metrics: dict[str, Any],
        tensors: dict[str, dict[str, torch.Tensor]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Record:
        """Write tensor files, then the record that lists their checksums."""
        folder = self.folder(phase, key)
        files: dict[str, str] = {}

        for file_name, file_tensors in (tensors or {}).items():
            path = folder / file_name
            atomic_save_tensors(path, file_tensors)
            files[file_name] = sha256_file(path)

        data = {
            "schema": SCHEMA_VERSION,
            "phase": phase,
            "key": key,
            "config": config,
            "metrics": metrics,
            "files": files,
            **(extra or {}),
        }
        # hash the JSON form, in which tuples are lists and other values strings
        data = json.loads(json.dumps(data, default=str))
        data[CHECKSUM_FIELD] = record_checksum(data)
        atomic_write_json(folder / RECORD_FILE, data)
        return Record(folder, data)

    def discard(self, phase: str, key: str) -> None:
        """Remove a record and its folder; removing ``record.json`` first means
        a removal cut short never leaves a record that looks complete."""
        folder = self.folder(phase, key)
        (folder / RECORD_FILE).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)

    def records(self, phase: str) -> Iterator[Record]:
        """Yield every valid record of a phase; invalid ones are logged and skipped."""
        phase_folder = self.root / phase
        if not phase_folder.is_dir():
            return

        for folder in sorted(phase_folder.iterdir()):
            record_path = folder / RECORD_FILE
            if not record_path.exists():
                continue
            try:
                data = json.loads(record_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                logger.warning("skipping corrupt record %s (%s)", record_path, error)
                continue
            key = data.get("key") if isinstance(data, dict) else None
            if not isinstance(key, str) or self.folder(phase, key) != folder:
                logger.warning("skipping corrupt record %s (its key does not match its folder)", record_path)
                continue
            record = self.load(phase, key)
            if record is not None:
                yield record
