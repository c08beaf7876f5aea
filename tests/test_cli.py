"""The click CLI: commands, JSON output, exit statuses and run folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from helpers import strict_json
from tfp_arch.cli.main import main


@pytest.fixture
def runner():
    return CliRunner()


def test_list_shows_the_builtins(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0
    for name in ("bnn", "vae", "maf"):
        assert f"tfp-arch:{name}" in result.output


def test_list_json_is_one_document(runner):
    rows = strict_json(runner.invoke(main, ["list", "--json"]).output)
    assert {r["name"] for r in rows} >= {"bnn", "vae", "maf"}
    assert all(set(r) >= {"name", "distribution", "value", "status"} for r in rows)


def test_list_load_reports_a_broken_plugin_and_keeps_the_rest(runner, plugins):
    module = plugins.unique("broken_cli")
    plugins.distribution("broken-cli", {"wreck": f"{module}:X"}, {module: "import not_a_real_dependency\n"})
    result = runner.invoke(main, ["list", "--load", "--json"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in strict_json(result.output)}
    assert rows["wreck"]["status"] == "broken" and "not_a_real_dependency" in rows["wreck"]["problem"]
    assert rows["bnn"]["status"] == "ok" and rows["bnn"]["summary"]


def test_info_describes_an_architecture(runner, toy_registered):
    result = runner.invoke(main, ["info", "toy", "--json"])
    document = strict_json(result.output)
    assert document["task"] == "supervised"
    assert document["hyperparameters"] == {"units": 8, "learning_rate": None, "optimizer": "adam"}
    assert document["hyperparameter_types"]["units"] == "an integer"


def test_unknown_architecture_exits_1_with_a_suggestion(runner):
    result = runner.invoke(main, ["train", "vea"])
    assert result.exit_code == 1 and "did you mean 'vae'" in result.output


def test_usage_errors_exit_2(runner, toy_registered):
    assert runner.invoke(main, ["train", "toy", "--epochs", "0"]).exit_code == 2
    assert runner.invoke(main, ["train", "toy", "-p", "units"]).exit_code == 2
    result = runner.invoke(main, ["train", "toy", "-p", "colour=3"])
    assert result.exit_code == 2 and "unknown hyperparameter 'colour'" in result.output


def test_bad_data_exits_1_with_one_line(runner, toy_registered, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,oops\n")
    result = runner.invoke(main, ["train", "toy", "--data", f"csv:{bad}", "--output", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"Error: {bad}, row 3: column 'b' is not a number: 'oops'"
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_train_writes_a_complete_run_and_json(runner, toy_registered, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(main, ["train", "toy", "--epochs", "2", "--seed", "3", "--output", str(out),
                                  "-p", "units=4", "--json"])
    assert result.exit_code == 0, result.output
    document = strict_json(result.stdout)
    assert set(document["metrics"]) == {"test_rmse", "test_log_likelihood", "train_seconds"}
    config = strict_json((out / "config.json").read_text())
    assert config["hyperparameters"] == {"units": 4, "learning_rate": None, "optimizer": "adam"}
    assert config["hyperparameters_given"] == {"units": 4} and config["seed"] == 3 and config["epochs"] == 2
    assert config["data"] == "synthetic:gap_regression#n=200" and "tensorflow" in config["versions"]
    assert (out / "history.csv").read_text().splitlines()[0].startswith("epoch,loss")
    assert len((out / "history.csv").read_text().splitlines()) == 3
    assert strict_json((out / "metrics.json").read_text()) == document["metrics"]

    evaluated = runner.invoke(main, ["evaluate", str(out), "--json"])
    assert evaluated.exit_code == 0
    metrics = strict_json(evaluated.stdout)
    assert metrics["test_rmse"] == pytest.approx(document["metrics"]["test_rmse"], rel=1e-5)


def test_existing_output_folder_is_refused(runner, toy_registered, tmp_path):
    (tmp_path / "run").mkdir()
    result = runner.invoke(main, ["train", "toy", "--output", str(tmp_path / "run")])
    assert result.exit_code == 2 and "already exists" in result.output


@pytest.mark.slow
def test_a_failed_run_leaves_no_folder(runner, toy_registered, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(toy_registered, "save", fail)
    result = runner.invoke(main, ["train", "toy", "--epochs", "1", "--output", str(tmp_path / "run")])
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_evaluate_with_the_wrong_number_of_features(runner, toy_registered, tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(main, ["train", "toy", "--epochs", "1", "--output", str(out)]).exit_code == 0
    other = tmp_path / "three.csv"
    other.write_text("".join(f"{i},{i},{i},{i}\n" for i in range(20)))
    result = runner.invoke(main, ["evaluate", str(out), "--data", f"csv:{other}"])
    assert result.exit_code == 1 and "(1,) (1 features)" in result.output and "(3,)" in result.output


@pytest.mark.slow
def test_sample_refuses_an_architecture_that_cannot_sample(runner, toy_registered, tmp_path):
    out = tmp_path / "run"
    runner.invoke(main, ["train", "toy", "--epochs", "1", "--output", str(out)])
    result = runner.invoke(main, ["sample", str(out), "-n", "3"])
    assert result.exit_code == 1 and "cannot sample" in result.output


def test_installed_console_script_runs(tmp_path):
    script = shutil.which("tfp-arch", path=os.path.dirname(sys.executable)) or shutil.which("tfp-arch")
    assert script, "the tfp-arch console script is not installed"
    listed = subprocess.run([script, "list", "--json"], capture_output=True, text=True, check=True)
    assert {r["name"] for r in strict_json(listed.stdout)} >= {"bnn", "vae", "maf"}
    failed = subprocess.run([script, "info", "mf"], capture_output=True, text=True)
    assert failed.returncode == 1 and "did you mean 'maf'" in failed.stderr


def test_plot_for_an_architecture_without_one_fails_before_training(runner, toy_registered, tmp_path):
    result = runner.invoke(main, ["train", "toy", "--plot", "--output", str(tmp_path / "run")])
    assert result.exit_code == 1 and "has no plot" in result.output and not (tmp_path / "run").exists()


def test_info_on_a_broken_plugin_exits_1_naming_it(runner, plugins):
    module = plugins.unique("broken_info")
    plugins.distribution("wrecked-dist", {"wrecked": f"{module}:X"}, {module: "raise ImportError('libfoo.so')\n"})
    result = runner.invoke(main, ["info", "wrecked"])
    assert result.exit_code == 1
    assert "'wrecked-dist:wrecked'" in result.output and "ImportError: libfoo.so" in result.output


def test_a_bug_is_one_line_naming_it_unexpected_and_its_traceback_is_there_with_debug(runner, toy_registered, tmp_path,
                                                                                     monkeypatch):
    def bug(*args, **kwargs):
        raise ValueError("shape mismatch deep inside a library")

    monkeypatch.setattr(toy_registered, "fit", bug)
    result = runner.invoke(main, ["train", "toy", "--epochs", "1", "--output", str(tmp_path / "run")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: unexpected ValueError: shape mismatch") and "TFP_ARCH_DEBUG=1" in last
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("TFP_ARCH_DEBUG", "1")
    debug = runner.invoke(main, ["train", "toy", "--epochs", "1", "--output", str(tmp_path / "run")])
    assert debug.exit_code == 1 and isinstance(debug.exception, ValueError)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_our_own_checks_are_one_line_errors(runner, toy_registered, tmp_path, monkeypatch):
    from tfp_arch.validation import ValidationError, positive_int

    def refuse(*args, **kwargs):
        positive_int("units", 0)

    monkeypatch.setattr(toy_registered, "fit", refuse)
    result = runner.invoke(main, ["train", "toy", "--epochs", "1", "--output", str(tmp_path / "run")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.strip().splitlines()[-1] == "Error: Invalid value for argument `units`: expected a positive integer. Received: units=0"
    assert issubclass(ValidationError, ValueError)
