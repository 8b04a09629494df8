"""Built-in tasks, one folder per task kind, with their shipped data."""
