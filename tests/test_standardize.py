"""The shared standardisation layer: streaming moments, floor, inverse, Jacobian, saving, plugin use."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfp_arch.layers.standardize import SCALE_FLOOR, RunningMoments, Standardization


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(1000, 3)) * [1e3, 2.0, 1e-3] + [1e6, -5.0, 3.0]


def test_running_moments_over_uneven_batches_match_numpy_two_pass(table):
    moments = RunningMoments()
    for batch in np.array_split(table, [1, 7, 400, 401]):
        moments.update(batch)
    assert moments.count == len(table)
    np.testing.assert_allclose(moments.mean, table.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(moments.std, table.std(axis=0), rtol=1e-10)


def test_adapt_on_a_batched_dataset_equals_adapt_on_the_array(table):
    from_array, from_dataset = Standardization(), Standardization()
    assert from_array.adapt(table.astype("float32")) == len(table)
    assert from_dataset.adapt(tf.data.Dataset.from_tensor_slices(table.astype("float32")).batch(64)) == len(table)
    np.testing.assert_allclose(from_dataset.mean.numpy(), from_array.mean.numpy(), rtol=1e-7)
    np.testing.assert_allclose(from_dataset.scale.numpy(), from_array.scale.numpy(), rtol=1e-6)


def test_adapt_refuses_an_infinite_dataset(table):
    with pytest.raises(ValueError, match="infinite"):
        Standardization().adapt(tf.data.Dataset.from_tensor_slices(table).batch(8).repeat())


def test_constant_columns_are_centred_not_scaled():
    x = np.array([[1.0, 7.0, 0.0], [3.0, 7.0, 0.5 * SCALE_FLOOR], [5.0, 7.0, 0.0]])
    layer = Standardization()
    layer.adapt(x)
    np.testing.assert_allclose(layer.scale.numpy(), [np.std([1.0, 3.0, 5.0]), 1.0, 1.0], rtol=1e-6)
    out = layer(x).numpy()
    assert np.all(np.isfinite(out)) and np.allclose(out[:, 1], 0.0)


def test_inverse_undoes_the_standardisation_and_the_jacobian_matches_autodiff(table):
    layer = Standardization()
    layer.adapt(table[:, 1:])
    x = tf.constant(table[:5, 1:], tf.float32)
    np.testing.assert_allclose(layer.inverse(layer(x)).numpy(), x.numpy(), rtol=1e-5)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    jacobian = tape.batch_jacobian(y, x)[0].numpy()
    _, log_det = np.linalg.slogdet(jacobian)
    np.testing.assert_allclose(float(layer.log_det_jacobian()), log_det, rtol=1e-5)


def test_statistics_are_saved_with_a_model(tmp_path, table):
    inputs = keras.Input((3,))
    layer = Standardization()
    model = keras.Model(inputs, layer(inputs))
    layer.adapt(table)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(table[:4], verbose=0), model.predict(table[:4], verbose=0))


def test_bnn_adapts_from_a_dataset_as_from_arrays():
    from tfp_arch.plugins.bnn import BayesianMLP

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 2)).astype("float32") * 3 + 1, rng.normal(size=300).astype("float32") * 5 - 2
    from_arrays, from_dataset = BayesianMLP(hidden_units=[4]), BayesianMLP(hidden_units=[4])
    from_arrays.adapt(x, y)
    from_dataset.adapt(tf.data.Dataset.from_tensor_slices((x, y)).batch(32))
    for name in ("x_mean", "x_scale", "y_mean", "y_scale"):
        np.testing.assert_allclose(getattr(from_dataset, name).numpy(), getattr(from_arrays, name).numpy(), rtol=1e-5)
    np.testing.assert_allclose(from_arrays.x_scale.numpy(), x.std(axis=0), rtol=1e-5)
    np.testing.assert_allclose(from_arrays.y_mean.numpy(), y.mean(), rtol=1e-5)
    kl_weights = [float(layer.kl_weight_variable.numpy()) for layer in from_dataset.variational_layers]
    assert kl_weights == pytest.approx([1.0 / 300] * len(kl_weights))


@pytest.mark.slow
def test_maf_adapts_a_conditional_dataset_as_the_pair_of_arrays():
    from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel

    rng = np.random.default_rng(2)
    c, x = rng.normal(size=(200, 1)).astype("float32"), rng.normal(size=(200, 2)).astype("float32") * [2, 3]
    from_arrays = MaskedAutoregressiveFlowModel(num_transforms=1, hidden_units=[4], context_size=1)
    from_dataset = MaskedAutoregressiveFlowModel(num_transforms=1, hidden_units=[4], context_size=1)
    from_arrays.adapt((c, x))
    from_dataset.adapt(tf.data.Dataset.from_tensor_slices((c, x)).batch(50))
    np.testing.assert_allclose(from_dataset.data_std.numpy(), from_arrays.data_std.numpy(), rtol=1e-6)
    np.testing.assert_allclose(from_arrays.data_mean.numpy(), x.mean(axis=0), rtol=1e-5, atol=1e-7)
