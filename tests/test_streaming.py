"""Streamed tables: the same rows and errors as an in-memory read, shards, the hashed hold-out, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from tfp_arch.data import DataError, load_data
from tfp_arch.data import streaming
from tfp_arch.data.loaders import streams
from tfp_arch.data.streaming import HASH_BUCKETS, EpochShuffle, StreamedDataset, held_out

ROWS = 600


def _table(rows: int = ROWS, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2)).round(4)
    return np.column_stack([x, (x[:, 0] - 2 * x[:, 1]).round(4)])


def _write(path, values, header="a,b,y\n", delimiter=","):
    path.write_text(header + "".join(delimiter.join(f"{v:g}" for v in row) + "\n" for row in values))
    return path


def _sorted_rows(x, y=None):
    rows = x if y is None else np.column_stack([x, y])
    return rows[np.lexsort(rows.T[::-1])]


def _all_rows(data: StreamedDataset) -> np.ndarray:
    x, y = zip(*data.batches(64).as_numpy_iterator())
    return _sorted_rows(np.concatenate([*x, data.x_test]), np.concatenate([*y, data.y_test]))


@pytest.mark.slow
def test_a_streamed_table_holds_the_rows_of_the_in_memory_read(tmp_path):
    path = _write(tmp_path / "t.csv", _table())
    streamed, memory = load_data(f"csv:{path}#stream=yes"), load_data(f"csv:{path}")
    assert isinstance(streamed, StreamedDataset) and streamed.n_train + streamed.n_test == ROWS
    assert streamed.feature_names == memory.feature_names == ["a", "b"] and streamed.target_name == "y"
    in_memory = _sorted_rows(np.concatenate([memory.x_train, memory.x_test]), np.concatenate([memory.y_train, memory.y_test]))
    np.testing.assert_array_equal(_all_rows(streamed), in_memory)


@pytest.mark.slow
def test_whitespace_text_streams_like_csv(tmp_path):
    values = _table(50)
    path = tmp_path / "t.txt"
    path.write_text("".join(" \t".join(f"{v:g}" for v in row) + "  \n" + ("\n" if i % 7 == 0 else "") for i, row in enumerate(values)))
    streamed = load_data(f"txt:{path}#stream=yes&test=0.3")
    np.testing.assert_allclose(_all_rows(streamed), _sorted_rows(values.astype("float32")))


def test_the_held_out_rows_are_those_whose_keyed_hash_falls_below_the_fraction(tmp_path):
    values = _table()
    path = _write(tmp_path / "t.csv", values)
    data = load_data(f"csv:{path}#stream=yes&test=0.25&seed=7")
    lines = path.read_text().splitlines()[1:]
    chosen = held_out(tf.constant(lines), 0.25, 7).numpy()
    np.testing.assert_array_equal(_sorted_rows(data.x_test, data.y_test), _sorted_rows(values[chosen].astype("float32")))
    spread = 4 * math.sqrt(ROWS * 0.25 * 0.75)
    assert abs(data.n_test - 0.25 * ROWS) < spread and data.n_train == ROWS - data.n_test


@pytest.mark.slow
def test_the_hashed_hold_out_is_fixed_by_the_seed(tmp_path):
    path = _write(tmp_path / "t.csv", _table())
    first, again = load_data(f"csv:{path}#stream=yes&seed=3"), load_data(f"csv:{path}#stream=yes&seed=3")
    other = load_data(f"csv:{path}#stream=yes&seed=4")
    np.testing.assert_array_equal(first.x_test, again.x_test)
    assert first.x_test.shape != other.x_test.shape or not np.array_equal(first.x_test, other.x_test)


def test_held_out_compares_a_strong_keyed_hash_with_the_fraction():
    lines = tf.constant([f"{i},{i * i}" for i in range(2000)])
    buckets = tf.strings.to_hash_bucket_strong(lines, HASH_BUCKETS, key=[5, 0]).numpy()
    np.testing.assert_array_equal(held_out(lines, 0.1, 5).numpy(), buckets < round(0.1 * HASH_BUCKETS))
    assert not np.array_equal(held_out(lines, 0.1, 5).numpy(), held_out(lines, 0.1, 6).numpy())
    np.testing.assert_array_equal(held_out(tf.constant([" 1,2 "]), 0.5, 1), held_out(tf.constant(["1,2"]), 0.5, 1))


@pytest.mark.parametrize(
    "bad", ["1,x,2", "1,2", "1,2,3,4", "nan,1,2", "1,inf,2", "1,1e300,2", "1,,2", '1,"2",oops']
)
def test_a_bad_row_in_a_late_chunk_gives_the_in_memory_error(tmp_path, bad):
    rows = [f"{i},{i % 7},{i % 3}" for i in range(10_000)]
    rows[9_000] = bad
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as memory:
        load_data(f"csv:{path}#stream=no")
    with pytest.raises(DataError) as streamed:
        load_data(f"csv:{path}#stream=yes")
    assert str(streamed.value) == str(memory.value)
    assert "row 9003" in str(streamed.value) and "\n" not in str(streamed.value)


@pytest.mark.slow
@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_lines_split_across_read_blocks_keep_their_text_and_numbers(tmp_path, monkeypatch, block):
    monkeypatch.setattr(streaming, "_BLOCK", block)
    values = _table(200)
    lines = [f" {a:g}, {b:g} ,{y:g}\r" if i % 5 == 0 else f"{a:g},{b:g},{y:g}" for i, (a, b, y) in enumerate(values)]
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n\n" + "\n".join(line + ("\n\n" if i % 9 == 0 else "") for i, line in enumerate(lines)))
    source = streaming.TableSource.open(str(path), ",", "auto")
    numbers = np.concatenate([n for _, n, _ in source.chunks().as_numpy_iterator()])
    texts = np.concatenate([t for _, _, t in source.chunks().as_numpy_iterator()])
    expected = [(n, line.strip()) for n, line in enumerate(path.read_text().split("\n"), start=1) if n > 1 and line.strip()]
    assert [(int(n), t.decode()) for n, t in zip(numbers, texts)] == expected
    np.testing.assert_allclose(_all_rows(load_data(f"csv:{path}#stream=yes")), _sorted_rows(values.astype("float32")))
    bad = path.read_text().replace(lines[151], "1,x,2")
    path.write_text(bad)
    with pytest.raises(DataError, match=r"row (\d+): column 'b' is not a number") as error:
        load_data(f"csv:{path}#stream=yes")
    assert str(error.value) == str(pytest.raises(DataError, load_data, f"csv:{path}#stream=no").value)


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "the file is empty"), ("a,b\n", "no data rows after the header"), ("1\n2\n", "need at least two columns")],
)
def test_empty_and_narrow_streamed_tables(tmp_path, content, message):
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_data(f"csv:{path}#stream=yes")


@pytest.mark.slow
def test_glob_shards_read_as_one_table_and_errors_name_the_shard(tmp_path):
    values = _table(90)
    for k in range(3):
        _write(tmp_path / f"part-{k}.csv", values[30 * k: 30 * (k + 1)])
    data = load_data(f"csv:{tmp_path}/part-*.csv#test=0.2")
    assert isinstance(data, StreamedDataset) and data.source.files[0].endswith("part-0.csv")
    np.testing.assert_allclose(_all_rows(data), _sorted_rows(values.astype("float32")))
    (tmp_path / "part-2.csv").write_text("a,b,y\n1,2,3\n4,5\n")
    with pytest.raises(DataError, match=r"part-2.csv, row 3: expected 3 columns, found 2"):
        load_data(f"csv:{tmp_path}/part-*.csv")
    (tmp_path / "part-1.csv").write_text("a,c,y\n1,2,3\n")
    with pytest.raises(DataError, match=r"part-1.csv: columns a, c, y differ from .*part-0.csv's: a, b, y"):
        load_data(f"csv:{tmp_path}/part-*.csv")
    with pytest.raises(DataError, match="no file matches"):
        load_data(f"csv:{tmp_path}/none-*.csv")


def test_streaming_is_asked_for_by_option_or_by_a_pattern(tmp_path):
    path = _write(tmp_path / "t.csv", _table(20))
    assert not streams(str(path), {}) and streams(str(path), {"stream": "yes"})
    assert streams(f"{tmp_path}/*.csv", {}) and not streams(str(path), {"stream": "no"})
    with pytest.raises(DataError, match="drop stream=no"):
        streams(f"{tmp_path}/*.csv", {"stream": "no"})
    with pytest.raises(DataError, match="Invalid value for option `stream`: expected auto, yes or no. Received: 'maybe'"):
        load_data(f"csv:{path}#stream=maybe")


def test_batches_know_their_number_and_shuffling_permutes_the_training_rows(tmp_path):
    data = load_data(f"csv:{_write(tmp_path / 't.csv', _table())}#stream=yes")
    plain, shuffled = data.batches(32), data.batches(32, order=EpochShuffle(1))
    assert int(plain.cardinality()) == math.ceil(data.n_train / 32) == len(list(plain))
    x_plain = np.concatenate([x for x, _ in plain.as_numpy_iterator()])
    x_shuffled = np.concatenate([x for x, _ in shuffled.as_numpy_iterator()])
    assert not np.array_equal(x_plain, x_shuffled)
    np.testing.assert_array_equal(_sorted_rows(x_plain), _sorted_rows(x_shuffled))
    np.testing.assert_array_equal(data.head(5)[0], x_plain[:5])


def test_the_shuffled_order_is_a_function_of_the_seed_and_the_epoch(tmp_path):
    data = load_data(f"csv:{_write(tmp_path / 't.csv', _table())}#stream=yes")
    order = EpochShuffle(3)
    batches = data.batches(1000, order=order)

    def first_column(epoch):
        order.on_epoch_begin(epoch)
        return next(batches.as_numpy_iterator())[0][:, 0]

    epoch_0, epoch_1 = first_column(0), first_column(1)
    assert not np.array_equal(epoch_0, epoch_1)
    np.testing.assert_array_equal(first_column(0), epoch_0)
    np.testing.assert_array_equal(first_column(1), epoch_1)
    np.testing.assert_array_equal(next(data.batches(1000, order=EpochShuffle(3)).as_numpy_iterator())[0][:, 0], epoch_0)


def test_the_unsupervised_view_streams_every_column(tmp_path):
    data = load_data(f"csv:{_write(tmp_path / 't.csv', _table(100))}#stream=yes").as_unsupervised()
    batch = next(data.batches(10).as_numpy_iterator())
    assert data.kind == "density" and batch.shape == (10, 3) and data.feature_names == ["a", "b", "y"]


@pytest.mark.slow
def test_classification_counts_the_classes_in_the_streaming_pass(tmp_path):
    values = _table(300)
    values[:, 2] = np.arange(300) % 4
    values[250, 2] = 6
    data = load_data(f"csv:{_write(tmp_path / 't.csv', values)}#stream=yes&task=classification")
    assert data.max_label == 6 and data.summary().y_train.max() == 6 and data.y_test.dtype == np.int32
    values[10, 2] = -1
    with pytest.raises(DataError, match="classification targets must be non-negative integers"):
        load_data(f"csv:{_write(tmp_path / 't.csv', values)}#stream=yes&task=classification")


@pytest.mark.slow
def test_training_on_a_streamed_table_counts_its_training_rows_for_the_kl_weight(tmp_path):
    from tfp_arch.runs import train

    spec = f"csv:{_write(tmp_path / 't.csv', _table())}#stream=yes"
    data = load_data(spec)
    run = train("bnn", spec, epochs=1, batch_size=64, output=tmp_path / "run", verbose=0)
    weights = [float(layer.kl_weight_variable.numpy()) for layer in run.model.variational_layers]
    assert weights == pytest.approx([1.0 / data.n_train] * len(weights))
    assert run.config["data_shape"] == [2] and np.isfinite(run.metrics["test_rmse"])
    with pytest.raises(DataError, match="validation_split=0.2 needs the data in memory"):
        train("bnn", spec, epochs=1, validation_split=0.2, output=tmp_path / "run2", verbose=0)


def test_a_memory_mapped_npy_array_streams_the_rows_of_the_in_memory_read(tmp_path):
    array = np.random.default_rng(2).normal(size=(5000, 3))
    array[10] = 0.0
    np.save(tmp_path / "x.npy", array)
    streamed, memory = load_data(f"npy:{tmp_path / 'x.npy'}#stream=yes"), load_data(f"npy:{tmp_path / 'x.npy'}")
    assert streamed.kind == memory.kind == "density" and not streamed.supervised
    rows = np.concatenate([*streamed.batches(700).as_numpy_iterator(), streamed.x_test])
    np.testing.assert_array_equal(_sorted_rows(rows), _sorted_rows(np.concatenate([memory.x_train, memory.x_test])))


@pytest.mark.slow
def test_a_memory_mapped_npy_array_names_its_bad_row_as_in_memory(tmp_path):
    array = np.ones((9000, 2))
    array[8500, 1] = 1e300
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(DataError) as memory:
        load_data(f"npy:{tmp_path / 'x.npy'}")
    with pytest.raises(DataError) as streamed:
        load_data(f"npy:{tmp_path / 'x.npy'}#stream=yes")
    assert str(streamed.value) == str(memory.value) and "row 8501" in str(streamed.value)
    np.save(tmp_path / "images.npy", np.ones((4, 2, 2)))
    with pytest.raises(DataError, match=r"must be 2-D .* shape \(4, 2, 2\)"):
        load_data(f"npy:{tmp_path / 'images.npy'}#stream=yes")
    np.savez(tmp_path / "x.npz", x=array)
    with pytest.raises(DataError, match="only a .npy file can be streamed"):
        load_data(f"npy:{tmp_path / 'x.npz'}#stream=yes")
