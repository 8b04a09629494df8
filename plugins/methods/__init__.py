"""Built-in weak-to-strong methods, one module each."""
