"""The examples run in quick mode and state their own length truthfully."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _stated_and_counted(path: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    text = path.read_text()
    stated = re.search(r"This port is (\d+) lines, (\d+) of them code", text)
    lines = text.splitlines()
    code = [line for line in lines if line.strip() and not line.strip().startswith("#")]
    return (int(stated[1]), int(stated[2])), (len(lines), len(code))


@pytest.mark.parametrize("name", ["mdn.py", "wine_bnn.py"])
def test_examples_state_their_line_count(name):
    stated, counted = _stated_and_counted(EXAMPLES / name)
    assert stated == counted


def _run_quick(name: str, tmp_path: Path) -> str:
    """Run example `name` with `--quick` in `tmp_path`, check that it succeeds and draws its figure,
    and return what it printed."""
    figure = tmp_path / "figure.png"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--quick", "--figure", str(figure)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert figure.stat().st_size > 10_000
    return result.stdout


@pytest.mark.slow
def test_mdn_runs_quick_and_its_intervals_cover_held_out_points(tmp_path):
    stdout = _run_quick("mdn.py", tmp_path)
    coverage = float(re.search(r"90% interval coverage ([0-9.]+)", stdout)[1])
    nll = float(re.search(r"mixture NLL ([-0-9.]+)", stdout)[1])
    rmse = float(re.search(r"squared-error RMSE ([0-9.]+)", stdout)[1])
    # Calibrated 90% intervals cover each held-out point with probability 0.9, so the coverage of the
    # 450 held-out points (15% of 10 spirals of 300 points with --quick) is Binomial(450, 0.9) / 450:
    # 4 of its standard deviations (0.014 each) bound it.
    assert abs(coverage - 0.9) <= 4 * math.sqrt(0.9 * 0.1 / 450)
    assert nll < 1.5 and rmse > 2.0


@pytest.mark.slow
def test_wine_bnn_runs_quick_with_calibrated_intervals_and_shrinking_epistemic_spread(tmp_path):
    stdout = _run_quick("wine_bnn.py", tmp_path)
    spreads = [float(v) for v in re.findall(r"mean spread \(std\) of 100 predictions ([0-9.]+)", stdout)]
    coverage = float(re.search(r"95% interval coverage ([0-9.]+)", stdout)[1])
    rmse = float(re.search(r"test RMSE ([0-9.]+)", stdout)[1])
    aleatoric = float(re.search(r"mean aleatoric std ([0-9.]+)", stdout)[1])
    assert len(spreads) == 2 and spreads[0] > spreads[1] > 0
    # As for the MDN: calibrated 95% intervals give a coverage of Binomial(n, 0.95) / n on n test rows.
    n_test = int(re.search(r"(\d+) test rows", stdout)[1])
    assert abs(coverage - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / n_test)
    assert rmse < aleatoric + 0.1 and rmse < 0.85
