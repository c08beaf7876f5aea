"""Every private Keras and TensorFlow attribute tfp_arch touches, in one place.

Public API replaces a private attribute wherever one exists. The attributes below have no public
equivalent in Keras 3.15 and TensorFlow 2.21; the code reaches them only through the functions of
this module, or overrides them (the methods marked "overridden"). `tests/test_private_api.py` checks
that each still exists and fails naming it when a release removes it; `pyproject.toml` bounds
`keras`, `tensorflow` and `tensorflow-probability` to the versions this was tested with. No private
attribute of TensorFlow Probability is used.

Importing this module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import inspect
import os
from typing import Any, NamedTuple

__all__ = [
    "PRIVATE_ATTRIBUTES",
    "PrivateAttribute",
    "backup_paths",
    "in_saved_model_export",
    "in_keras_loss_call",
    "in_multi_worker_mode",
    "keras_save_model_path",
    "learning_rate_schedule",
    "reduce_weighted_values",
    "register_dispatchable_type",
    "sublayers",
    "symbolic_build",
]


class PrivateAttribute(NamedTuple):
    """A private attribute the code uses: on which object, its name, and what for."""

    owner: str
    name: str
    use: str


PRIVATE_ATTRIBUTES = (
    PrivateAttribute(
        "keras.optimizers.Optimizer instance",
        "_learning_rate",
        "the optimizer's learning-rate schedule object (`learning_rate` returns its current value)",
    ),
    PrivateAttribute(
        "keras.layers.Layer",
        "_flatten_layers",
        "every nested sublayer of a model (`Model.layers` lists the direct ones only)",
    ),
    PrivateAttribute(
        "keras.Model (TensorFlow trainer)",
        "_maybe_symbolic_build",
        "overridden by `MultiWorkerFit`: builds from the first local replica's batch under a multi-worker strategy",
    ),
    PrivateAttribute(
        "keras.Model (TensorFlow trainer)",
        "_symbolic_build",
        "builds the model, its metrics and optimizer from one batch (called by `MultiWorkerFit`)",
    ),
    PrivateAttribute(
        "tf.distribute.MultiWorkerMirroredStrategy().extended",
        "_in_multi_worker_mode",
        "whether a strategy spans more than one worker (Keras' own test)",
    ),
    PrivateAttribute(
        "keras.callbacks.BackupAndRestore instance",
        "_weights_path",
        "the checkpoint's weights file, written by `RunCheckpoint`",
    ),
    PrivateAttribute(
        "keras.callbacks.BackupAndRestore instance",
        "_training_metadata_path",
        "the checkpoint's metadata file, written by `RunCheckpoint`",
    ),
    PrivateAttribute(
        "keras.callbacks.BackupAndRestore instance",
        "_current_epoch",
        "the epoch `BackupAndRestore` records, set by `RunCheckpoint.on_epoch_end`",
    ),
    PrivateAttribute(
        "keras.callbacks.BackupAndRestore instance",
        "_last_batch_seen",
        "reset by `RunCheckpoint.on_epoch_end` (checkpoints are per epoch)",
    ),
    PrivateAttribute(
        "keras.callbacks.BackupAndRestore",
        "_save_model",
        "overridden by `RunCheckpoint`: writes the history, early-stopping and seed states with the weights",
    ),
    PrivateAttribute(
        "keras.src.losses.loss",
        "reduce_weighted_values",
        "the reduction of per-example losses with sample weights (`NegativeLogLikelihood.__call__`)",
    ),
    PrivateAttribute(
        "keras.src.losses.loss.Loss",
        "__call__",
        "a frame of `__call__` in a file ending losses/loss.py marks a Keras loss (`in_keras_loss_call`)",
    ),
    PrivateAttribute(
        "keras.src.saving.saving_lib",
        "save_model",
        "a frame of `save_model` in saving_lib.py holds the `filepath` of a refused save (`keras_save_model_path`)",
    ),
    PrivateAttribute(
        "keras.src.export.saved_model_export_archive",
        "SavedModelExportArchive",
        "a frame in Keras' keras/src/export/ folder marks the tracing of an export endpoint (`in_saved_model_export`)",
    ),
    PrivateAttribute(
        "tensorflow.python.saved_model.save",
        "save_and_return_nodes",
        "a frame in TensorFlow's saved_model/save.py marks a `tf.saved_model.save` (`in_saved_model_export`)",
    ),
    PrivateAttribute(
        "tensorflow.python.util.dispatch",
        "register_dispatchable_type",
        "lets `tf.experimental.dispatch_for_api` dispatch `tf.cast` on a distribution output",
    ),
    PrivateAttribute(
        "tf.__internal__.CompositeTensor",
        "_type_spec",
        "overridden by distribution outputs: their spec carries the tensor they convert to out of a `tf.function`",
    ),
)


def learning_rate_schedule(optimizer: Any) -> Any:
    """The learning rate `optimizer` was built with (a schedule, a variable or a float); None without one."""
    return None if optimizer is None else optimizer._learning_rate


def sublayers(layer: Any) -> list[Any]:
    """Every layer nested in `layer`, recursively, `layer` itself excluded."""
    return list(layer._flatten_layers(include_self=False, recursive=True))


def symbolic_build(model: Any, data_batch: Any) -> None:
    """Build `model` (its weights, compiled metrics and optimizer) from one batch, as Keras' `fit` does."""
    model._symbolic_build(data_batch=data_batch)


def in_multi_worker_mode(strategy: Any) -> bool:
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` over more than one worker."""
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def backup_paths(callback: Any) -> tuple[str, str]:
    """The weights file and the metadata file of a `keras.callbacks.BackupAndRestore`."""
    return callback._weights_path, callback._training_metadata_path


def reduce_weighted_values(values: Any, sample_weight: Any, reduction: str, dtype: Any) -> Any:
    """Keras' reduction of per-example loss `values` with `sample_weight`, as `keras.losses.Loss.__call__`'s."""
    from keras.src.losses import loss

    return loss.reduce_weighted_values(values, sample_weight=sample_weight, reduction=reduction, dtype=dtype)


def register_dispatchable_type(cls: type) -> type:
    """Make `tf.experimental.dispatch_for_api` dispatch on instances of `cls` (a non-tensor class)."""
    from tensorflow.python.util import dispatch

    return dispatch.register_dispatchable_type(cls)


def _frames() -> Any:
    frame = inspect.currentframe()
    while frame is not None:
        yield frame
        frame = frame.f_back


def in_keras_loss_call() -> bool:
    """Whether the caller runs inside `keras.losses.Loss.__call__` (Keras' losses/loss.py)."""
    suffix = os.path.join("losses", "loss.py")
    return any(f.f_code.co_name == "__call__" and f.f_code.co_filename.endswith(suffix) for f in _frames())


def in_saved_model_export() -> bool:
    """Whether the caller runs inside a SavedModel export: Keras' or `tf.saved_model.save`.

    Keras traces its export endpoints (`model.export`, `keras.export.ExportArchive.write_out`) in
    keras/src/export/; TensorFlow traces a Keras model's functions for `tf.saved_model.save` in
    saved_model/save.py. A distribution output must leave the functions traced there as a tensor.
    """
    keras_folder = os.path.join("keras", "src", "export") + os.sep
    tf_save = os.path.join("tensorflow", "python", "saved_model", "save.py")
    return any(keras_folder in f.f_code.co_filename or f.f_code.co_filename.endswith(tf_save) for f in _frames())


def keras_save_model_path() -> str | None:
    """The `filepath` of the `keras.saving.save_model` the caller runs in (Keras' saving_lib.py), or None."""
    for frame in _frames():
        if frame.f_code.co_name == "save_model" and frame.f_code.co_filename.endswith("saving_lib.py"):
            path = frame.f_locals.get("filepath")
            return path if isinstance(path, str) else None
    return None
