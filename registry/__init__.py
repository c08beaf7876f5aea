"""Discovery of tfp_arch architectures (placeholder)."""
