"""Keras' export (and `tf.saved_model.save`) of a model with a distribution output serves what `predict` returns."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch import layers

tfd = tfp.distributions
N = 16


def _x(n: int = N) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 3)).astype("float32")


def _sequential(*heads):
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), *heads])


def _functional(*heads):
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(2)(inputs)
    for head in heads:
        outputs = head(outputs)
    return keras.Model(inputs, outputs)


class Subclassed(keras.Model):
    def __init__(self, *heads):
        super().__init__()
        self.dense = keras.layers.Dense(2)
        self.heads = list(heads)

    def call(self, x):
        outputs = self.dense(x)
        for head in self.heads:
            outputs = head(outputs)
        return outputs


STYLES = {"sequential": _sequential, "functional": _functional, "subclassed": Subclassed}


def _exported(model, x, path):
    model(x)
    model.export(str(path), verbose=False)
    return tf.saved_model.load(str(path))


@pytest.mark.parametrize("style", STYLES, ids=list(STYLES))
def test_served_output_is_the_predicted_tensor(style, tmp_path):
    x = _x()
    model = STYLES[style](layers.IndependentNormal(1, convert_to_tensor_fn=tfd.Distribution.mean))
    loaded = _exported(model, x, tmp_path / "model")
    served = loaded.serve(x)
    assert isinstance(served, tf.Tensor)
    np.testing.assert_allclose(served.numpy(), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


def test_the_signature_outputs_one_tensor_of_the_predicted_shape(tmp_path):
    x = _x()
    loaded = _exported(_sequential(layers.IndependentNormal(1, convert_to_tensor_fn="mean")), x, tmp_path / "m")
    outputs = loaded.signatures["serving_default"].structured_outputs
    assert list(outputs) == ["output_0"]
    assert outputs["output_0"].shape.as_list() == [None, 1] and outputs["output_0"].dtype == tf.float32


OTHER_OUTPUTS = {
    "multivariate_normal_tril": lambda: [
        keras.layers.Dense(layers.MultivariateNormalTriL.params_size(2)),
        layers.MultivariateNormalTriL(2, convert_to_tensor_fn="mean"),
    ],
    "independent_bernoulli_logits": lambda: [
        keras.layers.Dense(3),
        layers.IndependentBernoulli(3, tfd.Bernoulli.logits),
    ],
    "dense_variational_then_head": lambda: [
        layers.DenseVariational(2),
        layers.IndependentNormal(1, convert_to_tensor_fn="mean"),
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("output", OTHER_OUTPUTS, ids=list(OTHER_OUTPUTS))
def test_other_distribution_outputs_serve_the_predicted_tensor(output, tmp_path):
    x = _x()
    model = keras.Sequential([keras.Input((3,)), *OTHER_OUTPUTS[output]()])
    loaded = _exported(model, x, tmp_path / "m")
    np.testing.assert_allclose(loaded.serve(x).numpy(), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_a_mixture_serves_its_mean(tmp_path):
    x = _x()
    head = layers.MixtureNormal(2, [1], convert_to_tensor_fn=tfd.Distribution.mean)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(layers.MixtureNormal.params_size(2, [1])), head])
    loaded = _exported(model, x, tmp_path / "m")
    served = loaded.serve(x).numpy()
    np.testing.assert_allclose(served, model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(served, model(x).mean().numpy(), rtol=1e-6, atol=1e-7)


def test_a_sampling_output_serves_draws_of_its_distribution(tmp_path):
    x = np.repeat(_x(1), 4000, axis=0)
    model = _sequential(layers.DistributionLambda(lambda t: tfd.Normal(loc=t[..., :1], scale=1.0)))
    loaded = _exported(model, x, tmp_path / "m")
    draws = loaded.serve(x).numpy()
    rv = model(x)
    assert draws.shape == (4000, 1) and np.all(np.isfinite(draws))
    assert len(np.unique(draws)) > 3900  # float32 draws, a few may coincide
    assert abs(draws.mean() - rv.mean().numpy()[0, 0]) < 4 / np.sqrt(4000)  # 4 standard errors
    assert abs(draws.std() - 1.0) < 0.05


def test_export_archive_endpoints_of_the_output_and_of_its_statistics(tmp_path):
    x = _x()
    model = _functional(layers.IndependentNormal(1, convert_to_tensor_fn="mean"))
    model(x)
    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = [keras.InputSpec(shape=(None, 3), dtype="float32")]
    archive.add_endpoint("serve", model.call, input_signature=spec)
    archive.add_endpoint("stats", lambda t: {"mean": model(t).mean(), "stddev": model(t).stddev()}, spec)
    archive.write_out(str(tmp_path / "m"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    rv = model(x)
    np.testing.assert_allclose(loaded.serve(x).numpy(), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    stats = loaded.stats(x)
    np.testing.assert_allclose(stats["stddev"].numpy(), rv.stddev().numpy(), rtol=1e-6)


def test_a_tf_function_traced_before_add_endpoint_serves_the_predicted_tensor(tmp_path):
    x = _x()
    model = _sequential(layers.IndependentNormal(1, convert_to_tensor_fn="mean"))
    serve = tf.function(lambda t: model(t))
    assert isinstance(serve(x), tfd.Independent)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve)
    archive.write_out(str(tmp_path / "m"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    np.testing.assert_allclose(loaded.serve(x).numpy(), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


def test_tf_saved_model_save_of_the_model_serves_the_predicted_tensor(tmp_path):
    x = _x()
    model = _functional(layers.IndependentNormal(1, convert_to_tensor_fn="mean"))
    model(x)
    tf.saved_model.save(model, str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    served = loaded.signatures["serving_default"](tf.constant(x))
    (output,) = served.values()
    np.testing.assert_allclose(output.numpy(), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


def test_a_tf_function_still_returns_the_distribution_after_an_export(tmp_path):
    x = _x()
    model = _sequential(layers.IndependentNormal(1, convert_to_tensor_fn="mean"))
    _exported(model, x, tmp_path / "m")
    assert isinstance(tf.function(model)(x), tfd.Independent)


@pytest.mark.slow
@pytest.mark.parametrize("style", STYLES, ids=list(STYLES))
def test_a_variational_network_serves_draws_with_the_predicted_moments(style, tmp_path):
    x = np.repeat(_x(2), 500, axis=0)
    model = STYLES[style](layers.DenseFlipout(2), layers.IndependentNormal(1, convert_to_tensor_fn="mean"))
    loaded = _exported(model, x, tmp_path / "m")
    served = np.stack([loaded.serve(x).numpy() for _ in range(20)])
    predicted = np.stack([model.predict(x, batch_size=1000, verbose=0) for _ in range(20)])
    assert served.shape == predicted.shape == (20, 1000, 1) and np.all(np.isfinite(served))
    assert len(np.unique(served[:, :500])) > 1  # the weights are drawn at each call
    for rows in (slice(0, 500), slice(500, 1000)):  # the draws of one call are correlated (one weight draw)
        mean, std = predicted[:, rows].mean(), predicted[:, rows].std()
        assert abs(served[:, rows].mean() - mean) < 4 * std / np.sqrt(len(served))
        assert 0.5 < served[:, rows].std() / std < 2.0


@pytest.mark.slow
def test_the_exported_model_loads_without_tfp_arch_tensorflow_probability_or_keras(tmp_path):
    x = _x()
    model = _sequential(layers.IndependentNormal(1, convert_to_tensor_fn="mean"))
    _exported(model, x, tmp_path / "m")
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys\n"
        "for name in ('tfp_arch', 'tensorflow_probability', 'keras', 'tf_keras'): sys.modules[name] = None\n"
        "import numpy as np, tensorflow as tf\n"
        f"loaded = tf.saved_model.load({str(tmp_path / 'm')!r})\n"
        f"out = loaded.serve(np.load({str(tmp_path / 'x.npy')!r}))\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, out.numpy())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
