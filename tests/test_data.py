"""Data loaders and data specs: splits, standard formats and one-line errors."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from conftest import SHARED_DATA, needs_shared_data

from tfp_arch.data import DataError, DataSpec, load_data, uci_protocol
from tfp_arch.data.dataset import holdout


def _write(path, text):
    path.write_text(text)
    return path


def test_csv_with_header_takes_the_named_target(tmp_path):
    path = _write(tmp_path / "w.csv", "a,b,quality\n" + "".join(f"{i},{2 * i},{i % 3}\n" for i in range(20)))
    data = load_data(f"csv:{path}#target=quality&test=0.25")
    assert data.feature_names == ["a", "b"] and data.target_name == "quality"
    assert data.x_train.shape == (15, 2) and data.x_test.shape == (5, 2)
    np.testing.assert_array_equal(data.x_train[:, 1], 2 * data.x_train[:, 0])
    np.testing.assert_array_equal(data.y_train, data.x_train[:, 0] % 3)


def test_csv_without_header_uses_the_last_column_and_is_split_reproducibly(tmp_path):
    path = _write(tmp_path / "n.csv", "".join(f"{i},{i + 0.5}\n" for i in range(30)))
    first, second = load_data(str(path)), load_data(str(path))
    assert first.feature_names == ["column_0"] and first.x_test.shape == (3, 1)
    np.testing.assert_array_equal(first.x_test, second.x_test)
    assert not np.array_equal(first.x_test, load_data(f"{path}#seed=5").x_test)


def test_whitespace_text(tmp_path):
    path = _write(tmp_path / "d.txt", "1 2  3\n4\t5 6\n7 8 9\n10 11 12\n")
    data = load_data(f"txt:{path}#test=0.25")
    assert data.x_train.shape == (3, 2) and data.y_train.dtype == np.float32


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "d.csv: the file is empty"),
        ("a,b\n", "d.csv: no data rows after the header"),
        ("a,b\n1,2\n3\n", "d.csv, row 3: expected 2 columns, found 1"),
        ("a,b\n1,2\n3,x\n", "d.csv, row 3: column 'b' is not a number: 'x'"),
        ("a,b\n1,2\nnan,4\n", "d.csv, row 3: column 'a' is nan (NaN or infinite)"),
        ("a,b\n1,inf\n", "d.csv, row 2: column 'b' is inf (NaN or infinite)"),
    ],
)
def test_bad_tables_name_file_row_and_problem(tmp_path, content, message):
    path = _write(tmp_path / "d.csv", content)
    with pytest.raises(DataError) as info:
        load_data(f"csv:{path}")
    assert str(info.value).endswith(message) and "\n" not in str(info.value)


def test_a_target_column_that_does_not_exist(tmp_path):
    path = _write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match="no column 'quality'; columns are a, b"):
        load_data(f"csv:{path}#target=quality")


def test_missing_file_and_unknown_kind_and_option(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_data(f"csv:{tmp_path / 'absent.csv'}")
    with pytest.raises(DataError, match="cannot tell the kind"):
        load_data(str(tmp_path / "data.parquet"))
    with pytest.raises(DataError, match="unknown option 'split' for csv data"):
        DataSpec.parse("csv:x.csv#split=1")
    with pytest.raises(DataError, match="expected key=value"):
        DataSpec.parse("csv:x.csv#split")


def test_npz_with_given_split_and_npy(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "s.npz", x_train=rng.normal(size=(8, 3)), x_test=rng.normal(size=(4, 3)),
             y_train=np.arange(8.0), y_test=np.arange(4.0))
    data = load_data(str(tmp_path / "s.npz"))
    assert data.x_test.shape == (4, 3) and data.y_test.tolist() == [0, 1, 2, 3]
    np.save(tmp_path / "x.npy", rng.normal(size=(10, 2)))
    assert load_data(str(tmp_path / "x.npy")).y_train is None


def test_npy_with_nan_names_the_row(tmp_path):
    array = np.ones((5, 2))
    array[3, 1] = np.nan
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(DataError, match=r"x.npy, row 4: x: NaN or infinite value"):
        load_data(str(tmp_path / "x.npy"))


def _write_idx(path, array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def test_idx_images_with_labels_split_first_part_for_training(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(10, 4, 4), dtype=np.uint8)
    _write_idx(tmp_path / "t-images-idx3-ubyte.gz", images, 0x08)
    _write_idx(tmp_path / "t-labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8), 0x08)
    data = load_data(f"idx:{tmp_path}#binarize=none")
    assert data.x_train.shape == (8, 4, 4, 1) and data.x_test.shape == (2, 4, 4, 1)
    np.testing.assert_allclose(data.x_test[..., 0], images[8:] / 255.0, rtol=1e-6)
    assert data.labels_test.tolist() == [8, 9]
    binary = load_data(f"idx:{tmp_path}")
    assert set(np.unique(binary.x_train)) <= {0.0, 1.0}


def test_idx_classification_task_makes_the_labels_targets(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, size=(10, 4, 4), dtype=np.uint8)
    _write_idx(tmp_path / "t-images-idx3-ubyte.gz", images, 0x08)
    _write_idx(tmp_path / "t-labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8) % 3, 0x08)
    data = load_data(f"idx:{tmp_path}#binarize=none&task=classification&train=6")
    assert data.kind == "classification" and data.supervised
    assert data.y_train.tolist() == [0, 1, 2, 0, 1, 2] and data.y_test.tolist() == [0, 1, 2, 0]
    with pytest.raises(DataError, match="task"):
        load_data(f"idx:{tmp_path}#task=regression")


def test_shapes_classification_labels_the_shapes_images():
    images = load_data("synthetic:shapes#n=200")
    labelled = load_data("synthetic:shapes_classification#n=200")
    assert labelled.kind == "classification" and labelled.supervised
    np.testing.assert_array_equal(labelled.x_train, images.x_train)
    np.testing.assert_array_equal(labelled.y_test, images.labels_test)
    assert labelled.y_train.dtype.kind == "i" and set(np.unique(labelled.y_train)) == {0, 1, 2, 3}


def test_truncated_idx_is_reported(tmp_path):
    _write_idx(tmp_path / "a-images-idx3-ubyte.gz", np.zeros((3, 2, 2), np.uint8), 0x08)
    raw = gzip.open(tmp_path / "a-images-idx3-ubyte.gz").read()
    with gzip.open(tmp_path / "a-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(raw[:-1])
    with pytest.raises(DataError, match="IDX header says"):
        load_data(f"idx:{tmp_path / 'a-images-idx3-ubyte.gz'}")


def _uci_folder(root, rows=20):
    root.mkdir()
    data = np.column_stack([np.arange(rows), np.arange(rows) * 2.0, np.arange(rows) * 3.0])
    np.savetxt(root / "data.txt", data)
    (root / "index_features.txt").write_text("0\n1\n")
    (root / "index_target.txt").write_text("2\n")
    (root / "index_train_0.txt").write_text("\n".join(map(str, range(15))))
    (root / "index_test_0.txt").write_text("\n".join(map(str, range(15, rows))))
    return root


def test_uci_split_folder(tmp_path):
    folder = _uci_folder(tmp_path / "set")
    data = load_data(f"uci:{folder}#split=0")
    assert data.x_train.shape == (15, 2) and data.y_test.tolist() == [45, 48, 51, 54, 57]
    assert load_data(str(folder)).x_test.shape == (5, 2)
    with pytest.raises(DataError, match="no split 3; this folder has splits 0..0"):
        load_data(f"uci:{folder}#split=3")


@needs_shared_data
def test_real_uci_wine_split_matches_the_index_files():
    folder = SHARED_DATA / "uci" / "wine-quality-red"
    data = load_data(f"uci:{folder}#split=2")
    n_test = len((folder / "index_test_2.txt").read_text().split())
    assert data.x_test.shape == (n_test, 11) and data.x_train.shape[0] + n_test == 1599
    assert set(np.unique(data.y_train)) <= set(range(3, 9))


def test_uci_protocol_reads_the_settings_files(tmp_path):
    folder = _uci_folder(tmp_path / "set")
    for key, value in (("n_splits", 1), ("n_hidden", 50), ("n_epochs", 40)):
        (folder / f"{key}.txt").write_text(f"{value}\n")
    assert uci_protocol(folder) == {"n_splits": 1, "n_hidden": 50, "n_epochs": 40}
    (folder / "n_hidden.txt").write_text("2.5\n")
    with pytest.raises(DataError, match="n_hidden.txt must hold one positive integer"):
        uci_protocol(folder)
    (folder / "n_hidden.txt").write_text("50\n")
    (folder / "n_epochs.txt").unlink()
    with pytest.raises(DataError, match="no n_epochs.txt"):
        uci_protocol(folder)


@needs_shared_data
def test_real_uci_protocol_counts_the_split_files():
    for folder in sorted((SHARED_DATA / "uci").iterdir()):
        protocol = uci_protocol(folder)
        assert protocol["n_splits"] == len(list(folder.glob("index_train_*.txt")))
        assert protocol["n_hidden"] == int((folder / "n_hidden.txt").read_text().split()[0])


@needs_shared_data
def test_real_mnist_uses_the_benchmark_split():
    data = load_data(f"idx:{SHARED_DATA / 'mnist'}")
    assert data.x_train.shape == (8000, 28, 28, 1) and data.x_test.shape == (2000, 28, 28, 1)
    assert data.labels_test.shape == (2000,)


def test_unsupervised_view_takes_every_column():
    data = load_data("synthetic:gap_regression#n=50")
    flat = data.as_unsupervised()
    assert flat.x_train.shape == (45, 2) and flat.y_train is None
    np.testing.assert_array_equal(flat.x_train[:, 1], data.y_train)


def test_holdout_is_a_partition():
    train, test = holdout(101, 0.1, seed=3)
    assert len(test) == 10 and sorted(np.concatenate([train, test]).tolist()) == list(range(101))


def test_read_table_takes_quotes_spaces_blank_lines_and_windows_line_ends(tmp_path):
    from tfp_arch.data.tables import read_table

    path = tmp_path / "q.csv"
    path.write_bytes(b'"a","b"\r\n\r\n"1.5", 2\r\n 3 ,-4e2\r\n\r\n')
    table = read_table(path)
    assert table.columns == ["a", "b"]
    np.testing.assert_array_equal(table.values, [[1.5, 2.0], [3.0, -400.0]])


def test_read_table_keeps_what_python_reads_when_the_fast_reader_refuses(tmp_path):
    from tfp_arch.data.tables import read_table

    path = _write(tmp_path / "u.csv", "a,b\n1_000,2\n3,4\n")
    np.testing.assert_array_equal(read_table(path).values, [[1000.0, 2.0], [3.0, 4.0]])


@pytest.mark.slow
def test_read_table_without_header_and_a_bad_row_deep_in_the_file(tmp_path):
    from tfp_arch.data.tables import read_table

    path = _write(tmp_path / "big.txt", "".join(f"{i} {i / 2}\n" for i in range(20_000)) + "1 2 3\n")
    with pytest.raises(DataError, match=r"big.txt, row 20001: expected 2 columns, found 3$"):
        read_table(path, delimiter=None)
    path = _write(tmp_path / "ok.txt", "".join(f"{i} {i / 2}\n" for i in range(20_000)))
    table = read_table(path, delimiter=None)
    assert table.columns == ["column_0", "column_1"] and table.values.shape == (20_000, 2)
    np.testing.assert_array_equal(table.values[:, 1], np.arange(20_000) / 2)
