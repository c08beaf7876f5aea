"""Keras 3 models with each distribution head train on the NLL loss and save with it compiled."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from heads_cases import CASE_IDS, CASES
from tfp_arch import layers, losses

N = 256


def _model(case):
    head = case.make()
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(head.layer_params_size()), head]
    )
    model.compile(keras.optimizers.Adam(0.02), loss=losses.NegativeLogLikelihood(head))
    return model


def _data(case):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 3)).astype("float32")
    return x, case.targets(rng, N)


@pytest.fixture(scope="module", params=CASES, ids=CASE_IDS)
def trained(request):
    keras.utils.set_random_seed(0)
    case = request.param
    model = _model(case)
    x, y = _data(case)
    before = model.evaluate(x, y, batch_size=N, verbose=0)
    model.fit(x, y, batch_size=64, epochs=5, shuffle=False, verbose=0)
    return model, x, y, before


@pytest.mark.slow
def test_training_with_the_nll_loss_reduces_it(trained):
    model, x, y, before = trained
    after = model.evaluate(x, y, batch_size=N, verbose=0)
    assert np.isfinite(after) and after < before


def _params(model, x):
    return keras.Sequential(model.layers[:-1])(x)


@pytest.mark.slow
def test_the_compiled_loss_is_the_mean_negative_log_prob(trained):
    model, x, y, _ = trained
    head = model.layers[-1]
    expected = -np.mean(head.log_prob(_params(model, x), y))
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=N, verbose=0), expected, rtol=1e-5)


def test_keras_save_and_load_keeps_outputs_and_compiled_loss(trained, tmp_path):
    model, x, y, _ = trained
    path = tmp_path / "head.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.loss, losses.NegativeLogLikelihood)
    assert type(restored.layers[-1]) is type(model.layers[-1])
    assert restored.layers[-1].get_config() == model.layers[-1].get_config()
    np.testing.assert_array_equal(_params(restored, x), _params(model, x))
    assert restored.evaluate(x, y, batch_size=N, verbose=0) == model.evaluate(x, y, batch_size=N, verbose=0)


# XLA compiles every head (14 compilations): two in the fast loop, all of them in the full suite.
XLA_CASES = [pytest.param(case, id=case.id, marks=[] if i < 2 else [pytest.mark.slow]) for i, case in enumerate(CASES)]


@pytest.mark.slow
@pytest.mark.parametrize("case", XLA_CASES)
def test_training_compiles_with_xla(case):
    head = case.make()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(head.layer_params_size()), head])
    model.compile("adam", loss=losses.NegativeLogLikelihood(head), jit_compile=True)
    x, y = _data(case)
    history = model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_scalar_head_scores_column_targets_one_per_example():
    params = np.zeros((5, 2), "float32")
    log_prob = layers.IndependentNormal().log_prob(params, np.zeros((5, 1), "float32"))
    assert log_prob.shape == (5,)


def test_wrong_parameter_count_is_refused_when_built():
    with pytest.raises(ValueError, match="expected the last axis to have 4 entries"):
        keras.Sequential([keras.Input((3,)), layers.IndependentNormal(2)])


@pytest.mark.slow
def test_loss_refuses_what_is_not_a_head():
    with pytest.raises(ValueError, match="Invalid value for argument `distribution_layer`"):
        losses.NegativeLogLikelihood(keras.layers.Dense(2))
