"""Data sets: built-in synthetic ones, file loaders and data spec strings."""

from tfp_arch.data.dataset import Dataset
from tfp_arch.data.errors import DataError
from tfp_arch.data.loaders import uci_protocol
from tfp_arch.data.spec import DataSpec, load_data
from tfp_arch.data.synthetic import SYNTHETIC, make_synthetic

__all__ = ["SYNTHETIC", "DataError", "DataSpec", "Dataset", "load_data", "make_synthetic", "uci_protocol"]
