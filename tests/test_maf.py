"""The MAF layer against TFP's bijectors, compiled sampling, batch norm (the contract: test_flow_contract.py)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers.flows.autoregressive import MaskedAutoregressiveTransform
from tfp_arch.layers.flows.batch_norm import FlowBatchNormalization
from tfp_arch.layers.flows.flow import MaskedAutoregressiveFlow

tfb = tfp.bijectors
D = 3


def _tfp_maf(transform: MaskedAutoregressiveTransform, context=None) -> tfb.Bijector:
    """TFP's `MaskedAutoregressiveFlow` on the MADE of `transform`: the independent reference.

    Ours is `z = x * exp(-s) + shift`, so TFP's `x = z * exp(s) + shift'` needs `shift' = -shift * exp(s)`.
    """
    bound = transform.transformer.log_scale_bound

    def shift_and_log_scale_fn(y):
        params = transform.made(y, context)
        raw = params[..., 1]
        log_scale = raw if bound is None else raw / (1.0 + tf.abs(raw) / bound)
        return -params[..., 0] * tf.exp(log_scale), log_scale

    return tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=shift_and_log_scale_fn)


def _tfp_batch_norm(norm: FlowBatchNormalization) -> tfb.Bijector:
    """The inference-mode batch normalisation as TFP bijectors (latent to data forward)."""
    log_scale = 0.5 * tf.math.log(norm.moving_variance + norm.epsilon) - norm.log_gamma
    return tfb.Chain([tfb.Shift(norm.moving_mean), tfb.Scale(log_scale=log_scale), tfb.Shift(-norm.beta)])


def _tfp_flow(flow: MaskedAutoregressiveFlow, context=None) -> tfp.distributions.Distribution:
    steps = []
    for index, transform in enumerate(flow.transforms):
        steps.append(_tfp_maf(transform, context))
        if index < len(flow.norms):
            steps.append(_tfp_batch_norm(flow.norms[index]))
    return tfp.distributions.TransformedDistribution(flow.base_distribution(), tfb.Chain(steps))


def _perturbed_flow(**kwargs) -> MaskedAutoregressiveFlow:
    """A flow whose transforms are far from the identity (random weights, batch stats set)."""
    flow = MaskedAutoregressiveFlow(num_transforms=3, hidden_units=[12, 12], **kwargs)
    flow.build((None, D))
    rng = np.random.default_rng(0)
    for weight in flow.trainable_weights:
        weight.assign(0.3 * rng.normal(size=weight.shape).astype("float32"))
    for norm in flow.norms:
        norm.moving_mean.assign(rng.normal(size=D).astype("float32"))
        norm.moving_variance.assign(rng.uniform(0.5, 2.0, size=D).astype("float32"))
    return flow


def _data(n: int = 16, seed: int = 1, size: int = D) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, size)).astype("float32")


def test_log_prob_matches_tfp_transformed_distribution():
    flow = _perturbed_flow(batch_norm=True, context_size=2)
    x, context = _data(), _data(16, seed=2, size=2)
    reference = _tfp_flow(flow, context).log_prob(x).numpy()
    np.testing.assert_allclose(flow.log_prob(x, context).numpy(), reference, rtol=1e-4, atol=1e-4)


def test_one_pass_inverse_matches_tfp_bijector():
    transform = MaskedAutoregressiveTransform(hidden_units=[10], context_size=1)
    transform.build((None, D))
    x, context = _data(), _data(16, seed=3, size=1)
    z, log_det = transform.inverse_and_log_det(x, context)
    bijector = _tfp_maf(transform, context)
    np.testing.assert_allclose(z.numpy(), bijector.inverse(x).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        log_det.numpy(), bijector.inverse_log_det_jacobian(x, event_ndims=1).numpy(), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("kwargs", [{"order": "random", "seed": 2}, {"batch_norm": True, "context_size": 2}])
def test_sliced_forward_matches_tfp_bijector_forward(kwargs):
    flow = _perturbed_flow(**kwargs)
    z = _data(seed=5)
    context = _data(16, seed=2, size=2) if kwargs.get("context_size") else None
    reference = _tfp_flow(flow, context).bijector.forward(z).numpy()
    np.testing.assert_allclose(flow.forward(z, context).numpy(), reference, rtol=1e-4, atol=1e-4)
    transform = flow.transforms[0]
    np.testing.assert_allclose(
        transform.forward(z, context).numpy(), _tfp_maf(transform, context).forward(z).numpy(), rtol=1e-5, atol=1e-5
    )


@pytest.mark.slow
def test_sampling_works_inside_a_compiled_graph():
    flow = _perturbed_flow(context_size=2)
    context = np.array([0.5, -1.0], "float32")

    @tf.function(jit_compile=True)
    def draw():
        return flow.sample(50, context=context, seed=3)

    graph = draw().numpy()
    eager = flow.sample(50, context=context, seed=3).numpy()
    np.testing.assert_allclose(graph, eager, rtol=1e-4, atol=1e-4)
    z = flow.inverse(graph, np.broadcast_to(context, (50, 2))).numpy()
    expected = tf.random.stateless_normal([50, D], seed=[3, 0], alg="philox").numpy()
    np.testing.assert_allclose(z, expected, rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_log_prob_under_jit_compile_matches_eager():
    flow = _perturbed_flow(batch_norm=True, context_size=2)
    x, context = _data(), _data(16, seed=2, size=2)
    compiled = tf.function(lambda a, c: flow.log_prob(a, c), jit_compile=True)
    np.testing.assert_allclose(compiled(x, context).numpy(), flow.log_prob(x, context).numpy(), rtol=1e-4, atol=1e-4)


def test_batch_norm_training_normalises_the_batch_and_updates_running_statistics():
    norm = FlowBatchNormalization(momentum=0.5)
    x = (3.0 + 2.0 * _data(500, seed=5)).astype("float32")
    norm.build(x.shape)
    z, log_det = norm.inverse_and_log_det(x, training=True)
    np.testing.assert_allclose(z.numpy().mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.numpy().var(axis=0), 1.0, rtol=1e-3)
    expected_log_det = -0.5 * np.sum(np.log(x.var(axis=0) + norm.epsilon))
    np.testing.assert_allclose(log_det.numpy(), expected_log_det, rtol=1e-4)
    np.testing.assert_allclose(norm.moving_mean.numpy(), 0.5 * x.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(norm.moving_variance.numpy(), 0.5 + 0.5 * x.var(axis=0), rtol=1e-4)


def test_batch_norm_forward_inverts_the_inference_transform_as_tfp_bijectors_do():
    norm = FlowBatchNormalization()
    norm.build((None, D))
    norm.moving_mean.assign([1.0, -2.0, 0.5])
    norm.moving_variance.assign([4.0, 0.25, 1.0])
    norm.log_gamma.assign([0.3, -0.2, 0.1])
    norm.beta.assign([0.1, 0.2, -0.3])
    x = _data()
    z, log_det = norm.inverse_and_log_det(x, training=False)
    bijector = _tfp_batch_norm(norm)
    np.testing.assert_allclose(bijector.inverse(x).numpy(), z.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(norm.forward(z).numpy(), x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(log_det.numpy(), bijector.inverse_log_det_jacobian(x, event_ndims=1).numpy(), rtol=1e-5)


def test_base_distribution_is_a_standard_normal():
    flow = _perturbed_flow()
    z = _data()
    expected = tfp.distributions.Normal(0.0, 1.0).log_prob(z).numpy().sum(axis=-1)
    np.testing.assert_allclose(flow.base_distribution().log_prob(z).numpy(), expected, rtol=1e-5)


def test_order_argument_is_validated():
    with pytest.raises(ValueError, match="`order`"):
        MaskedAutoregressiveFlow(order="shuffled")
    with pytest.raises(ValueError, match="`num_transforms`"):
        MaskedAutoregressiveFlow(num_transforms=0)


@pytest.mark.slow
def test_transforms_are_masked_autoregressive_with_affine_transformers_and_alternating_orders():
    flow = MaskedAutoregressiveFlow(num_transforms=3, hidden_units=[8], log_scale_bound=1.5)
    flow.build((None, D))
    assert [t.made.input_order for t in flow.transforms] == ["left-to-right", "right-to-left", "left-to-right"]
    assert all(t.transformer.log_scale_bound == 1.5 and t.made.num_params == 2 for t in flow.transforms)
    assert flow.mades == [t.made for t in flow.transforms]
