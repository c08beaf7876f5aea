"""tfp_arch: variational Bayes deep learning architectures for Keras 3 on TensorFlow Probability.

Importing the package imports every architecture plugin allowed by `TFP_ARCH_PLUGINS`, so that
`keras.saving.load_model` restores saved architectures with no `custom_objects`. A plugin that fails
to import is recorded in `tfp_arch.broken()` and does not stop the others.
"""

from tfp_arch import data, layers, losses
from tfp_arch.architecture import Architecture
from tfp_arch.data import DataError, Dataset, load_data
from tfp_arch.registry import architectures, broken, get, load_all, register

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

load_all()
