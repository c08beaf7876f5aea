"""A data set split into a training and a test part."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tfp_arch.data.errors import DataError

__all__ = ["Dataset"]


@dataclass(frozen=True)
class Dataset:
    """Training and test arrays with what is known about them.

    Attributes:
        name: where the data came from (the data spec).
        x_train: training inputs, shape (n, ...) float32.
        x_test: test inputs.
        y_train: training targets (shape (n,) or (n, k)), or None for data without targets.
        y_test: test targets, or None.
        kind: `"regression"`, `"classification"`, `"density"` or `"images"`.
        feature_names: names of the input columns, when known.
        target_name: name of the target column, when known.
        labels_train: class labels kept for plots of unsupervised models (not used in training).
        labels_test: the same for the test part.
        suggested_hyperparameters: per architecture name, constructor arguments that suit these
            data in particular (a demo's settings travel with the demo's data, not with the model).
            `tfp_arch.runs.train` applies them between the architecture's data-derived arguments
            and the user's own.
    """

    name: str
    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray | None = None
    y_test: np.ndarray | None = None
    kind: str = "regression"
    feature_names: list[str] = field(default_factory=list)
    target_name: str | None = None
    labels_train: np.ndarray | None = None
    labels_test: np.ndarray | None = None
    suggested_hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def supervised(self) -> bool:
        """Whether the data have targets."""
        return self.y_train is not None

    @property
    def num_features(self) -> int:
        """Number of input columns (the product of the trailing shape for images)."""
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return len(self.x_train)

    @property
    def data_shape(self) -> tuple[int, ...]:
        """The shape of one input example."""
        return tuple(self.x_train.shape[1:])

    def head(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The first `n` training examples `(x, y)` (y None without targets)."""
        return self.x_train[:n], None if self.y_train is None else self.y_train[:n]

    def summary(self) -> Dataset:
        """The data set itself: in memory, it is its own summary (see `StreamedDataset.summary`)."""
        return self

    def fit_inputs(self, batch_size: int, seed: int, validation_split: float = 0.0) -> tuple[Any, Any, list]:
        """What `fit` takes for the training part: the arrays `(x_train, y_train)`, and no callbacks.

        A `StreamedDataset` returns a `tf.data.Dataset` of batches and the callback that orders
        them instead; the arguments matter there only.
        """
        return self.x_train, self.y_train, []

    def check_finite(self, dtype: str = "float32") -> None:
        """Raise `DataError` if a value of an input or a real-valued target is not finite in `dtype`.

        Loaders already check their files row by row; this catches values that are finite as read
        (float64) but overflow the model's float type, whatever produced the arrays.
        """
        for part in ("x_train", "x_test", "y_train", "y_test"):
            array = getattr(self, part)
            if array is None or not np.issubdtype(np.asarray(array).dtype, np.floating):
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                finite = np.isfinite(np.asarray(array).astype(dtype).reshape(len(array), -1)).all(axis=1)
            if not finite.all():
                raise DataError(
                    f"{part}, row {int(np.argmin(finite)) + 1}: value NaN, infinite or too large for {dtype}", self.name
                )

    def as_unsupervised(self) -> Dataset:
        """All columns (inputs, then the target) as x and no targets; labels kept for plots."""
        if not self.supervised:
            return self
        x_train, x_test = self.x_train, self.x_test
        if self.kind == "classification" or x_train.ndim > 2:
            return replace(self, y_train=None, y_test=None, labels_train=self.y_train, labels_test=self.y_test)
        y_train, y_test = self.y_train, self.y_test
        if y_train is None or y_test is None:
            raise DataError("training targets without test targets (or the reverse)", self.name)
        names = list(self.feature_names) + ([self.target_name] if self.target_name else [])
        return replace(
            self,
            x_train=np.column_stack([x_train, y_train]).astype("float32"),
            x_test=np.column_stack([x_test, y_test]).astype("float32"),
            y_train=None,
            y_test=None,
            kind="density",
            feature_names=names if len(names) == x_train.shape[1] + 1 else [],
            target_name=None,
        )


def holdout(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test index split with `fraction` of the rows (at least one) held out."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"the hold-out fraction must be in (0, 1); got test={fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * fraction)))
    if n_test >= n:
        raise DataError(f"cannot hold out {n_test} of {n} rows and keep any for training")
    return np.sort(order[n_test:]), np.sort(order[:n_test])
