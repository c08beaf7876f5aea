"""`TensorBoardTerms`: a callback that logs the terms of a variational loss to TensorBoard, per epoch.

Re-exported as `tfp_arch.callbacks.TensorBoardTerms`. It needs the `tensorboard` package
(`pip install tfp-arch[tensorboard]`): without it TensorFlow's `tf.summary` writes nothing, so the
callback refuses to start (`tensorboard_missing()` says what to install).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from tfp_arch.extras import tensorboard_missing

__all__ = ["TensorBoardTerms"]


def _value(tensor: Any) -> float:
    return float(np.asarray(keras.ops.convert_to_numpy(tensor)))


class TensorBoardTerms(keras.callbacks.Callback):
    """Log, once per epoch, the loss split into its terms and what shapes them, as TensorBoard scalars.

    Tags (step = the epoch, from 1):
        `loss/total`: the epoch's mean training loss (Keras' `loss`).
        `loss/kl`: the KL term of the loss in force at the end of the epoch, weighted as in the loss:
            the sum over variational layers of `kl_weight * KL(q || prior)` (closed form where TFP has
            one). For a model whose KL depends on the data (`vae`), the epoch's mean `kl` it logs,
            times its KL weight.
        `loss/nll`: the negative log-likelihood part, `loss/total - loss/kl` (for `vae`, its logged
            `reconstruction`).
        `kl_weight`: the KL weight in force (of the first KL-weighted layer), when the model has one.
        `learning_rate`: the optimiser's learning rate at the end of the epoch (schedules evaluated).
        `posterior_scale/<layer>`: the mean posterior standard deviation of each variational layer's
            weights (kernel and bias).
        `val/<metric>` and `train/<metric>`: every other value Keras logs (`val_loss`,
            `val_<metric>`, `kl`, ...), without the `val_` prefix under `val/`.

    Args:
        log_dir: folder of the event files (created if missing).

    Raises:
        ImportError: the `tensorboard` package is not installed.

    Use: `model.fit(x, y, epochs=20, callbacks=[TensorBoardTerms("logs/bnn")])`; see `docs/tensorboard.md`.
    """

    def __init__(self, log_dir: str | Path) -> None:
        super().__init__()
        missing = tensorboard_missing()
        if missing:
            raise ImportError(missing)
        self.log_dir = str(log_dir)
        self._writer: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._writer is not None:
            self._writer.flush()

    def terms(self, logs: dict[str, Any]) -> dict[str, float]:
        """The scalars of one epoch, by tag, from Keras' `logs` and the model's state."""
        from tfp_arch.layers.kl.weight import kl_weighted_layers
        from tfp_arch.layers.variational.base import VariationalLayer

        model = self.model
        scalars: dict[str, float] = {}
        weighted = kl_weighted_layers(model)
        variational = [layer for layer in weighted if isinstance(layer, VariationalLayer)]
        total = float(logs["loss"]) if "loss" in logs else None
        if total is not None:
            scalars["loss/total"] = total
        if weighted:
            scalars["kl_weight"] = _value(weighted[0].kl_weight_variable)
        if variational:
            kl = sum(_value(layer.weighted_kl(layer.kl_divergence())) for layer in variational)
        elif "kl" in logs and weighted:
            kl = float(logs["kl"]) * scalars["kl_weight"]
        else:
            kl = 0.0
        scalars["loss/kl"] = kl
        if "reconstruction" in logs:
            scalars["loss/nll"] = float(logs["reconstruction"])
        elif total is not None:
            scalars["loss/nll"] = total - kl
        if getattr(model, "optimizer", None) is not None:
            scalars["learning_rate"] = _value(model.optimizer.learning_rate)
        for layer in variational:
            scale = layer.family.loc_and_marginal_scale()[1]
            scalars[f"posterior_scale/{layer.name}"] = _value(keras.ops.mean(scale))
        for key, value in logs.items():
            if key == "loss" or not np.isscalar(value) and np.ndim(value) != 0:
                continue
            scalars[f"val/{key[4:]}" if key.startswith("val_") else f"train/{key}"] = float(value)
        return scalars

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        import tensorflow as tf

        if self._writer is None:
            self.on_train_begin()
        with self._writer.as_default(step=epoch + 1):
            for tag, value in self.terms(dict(logs or {})).items():
                tf.summary.scalar(tag, value)
        self._writer.flush()
