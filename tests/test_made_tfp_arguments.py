"""MADE built with TFP's `tfb.AutoregressiveNetwork` arguments: masks, outputs, the Jacobian, the bijector, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

from tfp_arch.layers import MADE

tfb = tfp.bijectors
tfd = tfp.distributions


def _tfp_network(**kwargs):
    network = tfb.AutoregressiveNetwork(**kwargs)
    network.build((None, kwargs["event_shape"][0]))
    return network


def _copy_from_tfp(network, made: MADE) -> None:
    """Copy the weights of TFP's network into ours (its masked kernels, biases and conditional kernels)."""
    inner = network._network
    conditional_input = inner.inputs[1] if len(inner.inputs) > 1 else None
    dense = [layer for layer in inner.layers if isinstance(layer, tf_keras.layers.Dense)]
    conditional = [layer for layer in dense if conditional_input is not None and layer.input is conditional_input]
    masked = [layer for layer in dense if layer not in conditional]
    assert len(masked) == len(made.kernels) and len(conditional) == len(made.context_kernels)
    for layer, kernel, bias in zip(masked, made.kernels, made.biases, strict=True):
        kernel.assign(layer.kernel.numpy())
        if bias is not None:
            bias.assign(layer.bias.numpy())
    for layer, kernel in zip(conditional, made.context_kernels, strict=True):
        kernel.assign(layer.kernel.numpy())


CASES = [
    {"params": 2, "event_shape": [4], "hidden_units": [7, 9]},
    {"params": 3, "event_shape": [5], "hidden_units": [6], "input_order": "right-to-left", "activation": "tanh"},
    {"params": 1, "event_shape": [4], "hidden_units": [8, 8], "input_order": [3, 1, 4, 2], "activation": "relu"},
    {"params": 2, "event_shape": [3], "hidden_units": [5], "conditional": True, "conditional_event_shape": [2],
     "activation": "relu"},
    {"params": 2, "event_shape": [4], "hidden_units": [6, 7], "conditional": True, "conditional_event_shape": [3],
     "conditional_input_layers": "first_layer", "activation": "sigmoid"},
    {"params": 2, "event_shape": [3], "hidden_units": [4], "use_bias": False, "activation": "relu"},
    {"params": 2, "event_shape": [3]},
]


@pytest.mark.parametrize("kwargs", CASES)
def test_masks_and_degrees_equal_tfp(kwargs):
    network = _tfp_network(**kwargs)
    made = MADE(**kwargs)
    made.build((None, kwargs["event_shape"][0]))
    np.testing.assert_array_equal(made.degrees[0], network._input_order)
    assert len(made.masks) == len(network._masks)
    for mine, theirs in zip(made.masks, network._masks, strict=True):
        np.testing.assert_array_equal(mine, theirs.astype("float32"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", CASES)
def test_outputs_equal_tfp_with_copied_weights(kwargs, dtype):
    network = tfb.AutoregressiveNetwork(dtype=dtype, **kwargs)
    size = kwargs["event_shape"][0]
    network.build((None, size))
    made = MADE(dtype=dtype, **kwargs)
    made.build((None, size))
    _copy_from_tfp(network, made)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, size)).astype(dtype)
    call = {}
    if kwargs.get("conditional"):
        call["conditional_input"] = rng.normal(size=(6, kwargs["conditional_event_shape"][0])).astype(dtype)
    expected = network(x, **call).numpy()
    mine = made(x, **call)
    assert mine.dtype == dtype
    np.testing.assert_allclose(mine.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_kernels_start_masked_as_tfps():
    made = MADE(2, event_shape=[4], hidden_units=[6])
    made.build((None, 4))
    for kernel, mask in zip(made.kernels, made.masks, strict=True):
        assert np.all(kernel.numpy()[mask == 0] == 0.0)
        assert np.all(kernel.numpy()[mask == 1] != 0.0)


@pytest.mark.parametrize("input_order", ["left-to-right", "right-to-left", [2, 4, 1, 3]])
def test_jacobian_is_autoregressive_in_the_input_order(input_order):
    made = MADE(2, event_shape=[4], hidden_units=[16, 16], activation="tanh", input_order=input_order,
                bias_initializer="random_normal")
    x = tf.constant(np.random.default_rng(1).normal(size=(32, 4)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        params = made(x)
        outputs = [params[..., p] for p in range(2)]
    order = np.asarray(made.degrees[0])
    allowed = order[None, :] < order[:, None]  # output i may depend on input j iff order[j] < order[i]
    for output in outputs:
        jacobian = tape.batch_jacobian(output, x).numpy()
        assert np.all(jacobian[:, ~allowed] == 0.0)
        assert np.all(np.abs(jacobian).sum(axis=0)[allowed] > 0.0)
    permutation = np.argsort(order)  # the inputs sorted by their place in the order
    sorted_jacobian = tape.batch_jacobian(outputs[0], x).numpy()[:, permutation][:, :, permutation]
    assert np.all(np.triu(np.abs(sorted_jacobian).sum(axis=0)) == 0.0)  # strictly lower triangular in the order


def test_conditional_input_reaches_every_output_and_broadcasts():
    made = MADE(2, event_shape=[3], conditional=True, conditional_event_shape=[2], hidden_units=[8],
                activation="relu")
    x = tf.constant(np.random.default_rng(2).normal(size=(5, 3)).astype("float32"))
    context = tf.constant(np.random.default_rng(3).normal(size=(5, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(context)
        params = made(x, conditional_input=context)
    assert np.all(np.abs(tape.gradient(params, context).numpy()) > 0.0)
    single = made(x, conditional_input=context[:1])
    assert tuple(single.shape) == (5, 3, 2)


def test_masked_autoregressive_flow_with_conditional_input_equals_tfp():
    kwargs = {"params": 2, "event_shape": [3], "hidden_units": [8, 8], "conditional": True,
              "conditional_event_shape": [2], "activation": "relu", "kernel_initializer": "random_normal"}
    network = _tfp_network(**kwargs)
    made = MADE(**kwargs)
    made.build((None, 3))
    _copy_from_tfp(network, made)
    rng = np.random.default_rng(4)
    y = rng.normal(size=(7, 3)).astype("float32")
    context = rng.normal(size=(7, 2)).astype("float32")
    base = tfd.Sample(tfd.Normal(0.0, 1.0), sample_shape=[3])
    ours = tfd.TransformedDistribution(base, tfb.MaskedAutoregressiveFlow(made))
    theirs = tfd.TransformedDistribution(base, tfb.MaskedAutoregressiveFlow(network))
    bijector_kwargs = {"conditional_input": context}
    np.testing.assert_allclose(
        ours.log_prob(y, bijector_kwargs=bijector_kwargs).numpy(),
        theirs.log_prob(y, bijector_kwargs=bijector_kwargs).numpy(), rtol=1e-5, atol=1e-5,
    )
    flow = tfb.MaskedAutoregressiveFlow(made)
    x = flow.forward(y, conditional_input=context)
    np.testing.assert_allclose(flow.inverse(x, conditional_input=context).numpy(), y, rtol=1e-4, atol=1e-4)


def test_tfp_arguments_are_checked():
    with pytest.raises(ValueError, match="`conditional_event_shape`"):
        MADE(2, event_shape=[3], conditional=True)
    with pytest.raises(ValueError, match="`event_shape`"):
        MADE(2, event_shape=[2, 3])
    with pytest.raises(ValueError, match="`event_shape`"):
        MADE(2, event_shape=[3]).build((None, 4))
    with pytest.raises(ValueError, match="`conditional_input_layers`"):
        MADE(2, event_shape=[3], conditional=True, conditional_event_shape=[1], conditional_input_layers="middle")


def test_shape_arguments_may_be_int_tensors():
    made = MADE(2, event_shape=tf.constant([3]), conditional=True, conditional_event_shape=tf.constant([2]))
    assert made.event_shape == [3] and made.context_size == 2


@pytest.mark.slow
def test_keras_file_round_trip_with_tfp_arguments(tmp_path):
    made = MADE(3, event_shape=[4], conditional=True, conditional_event_shape=[2], hidden_units=[8],
                activation="relu", kernel_regularizer=keras.regularizers.L2(0.01),
                conditional_input_layers="first_layer")
    x, c = keras.Input((4,)), keras.Input((2,))
    model = keras.Model([x, c], made(x, conditional_input=c))
    rng = np.random.default_rng(5)
    inputs = [rng.normal(size=(6, 4)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")]
    expected = model(inputs).numpy()
    path = tmp_path / "made.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(inputs).numpy(), expected, rtol=1e-6)
    inner = [layer for layer in loaded.layers if isinstance(layer, MADE)][0]
    assert inner.params == 3 and inner.tfp_layout and inner.conditional_input_layers == "first_layer"
    assert isinstance(inner.kernel_regularizer, keras.regularizers.L2)
