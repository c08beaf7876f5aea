"""tfp_arch: variational Bayes deep learning architectures for Keras 3 on TensorFlow Probability.

`import tfp_arch` is cheap: it imports neither TensorFlow nor Keras nor any plugin. The names below are
imported when first used (PEP 562 module `__getattr__`): `tfp_arch.Architecture` and
`tfp_arch.layers` import Keras and TensorFlow, `tfp_arch.get(name)` imports one plugin, `load_all()`
every plugin allowed by `TFP_ARCH_PLUGINS`. A plugin that fails to import is recorded in
`tfp_arch.broken()` and does not stop the others.

Saved models: `tfp_arch.load_model(path)` reads the saved class from the `.keras` file, imports only
its plugin and loads the model. Plain `keras.saving.load_model` also works after `import tfp_arch`:
when Keras is imported (or at once, if it already is), each entry point gets a stand-in under its Keras
registered name that imports the plugin when a saved model needs it
(`tfp_arch.registry.register_loaders`).
"""

from __future__ import annotations

import importlib
from typing import Any

from tfp_arch.registry.standins import install_after_keras

__version__ = "0.2.0"

_LAZY = {
    "Architecture": ("tfp_arch.architecture", "Architecture"),
    "DataError": ("tfp_arch.data", "DataError"),
    "Dataset": ("tfp_arch.data", "Dataset"),
    "load_data": ("tfp_arch.data", "load_data"),
    "architectures": ("tfp_arch.registry", "architectures"),
    "broken": ("tfp_arch.registry", "broken"),
    "get": ("tfp_arch.registry", "get"),
    "load_all": ("tfp_arch.registry", "load_all"),
    "load_model": ("tfp_arch.registry", "load_model"),
    "register": ("tfp_arch.registry", "register"),
}
_SUBMODULES = ("data", "layers", "losses", "registry", "runs", "testing")

__all__ = [
    "Architecture",
    "DataError",
    "Dataset",
    "architectures",
    "broken",
    "data",
    "get",
    "layers",
    "load_all",
    "load_data",
    "load_model",
    "losses",
    "register",
    "registry",
    "runs",
    "testing",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


install_after_keras()
