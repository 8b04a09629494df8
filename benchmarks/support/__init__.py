"""Code shared by the benchmark modules: settings, timing, machine facts, output."""
