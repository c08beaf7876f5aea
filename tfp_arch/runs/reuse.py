"""Reusing a finished run: its model and config, and its test metrics on its own or other data."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tfp_arch.architecture import Architecture
from tfp_arch.data import DataError
from tfp_arch.runs.folder import STAGING_SUFFIX
from tfp_arch.runs.training import FILES, MODEL_FILE, check_labels, prepare_data, strict_metrics

__all__ = ["evaluate_run", "load_run"]

CONFIG_KEYS = ("architecture", "data", "data_shape")


def load_run(path: str | Path) -> tuple[Architecture, dict[str, Any]]:
    """The model and config of a run folder written by `train`.

    Raises:
        DataError: the folder is not a complete run, or a file in it is damaged.
    """
    folder = Path(path)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        hint = (
            f"; it is an interrupted run: `tfp-arch train --resume {folder}`"
            if folder.name.endswith(STAGING_SUFFIX)
            else ""
        )
        raise DataError(f"not a complete tfp-arch run folder (missing {', '.join(missing)}){hint}", str(folder))
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"config.json is not readable JSON: {error}", str(folder)) from None
    if not isinstance(config, dict):
        raise DataError("config.json does not hold a JSON object; it is damaged", str(folder))
    missing = [key for key in CONFIG_KEYS if key not in config]
    if missing:
        raise DataError(
            f"config.json lacks {', '.join(missing)}; it is damaged or not written by tfp-arch train", str(folder)
        )
    shape = config["data_shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise DataError(f"config.json: data_shape must be a list of positive integers, got {shape!r}", str(folder))
    if not isinstance(config["data"], str):
        raise DataError(f"config.json: data must be a data spec string, got {config['data']!r}", str(folder))
    model_path = folder / MODEL_FILE
    if not zipfile.is_zipfile(model_path):
        raise DataError(f"{MODEL_FILE} is not a .keras (zip) file; it may be truncated or damaged", str(folder))
    try:
        model = keras.saving.load_model(model_path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, zipfile.BadZipFile) as error:
        text = " ".join(str(error).split())[:300]
        raise DataError(f"{MODEL_FILE} cannot be loaded ({type(error).__name__}: {text})", str(folder)) from None
    if not isinstance(model, Architecture):
        raise DataError(
            f"{MODEL_FILE} holds a {type(model).__name__}, not a tfp_arch architecture; evaluate and sample take "
            f"run folders written by `tfp-arch train`",
            str(folder),
        )
    return model, config


def evaluate_run(path: str | Path, data: str | None = None) -> dict[str, float]:
    """Test metrics of a saved run, on its own data or on the data spec `data`."""
    model, config = load_run(path)
    dataset = prepare_data(type(model), data or config["data"])
    expected = tuple(config["data_shape"])
    if tuple(dataset.x_test.shape[1:]) != expected:
        raise DataError(
            f"the model takes inputs of shape {expected} ({int(np.prod(expected))} features); "
            f"data {dataset.name!r} has {tuple(dataset.x_test.shape[1:])}"
        )
    check_labels(model, dataset)
    scores = strict_metrics(model.evaluate_metrics(dataset.x_test, dataset.y_test), "test metrics")
    return {f"test_{k}": v for k, v in scores.items()}
