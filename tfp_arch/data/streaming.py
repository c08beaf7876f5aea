"""Tables read in chunks through `tf.data`, for data larger than memory.

A streamed table is read once when it is loaded: that pass parses every row with TensorFlow's C
CSV reader, names the first bad row in the same one-line error as an in-memory table (the
row-by-row check of `tfp_arch.data.tables` runs only on the chunk where the fast reader failed),
and counts the rows of each part. No row index is kept: a row belongs to the held-out test part when
a keyed hash of its text (the key is the seed) falls below the test fraction. The same pass can keep
the parsed rows on disk (`tfp_arch.data.stream_cache`), so that later reads skip the text.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfp_arch.data.dataset import Dataset
from tfp_arch.data.errors import DataError
from tfp_arch.data.stream_cache import ParsedCache, start_cache
from tfp_arch.data.tables import (
    FLOAT32_MAX,
    check_row,
    column_index,
    first_row,
    is_pattern,
    read_lines,
    split_line,
)

__all__ = ["HASH_BUCKETS", "EpochShuffle", "StreamedDataset", "TableSource", "held_out", "open_stream"]

HASH_BUCKETS = 1 << 30
_CHUNK = 4096
_BLOCK = 1 << 20
_BLANK = r"(?s).*[ \t\r].*"
_PREVIEW = 256
_SHUFFLE_ROWS = 16384


def held_out(lines: tf.Tensor, fraction: float, seed: int, stripped: bool = False) -> tf.Tensor:
    """Whether each line of text belongs to the held-out part: a SipHash of the stripped text keyed
    by `seed`, in `HASH_BUCKETS` buckets, below `fraction` of them.

    Identical rows fall in the same part, whatever file or position they come from. With `stripped`
    the lines are taken as already stripped (as `TableSource.chunks` gives them).
    """
    text = lines if stripped else tf.strings.strip(lines)
    buckets = tf.strings.to_hash_bucket_strong(text, HASH_BUCKETS, key=[seed, 0])
    return buckets < int(round(fraction * HASH_BUCKETS))


@dataclass(frozen=True)
class TableSource:
    """One table in one or several files of the same columns (shards, read in sorted name order).

    Attributes:
        files: the files.
        skip: per file, the lines before its first data row (its header and blank lines before it).
        columns: column names.
        delimiter: a one-character delimiter, or None for runs of white space.
    """

    files: tuple[str, ...]
    skip: tuple[int, ...]
    columns: list[str]
    delimiter: str | None

    stripped = True

    @property
    def width(self) -> int:
        """Number of columns."""
        return len(self.columns)

    @classmethod
    def open(cls, pattern: str, delimiter: str | None, header: str) -> TableSource:
        """The files a path or glob pattern names, their header checked to be the same in each."""
        files = sorted(glob.glob(pattern)) if is_pattern(pattern) else [pattern]
        if not files:
            raise DataError("no file matches this pattern", pattern)
        heads = [first_row(path, delimiter, header) for path in files]
        columns = heads[0][0]
        for path, (names, _, _) in zip(files, heads, strict=False):
            if len(names) != len(columns) or (heads[0][1] and names != columns):
                raise DataError(f"columns {', '.join(names)} differ from {files[0]}'s: {', '.join(columns)}", path)
        return cls(tuple(files), tuple(skipped for _, _, skipped in heads), columns, delimiter)

    def chunks(self) -> tf.data.Dataset:
        """Chunks `(file index, line numbers, texts)` of the lines of one file each, blank lines and
        the header dropped, in file order.

        Each file is read in blocks of 1 MiB (`tf.data.FixedLengthRecordDataset`, its last partial
        block read apart) and every block is split into lines by one op, carrying the unfinished
        last line to the next block: no `tf.data` element and no op per line. Lines are stripped
        (only in a block that holds a blank, a tab or a carriage return), and a UTF-8 byte-order
        mark is removed from a file's first line.
        """
        sizes = np.asarray([os.path.getsize(path) for path in self.files], np.int64)
        source = tf.data.Dataset.from_tensor_slices(
            (list(self.files), np.asarray(self.skip, np.int64), np.arange(len(self.files), dtype=np.int64), sizes)
        )

        def lines(path: tf.Tensor, skip: tf.Tensor, index: tf.Tensor, size: tf.Tensor) -> tf.data.Dataset:
            full = size // _BLOCK
            tail = size - full * _BLOCK
            blocks = (
                tf.data.FixedLengthRecordDataset(path, _BLOCK, footer_bytes=tail)
                .concatenate(tf.data.FixedLengthRecordDataset(path, tf.maximum(tail, 1), header_bytes=full * _BLOCK))
                .concatenate(tf.data.Dataset.from_tensors(tf.constant("\n")))
            )

            def split(state: tuple[tf.Tensor, tf.Tensor], block: tf.Tensor) -> tuple[Any, Any]:
                leftover, count = state
                whole = leftover + block
                parts = tf.strings.split(whole, "\n")
                numbers = count + 1 + tf.range(tf.size(parts, out_type=tf.int64) - 1)
                blanks = tf.strings.regex_full_match(whole, _BLANK)
                return (parts[-1], count + tf.size(numbers, out_type=tf.int64)), (numbers, parts[:-1], blanks)

            def clean(numbers: tf.Tensor, text: tf.Tensor, blanks: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
                text = tf.cond(blanks, lambda: tf.strings.strip(text), lambda: text)
                text = tf.cond(
                    tf.reduce_any(tf.equal(numbers, 1)),
                    lambda: tf.strings.regex_replace(text, "^\ufeff", ""),
                    lambda: text,
                )
                keep = (numbers > skip) & (tf.strings.length(text) > 0)
                numbers, text = tf.cond(
                    tf.reduce_all(keep), lambda: (numbers, text), lambda: (numbers[keep], text[keep])
                )
                return tf.fill(tf.shape(numbers), index), numbers, text

            start = (tf.constant(""), tf.constant(0, tf.int64))
            return blocks.scan(start, split).map(clean, num_parallel_calls=tf.data.AUTOTUNE)

        return source.flat_map(lines)

    def parse(self, text: tf.Tensor) -> tf.Tensor:
        """A chunk of lines, stripped as `chunks` gives them, as a float64 matrix (TensorFlow's CSV
        reader; raises on a bad row). Blanks around a delimiter are removed first, only in a chunk
        that has blanks."""
        delimiter = self.delimiter if self.delimiter is not None else " "
        if self.delimiter is None:
            text = tf.strings.regex_replace(text, r"\s+", delimiter)
        else:
            pattern = r"[ \t]*" + _escape(delimiter) + r"[ \t]*"
            text = tf.cond(
                tf.reduce_any(tf.strings.regex_full_match(text, _BLANK)),
                lambda: tf.strings.regex_replace(text, pattern, delimiter),
                lambda: text,
            )
        fields = tf.io.decode_csv(text, [tf.constant([], tf.float64)] * len(self.columns), field_delim=delimiter)
        return tf.stack(fields, axis=1)

    def locate(self, file_index: int, after: int, fallback: str) -> DataError:
        """The error of the first bad row from line `after` of file `file_index` on (row-by-row check)."""
        for index in range(file_index, len(self.files)):
            path = self.files[index]
            start = after if index == file_index else self.skip[index]
            try:
                for number, line in read_lines(path, start):
                    check_row(split_line(line, self.delimiter), self.columns, path, number)
            except DataError as error:
                return error
        return DataError(f"cannot parse: {fallback}", self.files[file_index])


def _escape(character: str) -> str:
    return "\\" + character if not character.isalnum() else character


class EpochShuffle(keras.callbacks.Callback):
    """The shuffled order of a streamed training part, a function of the seed and the epoch only.

    `fit` calls `on_epoch_begin` before it creates the epoch's iterator, which reads the epoch from
    this callback's variable: a run resumed at epoch `e` sees the order an uninterrupted run saw.

    Args:
        seed: the shuffling seed (a non-negative integer).
    """

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed
        with tf.device("/cpu:0"):
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="stream_epoch")

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.assign(epoch)

    def shuffle(self, chunks: tf.data.Dataset, window: int) -> tf.data.Dataset:
        """Chunks of rows regrouped into windows of `window` rows, each shuffled by a stateless
        permutation seeded by (seed, epoch, window index); the epoch is read as the rows are produced."""
        key = tf.constant([self.seed, 0], tf.int64)

        def permute(index: tf.Tensor, block: tf.Tensor) -> tf.Tensor:
            seed = tf.random.experimental.stateless_fold_in(key + [0, 1] * self.epoch, index)
            return tf.random.experimental.stateless_shuffle(block, seed)

        return chunks.rebatch(window).enumerate().map(permute)


@dataclass(frozen=True)
class _Layout:
    """Which columns are inputs and which the target, and the hold-out rule."""

    inputs: tuple[int, ...]
    target: int | None
    task: str
    test: float
    seed: int


@dataclass(frozen=True)
class StreamedDataset:
    """A table split into a training and a test part, read from disk in chunks when iterated.

    It offers what training needs without holding the rows: the counts of each part, a few first
    training rows (`head`), `tf.data` pipelines of batches, and the test part as arrays on demand
    (`x_test`, `y_test`, collected from disk at first use).

    Attributes:
        name: the data spec.
        source: the files and columns (a `TableSource` or an `ArraySource`).
        layout: input and target columns, task, hold-out fraction and seed.
        n_train: number of training rows.
        n_test: number of test rows.
        kind: `"regression"`, `"classification"` or `"density"`.
        feature_names: names of the input columns.
        target_name: name of the target column, or None.
        max_label: the largest class label (classification), else None.
        suggested_hyperparameters: none for a table.
        cache: the parsed rows on disk (`tfp_arch.data.stream_cache`), or None to parse the text
            every time the rows are read.
    """

    name: str
    source: Any
    layout: _Layout
    n_train: int
    n_test: int
    kind: str
    feature_names: list[str]
    target_name: str | None
    max_label: int | None = None
    suggested_hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache: ParsedCache | None = None

    @property
    def supervised(self) -> bool:
        """Whether the data have targets."""
        return self.layout.target is not None

    @property
    def num_features(self) -> int:
        """Number of input columns."""
        return len(self.layout.inputs)

    @property
    def data_shape(self) -> tuple[int, ...]:
        """The shape of one input row."""
        return (self.num_features,)

    def check_finite(self, dtype: str = "float32") -> None:
        """Nothing to do: every value was checked to be finite in float32 when the table was read."""

    def as_unsupervised(self) -> StreamedDataset:
        """All columns (inputs, then the target) as inputs and no targets."""
        target, target_name = self.layout.target, self.target_name
        if target is None:
            return self
        if target_name is None:
            raise RuntimeError(f"{self.name}: the target column has no name")
        layout = replace(self.layout, inputs=(*self.layout.inputs, target), target=None)
        names = [*self.feature_names, target_name]
        return replace(self, layout=layout, kind="density", feature_names=names, target_name=None, max_label=None)

    def _part(self, test: bool) -> tf.data.Dataset:
        """Parsed chunks of the test or the training part's rows, in file order."""
        if self.cache is not None:
            return self.cache.chunks("test" if test else "train")
        layout, stripped = self.layout, getattr(self.source, "stripped", False)

        def parse(_: tf.Tensor, __: tf.Tensor, text: tf.Tensor) -> tf.Tensor:
            return self.source.parse(text[tf.equal(held_out(text, layout.test, layout.seed, stripped), test)])

        return self.source.chunks().map(parse, num_parallel_calls=tf.data.AUTOTUNE)

    def _examples(self, values: tf.Tensor) -> Any:
        x = tf.cast(tf.gather(values, list(self.layout.inputs), axis=1), tf.float32)
        if self.layout.target is None:
            return x
        y = values[:, self.layout.target]
        return x, tf.cast(y, tf.int32) if self.kind == "classification" else tf.cast(y, tf.float32)

    def batches(self, batch_size: int, part: str = "train", order: EpochShuffle | None = None) -> tf.data.Dataset:
        """Batches `x` or `(x, y)` of the training or test part, with a known number of batches.

        Args:
            batch_size: rows per batch (the last batch may be smaller).
            part: `"train"` or `"test"`.
            order: shuffle the rows within windows of 16384, in the order this callback sets for the
                epoch (pass it to `fit` too); None keeps the file order.
        """
        chunks = self._part(test=part == "test")
        if order is not None:
            chunks = order.shuffle(chunks, _SHUFFLE_ROWS)
        count = self.n_test if part == "test" else self.n_train
        batches = chunks.rebatch(batch_size).map(self._examples, num_parallel_calls=tf.data.AUTOTUNE)
        batches = batches.apply(tf.data.experimental.assert_cardinality(math.ceil(count / batch_size)))
        # The pipeline holds `self._examples`, so `self` and its cache's folder live as long as it does.
        return batches.prefetch(tf.data.AUTOTUNE)

    def fit_inputs(
        self, batch_size: int, seed: int, validation_split: float = 0.0
    ) -> tuple[tf.data.Dataset, None, list[keras.callbacks.Callback]]:
        """What `fit` takes for the training part: shuffled batches, no separate targets, and the
        `EpochShuffle` callback that makes each epoch's order a function of `seed` and the epoch.

        Raises:
            DataError: `validation_split` is not 0 (a stream has no last rows to cut off; hold data
                out with `test=`).
        """
        if validation_split:
            raise DataError(
                f"validation_split={validation_split} needs the data in memory; a streamed table "
                "holds out its test part by `test=` (or read it with stream=no)",
                self.name,
            )
        order = EpochShuffle(seed)
        return self.batches(batch_size, order=order), None, [order]

    def _arrays(self, part: str) -> tuple[np.ndarray, np.ndarray | None]:
        xs, ys = [], []
        for batch in self.batches(_CHUNK, part).as_numpy_iterator():
            xs.append(batch[0] if self.supervised else batch)
            if self.supervised:
                ys.append(batch[1])
        x = np.concatenate(xs) if xs else np.zeros((0, self.num_features), np.float32)
        return x, (np.concatenate(ys) if self.supervised else None)

    @cached_property
    def _test(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self._arrays("test")

    @property
    def x_test(self) -> np.ndarray:
        """The test inputs, read from disk at first use."""
        return self._test[0]

    @property
    def y_test(self) -> np.ndarray | None:
        """The test targets, read from disk at first use."""
        return self._test[1]

    def head(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The first `n` training rows as arrays `(x, y)` (y None without targets)."""
        batch = next(self.batches(n).take(1).as_numpy_iterator())
        return (batch[0], batch[1]) if self.supervised else (batch, None)

    def summary(self) -> Dataset:
        """A small in-memory `Dataset` for what looks at the data before training
        (`Architecture.hyperparameters_for`, plots): the first training rows, and for classification
        labels that span 0..`max_label`."""
        x, y = self.head(_PREVIEW)
        x_test, y_test = self.x_test[:_PREVIEW], None if self.y_test is None else self.y_test[:_PREVIEW]
        if self.kind == "classification":
            if y is None or self.max_label is None:
                raise RuntimeError(f"{self.name}: classification data without targets or their largest label")
            y = np.concatenate([y, [self.max_label]]).astype(y.dtype)
            x = np.concatenate([x, x[-1:]])
        return Dataset(
            self.name,
            x,
            x_test,
            y,
            y_test,
            kind=self.kind,
            feature_names=list(self.feature_names),
            target_name=self.target_name,
        )


def _check_chunk(source: TableSource, values: np.ndarray, files: np.ndarray, numbers: np.ndarray) -> None:
    bad = ~(np.isfinite(values).all(axis=1) & (np.abs(values) <= FLOAT32_MAX).all(axis=1))
    if bad.any():
        first = int(np.argmax(bad))
        raise source.locate(int(files[first]), int(numbers[first]) - 1, "a value is not finite in float32")


def open_stream(
    name: str, source: Any, target: str | None, task: str, test: float, seed: int, cache: str = "auto"
) -> StreamedDataset:
    """Read `source` once in chunks: check every row, count the training and test rows, and (with
    the cache) write the parsed rows of each part to disk.

    Args:
        name: the data spec.
        source: the files: a `TableSource`, or any object with its `files`, `skip`, `columns`,
            `chunks()`, `parse(texts)` and `locate(file_index, after, fallback)` (such as
            `tfp_arch.data.array_stream.ArraySource`, whose "texts" are the rows' bytes).
        target: the target column (a name or an index), or None for data without targets.
        task: `"regression"` or `"classification"` (ignored without a target).
        test: the fraction of rows held out (by a hash of the row's text keyed by `seed`).
        seed: the hash key.
        cache: `"auto"`, `"yes"` or `"no"`: whether later reads take the parsed rows from disk
            (`tfp_arch.data.stream_cache`) instead of parsing the text again.

    Raises:
        DataError: the first bad row (same message as an in-memory read), too few columns or rows,
            targets that do not suit `task`, or (with `cache="yes"`) a failed write of the cache.
    """
    path = source.files[0]
    if target is not None and len(source.columns) < 2:
        raise DataError("need at least two columns (inputs and a target)", path)
    if target is None:
        task = "density"
    elif task not in ("regression", "classification"):
        raise DataError(f"Invalid value for option `task`: expected regression or classification. Received: {task!r}")
    if not 0.0 < test < 1.0:
        raise DataError(f"Invalid value for option `test`: expected a fraction in (0, 1). Received: {test}")
    if seed < 0:
        raise DataError(f"Invalid value for option `seed`: expected a non-negative integer. Received: {seed}")
    column = None if target is None else column_index(source.columns, target, path)
    inputs = tuple(j for j in range(source.width) if j != column)
    layout = _Layout(inputs, column, task, test, seed)
    parsed = start_cache(cache, source)
    try:
        counts, max_label = _read(source, layout, parsed)
    except BaseException:
        if parsed is not None:
            parsed.drop()
        raise
    parsed = None if parsed is None else parsed.close()
    return StreamedDataset(
        name,
        source,
        layout,
        counts[0],
        counts[1],
        task,
        [source.columns[j] for j in inputs] if source.columns else [],
        None if column is None else source.columns[column],
        max_label if task == "classification" else None,
        cache=parsed,
    )


def _read(source: Any, layout: _Layout, parsed: ParsedCache | None) -> tuple[list[int], int]:
    """The one pass of `open_stream`: the rows of each part and the largest label."""
    path, task, column, test, seed = source.files[0], layout.task, layout.target, layout.test, layout.seed
    stripped = getattr(source, "stripped", False)
    chunks = source.chunks().map(
        lambda f, n, text: (f, n, source.parse(text), held_out(text, test, seed, stripped)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    counts, max_label, last = [0, 0], -1, (0, source.skip[0])
    iterator = iter(chunks.prefetch(2).as_numpy_iterator())
    while True:
        try:
            files, numbers, values, is_test = next(iterator)
        except StopIteration:
            break
        except tf.errors.OpError as error:
            raise source.locate(*last, error.message.splitlines()[0]) from None
        if not len(numbers):
            continue
        _check_chunk(source, values, files, numbers)
        if task == "classification":
            y = values[:, column]
            if np.any(y != np.round(y)) or np.min(y) < 0:
                raise DataError("classification targets must be non-negative integers", path)
            max_label = max(max_label, int(np.max(y)))
        counts[1] += int(is_test.sum())
        counts[0] += int(len(is_test) - is_test.sum())
        if parsed is not None:
            parsed.add(values, is_test)
        last = (int(files[-1]), int(numbers[-1]))
    if counts == [0, 0]:
        raise DataError("no data rows after the header" if source.skip[0] else "the file is empty", path)
    if counts[0] == 0 or counts[1] == 0:
        raise DataError(
            f"the hashed hold-out of test={test} left {counts[0]} training and {counts[1]} test rows; "
            "a streamed table needs rows in both",
            path,
        )
    return counts, max_label
