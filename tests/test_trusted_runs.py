"""Runs a user can trust: divergence stops the run, a killed run resumes, early stopping keeps the best
epoch, run folders have the usual permissions, samples stream, and the CLI starts without TensorFlow
where it can."""

from __future__ import annotations

import csv
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import snapshot, strict_json

from tfp_arch.cli.main import main

MOONS = "synthetic:two_moons#n=20000"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_a_diverging_kl_term_stops_the_run_with_exit_1_and_no_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["train", "bnn", "--data", "synthetic:gap_regression#n=200", "--epochs", "3",
                                       "-p", "kl_weight=1e38", "--output", "run", "--json"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: the training loss became") and "epoch 1, batches 1-" in last
    assert "the KL term is already non-finite" in last
    assert snapshot(tmp_path) == set()


@pytest.mark.slow
def test_a_diverging_optimisation_is_reported_with_finite_terms_at_the_epoch_start(tmp_path, toy_registered):
    result = CliRunner().invoke(main, ["train", "toy", "--epochs", "5", "-p", "learning_rate=1e30",
                                       "--output", str(tmp_path / "run")])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert "the training loss became" in last and "were finite at the start of the epoch" in last
    assert snapshot(tmp_path) == set()


def _metadata_epoch(folder: Path) -> int:
    try:
        return int(strict_json((folder / "checkpoint" / "training_metadata.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.slow
def test_a_run_killed_after_its_second_epoch_resumes_to_the_same_result(tmp_path):
    common = ["maf", "--data", MOONS, "--epochs", "10", "--checkpoint-every", "1", "-p", "num_transforms=2",
              "-p", "hidden_units=[16,16]"]
    script = os.path.join(os.path.dirname(sys.executable), "tfp-arch")
    # A shell without job control starts background jobs with SIGINT ignored, and Python keeps an
    # inherited ignore (so does `tfp-arch`, rightly): exec the CLI with SIGINT's default action.
    restore = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
    process = subprocess.Popen([sys.executable, "-c", restore, script, "train", *common, "--output", str(tmp_path / "cut")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staging = tmp_path / "cut.partial"
    deadline = time.monotonic() + 120
    while _metadata_epoch(staging) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the run finished before it could be interrupted"
    # Ctrl-C; again only if training goes on past the next checkpoint, as a user would press it twice.
    process.send_signal(signal.SIGINT)
    signalled, stop_by = _metadata_epoch(staging), time.monotonic() + 60
    while process.poll() is None and time.monotonic() < stop_by:
        if _metadata_epoch(staging) >= signalled + 2:
            process.send_signal(signal.SIGINT)
            signalled = _metadata_epoch(staging)
        time.sleep(0.02)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert f"tfp-arch train --resume {staging}" in stderr.strip().splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.partial"]
    stopped_at = _metadata_epoch(staging)
    assert 2 <= stopped_at < 10

    resumed = CliRunner().invoke(main, ["train", "--resume", str(staging), "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut"]
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["config.json", "history.csv", "metrics.json", "model.keras"]
    config = strict_json((tmp_path / "cut" / "config.json").read_text())
    assert config["epochs_run"] == 10 and config["resumed_from_epoch"] == stopped_at
    assert [int(r["epoch"]) for r in _rows(tmp_path / "cut" / "history.csv")] == list(range(1, 11))

    whole = CliRunner().invoke(main, ["train", *common, "--output", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    first, second = (_rows(tmp_path / name / "history.csv") for name in ("cut", "whole"))
    np.testing.assert_allclose([float(r["loss"]) for r in first], [float(r["loss"]) for r in second], rtol=1e-5)
    cut, uninterrupted = (keras.saving.load_model(tmp_path / name / "model.keras") for name in ("cut", "whole"))
    for a, b in zip(cut.weights, uninterrupted.weights):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_validation_split_and_patience_keep_the_best_epoch(tmp_path, toy_registered):
    result = CliRunner().invoke(main, ["train", "toy", "--epochs", "40", "--validation-split", "0.25", "--patience", "2",
                                       "-p", "learning_rate=0.05", "--output", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path / "run" / "history.csv")
    config = strict_json((tmp_path / "run" / "config.json").read_text())
    losses = [float(r["val_loss"]) for r in rows]
    best = int(np.argmin(losses)) + 1
    assert config["early_stopping"]["monitor"] == "val_loss" and config["early_stopping"]["best_epoch"] == best
    assert len(rows) == config["epochs_run"] and (len(rows) == 40 or len(rows) == best + 2)

    import tfp_arch

    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    data = tfp_arch.runs.prepare_data(toy_registered, toy_registered.default_data)
    cut = int(len(data.x_train) * 0.75)
    held_out = model.evaluate(data.x_train[cut:], data.y_train[cut:], batch_size=10_000, verbose=0)
    assert held_out == pytest.approx(losses[best - 1], rel=1e-4)


@pytest.mark.slow
def test_run_folders_follow_the_umask(tmp_path, toy_registered):
    assert CliRunner().invoke(main, ["train", "toy", "--epochs", "1", "--output", str(tmp_path / "a" / "run")]).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    for folder in (tmp_path / "a", tmp_path / "a" / "run"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask


@pytest.fixture(scope="module")
def maf_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("maf") / "run"
    args = ["train", "maf", "--data", "synthetic:two_moons#n=200", "--epochs", "1", "-p", "num_transforms=1",
            "-p", "hidden_units=[8]", "--output", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    return out


@pytest.mark.slow
def test_samples_are_drawn_in_chunks_into_a_npy_file(maf_run, tmp_path, monkeypatch):
    import tfp_arch.cli.sampling as sampling
    from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel

    sizes = []
    original = MaskedAutoregressiveFlowModel.sample

    def counting(self, n, seed=None, context=None):
        sizes.append(n)
        return original(self, n, seed=seed, context=context)

    monkeypatch.setattr(sampling, "CHUNK_VALUES", 1000)
    monkeypatch.setattr(MaskedAutoregressiveFlowModel, "sample", counting)
    out = tmp_path / "s.npy"
    assert CliRunner().invoke(main, ["sample", str(maf_run), "-n", "2345", "--seed", "3", "--output", str(out)]).exit_code == 0
    samples = np.load(out)
    assert sizes == [500, 500, 500, 500, 345] and samples.shape == (2345, 2) and np.isfinite(samples).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy"]
    again = tmp_path / "t.npy"
    assert CliRunner().invoke(main, ["sample", str(maf_run), "-n", "2345", "--seed", "3", "--output", str(again)]).exit_code == 0
    np.testing.assert_array_equal(samples, np.load(again))
    model = keras.saving.load_model(maf_run / "model.keras")
    np.testing.assert_allclose(samples[:500], original(model, 500, seed=3), rtol=1e-6)


@pytest.mark.slow
def test_printed_samples_stream_as_strict_json(maf_run, monkeypatch):
    import tfp_arch.cli.sampling as sampling

    monkeypatch.setattr(sampling, "CHUNK_VALUES", 100)
    result = CliRunner().invoke(main, ["sample", str(maf_run), "-n", "123", "--seed", "1", "--json"])
    assert result.exit_code == 0
    rows = strict_json(result.stdout)
    assert len(rows) == 123 and all(len(r) == 2 for r in rows)


def test_info_reads_the_plugin_without_importing_tensorflow():
    code = (
        "import sys\nfrom tfp_arch.cli.main import main\n"
        "try:\n    main(['info', 'bnn', '--json'])\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules, 'tfp_arch.plugins.bnn.model' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    document = strict_json(result.stdout)
    assert document["read_from"] == "static" and document["hyperparameters"]["hidden_units"] == [50]
    assert document["hyperparameter_types"]["hidden_units"] == "a list of integers"
    assert (document["default_epochs"], document["min_training_steps"], document["max_default_epochs"]) == (40, 20000, 1000)
    assert result.stderr.strip() == "False False"


@pytest.mark.parametrize(("value", "expected"), [("", False), ("0", False), ("false", False), ("No", False),
                                                 ("off", False), ("1", True), ("yes", True), ("true", True)])
def test_tfp_arch_debug_values(monkeypatch, value, expected):
    from tfp_arch.cli.environment import debug_enabled

    monkeypatch.setenv("TFP_ARCH_DEBUG", value)
    assert debug_enabled() is expected
