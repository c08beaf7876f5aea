"""TFP's regression tutorial, ported by rename (examples/tfp_regression_tutorial.py), runs in quick mode."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tfp_regression_tutorial.py"
ROW = re.compile(r"^(\d)\s+tfp_arch on keras 3\s+([-0-9.naif]+)\s+([-0-9.naif]+)\s+([-0-9.naif]+)\s+([0-9.]+)$", re.M)


@pytest.mark.slow
def test_the_five_cases_train_and_predict_better_than_zero(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, str(EXAMPLE), "--quick"], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {int(case): [float(v) for v in values] for case, *values in ROW.findall(result.stdout)}
    assert sorted(rows) == [1, 2, 3, 4, 5], result.stdout
    for case, (loss, nll, rmse, _seconds) in rows.items():
        assert all(math.isfinite(v) for v in (loss, nll, rmse)), (case, result.stdout)
        # Predicting 0 everywhere has an RMSE of 8.48 on the held-out points; a constant at their mean 4.19.
        assert rmse < 8.48, (case, result.stdout)
    assert all(rows[case][2] < 6.0 for case in (1, 2, 3, 4)), result.stdout


def test_the_docstring_names_every_line_that_differs_from_tfps():
    text = EXAMPLE.read_text()
    for marker in ("add_weight", "tf.optimizers", "LossOfDtype", "load_test_set"):
        assert marker in text.split("\n# %%\n")[0], marker
    assert text.count("# the tutorial:") == 3  # add_variable twice, tf.optimizers once
