"""tfp_arch: variational Bayes deep learning architectures for Keras 3 on TensorFlow Probability.

Importing the package imports Keras but no architecture plugin: `tfp_arch.get(name)` imports one on
demand and `load_all()` imports every one allowed by `TFP_ARCH_PLUGINS`. `keras.saving.load_model`
still restores saved architectures with no `custom_objects`: each entry point has a stand-in under its
Keras name that imports the plugin when a saved model needs it (`tfp_arch.registry.register_loaders`).
A plugin that fails to import is recorded in `tfp_arch.broken()` and does not stop the others.
"""

from tfp_arch import data, layers, losses
from tfp_arch.architecture import Architecture
from tfp_arch.data import DataError, Dataset, load_data
from tfp_arch.registry import architectures, broken, get, load_all, register, register_loaders

__version__ = "0.1.0"

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
    "losses",
    "register",
]

register_loaders()
