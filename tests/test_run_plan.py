"""A run is planned without TensorFlow: every usage error of `tfp-arch train` stops before it is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tfp_arch.runs import plan_run
from tfp_arch.runs.request import OptionError

# Each case: arguments of `tfp-arch train`, exit status, words of the one-line error (click prints its
# usage lines above an option's error, as for every click option).
CASES = [
    (["bnn", "--data", "csv:x.csv#targt=q"], 1, ["unknown option 'targt' for csv data"]),
    (["bnn", "--epochs", "0"], 2, ["'--epochs'", "epochs=0"]),
    (["bnn", "--batch-size", "-1"], 2, ["'--batch-size'", "batch_size=-1"]),
    (["bnn", "--seed", "-3"], 2, ["'--seed'"]),
    (["bnn", "--validation-split", "1"], 2, ["'--validation-split'", "validation_split=1.0"]),
    (["bnn", "--patience", "-1"], 2, ["'--patience'"]),
    (["bnn", "--strategy", "tpu"], 2, ["'--strategy'", "tpu"]),
    (["bnn", "-p", "hidden_units=oops"], 2, ["hidden_units", "oops"]),
    (["bnn", "-p", "hiden_units=[3]"], 2, ["unknown hyperparameter 'hiden_units'"]),
    (["nsf", "-p", "log_scale_bound=2"], 2, ["unknown hyperparameter 'log_scale_bound'"]),
    (["bnn", "--strategy", "multi_worker_mirrored"], 2, ["TF_CONFIG"]),
]

_SCRIPT = """
import json, sys
sys.modules["tensorflow"] = None  # importing TensorFlow now raises ImportError
from click.testing import CliRunner
from tfp_arch.cli.main import main
results = []
for args, _, _ in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, ["train", *args], env={"TF_CONFIG": "not json"})
    results.append([result.exit_code, result.output])
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> list:
    cwd = tmp_path_factory.mktemp("plan")
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(CASES)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TFP_ARCH_PLUGINS": "builtin"},
        check=True,
    ).stdout
    assert not list(cwd.iterdir()), "a usage error left files behind"
    return json.loads(out)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[" ".join(c[0]) for c in CASES])
def test_a_usage_error_stops_the_run_before_tensorflow_is_imported(outcomes, index):
    _, status, words = CASES[index]
    code, output = outcomes[index]
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert code == status, output
    assert len(errors) == 1 and "ImportError" not in output and "Traceback" not in output, output
    for word in words:
        assert word in errors[0]


@pytest.mark.slow
def test_plan_run_checks_options_and_stages_the_folder_with_the_request(tmp_path):
    with pytest.raises(OptionError, match="`epochs`") as caught:
        plan_run("bnn", epochs=0, output=tmp_path / "never")
    assert caught.value.argument == "epochs" and not (tmp_path / "never.partial").exists()
    plan = plan_run("bnn", "synthetic:gap_regression#n=40", output=tmp_path / "run", batch_size=8)
    try:
        written = json.loads((plan.folder.path / "request.json").read_text())
        assert written["epochs"] is None and written["batch_size"] == 8 and written["entry_point"] == "tfp-arch:bnn"
        assert plan.chief is None and plan.role.is_chief and "data_fingerprint" in written
    finally:
        plan.folder.discard()
    assert not (tmp_path / "run.partial").exists()
