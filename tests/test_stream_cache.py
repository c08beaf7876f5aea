"""The parsed-row cache of a streamed table: the same batches as parsing the text, its folder's life, its failures."""

from __future__ import annotations

import gc
import os
import shutil

import numpy as np
import pytest

from tfp_arch.data import DataError, load_data
from tfp_arch.data import stream_cache
from tfp_arch.data.streaming import EpochShuffle


def _write(path, rows: int, classes: bool = False):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3)).round(5)
    y = np.arange(rows) % 5 if classes else (x @ [1.0, -2.0, 0.5]).round(5)
    path.write_text("a,b,c,y\n" + "".join(f"{a:g},{b:g},{c:g},{t:g}\n" for (a, b, c), t in zip(x, y)))
    return path


def _epoch(data, batch_size: int, epoch: int):
    order = EpochShuffle(4)
    order.on_epoch_begin(epoch)
    return list(data.batches(batch_size, order=order).as_numpy_iterator())


@pytest.mark.slow
@pytest.mark.parametrize("classes", [False, True])
def test_cached_batches_equal_the_batches_parsed_from_the_text(tmp_path, classes):
    # 40,000 rows: more than two cache records of 16,384 rows and a partial last one in each part.
    path = _write(tmp_path / "t.csv", 40_000, classes)
    task = "&task=classification" if classes else ""
    cached, parsed = load_data(f"csv:{path}#stream=yes&cache=yes{task}"), load_data(f"csv:{path}#stream=yes&cache=no{task}")
    assert cached.cache is not None and parsed.cache is None
    assert (cached.n_train, cached.n_test) == (parsed.n_train, parsed.n_test) == tuple(cached.cache.rows.values())
    assert os.path.getsize(cached.cache.path("train")) == cached.n_train * 4 * 4
    for epoch in (0, 1):
        for (x, y), (x_text, y_text) in zip(_epoch(cached, 1000, epoch), _epoch(parsed, 1000, epoch), strict=True):
            np.testing.assert_array_equal(x, x_text)
            np.testing.assert_array_equal(y, y_text)
            assert y.dtype == y_text.dtype
    np.testing.assert_array_equal(cached.x_test, parsed.x_test)
    np.testing.assert_array_equal(cached.y_test, parsed.y_test)
    unsupervised = next(cached.as_unsupervised().batches(50).as_numpy_iterator())
    np.testing.assert_array_equal(unsupervised, next(parsed.as_unsupervised().batches(50).as_numpy_iterator()))


@pytest.mark.slow
def test_the_cache_folder_lives_as_long_as_the_data_or_a_pipeline_reading_it(tmp_path):
    data = load_data(f"csv:{_write(tmp_path / 't.csv', 3000)}#stream=yes")
    folder = data.cache.folder
    batches = data.batches(500)
    del data
    gc.collect()
    assert os.path.isdir(folder) and len(list(batches.as_numpy_iterator())) > 0
    del batches
    gc.collect()
    assert not os.path.exists(folder)


@pytest.mark.slow
def test_auto_caches_a_text_table_with_room_for_it_and_never_a_memory_map(tmp_path, monkeypatch):
    path = _write(tmp_path / "t.csv", 300)
    assert load_data(f"csv:{path}#stream=yes").cache is not None
    np.save(tmp_path / "x.npy", np.random.default_rng(1).normal(size=(300, 2)))
    assert load_data(f"npy:{tmp_path / 'x.npy'}#stream=yes").cache is None
    assert load_data(f"npy:{tmp_path / 'x.npy'}#stream=yes&cache=yes").cache is not None
    monkeypatch.setattr(stream_cache, "memory_backed", lambda folder: True)
    assert load_data(f"csv:{path}#stream=yes").cache is None
    monkeypatch.setattr(stream_cache, "memory_backed", lambda folder: False)
    free = 2 * os.path.getsize(path) - 1
    monkeypatch.setattr(stream_cache.shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(free, 0, free))
    assert load_data(f"csv:{path}#stream=yes").cache is None
    with pytest.raises(DataError, match="Invalid value for option `cache`: expected auto, yes or no. Received: 'maybe'"):
        load_data(f"csv:{path}#stream=yes&cache=maybe")


class _FullDisk:
    def write(self, data):
        raise OSError(28, "No space left on device")

    def close(self):
        pass


def test_a_failed_write_drops_the_cache_under_auto_and_is_an_error_under_yes(tmp_path, monkeypatch):
    path = _write(tmp_path / "t.csv", 300)
    folders = []
    original = stream_cache.make_folder

    def make_folder(label):
        folders.append(original(label))
        return folders[-1]

    monkeypatch.setattr(stream_cache, "make_folder", make_folder)
    monkeypatch.setattr(stream_cache, "open", lambda path, mode="r": _FullDisk() if "w" in mode else open(path, mode),
                        raising=False)
    data = load_data(f"csv:{path}#stream=yes")
    assert data.cache is None and data.n_train + data.n_test == 300 and not os.path.exists(folders[-1])
    assert len(np.concatenate([x for x, _ in data.batches(64).as_numpy_iterator()])) == data.n_train
    with pytest.raises(DataError, match=r"cannot write the parsed rows \(No space left on device\); .* cache=no$"):
        load_data(f"csv:{path}#stream=yes&cache=yes")
    assert not os.path.exists(folders[-1])


@pytest.mark.slow
def test_auto_leaves_a_temporary_folder_in_memory_alone():
    mounts = "/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n/dev/vdb /tmp/disk ext4 rw 0 0\n/dev/vdc /my\\040data ext4 rw 0 0\n"
    assert stream_cache.memory_backed("/tmp", mounts) and stream_cache.memory_backed("/tmp/x/y", mounts)
    assert not stream_cache.memory_backed("/tmp/disk/x", mounts) and not stream_cache.memory_backed("/tmpx", mounts)
    assert not stream_cache.memory_backed("/my data/x", mounts) and not stream_cache.memory_backed("/", mounts)
    assert not stream_cache.memory_backed("/dev/shm-not-listed", "")
