"""Built-in tfp_arch architectures, each declared as an entry point in pyproject.toml."""
