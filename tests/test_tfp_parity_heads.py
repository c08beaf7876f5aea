"""Each distribution layer's output, called as a layer, has tfp.layers' log-probability (float32 and float64)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

tf_keras = pytest.importorskip("tf_keras", reason="tf_keras is not installed: nothing to compare with")
tfp = pytest.importorskip("tensorflow_probability")
tfpl, tfd = tfp.layers, tfp.distributions

from tfp_arch import layers  # noqa: E402

# (id, make, size): the same constructor call on both sides (`m` is the module, layers or tfpl; `d` the dtype).
CASES = [
    ("normal_scalar", lambda m, d: m.IndependentNormal(dtype=d), lambda m: m.IndependentNormal.params_size()),
    ("normal_matrix", lambda m, d: m.IndependentNormal([2, 3], dtype=d), lambda m: m.IndependentNormal.params_size([2, 3])),
    (
        "normal_int_tensor",
        lambda m, d: m.IndependentNormal(event_shape=tf.constant([2]), dtype=d),
        lambda m: m.IndependentNormal.params_size(tf.constant([2])),
    ),
    ("logistic", lambda m, d: m.IndependentLogistic(3, dtype=d), lambda m: m.IndependentLogistic.params_size(3)),
    ("bernoulli", lambda m, d: m.IndependentBernoulli([2, 2], dtype=d), lambda m: m.IndependentBernoulli.params_size([2, 2])),
    ("poisson", lambda m, d: m.IndependentPoisson(2, dtype=d), lambda m: m.IndependentPoisson.params_size(2)),
    ("mvn_tril", lambda m, d: m.MultivariateNormalTriL(3, dtype=d), lambda m: m.MultivariateNormalTriL.params_size(3)),
    ("one_hot", lambda m, d: m.OneHotCategorical(4, dtype=d), lambda m: m.OneHotCategorical.params_size(4)),
    (
        "mixture_one_hot",
        lambda m, d: m.CategoricalMixtureOfOneHotCategorical(4, 3, dtype=d),
        lambda m: m.CategoricalMixtureOfOneHotCategorical.params_size(4, 3),
    ),
    (
        "mixture_same_family",
        lambda m, d: m.MixtureSameFamily(3, m.IndependentNormal([2], dtype=d), dtype=d),
        lambda m: m.MixtureSameFamily.params_size(3, m.IndependentNormal.params_size([2])),
    ),
    ("mixture_normal", lambda m, d: m.MixtureNormal(3, [2], dtype=d), lambda m: m.MixtureNormal.params_size(3, [2])),
    ("mixture_logistic", lambda m, d: m.MixtureLogistic(2, 3, dtype=d), lambda m: m.MixtureLogistic.params_size(2, 3)),
]
IDS = [case[0] for case in CASES]
TOLERANCE = {"float32": 2e-5, "float64": 1e-10}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_params_size_is_tfps(case):
    _, _, size = case
    assert layers is not tfpl and size(layers) == int(size(tfpl))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_shape", [(5,), (2, 3)], ids=["batch", "batch2"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_layer_output_has_tfps_log_prob(case, batch_shape, dtype):
    _, make, size = case
    params = np.random.default_rng(len(batch_shape)).normal(scale=1.5, size=(*batch_shape, size(layers))).astype(dtype)
    theirs = make(tfpl, dtype)(tf.constant(params))
    rv = make(layers, dtype)(params)
    assert isinstance(rv, tfd.Distribution)
    y = theirs.sample(seed=1)
    assert tuple(rv.batch_shape) == tuple(theirs.batch_shape) and tuple(rv.event_shape) == tuple(theirs.event_shape)
    np.testing.assert_allclose(rv.log_prob(y), theirs.log_prob(y), rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def test_bernoulli_logits_as_convert_to_tensor_fn_gives_the_logits():
    params = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    ours = layers.IndependentBernoulli(3, tfd.Bernoulli.logits)(params)
    theirs = tfpl.IndependentBernoulli(3, tfd.Bernoulli.logits)(params)
    np.testing.assert_allclose(tf.convert_to_tensor(ours), tf.convert_to_tensor(theirs))
    np.testing.assert_allclose(tf.convert_to_tensor(ours), params)


@pytest.mark.parametrize("fn", [tfd.Distribution.mean, "mean", tfd.Distribution.mode])
def test_convert_to_tensor_fn_gives_tfps_tensor(fn):
    params = np.random.default_rng(2).normal(size=(4, 6)).astype("float32")
    ours = layers.IndependentNormal(3, convert_to_tensor_fn=fn)(params)
    theirs = tfpl.IndependentNormal(3, convert_to_tensor_fn=tfd.Distribution.mean)(params)
    np.testing.assert_allclose(tf.convert_to_tensor(ours), tf.convert_to_tensor(theirs), rtol=1e-6)


def test_distribution_lambda_matches_tfps():
    t = np.random.default_rng(3).normal(size=(6, 2)).astype("float32")

    def make(t):
        return tfd.Normal(loc=t[..., :1], scale=1e-3 + tf.math.softplus(0.05 * t[..., 1:]))

    ours, theirs = layers.DistributionLambda(make)(t), tfpl.DistributionLambda(make)(t)
    y = theirs.sample(seed=2)
    np.testing.assert_allclose(ours.log_prob(y), theirs.log_prob(y), rtol=1e-6)
    assert tf.convert_to_tensor(ours).shape == tf.convert_to_tensor(theirs).shape
