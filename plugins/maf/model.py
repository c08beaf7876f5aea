"""The `maf` architecture: density estimation with a masked autoregressive flow."""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import tensorflow as tf

from tfp_arch.flows.model import FlowModel
from tfp_arch.layers.flows.flow import Flow, MaskedAutoregressiveFlow
from tfp_arch.plugins.maf.declaration import MAF

__all__ = ["MaskedAutoregressiveFlowModel"]


@keras.saving.register_keras_serializable(package="tfp_arch")
class MaskedAutoregressiveFlowModel(FlowModel):
    """A masked autoregressive flow density model p(x), or p(x | context), trained by maximum likelihood.

    A `tfp_arch.flows.FlowModel` whose flow is a `MaskedAutoregressiveFlow`: the data are
    standardised by a `Standardization` layer saved with the model, `log_prob` and `sample` work in
    the data's own units (the standardisation's Jacobian included), and calling the model returns
    `log p(x)` per example. Unconditional: `model.fit(x)`; conditional (`context_size` given):
    `model.fit((context, x))`, `model.log_prob(x, context=context)`, `model.sample(n, context=c)`.

    Args:
        **kwargs: the arguments of `flow_class` (here `MaskedAutoregressiveFlow`: `num_transforms`,
            `hidden_units`, `activation`, `order`, `hidden_degrees`, `batch_norm`,
            `batch_norm_momentum`, `context_size`, `log_scale_bound`, `seed`, with its defaults),
            forwarded to the flow layer; the rest go to `keras.Model`. The declaration
            (`tfp_arch.plugins.maf.declaration`) lists them for `tfp-arch info` and `-p key=value`.

    Example:
        >>> from tfp_arch.data.synthetic import two_moons
        >>> data = two_moons(n=200)
        >>> model = MaskedAutoregressiveFlowModel(num_transforms=2, hidden_units=[16])
        >>> history = model.fit(data.x_train, epochs=1, verbose=0)
        >>> sorted(model.evaluate_metrics(data.x_test))  # log-likelihoods in nats per example
        ['bits_per_dim', 'log_likelihood', 'log_likelihood_standardized']
    """

    declaration = MAF
    adapts_datasets = True
    default_learning_rate = 1e-3

    flow_class: ClassVar[type[Flow]] = MaskedAutoregressiveFlow

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    @property
    def conditional(self) -> bool:
        """Whether the model is p(x | context)."""
        return self.context_size is not None

    def build(self, input_shape: Any) -> None:
        x_shape = input_shape[1] if self.conditional else input_shape
        if len(x_shape) != 2:
            raise ValueError(
                f"Architecture `{self.architecture_name}` models vectors: expected data of shape (batch, D). "
                f"Received: shape={x_shape}"
            )
        self.event_size = int(x_shape[-1])
        self.standardization.build(x_shape)
        self.flow.build(x_shape)

    @property
    def data_mean(self) -> Any:
        """The data's means, `standardization.mean`."""
        return self.standardization.mean

    @property
    def data_std(self) -> Any:
        """The data's scales, `standardization.scale`."""
        return self.standardization.scale

    def _ensure_built(self, input_shape: Any) -> None:
        if not self.built:
            with self.distribute_strategy.scope():
                self.build(input_shape)

    def _split(self, x: Any, y: Any = None) -> tuple[Any, Any]:
        """(context, data) from the forms a conditional pair reaches `adapt` in."""
        if isinstance(x, (tuple, list)):
            return x[0], x[1]
        if y is not None:
            return x, y
        if self.conditional:
            raise ValueError(
                f"This `{self.architecture_name}` model is conditional: give the data as the pair (context, x)."
            )
        return None, x

    def adapt(self, x: Any, y: Any = None) -> None:
        """Learn the standardisation of the data (mean and standard deviation per column) in one pass.

        Args:
            x: the data `(n, D)`, the pair `(context, x)`, or a finite `tf.data.Dataset` of batches
                of either.
            y: the data when `x` is the context, else None.
        """
        moments = RunningMoments()
        for x_batch, y_batch in iterate_batches(x, y):
            context, data = self._split(x_batch, y_batch)
            data = np.asarray(data)
            self._ensure_built(data.shape if context is None else (np.shape(context), data.shape))
            moments.update(data)
        self.standardization.set_moments(moments)
        super().adapt(x, y)

    def standardize(self, x: Any) -> Any:
        """Raw data to the standardised space the flow models."""
        return self.standardization(x)

    def log_det_standardization(self) -> Any:
        """`log |d standardize(x) / dx| = -sum(log std)`, the same for every example."""
        return self.standardization.log_det_jacobian()

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        """`log p(x [| context])` per example in raw units; `inputs` is `x` or `(context, x)`."""
        context, x = (inputs[0], inputs[1]) if self.conditional else (None, inputs)
        log_p = self.flow.log_prob(self.standardize(x), context=context, training=training)
        return log_p + self.log_det_standardization()

    def _repack(self, data: Any) -> Any:
        if (
            self.conditional
            and isinstance(data, (tuple, list))
            and len(data) == 2
            and not isinstance(data[0], (tuple, list))
        ):
            return ((data[0], data[1]),)
        return data

    def train_step(self, data: Any) -> Any:
        return super().train_step(self._repack(data))

    def test_step(self, data: Any) -> Any:
        return super().test_step(self._repack(data))

    def predict_step(self, data: Any) -> Any:
        return super().predict_step(self._repack(data))

    def default_compile_kwargs(self) -> dict[str, Any]:
        """The base defaults, with XLA (`jit_compile=True`) on a single GPU.

        XLA fuses the step's elementwise work (the MADE passes, the log-determinants and Adam's
        updates) into a few kernels, which saves kernel launches on an accelerator. On CPU it is
        left off: there it trained no faster than the graph without XLA (paired runs on power-plant,
        batch 100, on 2 cores), compiled once per batch shape (about 1 s each), and stalled for
        2-5 s in about one epoch in 50-100, which never happened without it. Under a multi-replica
        strategy XLA is left off too, as TensorFlow 2.21 fails there on logical CPU devices.
        """
        kwargs = super().default_compile_kwargs()
        if self.distribute_strategy.num_replicas_in_sync == 1 and tf.config.list_physical_devices("GPU"):
            kwargs["jit_compile"] = True
        return kwargs
