"""Choosing a `tf.distribute` strategy by name, and a process's place in a multi-worker cluster.

The names are those of TensorFlow's Model Garden: `auto`, `one_device`, `mirrored` and
`multi_worker_mirrored`. The names and the cluster role (read from `TF_CONFIG` as TensorFlow documents
it) need only the standard library, so the CLI checks them before importing TensorFlow;
`make_strategy` imports TensorFlow.

In a multi-worker run every worker trains the same model on its share of each global batch. `TF_CONFIG`
is read once per run, into a `ClusterRole` (this task, its address and its peers') that the run passes
on. Which folder each process writes is the run's choice (`tfp_arch.runs.placement`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tfp_arch.validation import ValidationError, one_of

__all__ = [
    "MULTI_WORKER",
    "STRATEGIES",
    "CONNECT_TIMEOUT_VAR",
    "ClusterConfigError",
    "ClusterError",
    "connect_timeout",
    "wait_for_peers",
    "ClusterRole",
    "is_peer_failure",
    "check_strategy",
    "cluster_role",
    "local_cluster",
    "make_strategy",
    "strategy_name",
    "strategy_record",
]

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker_mirrored")
MULTI_WORKER = "multi_worker_mirrored"


class ClusterError(ConnectionError):
    """A multi-worker job lost a worker: TensorFlow stops the others (its collective operations fail);
    the job continues when every worker is restarted with `--resume` (`tfp_arch.runs.resume`)."""


_PEER_FAILURES = ("UnavailableError", "DeadlineExceededError", "AbortedError", "CancelledError")


def is_peer_failure(error: BaseException) -> bool:
    """Whether `error` is how TensorFlow's collective operations report a worker that went away."""
    return any(
        cls.__name__ in _PEER_FAILURES and cls.__module__.startswith("tensorflow") for cls in type(error).__mro__
    )


def check_strategy(strategy: Any) -> Any:
    """`strategy` if it is a strategy name or a `tf.distribute.Strategy`, else a ValueError naming it."""
    if isinstance(strategy, str) or not _is_strategy(strategy):
        return one_of("strategy", strategy, STRATEGIES)
    return strategy


def _is_strategy(value: Any) -> bool:
    return any(
        cls.__name__ == "StrategyBase" and cls.__module__.startswith("tensorflow") for cls in type(value).__mro__
    )


@dataclass(frozen=True)
class ClusterRole:
    """This process's task in the cluster `TF_CONFIG` describes.

    Attributes:
        task_type: `"chief"`, `"worker"` (or another job name), None without `TF_CONFIG`.
        task_index: the task's index in its job.
        tasks: the number of tasks that train (chief and workers).
        has_chief: whether the cluster has a `chief` job.
        address: this task's `host:port`, None without `TF_CONFIG`.
        peers: the addresses of the other tasks of the chief and worker jobs.
    """

    task_type: str | None = None
    task_index: int = 0
    tasks: int = 1
    has_chief: bool = False
    address: str | None = field(default=None, compare=False)
    peers: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_chief(self) -> bool:
        """Whether this task writes the run: the `chief`, or worker 0 in a cluster without a chief."""
        return self.task_type in (None, "chief") or (
            self.task_type == "worker" and self.task_index == 0 and not self.has_chief
        )


def cluster_role(environ: Mapping[str, str] | None = None) -> ClusterRole:
    """This process's task, read from the `TF_CONFIG` environment variable as TensorFlow reads it.

    `TF_CONFIG` is JSON: `{"cluster": {"worker": ["host:port", ...], "chief": [...]}, "task":
    {"type": "worker", "index": 0}}`. Unset or empty, the process is alone (and chief).

    Raises:
        ClusterConfigError: `TF_CONFIG` is not JSON of that form, or names a task outside its cluster
            (a `ValueError`).
    """
    text = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    if not text.strip():
        return ClusterRole()
    try:
        config = json.loads(text)
    except ValueError as error:
        raise _bad_tf_config(f"it is not JSON ({error})", text) from None
    if not isinstance(config, dict):
        raise _bad_tf_config("expected a JSON object with `cluster` and `task`", text)
    cluster, task = config.get("cluster") or {}, config.get("task") or {}
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise _bad_tf_config("`cluster` and `task` must be JSON objects", text)
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) and _port(a) is not None for a in addresses):
            raise _bad_tf_config(f'cluster job {job!r} must be a list of "host:port" addresses', text)
    task_type, index = task.get("type"), task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int):
        raise _bad_tf_config(f"task index must be an integer, got {index!r}", text)
    if task_type is not None and task_type not in cluster:
        raise _bad_tf_config(f"task type {task_type!r} is not in the cluster {sorted(cluster)}", text)
    if task_type is not None and not 0 <= index < len(cluster[task_type]):
        count = len(cluster[task_type])
        raise _bad_tf_config(f"task {task_type}:{index} is outside its cluster job of {count} tasks", text)
    tasks = sum(len(cluster.get(job, [])) for job in ("chief", "worker"))
    own = None if task_type is None else cluster[task_type][index]
    peers = tuple(address for job in ("chief", "worker") for address in cluster.get(job, []) if address != own)
    return ClusterRole(task_type, index, max(tasks, 1), "chief" in cluster, own, peers if own else ())


class ClusterConfigError(ValidationError):
    """`TF_CONFIG` is not a usable cluster description (a usage error)."""


def _bad_tf_config(problem: str, text: str) -> ClusterConfigError:
    shown = text if len(text) <= 200 else text[:200] + "..."
    return ClusterConfigError(
        f"Invalid value for environment variable `TF_CONFIG`: {problem}; expected JSON with `cluster` and `task` "
        f"(https://www.tensorflow.org/guide/distributed_training#setting_up_the_tf_config_environment_variable). "
        f"Received: TF_CONFIG={shown!r}"
    )


def _port(address: str) -> int | None:
    host, sep, port = address.rpartition(":")
    return int(port) if sep and host and port.isdigit() and 0 < int(port) < 65536 else None


CONNECT_TIMEOUT_VAR = "TFP_ARCH_CONNECT_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = 120.0


def connect_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a multi-worker worker waits for the others to be reachable: `TFP_ARCH_CONNECT_TIMEOUT`
    (default 120).

    Raises:
        ClusterConfigError: the variable is not a positive number of seconds.
    """
    text = (os.environ if environ is None else environ).get(CONNECT_TIMEOUT_VAR, "").strip()
    if not text:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1e9:
        raise ClusterConfigError(
            f"Invalid value for environment variable `{CONNECT_TIMEOUT_VAR}`: expected a positive number of seconds. "
            f"Received: {CONNECT_TIMEOUT_VAR}={text!r}"
        )
    return value


def _reachable(address: str, timeout: float) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_peers(
    timeout: float | None = None, environ: Mapping[str, str] | None = None, role: ClusterRole | None = None
) -> None:
    """Wait until every other task of the `TF_CONFIG` cluster accepts a connection, or fail.

    TensorFlow's `MultiWorkerMirroredStrategy` blocks in C++ (deaf to signals) until every worker
    has joined, for as long as an hour. So before it is made, each worker listens on its own
    address (the port TensorFlow takes next) and connects to the others' in a loop of short
    attempts, in Python: SIGTERM and SIGINT end the wait at once, and after `timeout` seconds
    (default `connect_timeout()`) the worker gives up naming the addresses it could not reach.
    `role` is the cluster as the run read it (default: `cluster_role(environ)`).

    Raises:
        ClusterError: some addresses were not reachable in time.
        ClusterConfigError: `TF_CONFIG` or `TFP_ARCH_CONNECT_TIMEOUT` is malformed.
    """
    timeout = connect_timeout(environ) if timeout is None else timeout
    role = cluster_role(environ) if role is None else role
    own, others = role.address, list(role.peers)
    if own is None or not others:
        return
    listener = socket.socket(socket.AF_INET6 if own.startswith("[") else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        try:
            listener.bind(("", int(own.rpartition(":")[2])))
            listener.listen(len(others) + 8)
        except OSError as error:
            problem = error.strerror or error
            raise ClusterError(f"this worker cannot listen on its address {own} from TF_CONFIG: {problem}") from None
        deadline = time.monotonic() + timeout
        missing = list(others)
        while missing:
            missing = [address for address in missing if not _reachable(address, 0.5)]
            if not missing:
                break
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"cannot reach the other workers of the multi-worker job within {timeout:g} s "
                    f"({CONNECT_TIMEOUT_VAR}): no answer from {', '.join(missing)}; start the command on every "
                    f"worker of TF_CONFIG, or check the addresses and the network"
                )
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    finally:
        listener.close()


def local_cluster(count: int) -> list[str]:
    """`TF_CONFIG` values for a cluster of `count` workers on this machine, one per worker.

    The workers listen on 127.0.0.1, on ports that are free when this is called (held open together,
    so they differ); worker 0 is the chief. Set the i-th value as `TF_CONFIG` in the environment of
    the i-th process, for example to try `--strategy multi_worker_mirrored` on one machine.

    Example:
        >>> configs = local_cluster(2)
        >>> json.loads(configs[1])["task"]
        {'type': 'worker', 'index': 1}
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        workers = [f"127.0.0.1:{sock.getsockname()[1]}" for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    return [
        json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        for index in range(count)
    ]


def make_strategy(strategy: Any = "auto", role: ClusterRole | None = None) -> Any:
    """The `tf.distribute.Strategy` a name stands for (a strategy instance is returned as it is).

    - `auto`: the strategy in scope if there is one (a `with strategy.scope():` around the call);
      else `MirroredStrategy` over the local GPUs when there are two or more; else TensorFlow's
      default strategy (one device, what Keras does without a strategy).
    - `one_device`: `OneDeviceStrategy` on the first GPU, or the CPU.
    - `mirrored`: `MirroredStrategy` over the local GPUs (the CPU without one).
    - `multi_worker_mirrored`: `MultiWorkerMirroredStrategy`, which reads `TF_CONFIG`; without it
      the process trains alone. TensorFlow requires it to be made before any operation runs
      (listing logical devices included), so `run_in` makes the strategy first. `role` is the
      cluster as the run read it from `TF_CONFIG` (default: read now).
    """
    import tensorflow as tf

    strategy = check_strategy(strategy)
    if not isinstance(strategy, str):
        return strategy
    if strategy == MULTI_WORKER:
        wait_for_peers(role=role)
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if strategy == "auto":
        if tf.distribute.has_strategy():
            return tf.distribute.get_strategy()
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if strategy == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.MirroredStrategy()


def strategy_name(strategy: Any) -> str:
    """The name of a strategy instance (`auto` for the default strategy and unnamed kinds)."""
    names = {
        "OneDeviceStrategy": "one_device",
        "MirroredStrategy": "mirrored",
        "MultiWorkerMirroredStrategy": "multi_worker_mirrored",
        "CollectiveAllReduceStrategy": "multi_worker_mirrored",
    }
    return next((names[cls.__name__] for cls in type(strategy).__mro__ if cls.__name__ in names), "auto")


def strategy_record(requested: str, strategy: Any, role: ClusterRole) -> dict[str, Any]:
    """What `config.json` records of the strategy: the name asked for, the class, replicas, workers."""
    workers = role.tasks if strategy_name(strategy) == MULTI_WORKER else 1
    kind = type(strategy).__name__
    return {
        "requested": requested,
        "class": "MultiWorkerMirroredStrategy" if kind == "CollectiveAllReduceStrategy" else kind,
        "replicas": int(strategy.num_replicas_in_sync),
        "workers": workers,
    }
