"""One contract test over every registered architecture: build, fit, evaluate, save, load, same outputs.

A new plugin is checked by these tests the moment it is installed. The small test architecture of
tests/toy.py runs through them too.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import tfp_arch
from tfp_arch.runs import prepare_data

NAMES = sorted(set(tfp_arch.architectures()) | {"toy"})


def _tiny(cls):
    dataset = prepare_data(cls, None)
    rows = 64 if dataset.x_train.ndim <= 2 else 32
    take = lambda a, n: None if a is None else a[:n]  # noqa: E731
    return (take(dataset.x_train, rows), take(dataset.y_train, rows), take(dataset.x_test, 16),
            take(dataset.y_test, 16), dataset)


@pytest.fixture(params=NAMES)
def architecture(request, toy_registered):
    return tfp_arch.get(request.param)


def test_declares_the_contract(architecture):
    assert architecture.architecture_name and architecture.summary and "\n" not in architecture.summary
    assert architecture.task in ("supervised", "unsupervised")
    assert architecture.default_data and architecture.default_epochs > 0 and architecture.default_batch_size > 0


def test_fit_evaluate_save_load_round_trip(architecture, tmp_path):
    x, y, x_test, y_test, dataset = _tiny(architecture)
    keras.utils.set_random_seed(0)
    model = architecture(**architecture.hyperparameters_for(dataset))
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert all(math.isfinite(v[-1]) for v in history.history.values())

    keras.utils.set_random_seed(7)
    metrics = model.evaluate_metrics(x_test, y_test)
    assert metrics and all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())

    rebuilt = architecture.from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config()

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is architecture and loaded.is_adapted
    for saved, restored in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(saved), keras.ops.convert_to_numpy(restored))

    keras.utils.set_random_seed(7)
    again = loaded.evaluate_metrics(x_test, y_test)
    assert again.keys() == metrics.keys()
    for key in metrics:
        assert again[key] == pytest.approx(metrics[key], rel=1e-4, abs=1e-5), key


def test_can_train_again_after_loading(architecture, tmp_path):
    x, y, _, _, dataset = _tiny(architecture)
    model = architecture(**architecture.hyperparameters_for(dataset))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.compiled
    history = loaded.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert math.isfinite(history.history["loss"][-1])


def test_sampling_architectures_sample_the_data_shape(architecture):
    if not architecture.has_capability("sample"):
        pytest.skip(f"{architecture.architecture_name} does not declare the sample capability")
    x, y, _, _, dataset = _tiny(architecture)
    model = architecture(**architecture.hyperparameters_for(dataset))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    samples = np.asarray(model.sample(5, seed=1))
    assert samples.shape == (5, *x.shape[1:]) and np.isfinite(samples).all()
    np.testing.assert_allclose(samples, np.asarray(model.sample(5, seed=1)), rtol=1e-5, atol=1e-6)
