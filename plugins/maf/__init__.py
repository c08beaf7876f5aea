"""The `maf` architecture plugin: a masked autoregressive flow for density estimation."""

from tfp_arch.plugins.maf.model import MaskedAutoregressiveFlowModel

__all__ = ["MaskedAutoregressiveFlowModel"]
