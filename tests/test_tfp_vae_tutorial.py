"""The port of TFP's "Probabilistic Layers VAE" tutorial runs in quick mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tfp_vae_tutorial.py"
MNIST = Path("/work/shared/data/mnist")


@pytest.mark.slow
@pytest.mark.skipif(not any(MNIST.glob("t10k-images-idx3-ubyte*")), reason=f"no MNIST IDX images in {MNIST}")
def test_tfp_vae_tutorial_runs_quick_and_reports_a_finite_negative_elbo(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--quick"], capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loss = float(
        re.search(r"keras 3 \+ tfp_arch.layers: .*test loss \(negative ELBO\) ([0-9.]+) nats", result.stdout)[1]
    )
    # 784 Bernoulli pixels at probability 1/2 cost 543 nats; one step of training starts below it,
    # and no image costs less than 0 nats.
    assert 0 < loss < 1000
