"""Every private Keras and TensorFlow attribute in `tfp_arch._private_api` exists in the installed versions.

A failure names the attribute and its owner: a new Keras or TensorFlow release removed or renamed it,
and the code using it (and the upper bounds in pyproject.toml) must change before that release is supported.
"""

from __future__ import annotations

import inspect

import keras
import pytest
import tensorflow as tf

from tfp_arch import _private_api
from tfp_arch.schedules import BudgetCosineDecay


def _owners(tmp_path) -> dict[str, object]:
    from tensorflow.python.distribute.collective_all_reduce_strategy import CollectiveAllReduceExtended

    return {
        "keras.optimizers.Optimizer instance": keras.optimizers.Adam(learning_rate=BudgetCosineDecay(1e-3)),
        "keras.layers.Layer": keras.layers.Layer,
        "keras.Model (TensorFlow trainer)": keras.Model,
        "tf.distribute.MultiWorkerMirroredStrategy().extended": CollectiveAllReduceExtended,
        "keras.callbacks.BackupAndRestore instance": keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
        "keras.callbacks.BackupAndRestore": keras.callbacks.BackupAndRestore,
    }


@pytest.mark.parametrize("attribute", _private_api.PRIVATE_ATTRIBUTES, ids=lambda a: a.name)
def test_private_attribute_still_exists(attribute, tmp_path):
    owner = _owners(tmp_path)[attribute.owner]
    assert hasattr(owner, attribute.name), (
        f"{attribute.owner} has no attribute `{attribute.name}` in Keras {keras.__version__} / TensorFlow "
        f"{tf.__version__}; tfp_arch uses it for {attribute.use} (tfp_arch/_private_api.py)"
    )


def test_overridden_private_methods_keep_their_signatures():
    parameters = list(inspect.signature(keras.Model._maybe_symbolic_build).parameters)
    assert parameters == ["self", "iterator", "data_batch"], f"keras.Model._maybe_symbolic_build{parameters}"
    assert list(inspect.signature(keras.callbacks.BackupAndRestore._save_model).parameters) == ["self"]


def test_accessors_return_what_the_code_expects(tmp_path):
    schedule = BudgetCosineDecay(1e-3)
    assert _private_api.learning_rate_schedule(keras.optimizers.Adam(learning_rate=schedule)) is schedule
    assert _private_api.learning_rate_schedule(None) is None
    inner = keras.layers.Dense(2)
    outer = keras.Sequential([keras.Input((3,)), keras.Sequential([keras.Input((3,)), inner])])
    assert inner in _private_api.sublayers(outer)
    weights, metadata = _private_api.backup_paths(keras.callbacks.BackupAndRestore(str(tmp_path)))
    assert weights.startswith(str(tmp_path)) and metadata.startswith(str(tmp_path))
    assert not _private_api.in_multi_worker_mode(tf.distribute.get_strategy())


def test_private_api_imports_no_keras():
    import subprocess
    import sys

    code = "import sys, tfp_arch._private_api; print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
