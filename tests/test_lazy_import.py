"""`import tfp_arch` is cheap, and saved models load importing only their own plugin."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tfp_arch


def _run(code: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()


def test_import_tfp_arch_imports_no_tensorflow_keras_or_plugin():
    out = _run(
        "import sys, tfp_arch; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tensorflow_probability') "
        "or m.startswith('tfp_arch.plugins')))"
    )
    assert out == ["[]"]


@pytest.mark.slow
def test_pytest_plugin_and_testing_package_import_no_tensorflow_keras_or_plugin():
    out = _run(
        "import sys, tfp_arch.testing.pytest_plugin, tfp_arch.testing; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tensorflow_probability') "
        "or m.startswith('tfp_arch.plugins')))"
    )
    assert out == ["[]"]


@pytest.mark.slow
def test_testing_names_import_the_kit_on_first_use():
    out = _run(
        "import sys, tfp_arch.testing as kit; before = 'keras' in sys.modules; rules = kit.RULES; "
        "print(before, 'keras' in sys.modules, kit.contract_test.__module__, 'build' in rules)"
    )
    assert out == ["False True tfp_arch.testing.checks True"]


@pytest.mark.slow
def test_public_names_import_on_first_use():
    out = _run(
        "import sys, tfp_arch; before = 'keras' in sys.modules; cls = tfp_arch.Architecture; "
        "print(before, 'keras' in sys.modules, cls.__module__, tfp_arch.load_data.__module__)"
    )
    assert out == ["False True tfp_arch.architecture tfp_arch.data.spec"]


@pytest.mark.slow
def test_unknown_attribute_is_an_attribute_error():
    try:
        tfp_arch.no_such_name
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("tfp_arch.no_such_name did not raise AttributeError")


@pytest.mark.slow
def test_saved_model_loads_with_load_model_and_with_keras_importing_only_its_plugin(tmp_path):
    model = tfp_arch.get("maf")(hidden_units=[8], num_transforms=1)
    x = np.random.default_rng(0).normal(size=(4, 2)).astype("float32")
    model(x)
    path = tmp_path / "maf.keras"
    model.save(path)
    expected = np.asarray(model.log_prob(x))
    np.save(tmp_path / "x.npy", x)
    for load in ("tfp_arch.load_model(path)", "__import__('keras').saving.load_model(path)"):
        out = _run(
            "import sys, numpy as np, tfp_arch\n"
            f"path = {str(path)!r}\n"
            f"model = {load}\n"
            "print(type(model).__name__, sorted(m for m in sys.modules\n"
            "    if m.startswith('tfp_arch.plugins.') and m.rpartition('.')[2] in ('model', 'cnn')))\n"
            f"print(np.asarray(model.log_prob(np.load({str(tmp_path / 'x.npy')!r}))).tolist())"
        )
        # The plugins' declarations (standard library only) are read for their registered names; of the
        # modules that define architectures (and import TensorFlow), only maf's is imported.
        assert out[0] == "MaskedAutoregressiveFlowModel ['tfp_arch.plugins.maf.model']"
        np.testing.assert_allclose(np.array(eval(out[1])), expected, rtol=1e-6)
