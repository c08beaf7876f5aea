"""The `maf` architecture as declared: read by `tfp-arch info` and `-p` checks without TensorFlow.

`FLOW_HYPERPARAMETERS` are the arguments every flow model forwards to its flow layer; `nsf` adds its own.
"""

import math

from tfp_arch.declaration import Declaration, Hyperparameter

__all__ = ["FLOW_HYPERPARAMETERS", "LOG_SCALE_BOUND", "MAF"]

LOG_SCALE_BOUND = Hyperparameter(
    "log_scale_bound", "float | None", math.log(1000.0), "soft bound on every log-scale (None: unbounded)"
)

FLOW_HYPERPARAMETERS = (
    Hyperparameter("num_transforms", "int", 5, "number of transforms"),
    Hyperparameter("hidden_units", "list[int] | tuple[int, ...]", [100, 100], "hidden widths of every conditioner"),
    Hyperparameter("activation", "str", "relu", "hidden activation of every conditioner"),
    Hyperparameter("order", "str", "reverse", "'reverse', 'random' or 'fixed' variable order between transforms"),
    Hyperparameter("hidden_degrees", "str", "equal", "'equal' or 'random' MADE hidden degrees"),
    Hyperparameter("batch_norm", "bool", False, "put FlowBatchNormalization between transforms"),
    Hyperparameter("batch_norm_momentum", "float", 0.9, "momentum of its running statistics"),
    Hyperparameter("context_size", "int | None", None, "width of the conditioning input, or None"),
    Hyperparameter("seed", "int", 0, "seed of random orders and degrees (transform k uses seed + k)"),
)

MAF = Declaration(
    architecture_name="maf",
    summary="Masked autoregressive flow: exact-likelihood density estimation and sampling.",
    task="unsupervised",
    default_data="synthetic:two_moons",
    default_epochs=200,
    default_batch_size=100,
    capabilities=("sample", "density", "plot"),
    registered_name="tfp_arch>MaskedAutoregressiveFlowModel",
    qualified_class="tfp_arch.plugins.maf.model.MaskedAutoregressiveFlowModel",
    hyperparameters=(*FLOW_HYPERPARAMETERS, LOG_SCALE_BOUND),
)
