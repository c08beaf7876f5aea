"""The `nsf` architecture: density estimation with a neural spline flow."""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from tfp_arch.layers.flow import Flow
from tfp_arch.layers.nsf import NeuralSplineFlow
from tfp_arch_plugins.maf.model import MaskedAutoregressiveFlowModel, flow_signature

__all__ = ["NeuralSplineFlowModel"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class NeuralSplineFlowModel(MaskedAutoregressiveFlowModel):
    """A neural spline flow density model p(x), or p(x | context), trained by maximum likelihood.

    The `maf` architecture with `NeuralSplineFlow` as its flow: rational-quadratic spline
    transforms, autoregressive (default) or coupling (`coupling=True`, one-pass sampling). Everything
    else is `maf`'s: standardisation stored with the model, `log_prob` and `sample` in raw units,
    `fit(x)` or `fit((context, x))`, the metrics `log_likelihood`, `log_likelihood_standardized` and
    `bits_per_dim`, and the plots. The default data is the checkerboard, whose sharp edges an
    affine flow smooths over.

    Args:
        **kwargs: the arguments of `NeuralSplineFlow` (`num_transforms`, `hidden_units`,
            `activation`, `order`, `hidden_degrees`, `coupling`, `bins`, `bound`, `batch_norm`,
            `batch_norm_momentum`, `context_size`, `seed`), forwarded to the flow layer; the rest go
            to `keras.Model`.

    Example:
        >>> from tfp_arch.data.synthetic import checkerboard
        >>> data = checkerboard()
        >>> model = NeuralSplineFlowModel(num_transforms=2, hidden_units=[32, 32], coupling=True)
        >>> history = model.fit(data.x_train, epochs=2, verbose=0)
        >>> model.evaluate_metrics(data.x_test)["log_likelihood"]  # nats per example
    """

    name = "nsf"
    summary = "Neural spline flow: rational-quadratic spline transforms, autoregressive or coupling."
    default_data = "synthetic:checkerboard"

    flow_class: ClassVar[type[Flow]] = NeuralSplineFlow

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    __init__.__signature__ = flow_signature(NeuralSplineFlow)
