"""Everything about a run: its plan, its folder, its place in a cluster, training, resuming, reuse.

A run goes one way, and each module is left for the next (none is returned to, but the plugin's
methods the run calls):

- `tfp_arch.runs.request`: the options of a run, checked once (`make_request`).
- `tfp_arch.runs.plan`: the architecture's declaration, the request, the data spec, `TF_CONFIG`
  and the staging folder, without TensorFlow (`plan_run`, `plan_resume`).
- `tfp_arch.runs.folder`, `tfp_arch.runs.placement`: the staging folder, its lock and its rename
  (`RunFolder`), and which folder each process of a multi-worker run writes.
- `tfp_arch.runs.training`: the data, the strategy, the model, `fit` with the run's callbacks
  (`tfp_arch.runs.callbacks`), the files of the run folder (`run_in`, `train`, `resume`).
- `tfp_arch.runs.reuse`: a finished run's model, config and metrics (`load_run`, `evaluate_run`).

`import tfp_arch.runs` imports no TensorFlow; the names of `training` and `reuse` below are imported
when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfp_arch.lazy import lazy_attributes
from tfp_arch.runs.plan import Plan, plan_resume, plan_run

if TYPE_CHECKING:
    from tfp_arch.runs.reuse import evaluate_run, load_run
    from tfp_arch.runs.training import (
        NonFiniteMetricError,
        Run,
        RunWriteError,
        check_labels,
        check_validation_split,
        prepare_data,
        resume,
        run_in,
        train,
    )

__all__ = [
    "NonFiniteMetricError",
    "Plan",
    "Run",
    "RunWriteError",
    "check_labels",
    "check_validation_split",
    "evaluate_run",
    "load_run",
    "plan_resume",
    "plan_run",
    "prepare_data",
    "resume",
    "run_in",
    "train",
]

_LAZY = {
    "evaluate_run": "tfp_arch.runs.reuse",
    "load_run": "tfp_arch.runs.reuse",
    **{
        name: "tfp_arch.runs.training"
        for name in (
            "NonFiniteMetricError",
            "Run",
            "RunWriteError",
            "check_labels",
            "check_validation_split",
            "prepare_data",
            "resume",
            "run_in",
            "train",
        )
    },
}

__getattr__ = lazy_attributes(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
