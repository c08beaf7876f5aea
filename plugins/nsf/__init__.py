"""The `nsf` architecture plugin: a neural spline flow for density estimation.

The classes are imported on first use, so that importing `tfp_arch.plugins.nsf.declaration` (what `tfp-arch info`
reads) imports no TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfp_arch.plugins.nsf.model import NeuralSplineFlowModel

__all__ = ["NeuralSplineFlowModel"]

_CLASSES = {"NeuralSplineFlowModel": "tfp_arch.plugins.nsf.model"}


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        value = getattr(importlib.import_module(_CLASSES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
