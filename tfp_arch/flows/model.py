"""The flow density model shared by the flow architectures (`maf`, `nsf`): any `Flow` layer behind a standardisation."""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar

import keras
import numpy as np

from tfp_arch.architecture import Architecture
from tfp_arch.batching import BatchedFunction
from tfp_arch.data.dataset import Dataset
from tfp_arch.layers.flows.flow import Flow
from tfp_arch.layers.standardize import RunningMoments, Standardization, iterate_batches

__all__ = ["FlowModel", "flow_arguments"]

_EVAL_BATCH = 4096


def flow_arguments(flow_class: type[Flow]) -> list[str]:
    """The constructor arguments of a flow layer, without Keras' `**kwargs`."""
    parameters = inspect.signature(flow_class.__init__).parameters.values()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in parameters if p.name != "self" and p.kind in named]


@keras.saving.register_keras_serializable(package="tfp_arch")
class FlowModel(Architecture):
    """A flow density model p(x), or p(x | context), trained by maximum likelihood: the base of `maf` and `nsf`.

    The data are standardised by a `Standardization` layer (`standardization`, saved with the
    model) whose statistics `adapt` learns in one streaming pass over arrays or a `tf.data.Dataset`,
    and modelled by the `Flow` layer of the class attribute `flow_class` (`flow`). Calling the
    model returns `log p(x)` per example in the data's own units: the flow's log-density of the
    standardised data plus the Jacobian of the standardisation, `-sum(log std)`. The training loss
    is its mean negative, in the same units.

    Unconditional: `model.fit(x)`. Conditional (`context_size` given): the model input is the pair
    `(context, x)`: `model.fit((context, x))`, `model.log_prob(x, context=context)`,
    `model.sample(n, context=c)`. Only `x` is standardised; give the context in the scale you want
    the network to see.

    A flow architecture is a subclass that sets its `declaration` (`tfp_arch.declaration.Declaration`:
    name, summary, defaults, the flow's arguments as hyperparameters) and `flow_class`; everything
    else (standardisation, `log_prob`, `sample`, metrics, serving signatures, plots) is derived here.

    Args:
        **kwargs: the arguments of `flow_class`, forwarded to the flow layer; the rest go to
            `keras.Model`.
    """

    adapts_datasets = True
    task = "unsupervised"
    capabilities = ("sample", "density", "plot")

    flow_class: ClassVar[type[Flow]] = Flow

    def __init__(self, **kwargs: Any) -> None:
        names = flow_arguments(self.flow_class)
        flow_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key in names}
        super().__init__(**kwargs)
        self.flow = self.flow_class(**flow_kwargs, name="flow")
        self.standardization = Standardization(name="standardization")
        self.context_size = self.flow.context_size
        self.event_size: int | None = None
        self._log_prob_fn: BatchedFunction | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FlowModel:
        return super().from_config(cls.flow_class.upgrade_config(dict(config)))

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

    def negative_log_likelihood(self, x: Any, y: Any, y_pred: Any) -> Any:
        """`-log p(x)` per example in the data's own units (the model's output is `log p`)."""
        return -y_pred

    def log_prob(self, x: Any, context: Any = None) -> np.ndarray:
        """`log p(x [| context])` per example in raw units, as NumPy (evaluated in batches).

        Args:
            x: raw data, shape `(n, D)`.
            context: conditioning input, shape `(n, context_size)`, for a conditional model.
        """
        x = np.asarray(x, dtype="float32")
        context_size = self.context_size
        if context_size is not None:  # conditional
            if context is None:
                raise ValueError(f"This `{self.architecture_name}` model is conditional: pass `context=` to log_prob.")
            context = np.broadcast_to(np.asarray(context, dtype="float32"), (len(x), context_size))
        elif context is not None:
            raise ValueError(f"This `{self.architecture_name}` model is unconditional: it takes no `context`.")
        self._ensure_built(x.shape if context is None else (context.shape, x.shape))
        if self._log_prob_fn is None:
            self._log_prob_fn = BatchedFunction(lambda inputs: self(inputs, training=False), _EVAL_BATCH)
        return self._log_prob_fn(x if context is None else (context, x))

    def sample(self, n: int, *, seed: int | None = None, context: Any = None) -> np.ndarray:
        """Draw `n` samples in raw units.

        Args:
            n: number of samples.
            seed: integer seed for repeatable draws.
            context: for a conditional model, shape `(context_size,)` or `(n, context_size)`.

        Returns:
            A NumPy array of shape `(n, D)`.
        """
        u = self.flow.sample(int(n), context=context, seed=seed)
        return keras.ops.convert_to_numpy(self.standardization.inverse(u))

    def evaluate_metrics(self, x: Any, y: Any = None) -> dict[str, float]:
        """Mean log-likelihood per example (raw and standardised units) and bits per dimension.

        Args:
            x: raw data, or `(context, x)` for a conditional model.
            y: unused (the data are unsupervised).

        Returns:
            `log_likelihood` (nats per example, the data's own units), `log_likelihood_standardized`
            (nats per example in the standardised space) and `bits_per_dim`
            (`-log_likelihood / (D log 2)`).
        """
        context, data = self._split(x, y)
        log_p = self.log_prob(data, context=context)
        if self.event_size is None:
            raise RuntimeError(f"`{self.architecture_name}` has no event size after log_prob built it")
        log_likelihood = float(np.mean(log_p))
        shift = float(keras.ops.convert_to_numpy(self.log_det_standardization()))
        return {
            "log_likelihood": log_likelihood,
            "log_likelihood_standardized": log_likelihood - shift,
            "bits_per_dim": -log_likelihood / (self.event_size * math.log(2.0)),
        }

    def serving_functions(self) -> dict[str, Any]:
        """`log_prob(x [, context])` and `sample(num_samples, seed [, context])`; see `tfp_arch.flows.serving`."""
        from tfp_arch.flows.serving import serving_functions

        return serving_functions(self)

    def plot(self, path: str, dataset: Dataset | None = None) -> str:
        """Density contours beside samples for 2-D data; pairwise scatters of data and samples above."""
        from tfp_arch.flows.plot import plot_flow

        return plot_flow(self, path, dataset)

    def get_config(self) -> dict[str, Any]:
        names = flow_arguments(self.flow_class)
        return {**super().get_config(), **{k: v for k, v in self.flow.get_config().items() if k in names}}
