"""Built-in model plugins: any Hugging Face model, and the packaged offline family."""
