"""Faults that need a real process: signals during a long `sample`, and a multi-worker worker whose
peers never come (on 127.0.0.1 only, with a short `TFP_ARCH_CONNECT_TIMEOUT`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from faults_helpers import MAF, listing

from tfp_arch.cli.main import main
from tfp_arch.distribute import local_cluster

pytestmark = pytest.mark.slow


def _script() -> str:
    return shutil.which("tfp-arch", path=os.path.dirname(sys.executable)) or "tfp-arch"


def _env(tmp_path, **extra):
    temporary = tmp_path / "tmp"
    temporary.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "TFP_ARCH_DEBUG", "TF_CPP_MIN_LOG_LEVEL")}
    return {**env, "TMPDIR": str(temporary), **extra}


def _wait(condition, seconds, process):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def _finish(process, seconds=20):
    try:
        out, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the process did not end within {seconds} s of the signal: {err[-2000:]}")
    return process.returncode, out, err


@pytest.fixture(scope="module")
def maf_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("maf")
    result = CliRunner().invoke(main, ["train", "maf", "--data", "synthetic:two_moons#n=200", "--epochs", "1", *MAF,
                                       "--output", str(root / "run")])
    assert result.exit_code == 0, result.output
    return root / "run"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_a_long_sample_leaves_no_partial_file(maf_run, tmp_path, signum, code):
    out = tmp_path / "out"
    out.mkdir()
    env = _env(tmp_path)
    before = listing(tmp_path / "tmp")
    process = subprocess.Popen([_script(), "sample", str(maf_run), "-n", "200000000", "--output", str(out / "s.npy")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert _wait(lambda: any(out.iterdir()), 120, process), "sampling never started"
    time.sleep(0.5)
    process.send_signal(signum)
    status, stdout, stderr = _finish(process)
    assert status == code, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("Interrupted")
    assert list(out.iterdir()) == [] and listing(tmp_path / "tmp") == before


def _multi_worker(tmp_path, timeout):
    configs = local_cluster(2)
    env = _env(tmp_path, TF_CONFIG=configs[0], TFP_ARCH_CONNECT_TIMEOUT=str(timeout))
    argv = [_script(), "train", "maf", "--data", "synthetic:two_moons#n=100", "--epochs", "1", *MAF,
            "--strategy", "multi_worker_mirrored", "--output", str(tmp_path / "run")]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    workers = json.loads(configs[0])["cluster"]["worker"]
    return process, workers


def test_a_worker_whose_peer_never_starts_stops_naming_it(tmp_path):
    process, workers = _multi_worker(tmp_path, 3)
    status, _, stderr = _finish(process, 180)
    assert status == 1, stderr
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and lines[-1].startswith("Error:")
    assert workers[1] in lines[-1] and "TFP_ARCH_CONNECT_TIMEOUT" in lines[-1]
    assert workers[0] not in lines[-1].split("no answer from")[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"] and list((tmp_path / "tmp").iterdir()) == []


def _listening(address):
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_waiting_worker_ends_at_once_on_a_signal(tmp_path, signum, code):
    process, workers = _multi_worker(tmp_path, 600)
    assert _wait(lambda: _listening(workers[0]), 180, process), process.communicate()[1][-2000:]
    started = time.monotonic()
    process.send_signal(signum)
    status, _, stderr = _finish(process, 10)
    assert time.monotonic() - started < 10
    assert status == code, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
