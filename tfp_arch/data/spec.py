"""Data spec strings: `KIND:PATH#option=value&option=value`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tfp_arch.data.dataset import Dataset
from tfp_arch.data.errors import DataError
from tfp_arch.data.loaders import LOADERS, OPTIONS

if TYPE_CHECKING:
    from tfp_arch.data.streaming import StreamedDataset

__all__ = ["DataSpec", "load_data"]

_SUFFIXES = {".csv": "csv", ".txt": "txt", ".dat": "txt", ".npy": "npy", ".npz": "npy", ".gz": "idx"}


@dataclass(frozen=True)
class DataSpec:
    """A parsed data spec.

    Kinds: `synthetic:NAME`, `csv:PATH`, `txt:PATH`, `npy:PATH` (.npy or .npz), `uci:DIR`, `idx:PATH`.
    Without a kind, it is guessed from the path (a folder with data.txt is `uci`, a folder with IDX
    files or a `.gz` file is `idx`, else by the file's suffix). Options follow `#`, joined by `&`:
    `csv:wine.csv#target=quality&test=0.2`, `uci:DIR#split=3`. A `csv:` or `txt:` path may be a glob
    of shards (`csv:DIR/*.csv`), which is streamed, as is a table with `stream=yes` or one larger than
    1 GiB (`tfp_arch.data.loaders.streams`).
    """

    kind: str
    path: str
    options: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> DataSpec:
        """Parse `text`; raises `DataError` naming what is wrong."""
        body, _, raw_options = text.partition("#")
        options = {}
        for item in filter(None, raw_options.split("&")):
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise DataError(f"bad option {item!r} in data spec {text!r}: expected key=value")
            options[key.strip()] = value.strip()
        kind, sep, path = body.partition(":")
        if not sep or kind not in LOADERS:
            kind, path = _guess_kind(body), body
        if not path:
            raise DataError(f"data spec {text!r} names no path")
        unknown = sorted(set(options) - set(OPTIONS[kind]))
        if unknown:
            raise DataError(f"unknown option {unknown[0]!r} for {kind} data; known: {', '.join(OPTIONS[kind])}")
        return cls(kind, path, options)

    def __str__(self) -> str:
        options = "&".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.kind}:{self.path}" + (f"#{options}" if options else "")


def _guess_kind(path: str) -> str:
    candidate = Path(path)
    if candidate.is_dir():
        if (candidate / "data.txt").is_file():
            return "uci"
        if any(candidate.glob("*idx3-ubyte*")):
            return "idx"
        raise DataError("folder is neither a UCI split folder nor holds IDX files", path)
    kind = _SUFFIXES.get(candidate.suffix.lower())
    if kind is None:
        raise DataError(
            f"cannot tell the kind of data from {path!r}; prefix it with one of {', '.join(LOADERS)} (e.g. csv:{path})"
        )
    return kind


def load_data(spec: str | DataSpec) -> Dataset | StreamedDataset:
    """Load the data set a spec names, split into training and test parts.

    Args:
        spec: a spec string or a parsed `DataSpec`.

    Returns:
        The data set; its `name` is the spec. A streamed table (see `DataSpec`) is a
        `tfp_arch.data.streaming.StreamedDataset`, read once to check and count its rows.

    Raises:
        DataError: a one-line message naming the file, the row and the problem.
    """
    parsed = spec if isinstance(spec, DataSpec) else DataSpec.parse(spec)
    return LOADERS[parsed.kind](parsed.path, parsed.options, str(parsed))
