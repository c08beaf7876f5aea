"""The contract every tfp_arch architecture implements."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf

from tfp_arch import _private_api
from tfp_arch.budget import epochs_rule
from tfp_arch.data.dataset import Dataset
from tfp_arch.declaration import Declaration
from tfp_arch.fast_fit import as_dataset, hold_out, is_array_like, to_numpy_arrays
from tfp_arch.multi_worker import MultiWorkerFit, in_multi_worker_mode
from tfp_arch.schedules import BudgetCosineDecay
from tfp_arch.validation import ValidationError, one_of, positive_float

__all__ = ["Architecture"]

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "adamax", "nadam", "lion")
SUPERVISED = "supervised"
UNSUPERVISED = "unsupervised"
CAPABILITIES = ("sample", "density", "plot")
CAPABILITY_METHODS = {"sample": "sample", "density": "log_prob", "plot": "plot"}


@keras.saving.register_keras_serializable(package="tfp_arch")
class Architecture(MultiWorkerFit, keras.Model):
    """Base class of every tfp_arch architecture: a Keras 3 model with a few additions.

    An architecture is an ordinary `keras.Model` subclass, so it trains with `model.fit`, works under
    `tf.distribute` strategies (`MultiWorkerMirroredStrategy` too, through `MultiWorkerFit`) and saves
    to `.keras`. This docstring is the contract the registry, the
    CLI and the conformance kit (`tfp_arch.testing.check_architecture`, which checks every rule below
    and names the one that is broken) rely on.

    A subclass must provide:
        architecture_name: class attribute, the registry name (the entry-point name is the one users
            type). It is not Keras' `name`, which every layer instance sets to its own layer name.
        summary: class attribute, one line saying what the architecture is.
        task: class attribute, `"supervised"` (data are `(x, y)`) or `"unsupervised"` (data are `x`).
        default_data: class attribute, the data spec of the embedded default data set, for example
            `"synthetic:gap_regression"`; it must work offline on a fresh install.
        declaration: (recommended) a `tfp_arch.declaration.Declaration` in a module that imports no
            TensorFlow; the class takes the attributes above (and `default_epochs`,
            `default_batch_size`, `capabilities`) from it, and `tfp-arch info` and the `-p` checks
            read it without importing the class (`docs/guide/plugins.md`).
        __init__: keyword arguments of plain values only (str, int, float, bool, None, lists of
            those), forwarded `**kwargs` to `super().__init__`, and a matching `get_config`, so that
            `from_config` and `.keras` saving round-trip with no extra code.
        call(inputs, training=None): returns tensors (parameters of distributions), never
            distribution objects.
        the training objective, one of: `negative_log_likelihood(x, y, y_pred)` returning the
            per-example negative log-likelihood, shape `(batch,)`, from which the base class's
            `compute_loss` makes the loss (the mean, weighted by `sample_weight` when given, plus
            the `add_loss` terms `self.losses`, such as KL divergences, each scaled for replicas as
            Keras scales them); or a `loss` in `default_compile_kwargs`, which Keras applies.
        evaluate_metrics(x, y=None): the architecture's own metrics as a flat dict of finite floats,
            keyed by quantity without a split prefix (`"rmse"`, `"log_likelihood"`, ...).
            Log-likelihoods are per example, in nats, with the sign of a log-likelihood (higher is
            better).

    Capabilities are declared one way: the class attribute `capabilities`, a tuple of
        `"sample"`: `sample(n, *, seed=None)` returns `n` draws in the data's units, shape
            `(n, *data_shape)`, as a NumPy array; an architecture may add keyword-only options with
            defaults (for example `context=` of a conditional flow).
        `"density"`: `log_prob(x)` returns the exact log-density per example in the data's units.
        `"plot"`: `plot(path, dataset=None)` writes a PNG figure of what the model learned.
    A method of a capability is overridden exactly when the capability is declared
    (`has_capability(name)` reads it).

    A subclass may provide:
        adapt(x, y=None): compute statistics of the training data (standardisation, the number of
            training examples for a KL weight, ...). `fit` calls it once with the training arrays
            before the first epoch unless `adapt` was already called. Given a `tf.data.Dataset`,
            `fit` passes the dataset itself when the class sets `adapts_datasets = True` (its
            `adapt` then reads the batches in one pass, as `tfp_arch.layers.standardize.
            iterate_batches` does, so data larger than memory stream), and otherwise the dataset
            collected into arrays.
        default_epochs, default_batch_size: class attributes used by the CLI and by `fit`.
        min_training_steps, max_default_epochs: class attributes (set by the declaration), the fewest
            optimiser steps of a run without given epochs (None: `default_epochs` whatever the data)
            and the most epochs that minimum may ask for; see `epochs_rule_for`.
        epochs_search: class attribute (set by the declaration): whether a run without given epochs
            chooses them by a search on a validation cut (`tfp_arch.budget_search`) within that rule.
        hyperparameters_for(dataset): class method returning constructor arguments that depend on the
            data (number of classes, image shape, ...); user arguments override them.
        serving_functions(): the signatures of the exported SavedModel (`export`), a dict of
            `tfp_arch.serving.ServingFunction` by signature name, first the default one. Each is a
            function of tensors returning a dict of named tensors, in the data's units, written with
            TensorFlow ops only; one that draws takes `num_samples` and `seed` inputs and draws
            statelessly from `[seed, 0]`, so that it answers as the matching Python method does.

    What a subclass gets for free:
        compile(...): Keras' own signature (`compile("adam", "mse")` works); arguments not given take
            `default_compile_kwargs()` (an Adam optimiser and `steps_per_execution=
            default_steps_per_execution`, or 1 under a multi-replica strategy), so `fit` works right
            after construction.
        fit(x, y=None, ...): NumPy arrays are fed through a shuffled, batched, prefetched
            `tf.data.Dataset` instead of Keras' generic array adapter (several times faster on small
            models); the data statistics are adapted first. Datasets and generators pass through.
            With `decay_learning_rate`, the decay is spread over the run's steps and
            `learning_rate_planned(peak)` lets the architecture adjust to the run's peak rate.
        is_adapted: whether `adapt` has run (stored with the model).
        export(path): a TensorFlow SavedModel with the signatures of `serving_functions()`.
    """

    architecture_name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    task: ClassVar[str] = SUPERVISED
    default_data: ClassVar[str] = ""
    default_epochs: ClassVar[int] = 10
    min_training_steps: ClassVar[int | None] = None
    max_default_epochs: ClassVar[int | None] = None
    epochs_search: ClassVar[bool] = False
    default_batch_size: ClassVar[int] = 32
    default_learning_rate: ClassVar[float | None] = 1e-3
    decay_learning_rate: ClassVar[bool] = False
    default_steps_per_execution: ClassVar[int] = 32
    capabilities: ClassVar[tuple[str, ...]] = ()
    adapts_datasets: ClassVar[bool] = False
    declaration: ClassVar[Declaration | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass whose body sets `declaration` takes its class attributes from it."""
        super().__init_subclass__(**kwargs)
        declared = vars(cls).get("declaration")
        if declared is None:
            return
        if not isinstance(declared, Declaration):
            raise TypeError(
                f"Invalid class attribute `declaration` of {cls.__qualname__}: expected a "
                f"tfp_arch.declaration.Declaration. Received: {declared!r}"
            )
        for key, value in declared.class_attributes().items():
            if key in vars(cls) and vars(cls)[key] != value:
                raise TypeError(
                    f"{cls.__qualname__}.{key} = {vars(cls)[key]!r} contradicts its declaration ({key}={value!r}); "
                    f"declare it once, in the declaration"
                )
            setattr(cls, key, value)

    def __init__(self, learning_rate: float | None = None, optimizer: str = "adam", **kwargs: Any) -> None:
        """Hyperparameters every architecture takes, besides its own.

        Args:
            learning_rate: learning rate of the default optimiser; None for the class's
                `default_learning_rate`.
            optimizer: name of the default optimiser (a Keras optimiser name: `"adam"`, `"sgd"`, ...).
            **kwargs: passed to `keras.Model`.
        """
        super().__init__(**kwargs)
        self.learning_rate = positive_float("learning_rate", learning_rate, allow_none=True)
        self.optimizer_name = one_of("optimizer", optimizer, OPTIMIZERS)
        self._adapted = self.add_weight(shape=(), initializer="zeros", trainable=False, dtype="float32", name="adapted")

    @classmethod
    def has_capability(cls, capability: str) -> bool:
        """Whether the class declares `capability` (`"sample"`, `"density"` or `"plot"`)."""
        return capability in one_of("capability", capability, CAPABILITIES) and capability in cls.capabilities

    @property
    def is_supervised(self) -> bool:
        """Whether the architecture trains on `(x, y)` pairs."""
        return self.task == SUPERVISED

    @property
    def is_adapted(self) -> bool:
        """Whether the data statistics have been computed (by `adapt` or by `fit`)."""
        return bool(keras.ops.convert_to_numpy(self._adapted) > 0)

    @classmethod
    def hyperparameters_for(cls, dataset: Dataset) -> dict[str, Any]:
        """Constructor arguments that depend on the data; none by default.

        Args:
            dataset: the data set the model is about to be trained on.

        Returns:
            A dict of plain values, overridden by any argument the user gives.
        """
        return {}

    @classmethod
    def default_epochs_for(cls, train_rows: int, batch_size: int | None = None) -> int:
        """The epochs of a run on `train_rows` rows when none are given (`tfp_arch.budget.epochs_for`):
        at least `default_epochs`, and at least `min_training_steps` optimiser steps within
        `max_default_epochs` epochs.

        Args:
            train_rows: rows the model trains on.
            batch_size: examples per step (default: `default_batch_size`).
        """
        return int(cls.epochs_rule_for(train_rows, batch_size)["epochs"])

    @classmethod
    def epochs_rule_for(cls, train_rows: int, batch_size: int | None = None) -> dict[str, Any]:
        """`default_epochs_for` with the rule's inputs, as a run records them (`tfp_arch.budget.epochs_rule`)."""
        return epochs_rule(
            int(train_rows),
            int(batch_size or cls.default_batch_size),
            cls.default_epochs,
            cls.min_training_steps,
            cls.max_default_epochs,
        )

    def adapt(self, x: np.ndarray, y: np.ndarray | None = None) -> None:
        """Compute statistics of the training data. The default records only that it ran.

        Subclasses that override this call `super().adapt(x, y)` at the end.

        Args:
            x: training inputs.
            y: training targets, or None for an unsupervised architecture.
        """
        self._adapted.assign(1.0)

    def default_compile_kwargs(self) -> dict[str, Any]:
        """The arguments `compile()` uses when it is called without them.

        The optimiser named by the `optimizer` hyperparameter (Adam by default) at `learning_rate`
        (default: the class's `default_learning_rate`). Where the class sets
        `decay_learning_rate`, that rate is the peak of a `BudgetCosineDecay`, which `fit` spreads
        over the steps it runs; a `default_learning_rate` of None there means the peak follows the
        length of the run (`tfp_arch.schedules.budget_peak`). `default_steps_per_execution` steps
        run per call of the compiled training function; 1 when the model was built under a multi-replica `tf.distribute`
        strategy, where TensorFlow 2.21 fails with more than one.
        """
        replicated = self.distribute_strategy.num_replicas_in_sync > 1
        rate = self.default_learning_rate if self.learning_rate is None else self.learning_rate
        schedule = BudgetCosineDecay(rate) if self.decay_learning_rate else rate
        return {
            "optimizer": keras.optimizers.get(
                {"class_name": self.optimizer_name, "config": {"learning_rate": schedule}}
            ),
            "steps_per_execution": 1 if replicated else self.default_steps_per_execution,
        }

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """Configure training; takes the arguments of `keras.Model.compile`, positional ones included.

        Arguments not given take `default_compile_kwargs()`.
        """
        bound = _COMPILE_SIGNATURE.bind_partial(self, *args, **kwargs).arguments
        bound.pop("self")
        bound.update(bound.pop("kwargs", {}))
        for key, value in self.default_compile_kwargs().items():
            bound.setdefault(key, value)
        super().compile(**bound)

    def negative_log_likelihood(self, x: Any, y: Any, y_pred: Any) -> Any:
        """The per-example negative log-likelihood of a batch, shape `(batch,)`; None by default.

        An architecture returning a tensor here gets its loss from `compute_loss`; with None, the
        `loss` given to `compile` is used.
        """
        return None

    def compute_loss(
        self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None, training: bool = True
    ) -> Any:
        """The mean of `negative_log_likelihood` (weighted by `sample_weight`), divided by the number of
        replicas, plus the `add_loss` terms scaled as Keras scales them; Keras' own loss when
        `negative_log_likelihood` returns None."""
        nll = self.negative_log_likelihood(x, y, y_pred)
        if nll is None:
            return super().compute_loss(x, y, y_pred, sample_weight, training=training)
        if sample_weight is not None:
            weight = keras.ops.reshape(keras.ops.cast(sample_weight, nll.dtype), keras.ops.shape(nll))
            loss = keras.ops.sum(nll * weight) / keras.ops.maximum(keras.ops.sum(weight), 1e-12)
        else:
            # The mean, or 0 for a replica given no examples (the last batch split among replicas).
            count = keras.ops.cast(keras.ops.shape(nll)[0], nll.dtype)
            loss = keras.ops.divide_no_nan(keras.ops.sum(nll), count)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        loss = loss / replicas if replicas > 1 else loss
        # Keras' own aggregation of an `add_loss` term: a sum, in floatx when the term is not a float,
        # divided by the number of replicas (as Keras' TensorFlow trainer does).
        extra = [_per_replica(keras.ops.sum(_as_float(term)), replicas) for term in self.losses]
        return loss + keras.ops.sum(extra) if extra else loss

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Restore the compile state saved in a `.keras` file (optimizer included)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, **kwargs: Any):
        """Train the model; takes the same arguments as `keras.Model.fit`.

        NumPy inputs go through a shuffled, batched, prefetched `tf.data.Dataset` (seeded by Keras'
        global seed). `validation_split` holds out the last fraction of the rows as given (Keras'
        rule, before shuffling), and `adapt` then runs on the training rows alone if the model has
        not been adapted. A model that was not compiled is compiled with its defaults. Every batch,
        whatever its route (arrays, datasets, generators), reaches the model through `prepare`.
        """
        if not self.compiled:
            with self.distribute_strategy.scope():
                self.compile()
        batch_size = batch_size or self.default_batch_size
        if is_array_like(x):
            x_np, y_np = to_numpy_arrays(x), to_numpy_arrays(y) if y is not None else None
            self._check_targets(y_np)
            x_np, y_np, kwargs = hold_out(x_np, y_np, kwargs)
            if not self.is_adapted:
                self.adapt(x_np, y_np)
            count_steps = not in_multi_worker_mode(self.distribute_strategy)
            dataset, kwargs = as_dataset(x_np, y_np, batch_size, kwargs, count_steps=count_steps)
            self._plan_learning_rate(dataset, kwargs)
            self._build_optimizer()
            return super().fit(dataset, shuffle=False, **kwargs)
        if isinstance(x, tf.data.Dataset) and not self.is_adapted:
            if x.cardinality() == tf.data.INFINITE_CARDINALITY:
                raise ValidationError(
                    "fit() received an infinite dataset before the model was adapted; call model.adapt(x, y) first."
                )
            if self.adapts_datasets:
                self.adapt(x)
            else:
                self.adapt(*_materialise(x))
        if isinstance(x, tf.data.Dataset):
            self._plan_learning_rate(x, kwargs)
            # A dataset carries its own order; Keras' default `shuffle=True` would only warn that it ignores it.
            kwargs.setdefault("shuffle", False)
        self._build_optimizer()
        return super().fit(x, y, batch_size=batch_size if x is None else None, **kwargs)

    def _build_optimizer(self) -> None:
        """Create the optimizer's variables before `fit` traces its training step, for a built model.

        Without a distribution strategy Keras leaves them to the first trace of the step; TensorFlow
        then traces the step a second time, since a `tf.function` that created variables on its first
        call cannot be reused, which doubles the time `fit` takes to start.
        """
        if self.built and self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: Any = None,
    ) -> Any:
        """Keras' `predict`, one batch per step whatever `steps_per_execution` training uses.

        Keras 3 compiles `steps_per_execution` copies of the prediction step into one graph (an
        unrolled loop, where `fit` and `evaluate` run a loop inside the graph), and again for the
        last, shorter group of batches: at this class's default of 32, the first prediction on
        2,000 rows of `bnn` or `maf` took 13 s of CPU to trace, against 0.7 s one batch per step.
        Takes the same arguments as `keras.Model.predict`.
        """
        kept: int = self.steps_per_execution  # type: ignore[has-type]  # set by keras.Model.compile
        self.steps_per_execution = 1
        try:
            return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        finally:
            self.steps_per_execution = kept

    def prepare(self, x: Any, y: Any = None, training: bool = False) -> tuple[Any, Any]:
        """Turn a batch of raw data into what the model trains and is evaluated on; the identity here.

        `train_step` (with `training=True`) and `test_step` (with `training=False`) pass every batch
        through this method, so arrays, `tf.data` datasets, streams and generators are prepared
        alike, in the compiled step. Override it for a transformation of the data that is not part
        of the model (the VAE's binarisation of grey levels); a transformation that belongs to the
        model, such as a standardisation saved with it, goes in `call`. It must be written with
        tensor operations and keep the batch's structure.

        Args:
            x: a batch of inputs (a tensor or a tuple of tensors).
            y: the batch's targets, or None.
            training: whether the batch is trained on (else evaluated).

        Returns:
            The prepared `(x, y)`.
        """
        return x, y

    def _prepared(self, data: Any, training: bool) -> Any:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self.prepare(x, y, training=training)
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def train_step(self, data: Any) -> Any:
        """Keras' training step on the batch as `prepare` makes it."""
        return super().train_step(self._prepared(data, training=True))

    def test_step(self, data: Any) -> Any:
        """Keras' evaluation step on the batch as `prepare` makes it."""
        return super().test_step(self._prepared(data, training=False))

    def _plan_learning_rate(self, dataset: tf.data.Dataset, fit_kwargs: dict[str, Any]) -> None:
        """Spread a `BudgetCosineDecay` over the optimiser steps of this `fit` (when they are known)."""
        schedule = _private_api.learning_rate_schedule(self.optimizer)
        if not isinstance(schedule, BudgetCosineDecay):
            return
        steps = fit_kwargs.get("steps_per_epoch") or int(dataset.cardinality())
        if steps < 1:
            return
        epochs = fit_kwargs.get("epochs", 1) - fit_kwargs.get("initial_epoch", 0)
        schedule.plan(int(keras.ops.convert_to_numpy(self.optimizer.iterations)), steps * epochs)
        self.learning_rate_planned(float(keras.ops.convert_to_numpy(schedule.peak_value)))

    def learning_rate_planned(self, peak: float) -> None:
        """Called by `fit` once a `BudgetCosineDecay` knows the run's peak learning rate; no-op here.

        Args:
            peak: the learning rate at the start of this run.
        """

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "learning_rate": self.learning_rate, "optimizer": self.optimizer_name}

    def _check_targets(self, y: Any) -> None:
        if self.is_supervised and y is None:
            raise ValueError(f"Architecture `{self.architecture_name}` is supervised: fit(x, y) needs targets y.")
        if not self.is_supervised and y is not None:
            raise ValueError(f"Architecture `{self.architecture_name}` is unsupervised: call fit(x) with no targets.")

    def validation_score(self, x: Any, y: Any = None) -> float:
        """The mean log-likelihood per example of held-out `(x, y)` (higher is better), by which a
        search on a validation cut chooses the epochs of a default run (`tfp_arch.budget_search`):
        the `log_likelihood` of `evaluate_metrics`, or minus its `nll`.

        Args:
            x: held-out inputs (raw units).
            y: their targets, for a supervised architecture.
        """
        return self._validation_score_from(self.evaluate_metrics(x, y))

    def _validation_score_from(self, metrics: dict[str, float]) -> float:
        """`validation_score` from `evaluate_metrics`' answer: its `log_likelihood`, or minus its `nll`."""
        if "log_likelihood" in metrics:
            return float(metrics["log_likelihood"])
        if "nll" in metrics:
            return -float(metrics["nll"])
        raise NotImplementedError(
            f"{type(self).__name__} has no `log_likelihood` or `nll` metric: override validation_score."
        )

    def evaluate_metrics(self, x: Any, y: Any = None) -> dict[str, float]:
        """The architecture's own metrics on `(x, y)`, as a flat dict of floats.

        Args:
            x: inputs (raw units; the model undoes its own standardisation).
            y: targets, for a supervised architecture.

        Returns:
            Metric name (no split prefix) to value.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement evaluate_metrics.")

    def sample(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """Draw `n` samples from the model, in the data's own units (capability `"sample"`).

        An override adds what its draws are conditioned on, or other options, as keyword-only
        arguments with defaults (MAF's `context=`, the VAE's `mean=`). The base takes none of them,
        so that every such override is a compatible one; a caller that knows only `Architecture`
        passes `n` and `seed`.

        Args:
            n: number of samples.
            seed: an integer seed, for repeatable draws.

        Returns:
            An array of shape `(n, *data_shape)`.
        """
        raise NotImplementedError(f"Architecture `{self.architecture_name}` cannot sample.")

    def serving_functions(self) -> dict[str, Any]:
        """The serving signatures of the exported SavedModel, by name (`tfp_arch.serving.ServingFunction`).

        None by default: an architecture that does not override this cannot be exported.
        """
        return {}

    def export(self, path: str, overwrite: bool = False) -> str:
        """Write the model as a TensorFlow SavedModel (Keras' `ExportArchive`) with its serving signatures.

        The folder is written beside `path` under a temporary name and renamed; it loads with
        `tf.saved_model.load` and TensorFlow alone (see `docs/serving.md`).

        Args:
            path: the folder to create.
            overwrite: replace an existing folder.

        Returns:
            `path`.
        """
        from tfp_arch.export import export_saved_model

        return str(export_saved_model(self, path, overwrite=overwrite))

    def plot(self, path: str, dataset: Dataset | None = None) -> str:
        """Write a PNG figure of what the model learned and return its path (capability `"plot"`).

        Args:
            path: file to write.
            dataset: the data the model was trained on, to draw beside the model.
        """
        raise NotImplementedError(f"Architecture `{self.architecture_name}` has no plot.")


_COMPILE_SIGNATURE = inspect.signature(keras.Model.compile)


def _as_float(term: Any) -> Any:
    return term if keras.backend.is_float_dtype(term.dtype) else keras.ops.cast(term, keras.backend.floatx())


def _per_replica(value: Any, replicas: int) -> Any:
    return keras.ops.multiply(value, keras.ops.cast(1.0 / replicas, value.dtype)) if replicas > 1 else value


def _materialise(dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray | None]:
    """Collect a finite dataset of `x` or `(x, y[, w])` batches into arrays, for an `adapt` that takes arrays."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray | None] = []
    for element in dataset.as_numpy_iterator():
        if isinstance(element, tuple):
            xs.append(element[0])
            ys.append(element[1] if len(element) > 1 else None)
        else:
            xs.append(element)
            ys.append(None)
    x = np.concatenate(xs)
    if ys[0] is None:
        return x, None
    targets = [part for part in ys if part is not None]
    if len(targets) != len(ys):
        raise ValueError("The dataset mixes batches with and without targets.")
    return x, np.concatenate(targets)
