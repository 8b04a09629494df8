"""Built-in methods and models, registered through the ``w2s_bench`` entry points."""
