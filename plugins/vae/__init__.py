"""The variational autoencoder architecture plugin (`tfp-arch train vae`)."""

from tfp_arch_plugins.vae.model import VariationalAutoencoder

__all__ = ["VariationalAutoencoder"]
