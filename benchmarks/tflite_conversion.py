"""Which exported signatures convert to TFLite, with TFLite's builtin ops alone and with Flex (SELECT_TF_OPS).

Trains a small `bnn` (regression) and an unconditional `maf` for one epoch, exports them
(`Architecture.export`), converts each signature with `tf.lite.TFLiteConverter.from_saved_model`
with and without `tf.lite.OpsSet.SELECT_TF_OPS`, and runs what converted with
`tf.lite.Interpreter(...).get_signature_runner`, comparing with the SavedModel's answer.
Writes `benchmarks/results/tflite_conversion.json`; `docs/serving.md` reports it.

Usage: python benchmarks/tflite_conversion.py
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from harness import write_result
from tfp_arch.plugins.bnn import BayesianMLP
from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel

from tfp_arch.data.synthetic import make_synthetic


def _problems(message: str) -> list[str]:
    """The distinct "'tf.Op' op is neither a custom op nor a flex op" lines, and the error codes."""
    ops = sorted(set(re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", message)))
    codes = sorted(set(re.findall(r"Error code: (\w+)", message)))
    return ops + codes


def _convert(path: str, signature: str, flex: bool, inputs: dict[str, np.ndarray] | None) -> dict[str, Any]:
    converter = tf.lite.TFLiteConverter.from_saved_model(path, signature_keys=[signature])
    extra = [tf.lite.OpsSet.SELECT_TF_OPS] if flex else []
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, *extra]
    try:
        blob = converter.convert()
    except Exception as error:  # noqa: BLE001 - the converter's errors are what this measures
        return {"converted": False, "error": type(error).__name__, "problems": _problems(str(error))}
    result: dict[str, Any] = {"converted": True, "bytes": len(blob)}
    if inputs is None:
        return result
    try:
        runner = tf.lite.Interpreter(model_content=blob).get_signature_runner(signature)
        answer = runner(**inputs)
        reference = tf.saved_model.load(path).signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        result["max_abs_difference"] = {k: float(np.max(np.abs(answer[k] - reference[k].numpy()))) for k in answer}
    except Exception as error:  # noqa: BLE001
        result["run_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return result


def main() -> None:
    keras.utils.set_random_seed(0)
    folder = Path(tempfile.mkdtemp())
    regression = make_synthetic("gap_regression", n=200)
    bnn = BayesianMLP(hidden_units=[16])
    bnn.fit(regression.x_train, regression.y_train, epochs=1, verbose=0)
    moons = make_synthetic("two_moons", n=300)
    maf = MaskedAutoregressiveFlowModel(num_transforms=2, hidden_units=[8])
    maf.fit(moons.x_train, epochs=1, verbose=0)
    x_bnn, x_maf = regression.x_test[:4].astype("float32"), moons.x_test[:4].astype("float32")
    cases: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
        "bnn": (bnn.export(str(folder / "bnn")), {
            "predict": {"x": x_bnn, "num_samples": np.int32(20), "seed": np.int64(3)},
            "quantiles": {"x": x_bnn, "levels": np.array([0.1, 0.9], np.float32), "num_samples": np.int32(20),
                          "seed": np.int64(3)},
        }),
        "maf": (maf.export(str(folder / "maf")), {
            "log_prob": {"x": x_maf},
            "sample": {"num_samples": np.int32(4), "seed": np.int64(3)},
        }),
    }
    results = {}
    for name, (path, signatures) in cases.items():
        for signature, inputs in signatures.items():
            for flex in (False, True):
                key = f"{name}.{signature}.{'flex' if flex else 'builtins'}"
                results[key] = _convert(path, signature, flex, inputs)
                print(key, results[key], flush=True)
    write_result("tflite_conversion", {"tensorflow": tf.__version__, "results": results})


if __name__ == "__main__":
    main()
