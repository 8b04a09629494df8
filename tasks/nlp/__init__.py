"""NLP binary classification tasks."""
