"""Package discovery for the folder layout; all other metadata is in pyproject.toml.

The top-level folders ``plugins/`` and ``tasks/`` install as
``w2s_bench.plugins`` and ``w2s_bench.tasks``, so no bare ``plugins`` or
``tasks`` package lands in site-packages. New subpackages under any of the
three folders are found automatically.
"""

from setuptools import find_namespace_packages, setup

MAPPED_FOLDERS = ("plugins", "tasks")

packages = find_namespace_packages(include=["w2s_bench", "w2s_bench.*"])
package_dir = {"w2s_bench": "w2s_bench"}
for folder in MAPPED_FOLDERS:
    for package in find_namespace_packages(include=[folder, f"{folder}.*"]):
        packages.append(f"w2s_bench.{package}")
    package_dir[f"w2s_bench.{folder}"] = folder

setup(
    packages=packages,
    package_dir=package_dir,
    # shipped task data and manifests
    package_data={"": ["*.jsonl.gz", "*.json", "*.csv.gz", "*.pgn", "*.toml", "*.safetensors"]},
    include_package_data=False,
)
