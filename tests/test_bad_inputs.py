"""Bad inputs through the CLI: one line naming the problem, the right exit status, nothing on disk.

One row per case: the arguments (`{in}` is the folder of prepared inputs, `{run}` a finished `maf` run,
`{partial}` an interrupted run), the expected exit status (2 usage, 1 data or domain) and words the
message must contain. Every case fails before any training, and each asserts that the working folder
and the inputs folder are unchanged. Most run in-process (`CliRunner`); `SUBPROCESS` runs a
representative subset through the installed `tfp-arch` script, where the whole of stderr must be the
one error line.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import snapshot

from tfp_arch.cli.main import main

TOY = "synthetic:gap_regression#n=60"

CASES = [
    # data files
    ("csv-nan", ["train", "toy", "--data", "csv:{in}/nan.csv"], 1, ["nan.csv, row 3", "NaN or infinite"]),
    ("csv-inf", ["train", "toy", "--data", "csv:{in}/inf.csv"], 1, ["row 2", "NaN or infinite"]),
    ("csv-1e300", ["train", "toy", "--data", "csv:{in}/huge.csv"], 1, ["row 3", "too large for float32"]),
    ("csv-ragged", ["train", "toy", "--data", "csv:{in}/ragged.csv"], 1, ["row 3", "expected 2 columns, found 3"]),
    ("csv-non-numeric", ["train", "toy", "--data", "csv:{in}/words.csv"], 1, ["row 2", "is not a number: 'n/a'"]),
    ("csv-empty", ["train", "toy", "--data", "csv:{in}/empty.csv"], 1, ["empty.csv", "the file is empty"]),
    ("csv-header-only", ["train", "toy", "--data", "csv:{in}/header.csv"], 1, ["no data rows after the header"]),
    ("csv-missing-target", ["train", "toy", "--data", "csv:{in}/good.csv#target=price"], 1, ["no column 'price'"]),
    ("csv-one-column", ["train", "toy", "--data", "csv:{in}/one.csv"], 1, ["need at least two columns"]),
    ("npy-strings", ["train", "maf", "--data", "npy:{in}/strings.npy"], 1, ["non-numeric dtype"]),
    ("npy-1e300", ["train", "maf", "--data", "npy:{in}/huge.npy"], 1, ["row 2", "NaN or infinite value in float32"]),
    ("npz-missing-keys", ["train", "maf", "--data", "npy:{in}/keys.npz"], 1, ["expected arrays named x", "found a, b"]),
    ("missing-path", ["train", "toy", "--data", "csv:{in}/absent.csv"], 1, ["absent.csv", "no such file"]),
    ("folder-for-a-file", ["train", "toy", "--data", "csv:{in}"], 1, ["is a folder, not a file"]),
    ("unknown-kind", ["train", "toy", "--data", "{in}/data.xyz"], 1, ["cannot tell the kind of data"]),
    ("idx-gz-truncated", ["train", "vae", "--data", "idx:{in}/cut-images-idx3-ubyte.gz"], 1, ["compressed file is truncated"]),
    ("idx-gz-corrupted", ["train", "vae", "--data", "idx:{in}/bad-images-idx3-ubyte.gz"], 1, ["damaged or not gzip"]),
    # options
    ("epochs-0", ["train", "toy", "--epochs", "0"], 2, ["--epochs", "0"]),
    ("batch-size-negative", ["train", "toy", "--batch-size", "-1"], 2, ["--batch-size"]),
    ("seed-negative", ["train", "toy", "--seed", "-3"], 2, ["--seed"]),
    ("validation-split-1", ["train", "toy", "--validation-split", "1"], 2, ["--validation-split"]),
    ("unknown-architecture", ["train", "vea"], 1, ["unknown architecture 'vea'", "did you mean 'vae'"]),
    ("plot-unsupported", ["train", "toy", "--plot", "--data", TOY], 1, ["has no plot"]),
    # hyperparameters: types from the constructor's annotations, ranges from the constructor
    ("p-number-for-list", ["train", "bnn", "-p", "hidden_units=50"], 2, ["`hidden_units`", "a list of integers", "[50]"]),
    ("p-word-for-list", ["train", "bnn", "-p", "hidden_units=fifty"], 2, ["`hidden_units`", "a list of integers", '"fifty"']),
    ("p-float-for-int", ["train", "toy", "-p", "units=1.5"], 2, ["`units`", "an integer", "units=1.5"]),
    ("p-nan", ["train", "bnn", "-p", "kl_weight=NaN"], 2, ["`kl_weight`", "a number or null", "NaN"]),
    ("p-string-for-bool", ["train", "vae", "-p", "binarize=maybe"], 2, ["`binarize`", "true or false"]),
    ("p-unknown", ["train", "toy", "-p", "colour=3"], 2, ["unknown hyperparameter 'colour'"]),
    ("p-no-equals", ["train", "toy", "-p", "units"], 2, ["expected key=value"]),
    ("p-base-learning-rate", ["train", "toy", "--data", TOY, "-p", "learning_rate=-1"], 2, ["`learning_rate`", "positive"]),
    ("p-base-optimizer", ["train", "toy", "--data", TOY, "-p", "optimizer=adamm"], 2, ["`optimizer`", "adam, adamw"]),
    ("p-range", ["train", "bnn", "--data", TOY, "-p", "num_samples=0"], 2, ["`num_samples`", "positive integer"]),
    # output folders
    ("output-under-a-file", ["train", "bnn", "--output", "{in}/good.csv/run"], 2, ["--output", "is a file, not a folder"]),
    ("output-exists", ["train", "toy", "--output", "{in}"], 2, ["--output", "already exists"]),
    ("output-interrupted", ["train", "toy", "--output", "{partial_target}"], 2, ["interrupted run", "--resume"]),
    ("output-unwritable", ["train", "toy", "--output", "/proc/tfp-arch-test/run"], 2, ["--output", "cannot create"]),
    # resume
    ("resume-not-staging", ["train", "--resume", "{in}"], 2, ["--resume", "not the staging folder"]),
    ("resume-with-options", ["train", "toy", "--resume", "{partial}"], 2, ["--resume takes no NAME"]),
    ("no-name", ["train"], 2, ["Missing argument 'NAME'"]),
    # evaluate and sample
    ("evaluate-truncated-model", ["evaluate", "{in}/truncated-run"], 1, ["model.keras", "truncated or damaged"]),
    ("evaluate-interrupted", ["evaluate", "{partial}"], 1, ["interrupted run", "--resume"]),
    ("evaluate-missing", ["evaluate", "{in}/nothing-here"], 2, ["does not exist"]),
    ("sample-n-0", ["sample", "{run}", "-n", "0"], 2, ["-n"]),
    ("sample-output-folder-missing", ["sample", "{run}", "--output", "{in}/no/such/s.npy"], 2, ["--output", "does not exist"]),
    ("sample-output-not-npy", ["sample", "{run}", "--output", "{in}/s.txt"], 2, ["--output", ".npy"]),
    ("sample-output-under-a-file", ["sample", "{run}", "--output", "{in}/good.csv/s.npy"], 2, ["--output", "does not exist"]),
    ("sample-cannot", ["sample", "{toy_run}", "-n", "2"], 1, ["cannot sample"]),
]

SUBPROCESS = ["p-number-for-list", "output-under-a-file", "npy-1e300", "idx-gz-truncated"]


def _write_inputs(folder):
    folder.mkdir()
    files = {
        "nan.csv": "a,b\n1,2\n3,nan\n",
        "inf.csv": "a,b\n1,inf\n3,4\n",
        "huge.csv": "a,b\n1,2\n3,1e300\n",
        "ragged.csv": "a,b\n1,2\n3,4,5\n",
        "words.csv": "a,b\n1,n/a\n",
        "empty.csv": "",
        "header.csv": "a,b\n",
        "good.csv": "".join(f"{i},{i * 0.5}\n" for i in range(20)),
        "one.csv": "1\n2\n3\n",
        "data.xyz": "1 2\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    np.save(folder / "strings.npy", np.array(["a", "b", "c"]))
    np.save(folder / "huge.npy", np.array([[1.0, 2.0], [1e300, 0.0], [3.0, 4.0]]))
    np.savez(folder / "keys.npz", a=np.ones(3), b=np.ones(3))
    images = np.zeros((4, 2, 2), np.uint8)
    raw = b"\x00\x00\x08\x03" + b"".join(int(d).to_bytes(4, "big") for d in images.shape) + images.tobytes()
    packed = gzip.compress(raw)
    (folder / "cut-images-idx3-ubyte.gz").write_bytes(packed[: len(packed) // 2])
    (folder / "bad-images-idx3-ubyte.gz").write_bytes(packed[:10] + b"\xff" * (len(packed) - 10))


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory):
    """A finished `maf` run, a finished `toy` run and an interrupted (staging) `toy` run."""
    from toy import ToyRegressor

    import tfp_arch
    from tfp_arch.registry import default_registry

    root = tmp_path_factory.mktemp("runs")
    runner = CliRunner()
    tfp_arch.register(ToyRegressor, replace=True)
    try:
        maf = ["train", "maf", "--data", "synthetic:two_moons#n=200", "--epochs", "1", "-p", "num_transforms=1",
               "-p", "hidden_units=[8]", "--output", str(root / "maf")]
        assert runner.invoke(main, maf).exit_code == 0
        assert runner.invoke(main, ["train", "toy", "--data", TOY, "--epochs", "1", "--output", str(root / "toy")]).exit_code == 0
    finally:
        default_registry().unregister("toy")
    partial = root / "stopped.partial"
    partial.mkdir()
    (partial / "request.json").write_text('{"entry_point": "local:toy"}\n')
    return root


@pytest.fixture
def place(tmp_path, finished_runs, monkeypatch, toy_registered):
    inputs = tmp_path / "in"
    _write_inputs(inputs)
    truncated = inputs / "truncated-run"
    shutil.copytree(finished_runs / "toy", truncated)
    model = truncated / "model.keras"
    model.write_bytes(model.read_bytes()[:2000])
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    values = {"in": str(inputs), "run": str(finished_runs / "maf"), "toy_run": str(finished_runs / "toy"),
              "partial": str(finished_runs / "stopped.partial"), "partial_target": str(finished_runs / "stopped")}
    return tmp_path, finished_runs, values


def _argv(template, values):
    return [part.format(**values) for part in template]


@pytest.mark.parametrize(("argv", "status", "words"), [pytest.param(*row[1:], id=row[0]) for row in CASES])
def test_bad_input_fails_with_one_line_and_writes_nothing(place, argv, status, words):
    root, runs, values = place
    before, runs_before = snapshot(root), snapshot(runs)
    result = CliRunner().invoke(main, _argv(argv, values))
    message = result.output.strip().splitlines()
    assert result.exit_code == status, result.output
    assert message and message[-1].startswith("Error:"), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in message[-1], message[-1]
    assert snapshot(root) == before and snapshot(runs) == runs_before


def _script() -> str:
    return shutil.which("tfp-arch", path=os.path.dirname(sys.executable)) or "tfp-arch"


@pytest.mark.parametrize(
    ("argv", "status", "words"),
    [pytest.param(*row[1:], id=row[0], marks=[] if row[0] == SUBPROCESS[0] else [pytest.mark.slow])
     for row in CASES if row[0] in SUBPROCESS],
)
def test_bad_input_through_the_installed_script(place, argv, status, words):
    root, runs, values = place
    before = snapshot(root)
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "TFP_ARCH_DEBUG")}
    result = subprocess.run([_script(), *_argv(argv, values)], capture_output=True, text=True, env=env)
    assert result.returncode == status
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    for word in words:
        assert word in lines[0]
    assert snapshot(root) == before


@pytest.mark.slow
def test_debug_shows_the_traceback(place):
    root, _, values = place
    env = {**os.environ, "TFP_ARCH_DEBUG": "1"}
    result = subprocess.run([_script(), "train", "bnn", "-p", "hidden_units=50"], capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "Traceback" in result.stderr and "HyperparameterError" in result.stderr
