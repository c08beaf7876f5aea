"""The variational autoencoder architecture plugin (`tfp-arch train vae`).

The classes are imported on first use, so that importing `tfp_arch.plugins.vae.declaration` (what `tfp-arch info`
reads) imports no TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfp_arch.lazy import lazy_attributes

if TYPE_CHECKING:
    from tfp_arch.plugins.vae.model import VariationalAutoencoder

__all__ = ["VariationalAutoencoder"]

_CLASSES = {"VariationalAutoencoder": "tfp_arch.plugins.vae.model"}

__getattr__ = lazy_attributes(__name__, _CLASSES)
