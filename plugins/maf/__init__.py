"""The `maf` architecture plugin: a masked autoregressive flow for density estimation.

The classes are imported on first use, so that importing `tfp_arch.plugins.maf.declaration` (what `tfp-arch info`
reads) imports no TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfp_arch.lazy import lazy_attributes

if TYPE_CHECKING:
    from tfp_arch.plugins.maf.model import MaskedAutoregressiveFlowModel

__all__ = ["MaskedAutoregressiveFlowModel"]

_CLASSES = {"MaskedAutoregressiveFlowModel": "tfp_arch.plugins.maf.model"}

__getattr__ = lazy_attributes(__name__, _CLASSES)
