"""Build ``src/w2s_bench_example/data/stdlib_docs.csv`` from the running Python's standard library.

Each row is the first paragraph of the docstring of a public function,
class or method. Label 0: a text-processing or data-format module; label 1:
an operating-system or file module. An object counts only under the module
family that defines it, so ``io`` classes imported by ``tokenize`` are not
labelled as text processing. Classes are balanced by keeping the same number
of rows of each label, chosen by a hash of the row id, and about a quarter of
the rows go to the test split, also by that hash.

The shipped file was built with CPython 3.11.7 on Linux; docstrings are
under the Python Software Foundation License. Run:

    python build_data.py
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import inspect
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "src" / "w2s_bench_example" / "data" / "stdlib_docs.csv"

TEXT_MODULES = (
    "string", "textwrap", "re", "difflib", "unicodedata", "html", "html.parser", "json", "csv", "base64",
    "codecs", "locale", "gettext", "xml.etree.ElementTree", "xml.dom.minidom", "shlex", "configparser",
    "email.message", "email.utils", "email.header", "tokenize", "binascii", "quopri", "stringprep", "pprint",
    "reprlib",
)
SYSTEM_MODULES = (
    "os", "os.path", "shutil", "pathlib", "tempfile", "glob", "fnmatch", "subprocess", "signal", "socket",
    "select", "selectors", "io", "stat", "filecmp", "zipfile", "tarfile", "mmap", "resource", "pwd", "grp",
    "platform", "fcntl", "posixpath", "gzip", "bz2", "lzma", "fileinput", "sysconfig", "pty", "termios", "tty",
)
#: C modules whose objects the pure-Python modules above re-export.
IMPLEMENTATION_MODULES = {"posix": "os", "_io": "io", "_socket": "socket", "_csv": "csv", "_json": "json",
                          "_sre": "re", "_string": "string", "_locale": "locale", "_stat": "stat",
                          "_bz2": "bz2", "_lzma": "lzma", "_posixsubprocess": "subprocess", "_signal": "signal"}
MIN_CHARACTERS = 40
MAX_CHARACTERS = 500
TEST_SHARE_PERCENT = 25


def family_roots(modules: tuple[str, ...]) -> set[str]:
    return {module.split(".")[0] for module in modules}


def defining_root(obj: object) -> str:
    """Top-level name of the module that defines ``obj``, with C modules mapped to their Python module."""
    module = getattr(obj, "__module__", None) or getattr(getattr(obj, "__objclass__", None), "__module__", "") or ""
    root = module.split(".")[0]
    return IMPLEMENTATION_MODULES.get(root, root)


def first_paragraph(doc: str) -> str:
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def public_objects(module_name: str) -> list[tuple[str, object]]:
    """Public routines and classes of a module, and the public methods of its classes."""
    module = importlib.import_module(module_name)
    found = []
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or not (inspect.isroutine(obj) or inspect.isclass(obj)):
            continue
        found.append((name, obj))
        if inspect.isclass(obj):
            for member_name, member in sorted(vars(obj).items()):
                if not member_name.startswith("_") and inspect.isroutine(member):
                    found.append((f"{name}.{member_name}", member))
    return found


def collect(modules: tuple[str, ...], label: int, seen: set[str]) -> list[dict[str, str]]:
    roots = family_roots(modules)
    rows = []
    for module_name in modules:
        for qualified_name, obj in public_objects(module_name):
            owner = obj if not inspect.isroutine(obj) else getattr(obj, "__objclass__", obj)
            if defining_root(owner) not in roots and defining_root(obj) not in roots:
                continue
            text = first_paragraph(obj.__doc__ or "")
            if not MIN_CHARACTERS <= len(text) <= MAX_CHARACTERS or text in seen:
                continue
            seen.add(text)
            rows.append({"id": f"{module_name}.{qualified_name}", "text": text, "label": str(label)})
    return rows


def row_hash(row: dict[str, str]) -> int:
    return int(hashlib.sha256(row["id"].encode("utf-8")).hexdigest(), 16)


def build() -> list[dict[str, str]]:
    seen: set[str] = set()
    families = [collect(TEXT_MODULES, 0, seen), collect(SYSTEM_MODULES, 1, seen)]
    per_label = min(len(rows) for rows in families)

    balanced = []
    for rows in families:
        balanced.extend(sorted(rows, key=row_hash)[:per_label])
    for row in balanced:
        row["split"] = "test" if row_hash(row) % 100 < TEST_SHARE_PERCENT else "train"
    # Hash order, so the first N rows that --max-train keeps mix both labels and many modules.
    return sorted(balanced, key=lambda row: (row["split"] != "train", row_hash(row)))


def main() -> None:
    rows = build()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "split", "text", "label"])
        writer.writeheader()
        writer.writerows(rows)
    counts = {(split, label): 0 for split in ("train", "test") for label in ("0", "1")}
    for row in rows:
        counts[(row["split"], row["label"])] += 1
    print(f"wrote {len(rows)} rows to {OUTPUT}: {counts}")


if __name__ == "__main__":
    main()
