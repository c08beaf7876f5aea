"""Multi-worker training for real: two worker processes on 127.0.0.1, each with its `TF_CONFIG`.

Both workers train `bnn`, `vae` and `maf` for two epochs through `tfp_arch.runs.train` with one
`MultiWorkerMirroredStrategy` (two replicas, one per process), each dumping its final weights into
the test's folder; `maf` trains a second time on a streamed CSV (whose parsed rows each worker caches
in its temporary folder). The checks: both workers end with identical weights; only the chief writes the
run folders, complete; the other worker leaves nothing behind (its temporary folder and working
directory end empty); and the loss is scaled once (a single-process run on the same global batch
logs the same loss: exactly for `maf`, whose loss is deterministic (streamed too, so each replica
reads its own half of every global batch), and within a fraction of the
KL term for `bnn` and `vae`, whose losses are Monte Carlo estimates drawn differently on two
replicas than on one).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tfp_arch.distribute import local_cluster

pytestmark = pytest.mark.slow

# Run name: (architecture, data spec); {table} is a CSV of the two-moons rows.
CASES = {
    "bnn": ("bnn", "synthetic:gap_regression#n=256"),
    "vae": ("vae", "synthetic:shapes#n=256"),
    "maf": ("maf", "synthetic:two_moons#n=256"),
    "maf_streamed": ("maf", "csv:{table}#stream=yes"),
}
EPOCHS, BATCH = 2, 32
TIMEOUT = 240
FILES = {"model.keras", "config.json", "history.csv", "metrics.json"}

WORKER = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import tensorflow as tf
    from tfp_arch import runs

    runs_dir, dumps, cases, index = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    result = {}
    for name, (architecture, data) in cases.items():
        run = runs.train(architecture, data, epochs=%d, batch_size=%d, seed=0, output=os.path.join(runs_dir, name),
                         strategy=strategy, verbose=0)
        np.savez(os.path.join(dumps, f"{name}-{index}.npz"), *run.model.get_weights())
        result[name] = {"chief": run.chief, "path": str(run.path), "strategy": run.config["strategy"]}
    print("RESULT" + json.dumps(result), flush=True)
    """
    % (EPOCHS, BATCH)
)


def start_workers(script: str, args: list[str], root: Path, configs: list[str]) -> list[tuple[subprocess.Popen, Path, Path]]:
    """Start one process per `TF_CONFIG` value, each in its own session, working directory and TMPDIR."""
    started = []
    for index, config in enumerate(configs):
        cwd, tmp = root / f"cwd{index}", root / f"tmp{index}"
        cwd.mkdir()
        tmp.mkdir()
        env = {**os.environ, "TF_CONFIG": config, "TMPDIR": str(tmp), "CUDA_VISIBLE_DEVICES": "",
               "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.Popen([sys.executable, "-c", script, *args, str(index)], cwd=cwd, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        started.append((proc, cwd, tmp))
    return started


def stop(proc: subprocess.Popen) -> None:
    """Kill the process's session if it is still running, and reap it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def results(started: list[tuple[subprocess.Popen, Path, Path]]) -> list[dict]:
    out = []
    try:
        for proc, _, _ in started:
            stdout, stderr = proc.communicate(timeout=TIMEOUT)
            lines = [line for line in stdout.splitlines() if line.startswith("RESULT")]
            assert proc.returncode == 0 and lines, stderr[-4000:]
            out.append(json.loads(lines[-1][len("RESULT"):]))
    finally:
        for proc, _, _ in started:
            stop(proc)
    return out


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """`CASES` with the streamed table written: two-moons rows, as many as make the hashed training part
    even, so that its last, partial batch splits evenly over two replicas (Keras averages the replicas'
    mean losses, so halves of unequal sizes weigh their rows differently than one device does)."""
    from tfp_arch.data import load_data
    from tfp_arch.data.synthetic import make_synthetic

    moons = make_synthetic("two_moons", seed=0, n=300)
    rows = np.concatenate([moons.x_train, moons.x_test])
    table = tmp_path_factory.mktemp("table") / "moons.csv"
    for count in range(256, len(rows)):
        np.savetxt(table, rows[:count], delimiter=",", header="a,b", comments="")
        if load_data(f"csv:{table}#stream=yes").n_train % 2 == 0:
            break
    return {name: (architecture, data.format(table=table)) for name, (architecture, data) in CASES.items()}


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, cases: dict[str, tuple[str, str]]) -> dict:
    root = tmp_path_factory.mktemp("multi_worker")
    runs_dir, dumps = root / "runs", root / "dumps"
    runs_dir.mkdir()
    dumps.mkdir()
    started = start_workers(WORKER, [str(runs_dir), str(dumps), json.dumps(cases)], root, local_cluster(2))
    reports = results(started)
    return {"root": root, "runs": runs_dir, "dumps": dumps, "reports": reports, "started": started}


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, cases: dict[str, tuple[str, str]]) -> dict:
    """The same runs in this process on one device, on the same global batch."""
    from tfp_arch import runs

    root = tmp_path_factory.mktemp("single")
    return {name: runs.train(architecture, data, epochs=EPOCHS, batch_size=BATCH, seed=0, output=root / name, verbose=0)
            for name, (architecture, data) in cases.items()}


def test_the_job_has_two_replicas_one_chief(job):
    chief, worker = job["reports"]
    for name in CASES:
        assert chief[name]["chief"] and not worker[name]["chief"]
        assert chief[name]["path"] == worker[name]["path"] == str(job["runs"] / name)
        assert chief[name]["strategy"] == {"requested": "multi_worker_mirrored", "class": "MultiWorkerMirroredStrategy",
                                           "replicas": 2, "workers": 2}


@pytest.mark.parametrize("name", list(CASES))
def test_both_workers_end_with_identical_weights(job, name):
    with np.load(job["dumps"] / f"{name}-0.npz") as a, np.load(job["dumps"] / f"{name}-1.npz") as b:
        assert a.files == b.files and len(a.files) > 0
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("name", list(CASES))
def test_the_chief_writes_a_complete_run_folder_that_loads(job, name):
    from tfp_arch.runs import load_run

    folder = job["runs"] / name
    assert {p.name for p in folder.iterdir()} == FILES
    model, config = load_run(folder)
    assert config["strategy"]["workers"] == 2 and config["epochs_run"] == EPOCHS
    with np.load(job["dumps"] / f"{name}-0.npz") as dumped:
        for saved, key in zip(model.get_weights(), dumped.files):
            np.testing.assert_array_equal(saved, dumped[key])


def test_only_the_chief_writes(job):
    assert sorted(p.name for p in job["runs"].iterdir()) == sorted(CASES)
    for _, cwd, tmp in job["started"]:
        assert list(cwd.iterdir()) == [] and list(tmp.iterdir()) == []


def _history(folder: Path) -> dict[str, list[float]]:
    lines = (folder / "history.csv").read_text().splitlines()
    keys = lines[0].split(",")
    rows = [dict(zip(keys, map(float, line.split(",")))) for line in lines[1:]]
    return {key: [row[key] for row in rows] for key in keys[1:]}


@pytest.mark.parametrize("name", ["maf", "maf_streamed"])
def test_a_deterministic_loss_matches_a_single_process_on_the_same_global_batch(job, single, name):
    multi = _history(job["runs"] / name)["loss"]
    alone = _history(single[name].path)["loss"]
    np.testing.assert_allclose(multi, alone, rtol=1e-4)


@pytest.mark.parametrize("name", ["bnn", "vae"])
def test_the_kl_term_is_counted_once(job, single, cases, name):
    from tfp_arch.callbacks import loss_terms
    from tfp_arch.runs import prepare_data

    model = single[name].model
    data = prepare_data(type(model), cases[name][1])
    batch = data.x_train[:BATCH], None if data.y_train is None else data.y_train[:BATCH]
    kl = loss_terms(model, *batch)["KL"]
    assert kl > 0
    multi = _history(job["runs"] / name)["loss"][0]
    alone = _history(single[name].path)["loss"][0]
    assert abs(multi - alone) < 0.25 * kl, (multi, alone, kl)


FAULT_DATA, FAULT_EPOCHS, FAULT_BATCH = "synthetic:two_moons#n=600", 5, 16


def _cli(config: str, args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CONFIG": config, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "tfp_arch.cli.main", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _job(args: list[str], cwd: Path) -> list[subprocess.Popen]:
    return [_cli(config, args, cwd) for config in local_cluster(2)]


def _finish(procs: list[subprocess.Popen]) -> list[str]:
    """Wait for every process; return their stderr; kill any left on the way out."""
    try:
        errors = [proc.communicate(timeout=TIMEOUT)[1] for proc in procs]
    finally:
        for proc in procs:
            stop(proc)
    assert [proc.returncode for proc in procs] == [0, 0], "".join(error[-3000:] for error in errors)
    return errors


def _checkpointed_epoch(staging: Path) -> int:
    try:
        return json.loads((staging / "checkpoint" / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _train(output: str) -> list[str]:
    return ["train", "maf", "--data", FAULT_DATA, "--epochs", str(FAULT_EPOCHS), "--batch-size", str(FAULT_BATCH),
            "--checkpoint-every", "1", "--strategy", "multi_worker_mirrored", "--output", output]


def test_killing_a_worker_and_restarting_the_job_resumes_it(tmp_path):
    """TensorFlow stops the chief when a worker dies (its collective operations fail); the chief keeps
    its checkpoint, and the job restarted with `--resume` on both workers ends as an uninterrupted
    job does, bit for bit."""
    import time

    from tfp_arch.runs import load_run

    _finish(_job(_train("full"), tmp_path))
    procs = _job(_train("run"), tmp_path)
    try:
        deadline = time.monotonic() + TIMEOUT
        while _checkpointed_epoch(tmp_path / "run.partial") < 2:
            assert procs[0].poll() is None and time.monotonic() < deadline, procs[0].communicate()[1][-3000:]
            time.sleep(0.1)
        os.killpg(procs[1].pid, signal.SIGKILL)
        _, chief_err = procs[0].communicate(timeout=TIMEOUT)
    finally:
        for proc in procs:
            stop(proc)
    assert procs[0].returncode == 1, chief_err[-3000:]
    assert "restart every worker with `tfp-arch train --resume run.partial`" in chief_err.splitlines()[-1]
    killed_at = _checkpointed_epoch(tmp_path / "run.partial")
    assert 2 <= killed_at < FAULT_EPOCHS

    _finish(_job(["train", "--resume", "run.partial"], tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "run"]
    assert {p.name for p in (tmp_path / "run").iterdir()} == FILES
    resumed, config = load_run(tmp_path / "run")
    full, _ = load_run(tmp_path / "full")
    assert config["resumed_from_epoch"] == killed_at and config["epochs_run"] == FAULT_EPOCHS
    assert (tmp_path / "run" / "history.csv").read_text() == (tmp_path / "full" / "history.csv").read_text()
    for a, b in zip(resumed.get_weights(), full.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
