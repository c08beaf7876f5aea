"""The distribution heads under test, each with its TFP counterpart and a sampler of targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tfp_arch import layers


@dataclass(frozen=True)
class HeadCase:
    """One head: how to build ours and TFP's, the `params_size` arguments, and targets it can score."""

    id: str
    make: Callable[[], layers.DistributionHead]
    make_tfp: Callable[[Any], Any]
    size: Callable[[Any], int]
    targets: Callable[[np.random.Generator, int], np.ndarray]
    ordered: bool = True


def _normal(shape):
    return lambda rng, n: rng.normal(size=(n, *shape)).astype("float32")


def _binary(shape):
    return lambda rng, n: rng.integers(0, 2, size=(n, *shape)).astype("float32")


def _counts(shape):
    return lambda rng, n: rng.poisson(2.0, size=(n, *shape)).astype("float32")


def _one_hot(k):
    return lambda rng, n: np.eye(k, dtype="float32")[rng.integers(0, k, size=n)]


CASES = [
    HeadCase("normal_scalar", lambda: layers.IndependentNormal(), lambda p: p.IndependentNormal(),
             lambda c: c.IndependentNormal.params_size(), _normal(())),
    HeadCase("normal_2x3", lambda: layers.IndependentNormal([2, 3]), lambda p: p.IndependentNormal([2, 3]),
             lambda c: c.IndependentNormal.params_size([2, 3]), _normal((2, 3))),
    HeadCase("logistic_2", lambda: layers.IndependentLogistic(2), lambda p: p.IndependentLogistic(2),
             lambda c: c.IndependentLogistic.params_size(2), _normal((2,))),
    HeadCase("bernoulli_4", lambda: layers.IndependentBernoulli(4), lambda p: p.IndependentBernoulli(4),
             lambda c: c.IndependentBernoulli.params_size(4), _binary((4,))),
    HeadCase("poisson_3", lambda: layers.IndependentPoisson(3), lambda p: p.IndependentPoisson(3),
             lambda c: c.IndependentPoisson.params_size(3), _counts((3,))),
    HeadCase("one_hot_5", lambda: layers.OneHotCategorical(5), lambda p: p.OneHotCategorical(5),
             lambda c: c.OneHotCategorical.params_size(5), _one_hot(5), ordered=False),
    HeadCase("categorical_mixture_4x3", lambda: layers.CategoricalMixtureOfOneHotCategorical(4, 3),
             lambda p: p.CategoricalMixtureOfOneHotCategorical(4, 3),
             lambda c: c.CategoricalMixtureOfOneHotCategorical.params_size(4, 3), _one_hot(4), ordered=False),
    HeadCase("mvn_tril_3", lambda: layers.MultivariateNormalTriL(3), lambda p: p.MultivariateNormalTriL(3),
             lambda c: c.MultivariateNormalTriL.params_size(3), _normal((3,))),
    HeadCase("mixture_normal_3", lambda: layers.MixtureNormal(3), lambda p: p.MixtureNormal(3),
             lambda c: c.MixtureNormal.params_size(3), _normal(())),
    HeadCase("mixture_normal_3x2", lambda: layers.MixtureNormal(3, [2]), lambda p: p.MixtureNormal(3, [2]),
             lambda c: c.MixtureNormal.params_size(3, [2]), _normal((2,))),
    HeadCase("mixture_logistic_2x2", lambda: layers.MixtureLogistic(2, 2), lambda p: p.MixtureLogistic(2, 2),
             lambda c: c.MixtureLogistic.params_size(2, 2), _normal((2,))),
    HeadCase("mixture_same_family_normal", lambda: layers.MixtureSameFamily(3, layers.IndependentNormal(2)),
             lambda p: p.MixtureSameFamily(3, p.IndependentNormal(2)),
             lambda c: c.MixtureSameFamily.params_size(3, c.IndependentNormal.params_size(2)), _normal((2,))),
    HeadCase("mixture_same_family_mvn", lambda: layers.MixtureSameFamily(2, layers.MultivariateNormalTriL(2)),
             lambda p: p.MixtureSameFamily(2, p.MultivariateNormalTriL(2)),
             lambda c: c.MixtureSameFamily.params_size(2, c.MultivariateNormalTriL.params_size(2)), _normal((2,))),
    HeadCase("mixture_same_family_poisson", lambda: layers.MixtureSameFamily(2, layers.IndependentPoisson()),
             lambda p: p.MixtureSameFamily(2, p.IndependentPoisson()),
             lambda c: c.MixtureSameFamily.params_size(2, c.IndependentPoisson.params_size()), _counts(())),
]

CASE_IDS = [case.id for case in CASES]
