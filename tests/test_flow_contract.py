"""One contract over every flow: inverse, log-determinant by autodiff, normalisation, sampling, context, saving.

Each case is a flow architecture (`maf`, `nsf` autoregressive and coupling, conditional or not) with
random weights far from the identity and batch-normalisation statistics set, so that every check
means something. A new flow family is tested by adding its case here.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf
from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel
from tfp_arch.plugins.nsf import NeuralSplineFlowModel

import tfp_arch
from tfp_arch.flows import FlowModel

SPLINE = {"bins": 5, "bound": 3.0}
CASES = {
    "maf": (MaskedAutoregressiveFlowModel, {}),
    "maf-conditional": (
        MaskedAutoregressiveFlowModel,
        {"context_size": 2, "order": "random", "seed": 4, "batch_norm": True},
    ),
    "nsf-autoregressive": (NeuralSplineFlowModel, {**SPLINE}),
    "nsf-coupling": (NeuralSplineFlowModel, {**SPLINE, "coupling": True, "order": "random", "seed": 3}),
    "nsf-autoregressive-conditional": (NeuralSplineFlowModel, {**SPLINE, "context_size": 2, "batch_norm": True}),
    "nsf-coupling-conditional": (NeuralSplineFlowModel, {**SPLINE, "coupling": True, "context_size": 2}),
}
SAVED = Path(__file__).parent / "saved_flows"
FAST = {"maf", "nsf-coupling"}
"""The cases of the fast loop (`-m "not slow"`); the full suite runs every case."""


def _params(names: list[str]) -> list:
    return [pytest.param(name, marks=[] if name in FAST else [pytest.mark.slow]) for name in names]


def _normal(n: int, size: int, seed: int, scale: float = 1.0) -> np.ndarray:
    return (scale * np.random.default_rng(seed).normal(size=(n, size))).astype("float32")


def _model(name: str, size: int) -> FlowModel:
    """The case's model on `size` variables, standardisation learned, flow weights far from the identity."""
    cls, kwargs = CASES[name]
    model = cls(num_transforms=3, hidden_units=[12, 12], **kwargs)
    x = _normal(50, size, seed=9, scale=2.0) + 1.0
    model.adapt(x if not model.conditional else (_normal(50, 2, seed=8), x))
    rng = np.random.default_rng(0)
    for weight in model.flow.trainable_weights:
        weight.assign(0.3 * rng.normal(size=weight.shape).astype("float32"))
    for norm in model.flow.norms:
        norm.moving_mean.assign(0.3 * rng.normal(size=size).astype("float32"))
        norm.moving_variance.assign(rng.uniform(0.5, 2.0, size=size).astype("float32"))
    return model


@pytest.fixture(scope="module", params=_params(list(CASES)))
def case(request) -> tuple[str, FlowModel]:
    return request.param, _model(request.param, 3)


def _context(model: FlowModel, n: int, seed: int = 2) -> np.ndarray | None:
    return _normal(n, 2, seed) if model.conditional else None


def _jacobian(flow, x: np.ndarray, context) -> np.ndarray:
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        z = flow.inverse(tensor, context)
    return tape.batch_jacobian(z, tensor).numpy().astype("float64")


@pytest.mark.slow
def test_log_prob_is_the_base_density_plus_the_autodiff_log_determinant(case):
    _, model = case
    flow, x = model.flow, _normal(16, 3, seed=1, scale=2.5)
    context = _context(model, 16)
    _, log_det = np.linalg.slogdet(_jacobian(flow, x, context))
    z = flow.inverse(x, context).numpy().astype("float64")
    expected = -0.5 * np.sum(z**2, axis=1) - 1.5 * math.log(2 * math.pi) + log_det
    np.testing.assert_allclose(flow.log_prob(x, context).numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_forward_and_inverse_are_inverses(case):
    """Exact up to float32 rounding times the condition number of the last step of each round trip."""
    _, model = case
    flow, values = model.flow, _normal(64, 3, seed=5, scale=3.0)
    context = _context(model, 64)
    assert np.mean(np.abs(values) > 3.0) > 0.1  # outside the splines' bound too
    rounding = 32 * np.finfo("float32").eps * np.abs(values).max()
    x = flow.forward(values, context).numpy()
    largest = np.linalg.svd(_jacobian(flow, x, context), compute_uv=False).max(axis=1)
    assert np.all(np.abs(flow.inverse(x, context).numpy() - values).max(axis=1) <= 1e-5 + rounding * largest)
    smallest = np.linalg.svd(_jacobian(flow, values, context), compute_uv=False).min(axis=1)
    z = flow.inverse(values, context).numpy()
    error = np.abs(flow.forward(z, context).numpy() - values).max(axis=1)
    assert np.all(error <= 1e-5 + rounding / smallest) and np.median(error) < 1e-5


@pytest.mark.slow
def test_samples_are_seeded_finite_and_map_back_to_the_base_draws(case):
    _, model = case
    flow = model.flow
    context = np.array([0.5, -1.0], "float32") if model.conditional else None
    first, again = flow.sample(64, seed=4, context=context).numpy(), flow.sample(64, seed=4, context=context).numpy()
    assert first.shape == (64, 3) and np.all(np.isfinite(first))
    np.testing.assert_array_equal(first, again)
    expected = tf.random.stateless_normal([64, 3], seed=[4, 0], alg="philox").numpy()
    full = None if context is None else np.broadcast_to(context, (64, 2))
    np.testing.assert_allclose(flow.inverse(first, full).numpy(), expected, rtol=1e-3, atol=1e-3)
    raw = model.sample(64, seed=4, context=context)
    inputs = raw if full is None else (full, raw)
    assert raw.shape == (64, 3) and np.all(np.isfinite(model(inputs, training=False).numpy()))


def test_context_changes_the_density_and_is_required(case):
    _, model = case
    x = _normal(16, 3, seed=1)
    if not model.conditional:
        with pytest.raises(ValueError, match="context"):
            model.flow.log_prob(x, np.zeros((16, 2), "float32"))
        return
    first = model.flow.log_prob(x, np.zeros((16, 2), "float32")).numpy()
    second = model.flow.log_prob(x, np.ones((16, 2), "float32")).numpy()
    assert np.max(np.abs(first - second)) > 1e-2
    with pytest.raises(ValueError, match="context"):
        model.flow.log_prob(x)


def test_keras_file_round_trip_keeps_log_prob(case, tmp_path):
    name, model = case
    x = _normal(20, 3, seed=6, scale=2.0)
    context = _context(model, 20)
    inputs = x if context is None else (context, x)
    model.save(tmp_path / f"{name}.keras")
    loaded = keras.saving.load_model(tmp_path / f"{name}.keras")
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded(inputs, training=False), model(inputs, training=False), rtol=1e-5, atol=1e-6)


def _trapezoid(density: np.ndarray, spacing: float) -> float:
    for _ in range(density.ndim):
        density = np.trapezoid(density, dx=spacing, axis=-1)
    return float(density)


ONE_D = [name for name, (_, kwargs) in CASES.items() if not kwargs.get("coupling") and not kwargs.get("context_size")]
TWO_D = [name for name in CASES if "conditional" not in name] + ["nsf-coupling-conditional"]


@pytest.mark.parametrize("name", _params(ONE_D))
def test_density_integrates_to_one_in_one_dimension(name):
    flow = _model(name, 1).flow
    grid = np.linspace(-12.0, 12.0, 12001, dtype="float32")
    log_p = flow.log_prob(grid[:, None]).numpy().astype("float64")
    base = -0.5 * grid.astype("float64") ** 2 - 0.5 * math.log(2 * math.pi)
    assert np.max(np.abs(log_p - base)) > 0.3, "the flow must be far from the identity for the test to mean anything"
    assert _trapezoid(np.exp(log_p), 24.0 / (len(grid) - 1)) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", _params(TWO_D))
def test_density_integrates_to_one_in_two_dimensions_and_samples_have_its_moments(name):
    model = _model(name, 2)
    flow = model.flow
    axis = np.linspace(-10.0, 10.0, 401, dtype="float32")
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    context = np.array([0.5, -1.0], "float32") if model.conditional else None
    full = None if context is None else np.broadcast_to(context, (len(grid), 2))
    density = np.exp(flow.log_prob(grid, full).numpy().astype("float64")).reshape(len(axis), len(axis))
    spacing = 20.0 / (len(axis) - 1)
    assert _trapezoid(density, spacing) == pytest.approx(1.0, abs=2e-3)
    samples = flow.sample(2000, seed=1, context=context).numpy().astype("float64")
    points = grid.astype("float64").reshape(len(axis), len(axis), 2)
    mean = np.array([_trapezoid(density * points[..., k], spacing) for k in range(2)])
    variance = np.array([_trapezoid(density * (points[..., k] - mean[k]) ** 2, spacing) for k in range(2)])
    standard_error = np.sqrt(variance / len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - mean) < 5 * standard_error)
    np.testing.assert_allclose(samples.var(axis=0), variance, rtol=0.15)


@pytest.mark.parametrize("name", ["maf_conditional", "nsf_coupling", "nsf_autoregressive"])
def test_files_saved_by_the_previous_release_load_with_the_same_log_prob(name):
    expected = json.loads((SAVED / "expected.json").read_text())
    x, context = np.array(expected["x"], "float32"), np.array(expected["context"], "float32")
    model = tfp_arch.load_model(SAVED / f"{name}.keras")
    log_p = model.log_prob(x, context=context if model.conditional else None)
    np.testing.assert_allclose(log_p, expected[name], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"coupling": True, "hidden_degrees": "bogus"}, "hidden_degrees"),
        ({"coupling": True, "hidden_degrees": "equal"}, "hidden_degrees"),
        ({"hidden_degrees": "bogus"}, "hidden_degrees"),
        ({"activation": "nope"}, "activation"),
        ({"hidden_units": [0]}, "hidden_units"),
        ({"batch_norm": "yes"}, "batch_norm"),
        ({"coupling": 1}, "coupling"),
        ({"batch_norm_momentum": 1.0}, "batch_norm_momentum"),
        ({"seed": -1}, "seed"),
        ({"context_size": 0}, "context_size"),
        ({"bins": 0}, "bins"),
    ],
)
def test_spline_flow_refuses_what_does_not_apply_and_every_bad_value(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`") as error:
        NeuralSplineFlowModel(**kwargs)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"log_scale_bound": 0.0}, "log_scale_bound"),
        ({"hidden_degrees": "bogus"}, "hidden_degrees"),
        ({"order": "shuffled"}, "order"),
        ({"num_transforms": 0}, "num_transforms"),
    ],
)
def test_affine_flow_checks_every_value(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        MaskedAutoregressiveFlowModel(**kwargs)
