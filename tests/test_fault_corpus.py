"""An adversarial corpus through the CLI: every input a user can give gets one line and a known exit code.

Each row: the arguments (`{in}` the prepared inputs, `{maf}` a finished maf run, `{plain}` a folder
holding a plain Keras model, `{partial}` an interrupted maf run with a checkpoint), environment
variables, the expected exit status (2 usage, 1 data, domain or system) and words of the message.
For each row: no traceback, the status, one `Error:` line, and no file left behind or changed in
the working folder, the inputs, the runs and `TMPDIR`. All rows run in-process (`CliRunner`).
"""

from __future__ import annotations

import json
import tempfile

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from faults_helpers import MAF, interrupted_run, listing

from tfp_arch.cli.main import main

TWO_MOONS = "synthetic:two_moons#n=100"
GAP = "synthetic:gap_regression#n=60"
MW = ["--strategy", "multi_worker_mirrored"]
CLUSTER = '{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": %s}}'

CASES = [
    # data specs and their options
    ("synthetic-n-negative", ["train", "maf", "--data", "synthetic:two_moons#n=-5"], {}, 1, ["`n`", "-5"]),
    ("synthetic-n-one", ["train", "maf", "--data", "synthetic:two_moons#n=1"], {}, 1, ["`n`"]),
    ("synthetic-n-huge", ["train", "maf", "--data", "synthetic:two_moons#n=100000000000"], {}, 1, ["`n`"]),
    ("synthetic-n-word", ["train", "maf", "--data", "synthetic:two_moons#n=many"], {}, 1, ["`n`", "many"]),
    ("synthetic-seed-negative", ["train", "maf", "--data", "synthetic:two_moons#seed=-1"], {}, 1, ["`seed`"]),
    ("synthetic-seed-2-32", ["train", "maf", "--data", "synthetic:two_moons#seed=4294967296"], {}, 1, ["`seed`"]),
    ("synthetic-test-0", ["train", "maf", "--data", "synthetic:two_moons#test=0"], {}, 1, ["test=0"]),
    ("synthetic-test-nan", ["train", "maf", "--data", "synthetic:two_moons#test=nan"], {}, 1, ["test=nan"]),
    ("synthetic-test-word", ["train", "maf", "--data", "synthetic:two_moons#test=half"], {}, 1, ["`test`"]),
    ("synthetic-unknown", ["train", "maf", "--data", "synthetic:three_moons"], {}, 1, ["unknown synthetic"]),
    ("spec-unknown-option", ["train", "maf", "--data", "synthetic:two_moons#colour=red"], {}, 1,
     ["unknown option 'colour'"]),
    ("spec-option-no-equals", ["train", "maf", "--data", "synthetic:two_moons#n"], {}, 1, ["expected key=value"]),
    ("spec-empty-path", ["train", "maf", "--data", "csv:"], {}, 1, ["names no path"]),
    ("csv-two-char-delimiter", ["train", "toy", "--data", "csv:{in}/good.csv#delimiter=ab"], {}, 1,
     ["`delimiter`", "'ab'"]),
    ("csv-digit-delimiter", ["train", "toy", "--data", "csv:{in}/good.csv#delimiter=1"], {}, 1, ["`delimiter`"]),
    ("csv-empty-delimiter", ["train", "toy", "--data", "csv:{in}/good.csv#delimiter="], {}, 1, ["`delimiter`"]),
    ("csv-header-maybe", ["train", "toy", "--data", "csv:{in}/good.csv#header=maybe"], {}, 1, ["`header`"]),
    ("csv-task-bogus", ["train", "toy", "--data", "csv:{in}/good.csv#task=ranking"], {}, 1, ["`task`"]),
    ("csv-stream-maybe", ["train", "toy", "--data", "csv:{in}/good.csv#stream=maybe"], {}, 1, ["`stream`"]),
    ("csv-target-index", ["train", "toy", "--data", "csv:{in}/good.csv#target=7"], {}, 1, ["out of range"]),
    ("csv-seed-negative", ["train", "toy", "--data", "csv:{in}/good.csv#seed=-2"], {}, 1, ["`seed`"]),
    ("uci-split-negative", ["train", "toy", "--data", "uci:{in}/uci#split=-1"], {}, 1, ["`split`"]),
    # data contents
    ("csv-latin1", ["train", "toy", "--data", "csv:{in}/latin1.csv"], {}, 1, ["latin1.csv", "UnicodeDecodeError"]),
    ("csv-utf16", ["train", "toy", "--data", "csv:{in}/utf16.csv"], {}, 1, ["utf16.csv"]),
    ("csv-binary", ["train", "toy", "--data", "csv:{in}/binary.csv"], {}, 1, ["binary.csv"]),
    ("csv-nul", ["train", "toy", "--data", "csv:{in}/nul.csv"], {}, 1, ["nul.csv"]),
    ("csv-bom-only", ["train", "toy", "--data", "csv:{in}/bom-only.csv"], {}, 1, ["empty"]),
    ("csv-blank-lines", ["train", "toy", "--data", "csv:{in}/blank.csv"], {}, 1, ["empty"]),
    ("labels-beyond-classes", ["train", "bnn", "--data", "csv:{in}/labels.csv#task=classification", "-p",
                               "num_classes=2", "-p", "likelihood=categorical"], {}, 1,
     ["y_train, row 3: label 2", "2 classes"]),
    ("labels-negative", ["train", "bnn", "--data", "csv:{in}/negative-labels.csv#task=classification"], {}, 1,
     ["non-negative integers"]),
    ("labels-fractional", ["train", "bnn", "--data", "csv:{in}/good.csv#task=classification"], {}, 1, ["integers"]),
    ("npy-0d", ["train", "maf", "--data", "npy:{in}/zero-d.npy"], {}, 1, ["shape ()"]),
    ("npy-1d", ["train", "maf", "--data", "npy:{in}/one-d.npy"], {}, 1, ["shape (5,)"]),
    ("npy-huge-header", ["train", "maf", "--data", "npy:{in}/huge-header.npy"], {}, 1,
     ["header claims", "4000000000000"]),
    ("npz-huge-header", ["train", "maf", "--data", "npy:{in}/huge-header.npz"], {}, 1, ["header claims"]),
    ("npy-truncated", ["train", "maf", "--data", "npy:{in}/truncated.npy"], {}, 1, ["truncated.npy"]),
    ("npy-not-numpy", ["train", "maf", "--data", "npy:{in}/good.csv"], {}, 1, ["NumPy"]),
    ("npy-pickled", ["train", "maf", "--data", "npy:{in}/pickled.npy"], {}, 1, ["pickled.npy"]),
    ("npz-y-0d", ["train", "toy", "--data", "npy:{in}/y-0d.npz"], {}, 1, ["y: ", "shape ()"]),
    ("npz-y-length", ["train", "toy", "--data", "npy:{in}/y-length.npz"], {}, 1, ["rows but y has"]),
    # options
    ("seed-2-32", ["train", "toy", "--seed", "4294967296"], {}, 2, ["--seed"]),
    ("seed-word", ["train", "toy", "--seed", "one"], {}, 2, ["--seed"]),
    ("epochs-huge-word", ["train", "toy", "--epochs", "1e9"], {}, 2, ["--epochs"]),
    ("validation-split-no-training-rows", ["train", "toy", "--data", GAP, "--validation-split", "0.999"], {}, 2,
     ["`validation_split`", "no training rows"]),
    ("validation-split-no-validation-rows", ["train", "toy", "--data", GAP, "--validation-split", "1e-17"], {}, 2,
     ["`validation_split`", "no validation rows"]),
    ("validation-split-negative", ["train", "toy", "--validation-split", "-0.5"], {}, 2, ["--validation-split"]),
    ("checkpoint-every-negative", ["train", "toy", "--checkpoint-every", "-1"], {}, 2, ["--checkpoint-every"]),
    ("strategy-unknown", ["train", "toy", "--strategy", "tpu"], {}, 2, ["--strategy"]),
    ("allow-changed-without-resume", ["train", "toy", "--allow-changed-data"], {}, 2, ["--resume"]),
    ("resume-with-overwrite", ["train", "--resume", "{partial}", "--overwrite"], {}, 2, ["--resume takes no NAME"]),
    ("p-empty-key", ["train", "toy", "-p", "=3"], {}, 2, ["key=value"]),
    ("sample-seed-2-32", ["sample", "{maf}", "--seed", "4294967296"], {}, 2, ["--seed"]),
    ("sample-n-word", ["sample", "{maf}", "-n", "lots"], {}, 2, ["-n"]),
    ("sample-output-exists", ["sample", "{maf}", "-n", "2", "--output", "{in}/existing.npy"], {}, 2, ["--overwrite"]),
    ("sample-output-is-folder", ["sample", "{maf}", "-n", "2", "--output", "{in}/uci.npy"], {}, 2, ["--output"]),
    ("sample-output-symlink", ["sample", "{maf}", "-n", "2", "--output", "{in}/link.npy"], {}, 2, ["symbolic link"]),
    # environment
    ("tf-config-not-json", ["train", "maf", "--data", TWO_MOONS, *MW], {"TF_CONFIG": "{cluster:"}, 2,
     ["TF_CONFIG", "not JSON"]),
    ("tf-config-list", ["train", "maf", "--data", TWO_MOONS, *MW], {"TF_CONFIG": "[1, 2]"}, 2, ["TF_CONFIG"]),
    ("tf-config-task-outside", ["train", "maf", "--data", TWO_MOONS, *MW], {"TF_CONFIG": CLUSTER % 5}, 2,
     ["TF_CONFIG", "worker:5", "outside"]),
    ("tf-config-task-negative", ["train", "maf", "--data", TWO_MOONS, *MW], {"TF_CONFIG": CLUSTER % -1}, 2,
     ["TF_CONFIG"]),
    ("tf-config-index-word", ["train", "maf", "--data", TWO_MOONS, *MW], {"TF_CONFIG": CLUSTER % '"one"'}, 2,
     ["TF_CONFIG"]),
    ("tf-config-bad-address", ["train", "maf", "--data", TWO_MOONS, *MW],
     {"TF_CONFIG": '{"cluster": {"worker": ["nowhere"]}, "task": {"type": "worker", "index": 0}}'}, 2, ["host:port"]),
    ("tf-config-type-missing", ["train", "maf", "--data", TWO_MOONS, *MW],
     {"TF_CONFIG": '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "chief", "index": 0}}'}, 2, ["'chief'"]),
    ("connect-timeout-word", ["train", "maf", "--data", TWO_MOONS, *MW], {"TF_CONFIG": CLUSTER % 0,
     "TFP_ARCH_CONNECT_TIMEOUT": "soon"}, 2, ["TFP_ARCH_CONNECT_TIMEOUT", "soon"]),
    ("connect-timeout-negative", ["train", "maf", "--data", TWO_MOONS, *MW], {"TF_CONFIG": CLUSTER % 0,
     "TFP_ARCH_CONNECT_TIMEOUT": "-1"}, 2, ["TFP_ARCH_CONNECT_TIMEOUT"]),
    ("plugins-none", ["train", "maf"], {"TFP_ARCH_PLUGINS": "none"}, 1, ["maf"]),
    ("plugins-garbage", ["train", "maf"], {"TFP_ARCH_PLUGINS": ":::"}, 1, ["maf"]),
    ("tmpdir-missing", ["train", "toy", "--data", "csv:{in}/latin1.csv"], {"TMPDIR": "/nonexistent/tmp"}, 1,
     ["latin1.csv"]),
    # run folders
    ("config-lacks-key", ["evaluate", "{in}/no-shape-run"], {}, 1, ["config.json lacks data_shape"]),
    ("config-not-object", ["sample", "{in}/list-config-run"], {}, 1, ["JSON object"]),
    ("config-bad-shape", ["sample", "{in}/bad-shape-run"], {}, 1, ["data_shape"]),
    ("config-not-json", ["evaluate", "{in}/broken-config-run"], {}, 1, ["not readable JSON"]),
    ("model-missing", ["evaluate", "{in}/no-model-run"], {}, 1, ["missing model.keras"]),
    ("plain-keras-evaluate", ["evaluate", "{plain}"], {}, 1, ["not a tfp_arch architecture"]),
    ("plain-keras-sample", ["sample", "{plain}", "-n", "2"], {}, 1, ["not a tfp_arch architecture"]),
    ("evaluate-other-shape", ["evaluate", "{maf}", "--data", "csv:{in}/three.csv"], {}, 1, ["shape"]),
    ("resume-damaged-request", ["train", "--resume", "{in}/damaged.partial"], {}, 2, ["--resume"]),
    ("resume-request-lacks-keys", ["train", "--resume", "{in}/lacking.partial"], {}, 2, ["lacks"]),
    ("resume-plugins-none", ["train", "--resume", "{partial}"], {"TFP_ARCH_PLUGINS": "none"}, 1, ["maf"]),
    ("resume-finished", ["train", "--resume", "{maf}"], {}, 2, ["--resume"]),
    ("resume-missing", ["train", "--resume", "{in}/nothing-here"], {}, 2, ["--resume"]),
    ("output-ends-partial", ["train", "toy", "--output", "x.partial"], {}, 2, ["--output"]),
    ("sample-interrupted", ["sample", "{partial}"], {}, 1, ["interrupted run", "--resume"]),
    ("evaluate-bad-spec", ["evaluate", "{maf}", "--data", "synthetic:two_moons#n=0"], {}, 1, ["`n`"]),
]


def _inputs(folder):
    folder.mkdir()
    texts = {
        "good.csv": "".join(f"{i},{i * 0.5}\n" for i in range(40)),
        "three.csv": "".join(f"{i},{i},{i}\n" for i in range(40)),
        "bom-only.csv": "\ufeff",
        "blank.csv": "\n\n  \n",
        "labels.csv": "x,y\n" + "".join(f"{i},{i % 4}\n" for i in range(40)),
        "negative-labels.csv": "x,y\n" + "".join(f"{i},{-(i % 2)}\n" for i in range(40)),
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "latin1.csv").write_bytes("caf\xe9,b\n1,2\n3,4\n".encode("latin-1"))
    (folder / "utf16.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-16")
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (folder / "nul.csv").write_bytes(b"1,2\n3,\x004\n")
    (folder / "existing.npy").write_text("mine")
    (folder / "uci.npy").mkdir()
    (folder / "link.npy").symlink_to(folder / "good.csv")
    (folder / "uci").mkdir()
    (folder / "uci" / "data.txt").write_text("1 2\n3 4\n")
    np.save(folder / "zero-d.npy", np.array(3.0))
    np.save(folder / "one-d.npy", np.arange(5.0))
    header = (folder / "one-d.npy").read_bytes().replace(b"'shape': (5,), ", b"'shape': (2000000, 2000000), ")
    (folder / "huge-header.npy").write_bytes(header)
    np.savez(folder / "huge-header.npz", x=np.arange(5.0))
    _patch_npz(folder / "huge-header.npz")
    np.save(folder / "truncated.npy", np.ones((100, 2)))
    (folder / "truncated.npy").write_bytes((folder / "truncated.npy").read_bytes()[:300])
    np.save(folder / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(folder / "y-0d.npz", x=np.ones((10, 1)), y=np.array(1.0))
    np.savez(folder / "y-length.npz", x=np.ones((10, 1)), y=np.ones(4))
    (folder / "damaged.partial").mkdir()
    (folder / "damaged.partial" / "request.json").write_text("{not json")
    (folder / "lacking.partial").mkdir()
    (folder / "lacking.partial" / "request.json").write_text('{"entry_point": "tfp-arch:maf"}')


def _patch_npz(path):
    import zipfile

    with zipfile.ZipFile(path) as archive:
        data = archive.read("x.npy")
    data = data.replace(b"'shape': (5,), ", b"'shape': (4000000000000,), ")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", data)


def _run_folders(root, maf):
    import shutil

    for name, change in {
        "no-shape-run": lambda c: c.pop("data_shape"),
        "list-config-run": None,
        "bad-shape-run": lambda c: c.update(data_shape=[-1, "a"]),
        "broken-config-run": None,
        "no-model-run": None,
    }.items():
        folder = root / name
        shutil.copytree(maf, folder)
        config = json.loads((folder / "config.json").read_text())
        if change is not None:
            change(config)
            (folder / "config.json").write_text(json.dumps(config))
    (root / "list-config-run" / "config.json").write_text("[1, 2]")
    (root / "broken-config-run" / "config.json").write_text('{"architecture": ')
    (root / "no-model-run" / "model.keras").unlink()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished maf run, a plain Keras model's folder and an interrupted maf run with a checkpoint."""
    root = tmp_path_factory.mktemp("corpus-runs")
    result = CliRunner().invoke(main, ["train", "maf", "--data", "synthetic:two_moons#n=200", "--epochs", "1", *MAF,
                                       "--output", str(root / "maf")])
    assert result.exit_code == 0, result.output
    plain = root / "plain"
    plain.mkdir()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.save(plain / "model.keras")
    for name in ("config.json", "history.csv", "metrics.json"):
        (plain / name).write_text((root / "maf" / name).read_text())
    patch = pytest.MonkeyPatch()
    try:
        interrupted_run(patch, root / "stopped", "synthetic:two_moons#n=200")
    finally:
        patch.undo()
    return root


@pytest.fixture
def place(tmp_path, runs, monkeypatch, toy_registered):
    inputs = tmp_path / "in"
    _inputs(inputs)
    _run_folders(inputs, runs / "maf")
    work = tmp_path / "work"
    work.mkdir()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr(tempfile, "tempdir", None)
    for name in ("TF_CONFIG", "TFP_ARCH_PLUGINS", "TFP_ARCH_CONNECT_TIMEOUT", "TFP_ARCH_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    values = {"in": str(inputs), "maf": str(runs / "maf"), "plain": str(runs / "plain"),
              "partial": str(runs / "stopped.partial")}
    return tmp_path, runs, values


@pytest.mark.parametrize(("argv", "env", "status", "words"), [pytest.param(*row[1:], id=row[0]) for row in CASES])
def test_every_bad_input_gets_one_line_and_leaves_nothing(place, monkeypatch, argv, env, status, words):
    root, runs, values = place
    before = listing(root, runs)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(tempfile, "tempdir", None)
    result = CliRunner().invoke(main, [part.format(**values) for part in argv])
    lines = result.output.strip().splitlines()
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == status, result.output
    assert lines and lines[-1].startswith("Error:"), result.output
    for word in words:
        assert word in lines[-1], lines[-1]
    assert listing(root, runs) == before


def test_the_corpus_covers_every_kind():
    kinds = {row[0].split("-")[0] for row in CASES}
    assert {"synthetic", "csv", "npy", "labels", "seed", "tf", "config", "plain", "resume", "sample"} <= kinds
    assert len(CASES) >= 70
