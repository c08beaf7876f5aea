"""The batched-prediction helper: chunked calls of one traced function."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfp_arch.batching import BatchedFunction


def test_chunks_give_the_whole_call_and_calls_reuse_the_trace():
    x = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
    weights = tf.constant([[1.0], [2.0], [3.0]])
    batched = BatchedFunction(lambda chunk: tf.matmul(chunk, weights)[:, 0], batch_size=4)
    np.testing.assert_allclose(batched(x), x @ weights.numpy()[:, 0], rtol=1e-6)
    traces = batched.function.experimental_get_tracing_count()
    assert traces <= 2  # the full chunk, then one relaxed to any number of rows
    batched(x[:7])
    batched(x[:1])
    assert batched.function.experimental_get_tracing_count() == traces


@pytest.mark.slow
def test_nested_inputs_and_outputs_and_extra_arguments():
    c, x = np.arange(5.0)[:, None], np.ones((5, 2))
    batched = BatchedFunction(lambda pair, shift: (pair[0] + shift, tf.reduce_sum(pair[1], -1)), batch_size=2)
    first, second = batched((c, x), tf.constant(10.0))
    np.testing.assert_array_equal(first, c + 10.0)
    np.testing.assert_array_equal(second, np.full(5, 2.0))


@pytest.mark.slow
def test_empty_inputs_keep_the_output_shape():
    batched = BatchedFunction(lambda chunk: chunk * 2.0, batch_size=4)
    assert batched(np.zeros((0, 3))).shape == (0, 3)
