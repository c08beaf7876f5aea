"""Neural spline flows: Jacobian structure, coupling masks, the `nsf` model (the contract: test_flow_contract.py)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfp_arch.flows import FlowModel
from tfp_arch.layers.flows.autoregressive import MaskedAutoregressiveTransform
from tfp_arch.layers.flows.coupling import CouplingTransform
from tfp_arch.layers.flows.nsf import NeuralSplineFlow, coupling_mask
from tfp_arch.layers.flows.spline import RationalQuadraticSplineTransformer
from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel
from tfp_arch.plugins.nsf import NeuralSplineFlowModel

KINDS = [{"coupling": False}, {"coupling": True}]


def _data(n: int = 16, size: int = 3, seed: int = 1, scale: float = 1.5) -> np.ndarray:
    return (scale * np.random.default_rng(seed).normal(size=(n, size))).astype("float32")


def _jacobian(transform, x: np.ndarray) -> np.ndarray:
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        z, _ = transform.inverse_and_log_det(tensor)
    return tape.batch_jacobian(z, tensor).numpy()


def test_autoregressive_spline_transform_has_a_triangular_jacobian_in_its_order():
    transform = MaskedAutoregressiveTransform(
        RationalQuadraticSplineTransformer(bins=4, bound=3.0), hidden_units=[16, 16], input_order=[3, 1, 4, 2]
    )
    transform.build((None, 4))
    rng = np.random.default_rng(0)
    for weight in transform.trainable_weights:
        weight.assign(0.5 * rng.normal(size=weight.shape).astype("float32"))
    jacobian = _jacobian(transform, _data(32, size=4))
    rank = np.asarray(transform.made.degrees[0])
    later = rank[None, :] > rank[:, None]
    assert np.all(jacobian[:, later] == 0.0)
    assert np.all(np.diagonal(jacobian, axis1=1, axis2=2) > 0.0)
    earlier = rank[None, :] < rank[:, None]
    assert np.all(np.abs(jacobian).sum(axis=0)[earlier] > 0.0)


def test_coupling_transform_keeps_one_half_and_maps_the_other_element_wise():
    mask = [True, False, True, False]
    transform = CouplingTransform(mask, RationalQuadraticSplineTransformer(bins=4, bound=3.0), hidden_units=[16])
    transform.build((None, 4))
    rng = np.random.default_rng(1)
    for weight in transform.trainable_weights:
        weight.assign(0.5 * rng.normal(size=weight.shape).astype("float32"))
    jacobian = _jacobian(transform, _data(32, size=4))
    mapped, kept = np.asarray(mask), ~np.asarray(mask)
    np.testing.assert_array_equal(jacobian[:, kept][:, :, kept], np.broadcast_to(np.eye(2), (32, 2, 2)))
    np.testing.assert_array_equal(jacobian[:, kept][:, :, mapped], 0.0)
    block = jacobian[:, mapped][:, :, mapped]
    np.testing.assert_array_equal(block * (1 - np.eye(2)), 0.0)
    assert np.all(np.diagonal(block, axis1=1, axis2=2) > 0.0)
    assert np.all(np.abs(jacobian[:, mapped][:, :, kept]).sum(axis=0) > 0.0)


def test_coupling_masks_alternate_or_are_seeded_halves():
    assert coupling_mask(5, "reverse", 0) == [False, False, True, True, True]
    assert coupling_mask(5, "reverse", 1) == [True, True, False, False, False]
    random = coupling_mask(6, "random", 2, seed=1)
    assert sum(random) == 3 and random == coupling_mask(6, "random", 2, seed=1)
    with pytest.raises(ValueError, match="`order`"):
        coupling_mask(4, "fixed", 0)
    with pytest.raises(ValueError, match="at least 2"):
        coupling_mask(1, "reverse", 0)
    with pytest.raises(ValueError, match="`order`"):
        NeuralSplineFlow(coupling=True, order="fixed")


@pytest.mark.slow
def test_nsf_model_has_maf_metrics_and_forwards_the_spline_arguments():
    model = NeuralSplineFlowModel(num_transforms=2, hidden_units=[8], bins=4, bound=4.0, coupling=True)
    assert model.flow.coupling and model.flow.transformer.bins == 4 and model.flow.transformer.bound == 4.0
    assert issubclass(NeuralSplineFlowModel, FlowModel) and issubclass(MaskedAutoregressiveFlowModel, FlowModel)
    assert NeuralSplineFlowModel.architecture_name == "nsf"
    x = _data(200, size=2, scale=2.0) + 5.0
    model.fit(x, epochs=1, verbose=0)
    maf = MaskedAutoregressiveFlowModel(num_transforms=1, hidden_units=[4])
    maf.fit(x, epochs=1, verbose=0)
    assert model.evaluate_metrics(x).keys() == maf.evaluate_metrics(x).keys()
    assert model.get_config()["bins"] == 4 and model.get_config()["coupling"] is True


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", KINDS)
def test_conditional_nsf_round_trips_through_a_keras_file(tmp_path, kwargs):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(3)
    context = rng.choice([-1.0, 1.0], size=(400, 1)).astype("float32")
    x = (np.concatenate([2.0 * context, -context], axis=1) + 0.3 * rng.normal(size=(400, 2))).astype("float32")
    model = NeuralSplineFlowModel(num_transforms=2, hidden_units=[16], bins=4, context_size=1, **kwargs)
    model.fit((context, x), epochs=2, verbose=0)
    model.save(tmp_path / "nsf.keras")
    loaded = keras.saving.load_model(tmp_path / "nsf.keras")
    assert isinstance(loaded, NeuralSplineFlowModel)
    np.testing.assert_allclose(loaded.log_prob(x, context=context), model.log_prob(x, context=context), rtol=1e-5)
    c = np.array([1.0], "float32")
    np.testing.assert_allclose(loaded.sample(20, seed=3, context=c), model.sample(20, seed=3, context=c), rtol=1e-5)


@pytest.mark.slow
def test_xla_is_on_by_default_on_one_replica():
    model = NeuralSplineFlowModel(num_transforms=1, hidden_units=[4], bins=2)
    model.compile()
    assert model.jit_compile is True
