"""Fresh virtual environments in which plugin packages are pip-installed, offline.

A fresh environment can import the packages of the environment running the tests
(w2s-bench itself, torch, pytest, setuptools) through a ``.pth`` file, so
nothing is downloaded. Plugin packages are installed into it with pip and
``--no-index --no-deps --no-build-isolation``, so they are built by the
setuptools already installed and land in the fresh environment only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FreshEnv:
    """A virtual environment made for one test."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def run(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run ``python ARGS`` in the environment; output is captured as text."""
        # wide enough that rich never wraps a table cell the tests search in
        environment = {**os.environ, "COLUMNS": "300", **(env or {})}
        environment.pop("PYTHONPATH", None)
        environment.pop("W2S_BENCH_DISABLE_PLUGIN_AUTOLOAD", None)
        return subprocess.run(
            [str(self.python), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
        )

    def w2s_bench(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Run the w2s-bench CLI; ``output`` on the result joins stdout and stderr."""
        result = self.run("-m", "w2s_bench", *args, cwd=cwd)
        result.output = result.stdout + result.stderr
        return result

    def pip_install(self, package: Path) -> None:
        """Install a copy of a local package folder; fail the test with pip's output if pip fails.

        The copy keeps setuptools' build/ and egg-info folders out of the source tree.
        """
        copy = self.root.parent / f"source-{package.name}"
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        result = self.run(
            "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
            "--disable-pip-version-check", str(copy),
        )
        assert result.returncode == 0, f"pip install {package} failed:\n{result.stdout}\n{result.stderr}"


def make_fresh_env(root: Path) -> FreshEnv:
    """Create a venv at ``root`` that can also import from this interpreter's site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, capture_output=True)
    env = FreshEnv(root)
    own_site = subprocess.run(
        [str(env.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()

    # addsitedir also runs the parent's .pth files, which is how an editable
    # install of w2s-bench becomes importable.
    parents = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    lines = [f"import site; site.addsitedir({parent!r})" for parent in parents]
    Path(own_site, "_test_parent_env.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env
