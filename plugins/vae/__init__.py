"""The variational autoencoder architecture plugin (`tfp-arch train vae`)."""

from tfp_arch.plugins.vae.model import VariationalAutoencoder

__all__ = ["VariationalAutoencoder"]
