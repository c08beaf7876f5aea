"""BlockwiseInitializer: TFP's blocks for deterministic initializers, random blocks, errors, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tensorflow_probability.python.layers.initializers import BlockwiseInitializer as TfpBlockwiseInitializer

from tfp_arch.layers import BlockwiseInitializer


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 4, 5)])
def test_constant_blocks_equal_tfps(shape, dtype):
    ours = BlockwiseInitializer(["zeros", keras.initializers.Constant(0.5413), "ones"], sizes=[2, 1, 2])
    theirs = TfpBlockwiseInitializer(["zeros", tf_keras.initializers.Constant(0.5413), "ones"], sizes=[2, 1, 2])
    got, expected = ours(shape, dtype=dtype), theirs(shape, dtype=dtype)
    assert got.dtype == dtype
    # Keras 3's Constant holds its value in float32, tf_keras' in float64: equal to float32 precision.
    np.testing.assert_allclose(np.asarray(got), expected.numpy(), rtol=1e-7, atol=0)


def test_random_block_follows_its_initializer():
    values = np.asarray(BlockwiseInitializer([keras.initializers.RandomNormal(3.0, 0.1, seed=1), "ones"],
                                             sizes=tf.constant([400, 2]))((50, 402)))
    assert abs(values[:, :400].mean() - 3.0) < 0.01 and abs(values[:, :400].std() - 0.1) < 0.01
    np.testing.assert_array_equal(values[:, 400:], 1.0)


def test_sizes_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="`sizes`"):
        BlockwiseInitializer(["zeros", "ones"], sizes=[2, 2])((3, 5))
    with pytest.raises(ValueError, match="`sizes`"):
        BlockwiseInitializer(["zeros", "ones"], sizes=[2])


@pytest.mark.slow
def test_layer_with_the_initializer_round_trips(tmp_path):
    init = BlockwiseInitializer(["zeros", keras.initializers.Constant(-3.0)], sizes=[2, 2])
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, bias_initializer=init)])
    np.testing.assert_array_equal(model.layers[0].bias.numpy(), [0.0, 0.0, -3.0, -3.0])
    path = tmp_path / "blockwise.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    again = loaded.layers[0].bias_initializer
    assert isinstance(again, BlockwiseInitializer) and again.sizes == [2, 2]
    np.testing.assert_array_equal(np.asarray(again((4,))), [0.0, 0.0, -3.0, -3.0])
