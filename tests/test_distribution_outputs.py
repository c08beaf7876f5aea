"""A distribution layer as a model's output: model(x) is a distribution, fit, predict, chaining and saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch import layers, losses

tfd = tfp.distributions
tfb = tfp.bijectors
N = 64


@keras.saving.register_keras_serializable(package="test_distribution_outputs")
def normal_from(t):
    return tfd.Normal(loc=t[..., :1], scale=1e-3 + tf.math.softplus(0.05 * t[..., 1:]))


@keras.saving.register_keras_serializable(package="test_distribution_outputs")
def scaled_normal_from(t):
    return tfd.TransformedDistribution(normal_from(t), tfb.Scale(2.0))


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 3)).astype("float32")
    return x, (x[:, :1] * 2.0 + 0.1 * rng.normal(size=(N, 1))).astype("float32")


def _sequential(head):
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), head])


def _functional(head):
    inputs = keras.Input((3,))
    return keras.Model(inputs, head(keras.layers.Dense(2)(inputs)))


class Subclassed(keras.Model):
    def __init__(self, head):
        super().__init__()
        self.dense = keras.layers.Dense(2)
        self.head = head

    def call(self, x):
        return self.head(self.dense(x))


STYLES = {"sequential": _sequential, "functional": _functional, "subclassed": Subclassed}
HEADS = {
    "distribution_lambda": lambda: layers.DistributionLambda(normal_from),
    "independent_normal": lambda: layers.IndependentNormal(1),
}


@pytest.mark.parametrize("head", HEADS, ids=list(HEADS))
@pytest.mark.parametrize("style", STYLES, ids=list(STYLES))
def test_model_call_returns_a_distribution(style, head):
    x, y = _data()
    rv = STYLES[style](HEADS[head]())(x)
    assert isinstance(rv, tfd.Distribution)
    assert rv.mean().shape == (N, 1) and rv.stddev().shape == (N, 1) and rv.sample().shape == (N, 1)
    assert rv.log_prob(y).shape == (N, 1) if head == "distribution_lambda" else rv.log_prob(y).shape == (N,)


def _expected_nll(model, x, y):
    rv = model(x)
    return float(-np.mean(rv.log_prob(np.reshape(y, rv.batch_shape.concatenate(rv.event_shape)))))


@pytest.mark.slow
@pytest.mark.parametrize(
    "loss", [lambda y, rv: -rv.log_prob(y), losses.NegativeLogLikelihood()], ids=["lambda", "negative_log_likelihood"]
)
@pytest.mark.parametrize("style", STYLES, ids=list(STYLES))
def test_fit_minimises_the_negative_log_likelihood(style, loss):
    keras.utils.set_random_seed(0)
    x, y = _data()
    model = STYLES[style](layers.DistributionLambda(normal_from))
    model.compile(keras.optimizers.Adam(0.05), loss=loss)
    before = model.evaluate(x, y, batch_size=N, verbose=0)
    np.testing.assert_allclose(before, _expected_nll(model, x, y), rtol=1e-5)
    model.fit(x, y, batch_size=16, epochs=10, verbose=0)
    assert model.evaluate(x, y, batch_size=N, verbose=0) < before


def test_lambda_loss_with_flat_targets_scores_one_target_per_example():
    x, y = _data()
    model = _sequential(layers.DistributionLambda(normal_from))
    model.compile("adam", loss=lambda y, rv: -rv.log_prob(y))
    np.testing.assert_allclose(
        model.evaluate(x, y[:, 0], batch_size=N, verbose=0), _expected_nll(model, x, y), rtol=1e-5
    )


@pytest.mark.parametrize("fn, name", [(tfd.Distribution.mean, "mean"), ("stddev", "stddev")])
def test_predict_gives_the_convert_to_tensor_fn_tensor(fn, name):
    x, _ = _data()
    model = _sequential(layers.DistributionLambda(normal_from, convert_to_tensor_fn=fn))
    np.testing.assert_allclose(model.predict(x, verbose=0), getattr(model(x), name)(), rtol=1e-5)


@pytest.mark.parametrize("style", STYLES, ids=list(STYLES))
def test_predict_of_a_transformed_distribution_gives_the_convert_to_tensor_fn_tensor(style):
    x, y = _data()
    model = STYLES[style](layers.DistributionLambda(scaled_normal_from, convert_to_tensor_fn=tfd.Distribution.mean))
    rv = model(x)
    assert isinstance(rv, tfd.TransformedDistribution)
    predicted = model.predict(x, batch_size=16, verbose=0)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (N, 1)
    np.testing.assert_allclose(predicted, rv.mean(), rtol=1e-5)
    dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    np.testing.assert_allclose(predicted, 2.0 * dense(x)[:, :1], rtol=1e-5)  # the mean of 2 * Normal(loc, scale)
    model.compile("adam", loss=lambda y, rv: -rv.log_prob(y))
    assert np.isfinite(model.fit(x, y, batch_size=16, epochs=1, verbose=0).history["loss"][0])


def test_predict_samples_a_transformed_distribution_by_default():
    x, _ = _data()
    model = _sequential(layers.DistributionLambda(lambda t: tfd.TransformedDistribution(normal_from(t), tfb.Exp())))
    samples = model.predict(x, batch_size=16, verbose=0)
    assert samples.shape == (N, 1) and np.all(samples > 0)
    assert len(np.unique(samples)) == N


def test_a_tf_function_returns_the_distribution_output_as_itself():
    x, _ = _data()
    model = _sequential(layers.DistributionLambda(scaled_normal_from, convert_to_tensor_fn=tfd.Distribution.mean))
    rv = tf.function(model)(x)
    assert isinstance(rv, tfd.TransformedDistribution)
    np.testing.assert_allclose(np.asarray(rv), model(x).mean(), rtol=1e-5)


def test_a_distribution_output_leaves_tfps_own_type_specs_registered(tmp_path):
    _sequential(layers.DistributionLambda(normal_from))(_data()[0])
    module = tf.Module()
    module.normal = tf.function(lambda loc: tfd.Normal(loc, 1.0), input_signature=[tf.TensorSpec([None])])
    tf.saved_model.save(module, str(tmp_path))
    assert isinstance(tf.saved_model.load(str(tmp_path)).normal(tf.zeros([2])), tfd.Normal)


def test_a_following_layer_receives_the_tensor():
    x, _ = _data()
    head = layers.IndependentNormal(1, convert_to_tensor_fn="mean")
    dense = keras.layers.Dense(4)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), head, dense])
    out = model(x)
    expected = dense(model.layers[0](x)[:, :1])
    np.testing.assert_allclose(out, expected, rtol=1e-5)


@pytest.mark.slow
def test_distribution_output_as_the_input_of_a_decoder_model():
    x, _ = _data()
    encoder = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(layers.MultivariateNormalTriL.params_size(2)),
            layers.MultivariateNormalTriL(2),
        ]
    )
    decoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(3), layers.IndependentBernoulli(3, tfd.Bernoulli.logits)]
    )
    vae = keras.Model(encoder.inputs, decoder(encoder.outputs[0]))
    vae.compile("adam", loss=lambda x, rv: -rv.log_prob(x))
    binary = (x > 0).astype("float32")
    history = vae.fit(x, binary, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert isinstance(vae(x), tfd.Independent) and vae.predict(x, verbose=0).shape == (N, 3)


LAYERS = {
    "distribution_lambda": lambda: layers.DistributionLambda(normal_from, "mean"),
    "transformed_distribution": lambda: layers.DistributionLambda(scaled_normal_from, "mean"),
    "independent_normal": lambda: layers.IndependentNormal(1, tfd.Distribution.mean),
    "independent_bernoulli_logits": lambda: layers.IndependentBernoulli(2, tfd.Bernoulli.logits),
    "mixture_normal": lambda: keras.Sequential([keras.layers.Dense(6), layers.MixtureNormal(2, 1, "mean")]),
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=list(LAYERS))
def test_keras_file_round_trip(make, tmp_path):
    x, _ = _data()
    model = _sequential(make())
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert isinstance(restored(x), tfd.Distribution)


def test_variable_layer_round_trip(tmp_path):
    model = keras.Sequential(
        [keras.Input((3,)), layers.VariableLayer([2, 2], activation="softplus", initializer="ones")]
    )
    model.save(tmp_path / "v.keras")
    restored = keras.saving.load_model(tmp_path / "v.keras")
    np.testing.assert_allclose(restored(np.zeros((1, 3))), np.full((2, 2), np.log1p(np.e)), rtol=1e-6)


@pytest.mark.slow
def test_an_unregistered_lambda_is_refused_at_save_in_one_line_and_leaves_no_file(tmp_path):
    model = _sequential(layers.DistributionLambda(lambda t: tfd.Normal(t[..., :1], 1.0), name="likelihood"))
    with pytest.raises(
        ValueError, match=r"DistributionLambda.*'likelihood'.*make_distribution_fn.*register_keras_serializable"
    ) as error:
        model.save(tmp_path / "model.keras")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.slow
def test_float64_output_trains_with_the_saved_loss_and_a_lambda_gets_a_one_line_error():
    x, y = _data()
    x, y = x.astype("float64"), y.astype("float64")

    def model():
        return keras.Sequential(
            [
                keras.Input((3,), dtype="float64"),
                keras.layers.Dense(2, dtype="float64"),
                layers.IndependentNormal(1, dtype="float64"),
            ]
        )

    ours = model()
    ours.compile("adam", loss=losses.NegativeLogLikelihood())
    assert np.isfinite(ours.fit(x, y, epochs=1, verbose=0).history["loss"][0])
    lam = model()
    lam.compile("adam", loss=lambda y, rv: -rv.log_prob(y))
    with pytest.raises(TypeError, match=r"float64 distribution output.*NegativeLogLikelihood\(\)") as error:
        lam.fit(x, y, epochs=1, verbose=0)
    assert "\n" not in str(error.value)
