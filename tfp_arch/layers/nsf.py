"""Neural spline flows (Durkan et al., 2019): rational-quadratic splines in autoregressive or coupling transforms."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from tfp_arch.layers.autoregressive import MaskedAutoregressiveTransform
from tfp_arch.layers.coupling import CouplingTransform
from tfp_arch.layers.flow import Flow
from tfp_arch.layers.spline import RationalQuadraticSplineTransformer
from tfp_arch.validation import invalid_argument

__all__ = ["NeuralSplineFlow", "coupling_mask"]


def _check_coupling_order(order: str) -> None:
    if order == "fixed":
        raise invalid_argument("order", "a coupling flow needs `reverse` or `random` so that every variable is transformed", order)


def coupling_mask(size: int, order: str, index: int, seed: int = 0) -> list[bool]:
    """The variables transform `index` of a coupling flow maps (True) and conditions on (False).

    `"reverse"` maps the second half (`size // 2` conditioning variables first) on even
    transforms and the first half on odd ones; `"random"` maps a seeded random half
    (`seed + index`); `"fixed"` is refused, as it would never map the first half.

    Args:
        size: number of variables D >= 2.
        order: `"reverse"` or `"random"`.
        index: the transform's position in the flow.
        seed: seed of the random halves.
    """
    _check_coupling_order(order)
    if size < 2:
        raise ValueError(f"A coupling flow needs at least 2 variables. Received: shape (batch, {size})")
    if order == "random":
        chosen = np.random.default_rng(seed + index).permutation(size)[size // 2 :]
        return [bool(i in chosen) for i in range(size)]
    first = [i >= size // 2 for i in range(size)]
    return first if index % 2 == 0 else [not value for value in first]


@keras.saving.register_keras_serializable(package="tfp_arch")
class NeuralSplineFlow(Flow):
    """A neural spline flow: rational-quadratic spline transforms over a standard normal.

    Autoregressive (`coupling=False`, default): every transform is a
    `MaskedAutoregressiveTransform` with a `RationalQuadraticSplineTransformer`; density
    evaluation is one MADE pass, sampling `D` sliced steps, as in MAF. Coupling (`coupling=True`):
    every transform is a `CouplingTransform` on alternating (`order="reverse"`) or random halves;
    density evaluation and sampling are both one pass. Data should be standardised: the splines
    cover `[-bound, bound]` and are the identity outside.

    Args:
        num_transforms: number of spline transforms.
        hidden_units: hidden layer widths of every conditioner network.
        activation: hidden activation of every conditioner.
        order: `"reverse"`, `"random"` or (autoregressive only) `"fixed"` order between transforms.
        hidden_degrees: `"equal"` or `"random"` MADE hidden degrees (autoregressive only).
        coupling: coupling transforms instead of autoregressive ones.
        bins: number of spline bins K.
        bound: the splines' interval `[-bound, bound]`.
        batch_norm: put `FlowBatchNormalization` between transforms.
        batch_norm_momentum: momentum of its running statistics.
        context_size: width of the conditioning input, or None.
        seed: seed of random orders, halves and degrees (transform k uses `seed + k`).
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> flow = NeuralSplineFlow(num_transforms=2, hidden_units=[16], bins=4)
        >>> log_p = flow(np.zeros((4, 3), "float32"))          # shape (4,)
        >>> coupling = NeuralSplineFlow(num_transforms=2, hidden_units=[16], coupling=True)
        >>> log_p = coupling(np.zeros((4, 3), "float32"))
        >>> x = coupling.sample(10, seed=1)                      # one pass per transform
    """

    def __init__(
        self,
        num_transforms: int = 5,
        hidden_units: list[int] | tuple[int, ...] = (100, 100),
        activation: str = "relu",
        order: str = "reverse",
        hidden_degrees: str = "equal",
        coupling: bool = False,
        bins: int = 8,
        bound: float = 5.0,
        batch_norm: bool = False,
        batch_norm_momentum: float = 0.9,
        context_size: int | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            num_transforms=num_transforms,
            order=order,
            batch_norm=batch_norm,
            batch_norm_momentum=batch_norm_momentum,
            context_size=context_size,
            seed=seed,
            **kwargs,
        )
        self.hidden_units = [int(units) for units in hidden_units]
        self.activation = activation
        self.hidden_degrees = hidden_degrees
        self.coupling = bool(coupling)
        self.transformer = RationalQuadraticSplineTransformer(bins=bins, bound=bound)
        if self.coupling:
            _check_coupling_order(self.order)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        size = int(input_shape[-1])
        if self.coupling:
            transforms = [
                CouplingTransform(
                    mask=coupling_mask(size, self.order, index, self.seed),
                    transformer=self.transformer,
                    hidden_units=self.hidden_units,
                    activation=self.activation,
                    context_size=self.context_size,
                    name=f"transform_{index}",
                )
                for index in range(self.num_transforms)
            ]
        else:
            transforms = [
                MaskedAutoregressiveTransform(
                    transformer=self.transformer,
                    hidden_units=self.hidden_units,
                    input_order=self.order_of(index),
                    hidden_degrees=self.hidden_degrees,
                    activation=self.activation,
                    context_size=self.context_size,
                    seed=self.seed + index,
                    name=f"transform_{index}",
                )
                for index in range(self.num_transforms)
            ]
        self.stack(transforms)
        super().build(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "hidden_degrees": self.hidden_degrees,
            "coupling": self.coupling,
            "bins": self.transformer.bins,
            "bound": self.transformer.bound,
        }
