"""Shared helpers of the benchmarks: machine facts and result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "machine", "mean_and_stderr", "write_result"]

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    """Facts about the machine and the packages a result was measured with."""
    versions = {}
    for package in ("tfp-arch", "tensorflow", "keras", "tensorflow-probability", "tf-keras", "torch", "zuko"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": versions,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def mean_and_stderr(values: list[float]) -> dict[str, float]:
    """Mean and standard error of the mean."""
    mean = statistics.fmean(values)
    stderr = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return {"mean": mean, "stderr": stderr, "n": len(values)}


def write_result(name: str, document: dict[str, Any]) -> Path:
    """Write `benchmarks/results/<name>.json` with the machine facts added."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **document}, indent=2) + "\n")
    return path
