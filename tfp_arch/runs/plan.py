"""Planning a run, without TensorFlow: the architecture, its options, the data spec, the cluster, the folder.

`tfp-arch train` and `tfp_arch.runs.train` both call `plan_run` (and `--resume` / `tfp_arch.runs.resume`
call `plan_resume`) before anything imports TensorFlow: every usage error (an unknown architecture
or hyperparameter, a value of the wrong type, a bad count, fraction, seed, strategy, data spec,
`TF_CONFIG` or output folder) stops the run here. The plan ends with the staging folder created and
locked, holding the request; `tfp_arch.runs.training.run_in` then trains in it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfp_arch.declaration import Declaration
from tfp_arch.distribute import MULTI_WORKER, ClusterRole, cluster_role, connect_timeout
from tfp_arch.registry import Entry, default_registry
from tfp_arch.registry.describe import load_declaration
from tfp_arch.runs.folder import RunFolder
from tfp_arch.runs.placement import staging_folders
from tfp_arch.runs.request import make_request

__all__ = ["Plan", "plan_resume", "plan_run", "run_role"]


@dataclass
class Plan:
    """A run ready to train.

    Attributes:
        request: the checked options, as written to the staging folder's `request.json`.
        folder: the staging folder this process writes (locked).
        chief: the chief's run folder when this process is another worker of a multi-worker run.
        role: this process's task in the cluster (`TF_CONFIG`, read once, here).
    """

    request: dict[str, Any]
    folder: RunFolder
    chief: RunFolder | None
    role: ClusterRole


def run_role(request: dict[str, Any]) -> ClusterRole:
    """This process's task: read from `TF_CONFIG` for a multi-worker run, else alone (and chief).

    Raises:
        ClusterConfigError: `TF_CONFIG` or `TFP_ARCH_CONNECT_TIMEOUT` is malformed.
    """
    if request.get("strategy") != MULTI_WORKER:
        return ClusterRole()
    connect_timeout()
    return cluster_role()


def default_output(architecture: str) -> Path:
    """`runs/<architecture>-<time>`: where a run goes without `output`."""
    return Path("runs") / f"{architecture}-{time.strftime('%Y%m%d-%H%M%S')}"


def plan_run(
    name: str | Entry,
    data: str | None = None,
    *,
    declaration: Declaration | None = None,
    output: str | Path | None = None,
    overwrite: bool = False,
    **options: Any,
) -> Plan:
    """Check a run of architecture `name` and create its staging folder.

    Args:
        name: architecture name (or `distribution:name`), or its resolved entry.
        data: data spec; None for the architecture's default data.
        declaration: the architecture's declaration, when the caller has read it already.
        output: the run folder to create; default `runs/<name>-<time>`.
        overwrite: replace an existing `output` when the run finishes.
        **options: `epochs`, `batch_size`, `seed`, `hyperparameters`, `plot`, `validation_split`,
            `patience`, `checkpoint_every`, `strategy` (a name), as `tfp_arch.runs.request.make_request`
            takes them.

    Raises:
        RegistryError: the architecture is unknown, ambiguous, or its declaration fails to load.
        HyperparameterError, MissingCapabilityError, DataError: see `make_request`.
        ClusterConfigError: `TF_CONFIG` is malformed (multi-worker runs).
        OutputError, RunBusyError: the staging folder cannot be created.
    """
    entry = name if isinstance(name, Entry) else default_registry().resolve(name)
    declaration = load_declaration(entry) if declaration is None else declaration
    request = make_request(entry, declaration, data, **options)
    role = run_role(request)
    target = Path(output) if output else default_output(request["architecture"])
    folder, chief = staging_folders(target, request, role, overwrite=overwrite)
    return Plan(request, folder, chief, role)


def plan_resume(path: str | Path, allow_changed_data: bool = False) -> Plan:
    """Reopen the interrupted run whose staging folder is `path`, checking that it can continue.

    Raises:
        OutputError: `path` is not the staging folder of an interrupted run.
        RunBusyError: another process trains in it.
        DataChangedError: the data files changed since the run started (unless `allow_changed_data`).
        ClusterConfigError: `TF_CONFIG` is malformed (multi-worker runs).
    """
    opened, request = RunFolder.open(path)
    role = run_role(request)
    folder, chief = staging_folders(opened.target, request, role, opened, allow_changed_data=allow_changed_data)
    return Plan(request, folder, chief, role)
