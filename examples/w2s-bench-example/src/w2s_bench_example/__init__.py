"""Example w2s-bench plugins: one method, one task and one model."""
