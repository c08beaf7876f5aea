"""Two fixes that let Keras 3's TensorFlow trainer run under `MultiWorkerMirroredStrategy`.

Keras 3.15 with TensorFlow 2.21 fails in `fit` under a multi-worker strategy (keras#20585,
tensorflow#72388), for two reasons found in `keras/src/backend/tensorflow/trainer.py`:

1. `_maybe_symbolic_build` reduces the first batch, a tuple `(x, y)` of per-replica values, with one
   `strategy.reduce("MEAN", batch)` call. `MirroredStrategy` accepts the tuple;
   `MultiWorkerMirroredStrategy` converts it to one tensor and fails ("Attempt to convert a value
   (PerReplica...) with an unsupported type"). The batch is only needed for its shapes, so this
   class takes each value of the first local replica instead (no collective operation at all).
2. `reduce_per_replica` averages the logged values of the replicas of all workers with
   `strategy.reduce("MEAN", value, axis=0)`, which fails on the scalars `train_step` returns
   ("Invalid reduction dimension 0 for input with 0 dimensions"). Under a multi-worker strategy this
   class's `train_step` and `test_step` return each scalar as a vector of one value, which that
   reduction averages over the replicas back into a scalar: the mean of the replicas' values, as
   Keras reports under `MirroredStrategy`.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from tfp_arch import _private_api

__all__ = ["MultiWorkerFit", "in_multi_worker_mode"]


def in_multi_worker_mode(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` over more than one worker (Keras' own test)."""
    return _private_api.in_multi_worker_mode(strategy)


def _as_vector(value: Any) -> Any:
    if isinstance(value, (tf.Tensor, tf.Variable)) and value.shape.rank == 0:
        return tf.reshape(value, [1])
    return value


class MultiWorkerFit:
    """Mixin for a `keras.Model` subclass: `fit` and `evaluate` work under `MultiWorkerMirroredStrategy`.

    Nothing changes under any other strategy.
    """

    distribute_strategy: Any  # the `keras.Model` property, for type checkers

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Overrides a private method of Keras' TensorFlow trainer (see `tfp_arch._private_api`).
        strategy = self.distribute_strategy
        if iterator is None or not in_multi_worker_mode(strategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)  # type: ignore[misc]
        for _, _, batches in iterator:
            batch = next(batches)
            data_batch = tf.nest.map_structure(
                lambda v: (
                    strategy.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v
                ),
                batch,
            )
            break
        with strategy.scope():
            _private_api.symbolic_build(self, data_batch)

    def _replicated_logs(self, logs: Any) -> Any:
        if in_multi_worker_mode(tf.distribute.get_strategy()):
            return tf.nest.map_structure(_as_vector, logs)
        return logs

    def train_step(self, data: Any) -> Any:
        return self._replicated_logs(super().train_step(data))  # type: ignore[misc]

    def test_step(self, data: Any) -> Any:
        return self._replicated_logs(super().test_step(data))  # type: ignore[misc]
