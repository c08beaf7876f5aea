"""Neural spline flows (Durkan et al., 2019): rational-quadratic splines in autoregressive or coupling transforms."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from tfp_arch.layers.flows.autoregressive import autoregressive_conditioner
from tfp_arch.layers.flows.coupling import CouplingTransform, coupling_conditioner
from tfp_arch.layers.flows.flow import Flow, with_flow_arguments
from tfp_arch.layers.flows.spline import RationalQuadraticSplineTransformer
from tfp_arch.validation import boolean, invalid_argument

__all__ = ["NeuralSplineFlow", "coupling_mask"]


def _check_coupling_order(order: str) -> None:
    if order == "fixed":
        raise invalid_argument(
            "order", "a coupling flow needs `reverse` or `random` so that every variable is transformed", order
        )


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
    evaluation is one MADE pass, sampling `D` sequential steps that together cost one MADE pass,
    as in MAF. Coupling (`coupling=True`): every transform is a `CouplingTransform` on alternating
    (`order="reverse"`) or random halves; density evaluation and sampling are both one pass. Data
    should be standardised: the splines cover `[-bound, bound]` and are the identity outside.

    Args:
        hidden_units: hidden layer widths of every transform's conditioner network.
        activation: their hidden activation.
        hidden_degrees: `"equal"` (default) or `"random"` MADE hidden degrees; autoregressive
            transforms only (a coupling flow refuses it).
        coupling: coupling transforms instead of autoregressive ones (then `order` must be
            `"reverse"` or `"random"`, and `seed` also draws the random halves).
        bins: number of spline bins K.
        bound: the splines' interval `[-bound, bound]`.
        **kwargs: the arguments of `Flow` (`num_transforms`, `order`, `batch_norm`, ...), then
            those of `keras.layers.Layer`.

    Example:
        >>> flow = NeuralSplineFlow(num_transforms=2, hidden_units=[16], bins=4)
        >>> log_p = flow(np.zeros((4, 3), "float32"))          # shape (4,)
        >>> coupling = NeuralSplineFlow(num_transforms=2, hidden_units=[16], coupling=True)
        >>> log_p = coupling(np.zeros((4, 3), "float32"))
        >>> x = coupling.sample(10, seed=1)                      # one pass per transform
    """

    @with_flow_arguments
    def __init__(
        self,
        *,
        hidden_units: list[int] | tuple[int, ...] = (100, 100),
        activation: str = "relu",
        hidden_degrees: str | None = None,
        coupling: bool = False,
        bins: int = 8,
        bound: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.coupling = boolean("coupling", coupling)
        self.transformer = RationalQuadraticSplineTransformer(bins=bins, bound=bound)
        if self.coupling:
            _check_coupling_order(self.order)
            if hidden_degrees is not None:
                raise invalid_argument(
                    "hidden_degrees",
                    "applies to autoregressive transforms only, not with coupling=True",
                    hidden_degrees,
                )
            self.conditioner = coupling_conditioner(hidden_units, activation)
        else:
            degrees = "equal" if hidden_degrees is None else hidden_degrees
            self.conditioner = autoregressive_conditioner(hidden_units, activation, degrees)

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Drop the `hidden_degrees` that coupling flows saved before they refused it (always `"equal"`)."""
        if config.get("coupling") and config.get("hidden_degrees") == "equal":
            config = {key: value for key, value in config.items() if key != "hidden_degrees"}
        return config

    def build(self, input_shape: tuple[Any, ...]) -> None:
        size = int(input_shape[-1])
        if self.coupling:
            transforms = [
                CouplingTransform(
                    mask=coupling_mask(size, self.order, index, self.seed),
                    transformer=self.transformer,
                    **self.conditioner,
                    context_size=self.context_size,
                    name=f"transform_{index}",
                )
                for index in range(self.num_transforms)
            ]
        else:
            transforms = self.autoregressive_transforms(self.transformer, self.conditioner)
        self.stack(transforms)
        super().build(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "hidden_units": self.conditioner["hidden_units"],
            "activation": self.conditioner["activation"],
            "hidden_degrees": self.conditioner.get("hidden_degrees"),
            "coupling": self.coupling,
            "bins": self.transformer.bins,
            "bound": self.transformer.bound,
        }
