"""The public surface of variational layers: per-part posteriors, assigning with tensors, KL from the prior object."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_arch.layers import DenseVariational

tfd = tfp.distributions


def _built(d_in: int = 3, units: int = 2, **kwargs) -> DenseVariational:
    layer = DenseVariational(units, estimator="reparameterization", seed=0, **kwargs)
    layer.build((None, d_in))
    return layer


def test_assign_posterior_with_tensors_sets_the_kernel_and_bias_posteriors():
    layer = _built(scale_learning_rate_ratio=0.25)
    kernel_loc, kernel_scale = tf.reshape(tf.range(6, dtype=tf.float32), (3, 2)), tf.fill((3, 2), 0.3)
    layer.assign_posterior(kernel_loc=kernel_loc, kernel_scale=kernel_scale, bias_loc=tf.constant([-1.0, 1.0]))
    kernel, bias = layer.kernel_posterior(), layer.bias_posterior()
    np.testing.assert_allclose(kernel.loc.numpy(), kernel_loc.numpy())
    np.testing.assert_allclose(kernel.scale.numpy(), 0.3, rtol=1e-5)
    np.testing.assert_allclose(bias.loc.numpy(), [-1.0, 1.0])
    np.testing.assert_allclose(bias.scale.numpy(), 0.02, rtol=1e-4)
    joint = layer.posterior_distribution()
    np.testing.assert_allclose(joint.mean().numpy(), np.concatenate([kernel_loc.numpy().ravel(), [-1.0, 1.0]]))


def test_correlated_families_give_their_marginals_and_refuse_scales():
    layer = _built(posterior_family="low_rank", posterior_rank=1)
    layer.assign_posterior(bias_loc=np.array([0.5, -0.5], "float32"))
    covariance = layer.posterior_distribution().covariance().numpy()
    marginal = np.sqrt(np.diag(covariance)).reshape(4, 2)
    np.testing.assert_allclose(layer.kernel_posterior().scale.numpy(), marginal[:3], rtol=1e-5)
    np.testing.assert_allclose(layer.bias_posterior().loc.numpy(), [0.5, -0.5])
    with pytest.raises(ValueError, match="`kernel_scale`: only the mean-field posterior"):
        layer.assign_posterior(kernel_scale=np.ones((3, 2)))


def _gaussian_kl(mean_q, cov_q, mean_p, var_p):
    """KL(N(mean_q, cov_q) || N(mean_p, diag(var_p))) in float64 NumPy."""
    diff = mean_p - mean_q
    return 0.5 * (np.sum(np.diag(cov_q) / var_p) + np.sum(diff**2 / var_p) - len(mean_q)
                  + np.sum(np.log(var_p)) - np.linalg.slogdet(cov_q)[1])


@pytest.mark.parametrize("family", ["mean_field", "multivariate_normal_tril", "low_rank"])
@pytest.mark.parametrize("prior", ["normal", "empirical_bayes", "trainable_normal"])
def test_closed_form_kl_matches_the_gaussian_formula_in_float64(family, prior):
    layer = _built(posterior_family=family, prior=prior, prior_scale=0.7, posterior_rank=2)
    rng = np.random.default_rng(1)
    for variable in layer.trainable_variables:
        variable.assign((rng.normal(0.0, 0.4, variable.shape) - (1.0 if "rho" in variable.name else 0.0)).astype("float32"))
    q, p = layer.posterior_distribution(), layer.prior_distribution()
    covariance = np.diag(q.variance().numpy()) if family == "mean_field" else q.covariance().numpy()
    expected = _gaussian_kl(q.mean().numpy().astype(np.float64), covariance.astype(np.float64),
                            p.mean().numpy().astype(np.float64), p.variance().numpy().astype(np.float64))
    assert float(layer.kl_divergence()) == pytest.approx(expected, rel=1e-4)
