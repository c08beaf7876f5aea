"""The base class's `compile` defaults and fast `fit` on arrays and datasets."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from toy import ToyRegressor

import tfp_arch


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1)).astype("float32")
    return x, (2.0 * x[:, 0] + 0.1 * rng.normal(size=n)).astype("float32")


class CountingToy(ToyRegressor):
    adapt_calls: list

    def adapt(self, x, y=None):
        self.adapt_calls.append((x.shape, None if y is None else y.shape))
        super().adapt(x, y)


def test_compile_without_arguments_uses_the_defaults():
    model = ToyRegressor()
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.steps_per_execution == ToyRegressor.default_steps_per_execution
    model.compile(optimizer="sgd", steps_per_execution=1)
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.steps_per_execution == 1


def test_compile_takes_keras_positional_arguments():
    model = ToyRegressor()
    model.compile("sgd", "mse", steps_per_execution=2)
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.steps_per_execution == 2
    model.compile("adam", "mse", None, None, None, False, 4)
    assert isinstance(model.optimizer, keras.optimizers.Adam) and model.steps_per_execution == 4
    with pytest.raises(TypeError):
        model.compile("adam", "mse", no_such_argument=1)


def test_the_registry_name_survives_keras_naming():
    model = ToyRegressor(name="my_layer_name")
    assert model.architecture_name == "toy" and model.name == "my_layer_name"
    with pytest.raises(ValueError, match="Architecture `toy` is supervised"):
        model.fit(_data()[0], epochs=1, verbose=0)


def test_capabilities_are_declared_one_way():
    maf, bnn = tfp_arch.get("maf"), tfp_arch.get("bnn")
    assert maf.has_capability("sample") and maf.has_capability("density") and maf.has_capability("plot")
    assert not bnn.has_capability("sample") and bnn.has_capability("plot")
    with pytest.raises(ValueError, match="capability"):
        bnn.has_capability("fly")


@pytest.mark.slow
def test_fit_compiles_adapts_once_and_learns():
    x, y = _data()
    model = CountingToy()
    model.adapt_calls = []
    history = model.fit(x, y, epochs=30, verbose=0)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.adapt_calls == [((96, 1), (96,))] and model.is_adapted
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.5


@pytest.mark.slow
def test_fit_on_a_batched_dataset_adapts_on_all_of_it():
    x, y = _data()
    model = CountingToy()
    model.adapt_calls = []
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(10), epochs=1, verbose=0)
    assert model.adapt_calls == [((96, 1), (96,))]


@pytest.mark.slow
def test_validation_split_holds_out_the_last_rows():
    x, y = _data()
    history = ToyRegressor().fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert len(history.history["val_loss"]) == 2


@pytest.mark.slow
def test_validation_data_as_arrays():
    x, y = _data()
    history = ToyRegressor().fit(x, y, epochs=1, validation_data=_data(20, seed=1), verbose=0)
    assert np.isfinite(history.history["val_loss"][0])


@pytest.mark.slow
def test_same_seed_same_weights():
    x, y = _data()
    weights = []
    for _ in range(2):
        keras.utils.set_random_seed(4)
        model = ToyRegressor()
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        weights.append(np.concatenate([w.numpy().ravel() for w in model.weights]))
    np.testing.assert_array_equal(weights[0], weights[1])


def test_supervised_architecture_refuses_missing_targets():
    with pytest.raises(ValueError, match="supervised: fit\\(x, y\\) needs targets"):
        ToyRegressor().fit(_data()[0], epochs=1, verbose=0)


def test_bad_validation_split():
    with pytest.raises(ValueError, match="validation_split"):
        ToyRegressor().fit(*_data(), validation_split=1.5, verbose=0)


def test_base_methods_say_what_is_missing():
    model = tfp_arch.Architecture()
    with pytest.raises(NotImplementedError, match="evaluate_metrics"):
        model.evaluate_metrics(np.zeros((1, 1)))
    with pytest.raises(NotImplementedError, match="cannot sample"):
        model.sample(1)


@pytest.mark.slow
def test_compute_loss_from_the_negative_log_likelihood_hook():
    model = ToyRegressor()
    x, y = _data(8)
    y_pred = model(x)
    nll = keras.ops.convert_to_numpy(model.negative_log_likelihood(x, y, y_pred)).astype("float64")
    weight = np.linspace(0.5, 1.5, 8)
    loss = float(model.compute_loss(x=x, y=y, y_pred=y_pred))
    weighted = float(model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weight.astype("float32")))
    assert loss == pytest.approx(nll.mean(), rel=1e-6)
    assert weighted == pytest.approx((nll * weight).sum() / weight.sum(), rel=1e-6)
    model.add_loss(keras.ops.convert_to_tensor([0.25, 0.5]))
    assert float(model.compute_loss(x=x, y=y, y_pred=y_pred)) == pytest.approx(nll.mean() + 0.75, rel=1e-6)


@pytest.mark.slow
def test_fit_on_a_dataset_keeps_its_order_without_keras_shuffle_warning():
    """A `tf.data.Dataset` carries its own order: fit does not pass Keras' default `shuffle=True`
    (which Keras ignores for datasets, with a warning); a `shuffle` given by the caller is passed on."""
    import warnings

    x, y = _data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    for given, expected in (({}, 0), ({"shuffle": True}, 1)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ToyRegressor().fit(dataset, epochs=1, verbose=0, **given)
        assert sum("`shuffle=True` was passed" in str(w.message) for w in caught) == expected, given


@pytest.mark.parametrize("route", ["arrays", "dataset"])
def test_fit_traces_the_training_step_once(route):
    """For a built model (the architectures build in `adapt`; the test architecture on a first call), the
    optimizer's variables exist before the step is traced; had the first trace created them, TensorFlow
    would trace the step again (two Python calls of `train_step` in one `fit`)."""
    calls = []

    class Counting(ToyRegressor):
        def train_step(self, data):
            calls.append(1)
            return super().train_step(data)

    x, y = _data()
    model = Counting()
    model(x[:1])
    data = (x, y) if route == "arrays" else (tf.data.Dataset.from_tensor_slices((x, y)).batch(16),)
    model.fit(*data, epochs=2, verbose=0)
    assert model.optimizer.built
    assert len(calls) == 1


def test_predict_traces_one_step_and_keeps_steps_per_execution_for_training():
    """Keras 3 unrolls `steps_per_execution` copies of the prediction step into one graph; the base
    class predicts one batch per step: two traces of `predict_step` for 35 batches (the full batches' shape,
    then, for the last, shorter batch, the shape TensorFlow relaxes to), where the unrolled graphs trace 35
    (32 copies, then 3 for the last group); every row answered as a direct call answers it."""
    calls = []

    class Counting(ToyRegressor):
        def predict_step(self, data):
            calls.append(1)
            return super().predict_step(data)

    x, y = _data()
    model = Counting()
    model.fit(x, y, epochs=1, verbose=0)
    kept = model.steps_per_execution
    assert kept > 1
    rows = np.random.default_rng(1).normal(size=(35 * 32 - 5, 1)).astype("float32")
    predicted = model.predict(rows, verbose=0)
    assert len(calls) == 2
    np.testing.assert_allclose(predicted, model(rows).numpy(), rtol=1e-5, atol=1e-6)
    assert model.steps_per_execution == kept
