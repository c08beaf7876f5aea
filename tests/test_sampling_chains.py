"""`Flow.sample` splits a draw into independent parts: the same samples for any number of parts."""

import numpy as np
import pytest
import tensorflow as tf

from tfp_arch.layers.flows.flow import MAX_SAMPLING_CHAINS, MaskedAutoregressiveFlow, sampling_chains
from tfp_arch.layers.flows.nsf import NeuralSplineFlow

D = 4


def _flow(kind: str, context_size: int | None):
    common = {"num_transforms": 2, "hidden_units": [10, 10], "context_size": context_size}
    if kind == "maf":
        flow = MaskedAutoregressiveFlow(batch_norm=True, **common)
    else:
        flow = NeuralSplineFlow(coupling=kind == "coupling", bins=4, **common)
    flow.build((None, D))
    rng = np.random.default_rng(0)
    for weight in flow.trainable_weights:
        weight.assign(0.3 * rng.normal(size=weight.shape).astype("float32"))
    return flow


@pytest.mark.parametrize(
    ("kind", "context_size", "n"),
    [pytest.param("maf", None, 1), pytest.param("maf", None, 50, marks=pytest.mark.slow)]
    + [
        pytest.param(kind, context_size, 2, marks=pytest.mark.slow)
        for kind in ("maf", "autoregressive", "coupling")
        for context_size in (None, 2)
        if (kind, context_size) != ("maf", None)
    ],
)
def test_any_number_of_chains_draws_the_same_samples(kind, context_size, n):
    """1, 2 and 3 parts give the same samples, also when a part is empty (n < parts): two rows in three
    parts leave one empty and two in two parts give one each, so n=2 covers both cases for every flow."""
    context = None if context_size is None else np.random.default_rng(1).normal(size=(n, context_size)).astype("float32")
    draws = []
    for chains in (1, 2, 3):
        flow = _flow(kind, context_size)
        flow.sample_chains = chains
        draws.append(flow.sample(n, context=context, seed=5).numpy())
    assert draws[0].shape == (n, D)
    assert np.all(np.isfinite(draws[0]))
    for draw in draws[1:]:
        np.testing.assert_allclose(draw, draws[0], rtol=1e-5, atol=1e-5)
    if context is None:
        z = tf.random.stateless_normal([n, D], seed=[5, 0], alg="philox").numpy()
        flow = _flow(kind, context_size)
        np.testing.assert_allclose(flow.inverse(draws[1]).numpy(), z, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("chains", [0, -1, 1.5, True])
def test_an_invalid_number_of_chains_is_refused_naming_it(chains):
    flow = _flow("maf", None)
    flow.sample_chains = chains
    with pytest.raises(ValueError, match="sample_chains"):
        flow.sample(5)


@pytest.mark.parametrize(("threads", "cores", "expected"), [(1, 8, 1), (3, 8, 3), (16, 1, MAX_SAMPLING_CHAINS),
                                                          (0, 3, 3), (0, 1, 1)])
def test_the_default_follows_the_cpu_threads(monkeypatch, threads, cores, expected):
    """TensorFlow's inter-op threads, or the usable cores when that setting is 0 (TensorFlow's "choose")."""
    assert 1 <= sampling_chains() <= MAX_SAMPLING_CHAINS
    monkeypatch.setattr(tf.config.threading, "get_inter_op_parallelism_threads", lambda: threads)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    assert sampling_chains() == expected
