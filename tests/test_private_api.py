"""Every private Keras and TensorFlow attribute in `tfp_arch._private_api` exists in the installed versions.

A failure names the attribute and its owner: a new Keras or TensorFlow release removed or renamed it,
and the code using it (and the upper bounds in pyproject.toml) must change before that release is supported.
"""

from __future__ import annotations

import importlib
import inspect
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch import _private_api
from tfp_arch.layers.distributions.coercible import coercible
from tfp_arch.schedules import BudgetCosineDecay


def _module(name: str) -> object:
    try:
        return importlib.import_module(name)
    except ImportError:
        return object()  # reported below as the missing attribute of `name`


def _owners(tmp_path) -> dict[str, object]:
    from tensorflow.python.distribute.collective_all_reduce_strategy import CollectiveAllReduceExtended

    return {
        "keras.src.losses.loss": _module("keras.src.losses.loss"),
        "keras.src.losses.loss.Loss": getattr(_module("keras.src.losses.loss"), "Loss", object()),
        "keras.src.saving.saving_lib": _module("keras.src.saving.saving_lib"),
        "keras.src.export.saved_model_export_archive": _module("keras.src.export.saved_model_export_archive"),
        "tensorflow.python.saved_model.save": _module("tensorflow.python.saved_model.save"),
        "tensorflow.python.util.dispatch": _module("tensorflow.python.util.dispatch"),
        "tf.__internal__.CompositeTensor": tf.__internal__.CompositeTensor,
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


def test_keras_loss_call_is_recognised_by_its_frame():
    from keras.src.losses import loss

    source = inspect.getsourcefile(loss.Loss.__call__) or ""
    assert source.endswith(os.path.join("losses", "loss.py")), (
        f"keras.src.losses.loss.Loss.__call__ now lives in {source}, not in a file ending losses/loss.py: "
        "tfp_arch._private_api.in_keras_loss_call no longer recognises a Keras loss"
    )
    seen = []

    class Recording(keras.losses.Loss):
        def call(self, y_true, y_pred):
            seen.append(_private_api.in_keras_loss_call())
            return y_pred

    Recording()(np.zeros((2, 1), "float32"), np.ones((2, 1), "float32"))
    assert seen == [True] and not _private_api.in_keras_loss_call()


def test_keras_save_model_is_recognised_by_its_frame(tmp_path):
    from keras.src.saving import saving_lib

    save_model = getattr(saving_lib, "save_model", None)
    assert save_model is not None, (
        "keras.src.saving.saving_lib has no `save_model`: tfp_arch._private_api.keras_save_model_path no longer "
        "finds the file of a refused save"
    )
    assert "filepath" in inspect.signature(save_model).parameters, "keras.src.saving.saving_lib.save_model(filepath)"
    seen = []

    class Recording(keras.layers.Layer):
        def get_config(self):
            seen.append(_private_api.keras_save_model_path())
            return super().get_config()

    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input((1,)), Recording()]).save(path)
    assert str(path) in seen and _private_api.keras_save_model_path() is None


def test_saved_model_exports_are_recognised_by_their_frames(tmp_path):
    from keras.src.export import saved_model_export_archive
    from tensorflow.python.saved_model import save

    keras_source = inspect.getsourcefile(saved_model_export_archive.SavedModelExportArchive.write_out) or ""
    assert os.path.join("keras", "src", "export") + os.sep in keras_source, (
        f"Keras' ExportArchive.write_out now lives in {keras_source}, outside keras/src/export/: "
        "tfp_arch._private_api.in_saved_model_export no longer recognises a Keras export"
    )
    tf_source = inspect.getsourcefile(save.save_and_return_nodes) or ""
    assert tf_source.endswith(os.path.join("tensorflow", "python", "saved_model", "save.py")), (
        f"tf.saved_model.save now lives in {tf_source}: tfp_arch._private_api.in_saved_model_export no longer "
        "recognises it"
    )
    seen = []

    class Recording(keras.layers.Layer):
        def call(self, x):
            seen.append(_private_api.in_saved_model_export())
            return x

    keras.Sequential([keras.Input((1,)), Recording()]).export(str(tmp_path / "exported"), verbose=False)
    assert True in seen
    seen.clear()
    tf.saved_model.save(keras.Sequential([keras.Input((1,)), Recording()]), str(tmp_path / "saved"))
    assert True in seen and not _private_api.in_saved_model_export()


def test_registered_dispatchable_type_dispatches_tf_cast():
    from tensorflow.python.util import dispatch

    assert hasattr(dispatch, "register_dispatchable_type"), "tensorflow.python.util.dispatch.register_dispatchable_type"
    rv = coercible(tfp.distributions.Normal(np.float32([1.0, 2.0]), 1.0), "mean")
    np.testing.assert_array_equal(tf.cast(rv, tf.float64).numpy(), [1.0, 2.0])


@pytest.mark.slow
def test_reduce_weighted_values_weights_then_averages_over_the_batch():
    values = tf.constant([1.0, 2.0, 3.0, 4.0])
    weights = tf.constant([1.0, 0.0, 1.0, 2.0])
    got = _private_api.reduce_weighted_values(values, weights, "sum_over_batch_size", "float32")
    np.testing.assert_allclose(got.numpy(), (1.0 + 3.0 + 8.0) / 4)
    np.testing.assert_allclose(_private_api.reduce_weighted_values(values, None, "sum", "float32").numpy(), 10.0)
