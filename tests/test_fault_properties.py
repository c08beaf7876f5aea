"""Property tests over data specs, CSV and NPY contents, and the data fingerprint: whatever the input,
a reader returns data or raises `DataError` (one line), never another exception, and never drops a row."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tfp_arch.data import DataError, load_data
from tfp_arch.data.arrays import read_numpy
from tfp_arch.data.tables import read_table
from tfp_arch.fingerprint import changes, fingerprint

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_values = st.one_of(st.integers(-5, 400).map(str), st.floats(allow_nan=True).map(str), st.text(max_size=6),
                    st.sampled_from(["", "1e3", "0x10", "4294967296", "-0", " 7 "]))


def _one_line_or_data(call):
    try:
        return call()
    except DataError as error:
        assert "\n" not in str(error) and str(error)
        return None


@SETTINGS
@given(name=st.sampled_from(["two_moons", "gap_regression", "checkerboard", "nope"]),
       options=st.dictionaries(st.sampled_from(["n", "seed", "test", "colour"]), _values, max_size=3))
def test_synthetic_specs_load_or_fail_in_one_line(name, options):
    if "n" not in options:
        options["n"] = "50"
    spec = f"synthetic:{name}#" + "&".join(f"{k}={v}" for k, v in options.items() if "&" not in v and "#" not in v)
    dataset = _one_line_or_data(lambda: load_data(spec))
    if dataset is not None:
        assert dataset.n_train >= 1 and len(dataset.x_test) >= 1


_cell = st.one_of(st.floats(-1e6, 1e6).map(lambda v: f"{v:.4g}"), st.integers(-99, 99).map(str),
                  st.sampled_from(["", "nan", "inf", "1e400", "abc", '"1"', " 2 ", "\ufeff3", "1,5"]))


@SETTINGS
@given(rows=st.lists(st.lists(_cell, min_size=1, max_size=4), min_size=0, max_size=8),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), bom=st.booleans(),
       header=st.sampled_from(["auto", "yes", "no"]))
@example(rows=[["\ufeff3"], ["0"]], delimiter=",", bom=True, header="auto")  # two byte-order marks
@example(rows=[["\ufeffname"], ["0"]], delimiter=",", bom=True, header="auto")
def test_any_csv_text_reads_or_fails_in_one_line(tmp_path_factory, rows, delimiter, bom, header):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_text(("\ufeff" if bom else "") + "".join(delimiter.join(r) + "\n" for r in rows), encoding="utf-8")
    table = _one_line_or_data(lambda: read_table(path, delimiter=delimiter, header=header))
    if table is not None:
        assert np.isfinite(table.values).all()
        assert not any(name.startswith("\ufeff") for name in table.columns)


@SETTINGS
@given(values=st.lists(st.lists(st.integers(-1000, 1000), min_size=2, max_size=2), min_size=1, max_size=12),
       header=st.booleans())
def test_a_byte_order_mark_never_drops_a_row(tmp_path_factory, values, header):
    path = tmp_path_factory.mktemp("bom") / "t.csv"
    text = ("a,b\n" if header else "") + "".join(f"{a},{b}\n" for a, b in values)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    table = read_table(path)
    assert table.values.tolist() == [[float(a), float(b)] for a, b in values]
    assert table.columns == (["a", "b"] if header else ["column_0", "column_1"])


@pytest.mark.slow
@SETTINGS
@given(shape=st.lists(st.integers(0, 10**7), min_size=0, max_size=3).map(tuple),
       dtype=st.sampled_from(["<f4", "<f8", "|u1", "<i8"]), body=st.integers(0, 256))
def test_any_npy_header_reads_or_fails_in_one_line_without_allocating(tmp_path_factory, shape, dtype, body):
    path = tmp_path_factory.mktemp("npy") / "x.npy"
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": dtype, "fortran_order": False, "shape": shape})
    path.write_bytes(out.getvalue() + bytes(body))
    arrays = _one_line_or_data(lambda: read_numpy(path))
    if arrays is not None:
        assert arrays["x"].shape == shape


@pytest.mark.slow
@SETTINGS
@given(data=st.binary(min_size=1, max_size=2000), position=st.integers(0, 1999), byte=st.integers(0, 255))
def test_the_fingerprint_sees_any_change_of_a_byte(tmp_path_factory, data, position, byte):
    path = tmp_path_factory.mktemp("fp") / "d.csv"
    path.write_bytes(data)
    before = fingerprint(f"csv:{path}")
    changed = bytearray(data)
    position %= len(changed)
    changed[position] = byte
    path.write_bytes(bytes(changed))
    found = changes(before, fingerprint(f"csv:{path}"))
    assert bool(found) == (bytes(changed) != data)
