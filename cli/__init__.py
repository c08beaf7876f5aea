"""The tfp-arch command line."""
