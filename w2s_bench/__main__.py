"""``python -m w2s_bench``: the same command line as ``w2s-bench``."""

from w2s_bench.cli import main

main()
