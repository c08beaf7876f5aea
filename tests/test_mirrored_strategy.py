"""Training under `tf.distribute.MirroredStrategy` on two logical CPU devices, in one fresh process.

Logical devices must be configured before TensorFlow initialises, so the checks run in a new Python
process that builds one two-replica strategy, runs the parts the selected tests need (`PARTS`) and
reports back as JSON. XLA is not used here: with TF 2.21 / Keras 3.15 on logical CPU devices, any
Keras model (a single `Dense` layer too) fails under `MirroredStrategy` with `jit_compile=True`
(variables of replica 1 are reached from device 0) or with `steps_per_execution > 1`, and Keras'
`jit_compile="auto"` turns XLA off in a strategy scope; `jit_compile` is tested on one device in the
architectures' own modules.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import script_result

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.path.insert(0, {tests!r})
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


    def bnn():
        from tfp_arch.layers.kl.weight import KLWeightCallback
        from tfp_arch.layers.variational.dense import DenseVariational
        from tfp_arch.plugins.bnn import BayesianMLP

        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(128, 3)).astype("float32")
        y = (x @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(128)).astype("float32")
        with strategy.scope():
            model = BayesianMLP(hidden_units=[8], estimator="flipout")
            model.compile(keras.optimizers.Adam(0.01))
            layered = keras.Sequential([keras.Input((3,)), DenseVariational(8, activation="relu", prior="scale_mixture"),
                                        DenseVariational(1)])
            layered.compile(keras.optimizers.Adam(0.01), "mse")
        history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
        other = layered.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[KLWeightCallback(x)])
        return {{
            "loss": history.history["loss"],
            "other_loss": other.history["loss"],
            "kl_weight": float(model.variational_layers[0].kl_weight_variable.numpy()),
            "rmse": model.evaluate_metrics(x, y, num_samples=20)["rmse"],
            "y_std": float(y.std()),
        }}


    def maf():
        from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel

        keras.utils.set_random_seed(0)
        x = np.random.default_rng(0).normal(size=(800, 3)).astype("float32") * [1.0, 2.0, 0.5]
        with strategy.scope():
            model = MaskedAutoregressiveFlowModel(num_transforms=2, hidden_units=[16], batch_norm=True)
            model.compile(steps_per_execution=1)
        loss = model.fit(x, epochs=3, batch_size=100, verbose=0).history["loss"]
        return {{
            "loss": [float(v) for v in loss],
            "moving_variance": model.flow.norms[0].moving_variance.numpy().tolist(),
            "evaluated": float(model.evaluate(x, batch_size=100, verbose=0, return_dict=True)["loss"]),
            "direct": -float(np.mean(model.log_prob(x))),
            "samples_finite": bool(np.isfinite(model.sample(10, seed=0)).all()),
        }}


    def toy():
        from toy import ToyRegressor

        x = np.random.default_rng(0).normal(size=(128, 1)).astype("float32")
        with strategy.scope():
            model = ToyRegressor()
        loss = model.fit(x, 2 * x[:, 0], epochs=3, verbose=0).history["loss"]
        return {{"steps_per_execution": model.steps_per_execution, "loss": [float(v) for v in loss]}}


    def kl():
        from tfp_arch.layers.kl.gaussian_penalty import GaussianKLPenalty

        x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")

        def kl_model():
            inputs = keras.Input((3,))
            h = keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(stddev=0.7, seed=0),
                                   bias_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=1))(inputs)
            loc, raw = GaussianKLPenalty(kl_weight=0.5)([h[:, :2], h[:, 2:]])
            model = keras.Model(inputs, loc)
            model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False)
            return model

        single = kl_model()
        single_loss = single.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0).history["loss"][0]
        with strategy.scope():
            mirrored = kl_model()
        loss = mirrored.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0).history["loss"][0]
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(single.get_weights(), mirrored.get_weights()))
        return {{"loss": [single_loss, loss], "weights_diff": diff}}


    def vae():
        from tfp_arch.data import make_synthetic
        from tfp_arch.plugins.vae import VariationalAutoencoder

        keras.utils.set_random_seed(0)
        data = make_synthetic("shapes", n=256, seed=1)
        with strategy.scope():
            model = VariationalAutoencoder(data_shape=[16, 16, 1], latent_dim=3, hidden_units=[32], seed=0)
            model.compile()
        history = model.fit(data.x_train, epochs=2, batch_size=32, verbose=0).history
        return {{"history": {{key: [float(v) for v in values] for key, values in history.items()}},
                "metrics": model.evaluate_metrics(data.x_test)}}


    out = {{"replicas": strategy.num_replicas_in_sync}}
    for part in {parts!r}:
        out[part] = globals()[part]()
    print("RESULT" + json.dumps(out))
    """
)

PARTS = {
    "test_two_replicas": (),
    "test_bnn_and_a_sequential_of_variational_layers_train": ("bnn",),
    "test_maf_trains_updates_its_batch_norm_and_evaluates_its_own_log_prob": ("maf",),
    "test_the_base_class_defaults_train_with_one_step_per_execution": ("toy",),
    "test_kl_loss_and_update_match_a_single_device": ("kl",),
    "test_vae_trains_with_a_correctly_scaled_loss": ("vae",),
}
"""The parts of the script each test reads: the process runs those of the tests selected in this session."""


@pytest.fixture(scope="module")
def result(request: pytest.FixtureRequest) -> dict:
    module = Path(__file__).resolve()
    selected = {item.originalname for item in request.session.items if Path(item.path).resolve() == module}
    parts = sorted({part for name in selected for part in PARTS[name]})
    return script_result(SCRIPT.format(tests=str(Path(__file__).parent), parts=parts))


@pytest.mark.slow
def test_two_replicas(result):
    assert result["replicas"] == 2


@pytest.mark.slow
def test_bnn_and_a_sequential_of_variational_layers_train(result):
    report = result["bnn"]
    assert all(v == v and abs(v) < 1e6 for v in report["loss"] + report["other_loss"])
    assert report["loss"][-1] < report["loss"][0]
    assert abs(report["kl_weight"] - 1 / 128) < 1e-7
    assert report["rmse"] < report["y_std"]


@pytest.mark.slow
def test_maf_trains_updates_its_batch_norm_and_evaluates_its_own_log_prob(result):
    import numpy as np

    report = result["maf"]
    loss = report["loss"]
    assert all(np.isfinite(loss)) and loss[-1] < loss[0], loss
    assert not np.allclose(report["moving_variance"], 1.0), report["moving_variance"]
    assert abs(report["evaluated"] - report["direct"]) < 1e-3 * abs(report["direct"]) + 1e-4
    assert report["samples_finite"]


@pytest.mark.slow
def test_the_base_class_defaults_train_with_one_step_per_execution(result):
    report = result["toy"]
    assert report["steps_per_execution"] == 1
    assert report["loss"][-1] < report["loss"][0]


def test_kl_loss_and_update_match_a_single_device(result):
    single, mirrored = result["kl"]["loss"]
    assert mirrored == pytest.approx(single, rel=1e-5)
    assert result["kl"]["weights_diff"] < 1e-5


@pytest.mark.slow
def test_vae_trains_with_a_correctly_scaled_loss(result):
    history = result["vae"]["history"]
    for key in ("loss", "reconstruction", "kl", "elbo"):
        assert all(v == v and abs(v) < 1e6 for v in history[key])
    for loss, elbo, rec, kl in zip(history["loss"], history["elbo"], history["reconstruction"], history["kl"]):
        assert loss == pytest.approx(-elbo, rel=1e-4)
        assert elbo == pytest.approx(-rec - kl, rel=1e-4)
    assert result["vae"]["metrics"]["elbo"] < result["vae"]["metrics"]["log_likelihood"]
