"""KL warm-up: anneal the KL weight of every KL-weighted layer from 0 to its final value over N epochs."""

from __future__ import annotations

from tfp_arch.layers.kl.weight import KLWeightSchedule
from tfp_arch.validation import non_negative_float, positive_int

__all__ = ["KLWarmup"]


class KLWarmup(KLWeightSchedule):
    """Linearly anneal the KL weight (beta) of the model's KL-weighted layers (`KLWeighted`).

    At the start of epoch `e` (0-based) each layer's weight is
    `initial_weight + (final - initial_weight) * min(1, e / epochs)`, so the first epoch trains
    the reconstruction alone (with `initial_weight=0`) and epochs `>= epochs` use the final weight.
    The final weight is `final_weight`, or each layer's own: its `kl_weight`, or for an automatic
    one (a variational layer with `kl_weight=None`) the weight in force when `fit` starts. The
    weight is a non-trainable variable, so the change needs no retracing. The current weight is
    written to the logs as `kl_weight`.

    Args:
        epochs: number of warm-up epochs N (positive).
        final_weight: the weight reached after warm-up; None keeps each layer's own.
        initial_weight: the weight of the first epoch.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        >>> model = keras.Sequential([keras.Input((3,)), tfp_arch.layers.DenseVariational(1, kl_weight=0.01)])
        >>> model.compile("adam", "mse")
        >>> history = model.fit(x, x.sum(axis=1), epochs=3, callbacks=[KLWarmup(epochs=2)], verbose=0)
        >>> [round(weight, 4) for weight in history.history["kl_weight"]]
        [0.0, 0.005, 0.01]
    """

    def __init__(self, epochs: int, final_weight: float | None = None, initial_weight: float = 0.0) -> None:
        super().__init__()
        self.epochs = positive_int("epochs", epochs)
        self.final_weight = non_negative_float("final_weight", final_weight, allow_none=True)
        self.initial_weight = non_negative_float("initial_weight", initial_weight)

    def weight_at(self, epoch: int, final: float) -> float:
        """The weight used during `epoch` for a layer whose final weight is `final` (or `final_weight`)."""
        final = final if self.final_weight is None else self.final_weight
        fraction = min(1.0, epoch / self.epochs)
        return self.initial_weight + (final - self.initial_weight) * fraction
