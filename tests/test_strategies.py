"""Strategies by name: checked before TensorFlow is imported, made on demand, recorded in config.json;
the compile defaults (steps per execution, XLA) each strategy gets; the cluster role read from TF_CONFIG."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import script_result
from click.testing import CliRunner

from tfp_arch.cli.main import main
from tfp_arch.distribute import ClusterRole, cluster_role, local_cluster


def test_the_cli_refuses_an_unknown_strategy_with_a_usage_error_before_importing_tensorflow():
    script = (
        "import sys\nfrom tfp_arch.cli.main import main\n"
        "try:\n    main(['train', 'bnn', '--strategy', 'parameter_server'])\n"
        "except SystemExit as exit:\n    print(exit.code, 'tensorflow' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["2", "False"], proc.stderr
    assert "Invalid value for '--strategy'" in proc.stderr


def test_resume_takes_no_strategy(tmp_path):
    result = CliRunner().invoke(main, ["train", "--resume", str(tmp_path / "x.partial"), "--strategy", "mirrored"])
    assert result.exit_code == 2 and "--resume takes no NAME" in result.output


def test_the_api_refuses_an_unknown_strategy_name_before_building(tmp_path):
    from tfp_arch import runs
    from tfp_arch.hyperparameters import HyperparameterError

    with pytest.raises(HyperparameterError, match=r"argument `strategy`: expected one of auto, one_device, mirrored, "
                                                 r"multi_worker_mirrored. Received: strategy='central_storage'"):
        runs.train("bnn", strategy="central_storage", output=tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("config", "role"),
    [
        (None, ClusterRole()),
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, ClusterRole("worker", 0, 2)),
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, ClusterRole("worker", 1, 2)),
        ({"cluster": {"chief": ["c:3"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}},
         ClusterRole("worker", 0, 2, has_chief=True)),
        ({"cluster": {"chief": ["c:3"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}},
         ClusterRole("chief", 0, 2, has_chief=True)),
    ],
)
def test_the_cluster_role_is_read_from_tf_config(config, role):
    environ = {} if config is None else {"TF_CONFIG": json.dumps(config)}
    assert cluster_role(environ) == role


@pytest.mark.parametrize(("config", "chief"), [
    (None, True),
    ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, True),
    ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, False),
    ({"cluster": {"chief": ["c:3"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False),
    ({"cluster": {"chief": ["c:3"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, True),
])
def test_the_chief_is_the_chief_task_or_else_worker_0(config, chief):
    environ = {} if config is None else {"TF_CONFIG": json.dumps(config)}
    assert cluster_role(environ).is_chief is chief


@pytest.mark.parametrize("text", ["{not json", '{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}'])
def test_a_malformed_tf_config_is_one_clear_error(text):
    with pytest.raises(ValueError, match="environment variable `TF_CONFIG`"):
        cluster_role({"TF_CONFIG": text})


@pytest.mark.slow
def test_a_local_cluster_gives_each_worker_its_own_task_on_distinct_free_ports():
    import socket

    configs = local_cluster(3)
    roles = [cluster_role({"TF_CONFIG": config}) for config in configs]
    assert [(role.task_type, role.task_index, role.tasks) for role in roles] == [("worker", i, 3) for i in range(3)]
    assert [role.is_chief for role in roles] == [True, False, False]
    addresses = json.loads(configs[0])["cluster"]["worker"]
    assert len(set(addresses)) == 3 and all(address.startswith("127.0.0.1:") for address in addresses)
    for address in addresses:  # each port can be bound now
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", int(address.split(":")[1])))


@pytest.mark.slow
def test_one_device_is_recorded_in_config_json(tmp_path, toy_registered):
    from tfp_arch import runs

    run = runs.train("toy", "synthetic:gap_regression#n=100", epochs=1, output=tmp_path / "run", strategy="one_device",
                     verbose=0)
    recorded = json.loads((run.path / "config.json").read_text())["strategy"]
    assert recorded == {"requested": "one_device", "class": "OneDeviceStrategy", "replicas": 1, "workers": 1}
    assert json.loads((run.path.parent / "run" / "config.json").read_text()) == run.config


@pytest.mark.slow
def test_auto_keeps_the_default_strategy_on_a_machine_without_several_gpus(tmp_path, toy_registered):
    import tensorflow as tf

    from tfp_arch import runs

    if len(tf.config.list_logical_devices("GPU")) > 1:
        pytest.skip("several GPUs: auto picks MirroredStrategy")
    run = runs.train("toy", "synthetic:gap_regression#n=100", epochs=1, output=tmp_path / "run", verbose=0)
    assert run.config["strategy"] == {"requested": "auto", "class": type(tf.distribute.get_strategy()).__name__,
                                      "replicas": 1, "workers": 1}


DEFAULTS = textwrap.dedent(
    """
    import json, os
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    import tfp_arch
    from tfp_arch.distribute import make_strategy
    from tfp_arch.runs import prepare_data

    out = {}
    strategies = {"auto": make_strategy("auto"), "one_device": make_strategy("one_device"),
                  "mirrored": tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])}
    for name in ("bnn", "bcnn", "vae", "maf", "nsf"):
        cls = tfp_arch.get(name)
        data = prepare_data(cls, cls.default_data)
        for label, strategy in strategies.items():
            with strategy.scope():
                model = cls(**cls.hyperparameters_for(data))
                model.compile()
            out[f"{name}/{label}"] = [strategy.num_replicas_in_sync, model.steps_per_execution, bool(model.jit_compile),
                                      cls.default_steps_per_execution]

    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    for spe, jit in ((4, False), (1, True)):
        with strategies["mirrored"].scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile("sgd", "mse", steps_per_execution=spe, jit_compile=jit)
        try:
            model.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0)
            out[f"mirrored_fit/{spe}/{jit}"] = "ok"
        except Exception as error:
            out[f"mirrored_fit/{spe}/{jit}"] = type(error).__name__

    rows = np.random.default_rng(1).normal(size=(33, 2)).astype("float32")
    losses = []
    for strategy in (strategies["auto"], strategies["mirrored"]):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            flow = tfp_arch.get("maf")()
            flow(rows[:1])
            flow.compile(steps_per_execution=1)
        losses.append(flow.fit(rows, epochs=1, batch_size=16, verbose=0).history["loss"][0])
    out["uneven"] = losses
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def defaults():
    return script_result(DEFAULTS)


# On a CPU-only machine: the architectures that turn XLA on themselves on one replica
# (vae: dense network with a diagonal posterior; nsf: always), the rest leave Keras' `jit_compile="auto"`,
# which is off on CPU and under any tf.distribute strategy (maf turns it on with a GPU only).
XLA_ON_ONE_CPU = {"bnn": False, "bcnn": False, "vae": True, "maf": False, "nsf": True}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(XLA_ON_ONE_CPU))
@pytest.mark.parametrize("strategy", ["auto", "one_device"])
def test_one_replica_keeps_the_architectures_steps_per_execution_and_xla(defaults, name, strategy):
    replicas, steps, jit, class_steps = defaults[f"{name}/{strategy}"]
    assert replicas == 1 and steps == class_steps > 1 and jit is XLA_ON_ONE_CPU[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(XLA_ON_ONE_CPU))
def test_several_replicas_run_one_step_per_execution_without_xla(defaults, name):
    replicas, steps, jit, _ = defaults[f"{name}/mirrored"]
    assert (replicas, steps, jit) == (2, 1, False)


@pytest.mark.slow
@pytest.mark.parametrize(("steps", "jit"), [(4, False), (1, True)])
def test_why_tensorflow_2_21_needs_those_defaults_under_mirrored_strategy(defaults, steps, jit):
    """The reason for the defaults above. When this fails, TensorFlow runs these now: lift them."""
    assert defaults[f"mirrored_fit/{steps}/{jit}"] == "InvalidArgumentError"



@pytest.mark.slow
def test_a_last_batch_leaving_a_replica_empty_trains_and_logs_the_single_device_loss(defaults):
    """33 rows in batches of 16 on two replicas: the last step gives one replica one example and the
    other none, whose mean would be 0/0. The logged loss of that deterministic epoch (maf) is the one
    device's."""
    single, mirrored = defaults["uneven"]
    assert np.isfinite(mirrored) and mirrored == pytest.approx(single, rel=1e-5)
