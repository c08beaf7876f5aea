"""KL warm-up: anneal the weight of every KL regulariser from 0 to its final value over N epochs."""

from __future__ import annotations

from typing import Any

import keras

from tfp_arch.layers.kl_regularizer import KLDivergenceRegularizer
from tfp_arch.validation import non_negative_float, positive_int

__all__ = ["KLWarmup"]


class KLWarmup(keras.callbacks.Callback):
    """Linearly anneal the KL weight (beta) of the model's `KLDivergenceRegularizer` layers.

    At the start of epoch `e` (0-based) each regulariser's weight is
    `initial_weight + (final - initial_weight) * min(1, e / epochs)`, so the first epoch trains
    the reconstruction alone (with `initial_weight=0`) and epochs `>= epochs` use the final weight.
    The weight is a non-trainable variable, so the change needs no retracing. The current weight is
    written to the logs as `kl_weight`.

    Args:
        epochs: number of warm-up epochs N (positive).
        final_weight: the weight reached after warm-up; None keeps each layer's configured `weight`.
        initial_weight: the weight of the first epoch.

    Example:
        >>> model.fit(x, epochs=20, callbacks=[KLWarmup(epochs=10)])
    """

    def __init__(self, epochs: int, final_weight: float | None = None, initial_weight: float = 0.0) -> None:
        super().__init__()
        positive_int("epochs", epochs)
        non_negative_float("final_weight", final_weight, allow_none=True)
        non_negative_float("initial_weight", initial_weight)
        self.epochs = epochs
        self.final_weight = final_weight
        self.initial_weight = float(initial_weight)
        self._layers: list[KLDivergenceRegularizer] = []
        self.current_weights: list[float] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._layers = [
            layer for layer in self.model._flatten_layers(include_self=True)
            if isinstance(layer, KLDivergenceRegularizer)
        ]
        if not self._layers:
            raise ValueError("KLWarmup found no KLDivergenceRegularizer layer in the model.")

    def weight_at(self, epoch: int, final: float) -> float:
        """The weight used during `epoch` for a layer whose final weight is `final`."""
        fraction = min(1.0, epoch / self.epochs)
        return self.initial_weight + (final - self.initial_weight) * fraction

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.current_weights = []
        for layer in self._layers:
            final = layer.weight if self.final_weight is None else self.final_weight
            value = self.weight_at(epoch, final)
            layer.kl_weight.assign(value)
            self.current_weights.append(value)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None and self.current_weights:
            logs["kl_weight"] = self.current_weights[0]
