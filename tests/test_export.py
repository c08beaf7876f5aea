"""Export to a TensorFlow SavedModel: every signature answers as the Python model does, with TensorFlow alone."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tfp_arch.plugins.bnn import BayesianCNN, BayesianMLP
from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel
from tfp_arch.plugins.nsf import NeuralSplineFlowModel
from tfp_arch.plugins.vae import VariationalAutoencoder

from tfp_arch.data.synthetic import make_synthetic
from tfp_arch.export import export_saved_model, signature_summary
from tfp_arch.runs.folder import OutputError

SEED = tf.constant(7, tf.int64)
# What a process without tfp_arch, TensorFlow Probability and Keras runs: load, call each signature, save the outputs.
_ISOLATED = textwrap.dedent("""
    import json, sys
    for name in ("tfp_arch", "tensorflow_probability", "keras", "tf_keras"):
        sys.modules[name] = None
    import numpy as np
    import tensorflow as tf
    path, calls, inputs, outputs = sys.argv[1:]
    loaded = tf.saved_model.load(path)
    given = dict(np.load(inputs))
    answers = {}
    for key, signature in json.loads(calls).items():
        arguments = {name.split("/", 1)[1]: tf.constant(v) for name, v in given.items() if name.startswith(key + "/")}
        answer = loaded.signatures[signature](**arguments)
        answers.update({f"{key}/{k}": v.numpy() for k, v in answer.items()})
    np.savez(outputs, **answers)
""")


def _isolated_calls(
    tmp_path: Path, saved: Path, calls: dict[str, tuple[str, dict[str, np.ndarray]]]
) -> dict[str, dict[str, np.ndarray]]:
    """Call the signatures of `saved` in one process without tfp_arch: `{key: (signature, inputs)}` -> `{key: outputs}`."""
    np.savez(tmp_path / "inputs.npz", **{f"{key}/{k}": v for key, (_, given) in calls.items() for k, v in given.items()})
    script = tmp_path / "isolated.py"
    script.write_text(_ISOLATED)
    signatures = json.dumps({key: signature for key, (signature, _) in calls.items()})
    subprocess.run([sys.executable, str(script), str(saved), signatures, str(tmp_path / "inputs.npz"),
                    str(tmp_path / "outputs.npz")], check=True, capture_output=True, cwd=tmp_path)
    answers = dict(np.load(tmp_path / "outputs.npz"))
    return {key: {k.split("/", 1)[1]: v for k, v in answers.items() if k.startswith(key + "/")} for key in calls}


def _isolated_call(tmp_path: Path, saved: Path, signature: str, **inputs: np.ndarray) -> dict[str, np.ndarray]:
    return _isolated_calls(tmp_path, saved, {"call": (signature, inputs)})["call"]


def _graph_ops(path: Path) -> set[str]:
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    names = {function.signature.name for function in graph.library.function}
    return ops - names


@pytest.fixture(scope="module")
def regression_bnn():
    keras.utils.set_random_seed(0)
    data = make_synthetic("gap_regression", n=200)
    model = BayesianMLP(hidden_units=[16])
    model.fit(data.x_train, data.y_train, epochs=2, verbose=0)
    return model, data


@pytest.mark.slow
def test_bnn_signatures_equal_the_python_model(regression_bnn, tmp_path):
    model, data = regression_bnn
    saved = Path(model.export(str(tmp_path / "bnn")))
    loaded = tf.saved_model.load(str(saved))
    x = data.x_test[:7].astype("float32")
    args = {"x": tf.constant(x), "num_samples": tf.constant(40), "seed": SEED}
    served = loaded.signatures["predict"](**args)
    for key, value in model.predictive_moments(x, 40, 7).items():
        np.testing.assert_allclose(served[key].numpy(), value, rtol=1e-5, atol=1e-6)
    levels = np.array([0.05, 0.5, 0.95], np.float32)
    quantiles = loaded.signatures["quantiles"](levels=tf.constant(levels), **args)["quantiles"].numpy()
    np.testing.assert_allclose(quantiles, model.predictive_quantiles(x, levels, 40, 7), rtol=1e-5, atol=1e-5)
    samples = loaded.signatures["predictive_samples"](**args)
    np.testing.assert_allclose(samples["y"].numpy(), model.predictive_samples(x, 40, 7), rtol=1e-5, atol=1e-5)
    loc = model.sample_outputs(x, 40, 7).numpy()[..., 0]
    np.testing.assert_allclose(samples["loc"].numpy(), loc, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_bnn_quantiles_invert_the_mixture_cdf(regression_bnn):
    """Against an independent float64 computation: the mixture CDF at each quantile is its level."""
    def ndtr(z: np.ndarray) -> np.ndarray:
        return 0.5 * np.vectorize(math.erfc)(-z / math.sqrt(2.0))

    model, data = regression_bnn
    x = data.x_test[:5].astype("float32")
    levels = np.array([0.1, 0.5, 0.9])
    quantiles = model.predictive_quantiles(x, levels, 30, 2).astype(np.float64)
    outputs = model.sample_outputs(x, 30, 2).numpy().astype(np.float64)
    loc, scale = outputs[..., 0], outputs[..., 1]
    cdf = ndtr((quantiles[None, :, :] - loc[:, :, None]) / scale[:, :, None]).mean(axis=0)
    np.testing.assert_allclose(cdf, np.broadcast_to(levels, cdf.shape), atol=2e-5)


def test_bnn_predictive_samples_have_the_mixture_moments(regression_bnn):
    model, data = regression_bnn
    x = data.x_test[:3].astype("float32")
    draws = model.predictive_samples(x, 20000, 4).astype(np.float64)
    moments = model.predictive_moments(x, 20000, 4)
    np.testing.assert_allclose(draws.mean(axis=0), moments["mean"], atol=4 * moments["std"].max() / np.sqrt(20000))
    np.testing.assert_allclose(draws.std(axis=0), moments["std"], rtol=0.03)


@pytest.mark.slow
def test_exported_bnn_answers_without_tfp_arch_tfp_or_keras(regression_bnn, tmp_path):
    model, data = regression_bnn
    saved = Path(model.export(str(tmp_path / "bnn")))
    x = data.x_test[:4].astype("float32")
    served = _isolated_call(tmp_path, saved, "predict", x=x, num_samples=np.int32(25), seed=np.int64(3))
    for key, value in model.predictive_moments(x, 25, 3).items():
        np.testing.assert_allclose(served[key], value, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_exported_graphs_use_core_tensorflow_ops_only(regression_bnn, tmp_path):
    """Every op of the graph is registered by TensorFlow itself (no custom or TFP-specific kernels)."""
    from tensorflow.python.framework import op_def_registry

    model, _ = regression_bnn
    saved = Path(model.export(str(tmp_path / "bnn")))
    missing = [op for op in _graph_ops(saved) if op_def_registry.get(op) is None]
    assert missing == []


@pytest.mark.slow
def test_classification_bnn_and_bcnn_answer_class_probabilities_entropy_and_mutual_information(tmp_path):
    keras.utils.set_random_seed(0)
    data = make_synthetic("shapes_classification", n=96)
    cnn = BayesianCNN(num_classes=int(data.y_train.max()) + 1, filters=[4])
    cnn.fit(data.x_train, data.y_train, epochs=1, verbose=0)
    saved = Path(cnn.export(str(tmp_path / "bcnn")))
    x = data.x_test[:6].astype("float32")
    served = _isolated_call(tmp_path, saved, "predict", x=x, num_samples=np.int32(5), seed=np.int64(11))
    logits = cnn.sample_logits(x, 5, 11).astype(np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    mean = probs.mean(axis=0)
    entropy = -(mean * np.log(mean)).sum(-1)
    expected_entropy = -(probs * np.log(probs)).sum(-1).mean(axis=0)
    np.testing.assert_allclose(served["probabilities"], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(served["entropy"], entropy, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(served["mutual_information"], entropy - expected_entropy, atol=1e-5)

    flat = data.x_train.reshape(len(data.x_train), -1)[:, :6]
    mlp = BayesianMLP(hidden_units=[8], likelihood="categorical", num_classes=int(data.y_train.max()) + 1)
    mlp.fit(flat, data.y_train, epochs=1, verbose=0)
    loaded = tf.saved_model.load(mlp.export(str(tmp_path / "bnn")))
    answer = loaded.signatures["predict"](x=tf.constant(flat[:5]), num_samples=tf.constant(9), seed=SEED)
    np.testing.assert_allclose(answer["probabilities"].numpy(), mlp.predictive_moments(flat[:5], 9, 7)["probs"],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("cls", [MaskedAutoregressiveFlowModel, NeuralSplineFlowModel])
def test_flow_log_prob_and_sample_equal_the_python_model(cls, tmp_path):
    keras.utils.set_random_seed(0)
    data = make_synthetic("two_moons", n=300)
    model = cls(num_transforms=2, hidden_units=[8])
    model.fit(data.x_train, epochs=1, verbose=0)
    saved = Path(model.export(str(tmp_path / "flow")))
    x = data.x_test[:9].astype("float32")
    served = _isolated_calls(tmp_path, saved, {
        "density": ("log_prob", {"x": x}),
        "drawn": ("sample", {"num_samples": np.int32(11), "seed": np.int64(5)}),
    })
    np.testing.assert_allclose(served["density"]["log_prob"], model.log_prob(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(served["drawn"]["x"], model.sample(11, seed=5), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_conditional_flow_takes_the_context(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    context = rng.normal(size=(200, 1)).astype("float32")
    x = (context + 0.3 * rng.normal(size=(200, 2))).astype("float32")
    model = MaskedAutoregressiveFlowModel(num_transforms=2, hidden_units=[8], context_size=1)
    model.fit((context, x), epochs=1, verbose=0)
    loaded = tf.saved_model.load(model.export(str(tmp_path / "flow")))
    served = loaded.signatures["log_prob"](x=tf.constant(x[:6]), context=tf.constant(context[:6]))
    expected = model.log_prob(x[:6], context=context[:6])
    np.testing.assert_allclose(served["log_prob"].numpy(), expected, rtol=1e-5, atol=1e-5)
    drawn = loaded.signatures["sample"](num_samples=tf.constant(4), seed=SEED, context=tf.constant([[0.5]]))
    np.testing.assert_allclose(drawn["x"].numpy(), model.sample(4, seed=7, context=[0.5]), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_vae_signatures_equal_the_python_model(tmp_path):
    keras.utils.set_random_seed(0)
    data = make_synthetic("shapes", n=64)
    shape = list(data.x_train.shape[1:])
    vae = VariationalAutoencoder(data_shape=shape, latent_dim=2, hidden_units=[16], binarize=True)
    vae.fit(data.x_train, epochs=1, verbose=0)
    saved = Path(vae.export(str(tmp_path / "vae")))
    x = (data.x_test[:5] > 0.5).astype("float32")
    loc, scale = vae.encode(x)
    served = _isolated_calls(tmp_path, saved, {
        "encoded": ("encode", {"x": x}),
        "decoded": ("decode", {"z": np.asarray(loc)}),
        "drawn": ("sample", {"num_samples": np.int32(6), "seed": np.int64(3)}),
        "iwae": ("log_likelihood", {"x": x, "num_samples": np.int32(50), "seed": np.int64(9)}),
    })
    np.testing.assert_allclose(served["encoded"]["loc"], loc, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(served["encoded"]["scale"], scale, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(served["decoded"]["mean"], vae.decode(loc), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(served["drawn"]["x"], vae.sample(6, seed=3))
    np.testing.assert_allclose(served["drawn"]["mean"], vae.sample(6, seed=3, mean=True), rtol=1e-5, atol=1e-6)
    iwae = served["iwae"]["log_likelihood"]
    np.testing.assert_allclose(iwae, vae.log_likelihood(x, 50, seed=(9, 0)), rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_signature_names_are_those_the_docs_give(regression_bnn, tmp_path):
    model, _ = regression_bnn
    summary = signature_summary(model.export(str(tmp_path / "bnn")))
    assert set(summary) == {"predict", "quantiles", "predictive_samples", "serving_default"}
    assert summary["predict"]["inputs"] == {
        "num_samples": ["int32", []], "seed": ["int64", []], "x": ["float32", [None, 1]],
    }
    assert set(summary["predict"]["outputs"]) == {"mean", "std", "epistemic_std", "aleatoric_std"}
    assert set(summary["quantiles"]["inputs"]) == {"x", "levels", "num_samples", "seed"}
    assert set(summary["predictive_samples"]["outputs"]) == {"y", "loc", "scale"}
    docs = (Path(__file__).parents[1] / "docs" / "serving.md").read_text()
    request = json.loads(docs.split("```json")[1].split("```")[0])
    assert request["signature_name"] == "predict"
    assert set(request["inputs"]) == set(summary["predict"]["inputs"])


@pytest.mark.slow
def test_an_existing_folder_is_refused_unless_overwrite(regression_bnn, tmp_path):
    model, _ = regression_bnn
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(OutputError, match="exists"):
        export_saved_model(model, target)
    assert (target / "keep.txt").exists()
    export_saved_model(model, target, overwrite=True)
    assert (target / "saved_model.pb").is_file() and not (target / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
