"""A real third-party plugin distribution goes the whole way: discovered, listed, loaded, trained, saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from tfp_arch.cli.main import main

import tfp_arch
from tfp_arch.runs import train


def _install_toy(plugins):
    module = plugins.unique("acme_toy")
    plugins.distribution("acme-toy", {"acme_toy": f"{module}:ToyRegressor"}, {module: plugins.toy_module(module)})
    return module


@pytest.mark.slow
def test_third_party_plugin_is_listed_loaded_trained_and_saved(plugins, tmp_path):
    module = _install_toy(plugins)
    listed = json.loads(CliRunner().invoke(main, ["list", "--json"]).output)
    row = next(r for r in listed if r["name"] == "acme_toy")
    assert row["distribution"] == "acme-toy" and row["status"] == "ok"

    cls = tfp_arch.get("acme_toy")
    assert cls.__module__ == module and issubclass(cls, tfp_arch.Architecture)

    run = train("acme_toy", epochs=2, output=tmp_path / "run", seed=1)
    assert sorted(p.name for p in run.path.iterdir()) == ["config.json", "history.csv", "metrics.json", "model.keras"]
    assert run.config["entry_point"] == "acme-toy:acme_toy"

    code = (
        "import sys, tfp_arch, keras, numpy as np; "
        f"m = keras.saving.load_model(r'{run.path / 'model.keras'}'); "
        "print(type(m).__module__, float(np.sum(m.predict(np.ones((3, 1), 'float32'), verbose=0))))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins.root), *sys.path])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    loaded_module, total = out.split()
    expected = float(run.model.predict(__import__("numpy").ones((3, 1), "float32"), verbose=0).sum())
    assert loaded_module == module and abs(float(total) - expected) < 1e-5


@pytest.mark.slow
def test_import_tfp_arch_imports_no_plugin_and_load_all_reports_a_broken_one(plugins):
    module = plugins.unique("fails_on_import")
    plugins.distribution("fragile-arch", {"fragile": f"{module}:Model"}, {module: "1 / 0\n"})
    code = (
        "import sys, tfp_arch; print([m for m in sys.modules if m.startswith('tfp_arch.plugins.')]); "
        "tfp_arch.load_all(); print(sorted(tfp_arch.broken())); print(tfp_arch.get('bnn').__name__)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins.root), *sys.path])}
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.split("\n")
    assert lines[0] == "[]"
    assert lines[1] == "['fragile-arch:fragile']" and lines[2] == "BayesianMLP"


@pytest.mark.slow
def test_a_plugin_imported_before_tfp_arch_is_not_reported_broken():
    code = (
        "from tfp_arch.plugins.bnn import BayesianMLP\n"
        "import tfp_arch\n"
        "print(sorted(tfp_arch.broken()), sorted(tfp_arch.load_all()), sorted(tfp_arch.broken()))\n"
        "print(tfp_arch.get('bnn') is BayesianMLP)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["[] ['tfp-arch:bcnn', 'tfp-arch:bnn', 'tfp-arch:maf', 'tfp-arch:nsf', 'tfp-arch:vae'] []", "True"]


_DECLARATION = '''
from tfp_arch.declaration import Declaration, Hyperparameter

TOY = Declaration(
    architecture_name="toy",
    summary="Heteroscedastic Gaussian regression with a small deterministic net (test architecture).",
    default_data="synthetic:gap_regression#n=200",
    default_epochs=2,
    default_batch_size=16,
    registered_name="{package}>ToyRegressor",
    hyperparameters=(Hyperparameter("units", "int", 8, "width of the hidden layer"),),
)
'''


def test_a_plugin_that_declares_itself_is_described_and_checked_without_tensorflow(plugins, tmp_path):
    module = plugins.unique("acme_declared")
    declaration = f"{module}_declaration"
    info = plugins.distribution(
        "acme-declared",
        {"acme_declared": f"{module}:ToyRegressor"},
        {module: plugins.toy_module(module), declaration: _DECLARATION.format(package=module)},
    )
    with (info / "entry_points.txt").open("a") as points:
        points.write(f"\n[tfp_arch.declarations]\nacme_declared = {declaration}:TOY\n")
    code = (
        "import json, sys\n"
        "sys.modules['tensorflow'] = None\n"
        "from click.testing import CliRunner\n"
        "from tfp_arch.cli.main import main\n"
        "shown = CliRunner().invoke(main, ['info', 'acme_declared', '--json'])\n"
        "refused = CliRunner().invoke(main, ['train', 'acme_declared', '-p', 'units=wide'])\n"
        "print(json.dumps([shown.exit_code, json.loads(shown.output), refused.exit_code, refused.output]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins.root), *sys.path])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=tmp_path)
    shown_code, document, refused_code, refused = json.loads(out.stdout)
    assert shown_code == 0 and document["read_from"] == "static"
    assert document["hyperparameters"] == {"units": 8, "learning_rate": None, "optimizer": "adam"}
    assert refused_code == 2 and "Invalid value for hyperparameter `units`" in refused
