"""Serving signatures of the flow density models (`maf`, `nsf`): `log_prob` and `sample`, in the data's units.

A conditional model's signatures take `context` too: `(N, context_size)` beside `x` for
`log_prob`; `(1, context_size)` (shared by every draw) or `(num_samples, context_size)` for
`sample`. `sample(num_samples, seed)` draws what `model.sample(num_samples, seed=seed)` draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tensorflow as tf

from tfp_arch.serving import ServingFunction, num_samples_spec, seed_spec, seed_to_pair, tensor_spec

if TYPE_CHECKING:
    from tfp_arch.flows.model import FlowModel

__all__ = ["serving_functions"]


def serving_functions(model: FlowModel) -> dict[str, ServingFunction]:
    """`log_prob` and `sample` of a built flow model."""
    x_spec = tensor_spec("x", (None, model.event_size))
    context_spec = None if not model.conditional else tensor_spec("context", (None, model.context_size))

    def draw(num_samples: tf.Tensor, seed: tf.Tensor, context: tf.Tensor | None) -> dict[str, tf.Tensor]:
        if context is not None:
            context = tf.broadcast_to(context, tf.stack([num_samples, model.context_size]))
        u = model.flow._sample_graph(num_samples, seed_to_pair(seed, tf.int32), context)
        return {"x": model.standardization.inverse(u)}

    if context_spec is None:

        def log_prob(x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"log_prob": model(x, training=False)}

        def sample(num_samples: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
            return draw(num_samples, seed, None)

        log_prob_spec: tuple[tf.TensorSpec, ...] = (x_spec,)
        sample_spec: tuple[tf.TensorSpec, ...] = (num_samples_spec(), seed_spec())
    else:

        def log_prob(x: tf.Tensor, context: tf.Tensor) -> dict[str, tf.Tensor]:  # type: ignore[misc]
            return {"log_prob": model((context, x), training=False)}

        def sample(num_samples: tf.Tensor, seed: tf.Tensor, context: tf.Tensor) -> dict[str, tf.Tensor]:  # type: ignore[misc]
            return draw(num_samples, seed, context)

        log_prob_spec = (x_spec, context_spec)
        sample_spec = (num_samples_spec(), seed_spec(), context_spec)
    return {
        "log_prob": ServingFunction(log_prob, log_prob_spec, "log p(x [| context]) per example, nats, data units"),
        "sample": ServingFunction(sample, sample_spec, "num_samples draws x in the data's units"),
    }
