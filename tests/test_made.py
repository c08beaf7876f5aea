"""MADE: masks, the autoregressive property (by autodiff), parameters per dimension, the sequential pass, serialisation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_probability.python.bijectors import masked_autoregressive as tfp_maf

import keras
from tfp_arch.layers.flows.made import MADE, autoregressive_degrees, autoregressive_masks

D = 4


def _order_ranks(made: MADE) -> np.ndarray:
    return np.asarray(made.degrees[0])


def _jacobians(made: MADE, x: np.ndarray, context: np.ndarray | None = None):
    x = tf.constant(x)
    context = None if context is None else tf.constant(context)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        if context is not None:
            tape.watch(context)
        params = made(x, context)
        outputs = [params[..., p] for p in range(made.num_params)]
    jac = [tape.batch_jacobian(out, x).numpy() for out in outputs]
    ctx = None if context is None else [tape.batch_jacobian(out, context).numpy() for out in outputs]
    return jac, ctx


@pytest.mark.slow
@pytest.mark.parametrize(
    "input_order, hidden_degrees, context_size, num_params",
    [
        ("left-to-right", "equal", None, 2),
        ("right-to-left", "equal", None, 1),
        ("random", "equal", 3, 5),
        ([3, 1, 4, 2], "equal", 2, 2),
        ("random", "random", 2, 3),
        ("left-to-right", "random", None, 2),
    ],
)
def test_output_i_depends_only_on_inputs_before_i(input_order, hidden_degrees, context_size, num_params):
    made = MADE(hidden_units=[16, 16], num_params=num_params, input_order=input_order,
                hidden_degrees=hidden_degrees, context_size=context_size, seed=3,
                kernel_initializer="random_normal")
    made.build((None, D))
    for kernel in made.kernels[-1:] + made.context_kernels[-1:]:
        kernel.assign(np.random.default_rng(0).normal(size=kernel.shape).astype("float32"))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, D)).astype("float32")
    context = None if context_size is None else rng.normal(size=(64, context_size)).astype("float32")
    jacobians, context_jacobians = _jacobians(made, x, context)
    assert len(jacobians) == num_params
    rank = _order_ranks(made)
    allowed = rank[None, :] < rank[:, None]
    for jac in jacobians:
        assert np.all(jac[:, ~allowed] == 0.0)
        if hidden_degrees == "equal":
            assert np.all(np.abs(jac).sum(axis=0)[allowed] > 0.0)
    if context_jacobians is not None:
        for jac in context_jacobians:
            assert np.all(np.abs(jac).sum(axis=(0, 2)) > 0.0), "every output must see the context"


def test_random_order_is_seeded_and_a_permutation():
    first = autoregressive_degrees(6, [8], "random", seed=5)[0]
    again = autoregressive_degrees(6, [8], "random", seed=5)[0]
    other = autoregressive_degrees(6, [8], "random", seed=6)[0]
    assert sorted(first.tolist()) == list(range(1, 7))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("input_order", ["left-to-right", "right-to-left", [2, 3, 1, 5, 4]])
def test_masks_match_tensorflow_probability(input_order):
    ours = autoregressive_masks(autoregressive_degrees(5, [7, 9], input_order, "equal"))
    theirs = tfp_maf._create_masks(tfp_maf._create_degrees(5, [7, 9], input_order, "equal"))
    for mine, reference in zip(ours, theirs):
        np.testing.assert_array_equal(mine, reference.astype("float32"))


def test_default_initialisation_is_uniform_in_one_over_sqrt_fan_in():
    keras.utils.set_random_seed(0)
    made = MADE(hidden_units=[64, 32], context_size=5)
    made.build((None, 4))
    for kernel, bias, context_kernel in zip(made.kernels, made.biases, made.context_kernels):
        limit = 1.0 / np.sqrt(kernel.shape[0] + 5)
        for weight in (kernel.numpy(), bias.numpy(), context_kernel.numpy()):
            assert np.all(np.abs(weight) <= limit)
            if weight.size >= 100:
                assert np.abs(weight).max() > 0.9 * limit
                assert abs(weight.std() - limit / np.sqrt(3.0)) < 0.2 * limit


def test_output_columns_are_parameter_major():
    made = MADE(hidden_units=[8], num_params=3)
    made.build((None, 4))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    made.biases[-1].assign(np.zeros(12, "float32"))
    for column in (0, 5, 11):
        kernel = np.zeros((8, 12), "float32")
        kernel[:, column] = 1.0
        made.kernels[-1].assign(kernel)
        params = made(x).numpy()
        assert params.shape == (5, 4, 3)
        nonzero = np.argwhere(np.abs(params).sum(axis=0) > 0)
        dimension, parameter = column % 4, column // 4
        assert nonzero.tolist() in ([], [[dimension, parameter]])
        if made.degrees[0][dimension] > 1:
            assert nonzero.tolist() == [[dimension, parameter]]


@pytest.mark.parametrize(
    "input_order, hidden_units, hidden_degrees, context_size, size",
    [
        ("random", [12, 10], "equal", None, D),
        ("right-to-left", [12, 10], "equal", 2, D),
        ([2, 4, 1, 3], [12, 10], "random", 1, D),
        ("left-to-right", [2], "equal", None, D),  # fewer hidden units than degrees: empty steps
        ("random", [9, 7, 8], "random", 3, 6),
        ("left-to-right", [], "equal", None, D),
        ("left-to-right", [5], "equal", 2, 1),  # one variable: hidden units of degree 0
    ],
)
def test_autoregressive_pass_equals_the_full_pass_at_its_result(input_order, hidden_units, hidden_degrees, context_size, size):
    """Each variable of the pass equals `value_of` of the full MADE pass's parameters at the result."""
    made = MADE(hidden_units=hidden_units, num_params=3, input_order=input_order, hidden_degrees=hidden_degrees,
                context_size=context_size, seed=1)
    made.build((None, size))
    rng = np.random.default_rng(2)
    z = tf.constant(rng.normal(size=(7, size)).astype("float32"))
    context = None if context_size is None else tf.constant(rng.normal(size=(7, context_size)).astype("float32"))
    calls = []

    def value_of(variable, params):
        calls.append(variable)
        return z[..., variable] * tf.exp(params[..., 0]) + params[..., 1] + tf.tanh(params[..., 2])

    x = made.autoregressive_pass(value_of, z, context).numpy()
    assert calls == list(np.argsort(_order_ranks(made)))
    full = made(x, context).numpy()
    expected = z.numpy() * np.exp(full[..., 0]) + full[..., 1] + np.tanh(full[..., 2])
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch_shape", [(), (2, 3)])
@pytest.mark.parametrize("context_size", [None, 2])
def test_autoregressive_pass_keeps_any_batch_shape(batch_shape, context_size):
    """Inputs of any batch rank: every variable equals `value_of` of the full pass at the result."""
    made = MADE(hidden_units=[9, 8], num_params=2, input_order="random", context_size=context_size, seed=3)
    made.build((None, D))
    rng = np.random.default_rng(4)
    z = tf.constant(rng.normal(size=(*batch_shape, D)).astype("float32"))
    context = None if context_size is None else tf.constant(rng.normal(size=(*batch_shape, context_size)).astype("float32"))
    shapes = []

    def value_of(variable, params):
        shapes.append(tuple(params.shape))
        return z[..., variable] * tf.exp(params[..., 0]) + params[..., 1]

    x = made.autoregressive_pass(value_of, z, context).numpy()
    assert x.shape == (*batch_shape, D)
    assert set(shapes) == {(*batch_shape, 2)}
    flat = made(x.reshape(-1, D), None if context is None else tf.reshape(context, (-1, context_size))).numpy()
    expected = z.numpy().reshape(-1, D) * np.exp(flat[..., 0]) + flat[..., 1]
    np.testing.assert_allclose(x.reshape(-1, D), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"hidden_units": [0]}, "hidden_units"),
        ({"context_size": 0}, "context_size"),
        ({"num_params": 0}, "num_params"),
        ({"hidden_degrees": "odd"}, "hidden_degrees"),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        MADE(**kwargs)


def test_invalid_order_names_the_argument():
    with pytest.raises(ValueError, match="`input_order`"):
        MADE(input_order=[1, 1, 2]).build((None, 3))
    with pytest.raises(ValueError, match="`input_order`"):
        MADE(input_order="sideways").build((None, 3))


def test_context_is_required_exactly_when_configured():
    conditional = MADE(hidden_units=[4], context_size=2)
    conditional.build((None, 3))
    with pytest.raises(ValueError, match="context"):
        conditional(np.zeros((2, 3), "float32"))
    plain = MADE(hidden_units=[4])
    plain.build((None, 3))
    with pytest.raises(ValueError, match="context"):
        plain(np.zeros((2, 3), "float32"), np.zeros((2, 2), "float32"))


@pytest.mark.slow
def test_keras_file_round_trip_keeps_masks_and_outputs(tmp_path):
    made = MADE(hidden_units=[8, 8], num_params=3, input_order="random", hidden_degrees="random", seed=11)
    model = keras.Sequential([keras.Input((5,)), made])
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    expected = model(x).numpy()
    path = tmp_path / "made.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-6, atol=1e-6)
    for mine, theirs in zip(made._masks, loaded.layers[0]._masks):
        np.testing.assert_array_equal(mine, theirs)
