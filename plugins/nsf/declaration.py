"""The `nsf` architecture as declared: read by `tfp-arch info` and `-p` checks without TensorFlow."""

from tfp_arch.declaration import Declaration, Hyperparameter

__all__ = ["NSF"]

NSF = Declaration(
    architecture_name="nsf",
    summary="Neural spline flow: rational-quadratic spline transforms, autoregressive or coupling.",
    task="unsupervised",
    default_data="synthetic:checkerboard",
    default_epochs=200,
    default_batch_size=100,
    capabilities=("sample", "density", "plot"),
    registered_name="tfp_arch>NeuralSplineFlowModel",
    qualified_class="tfp_arch.plugins.nsf.model.NeuralSplineFlowModel",
    hyperparameters=(
        Hyperparameter("num_transforms", "int", 5, "number of transforms"),
        Hyperparameter("hidden_units", "list[int] | tuple[int, ...]", [100, 100], "hidden widths of every conditioner"),
        Hyperparameter("activation", "str", "relu", "hidden activation of every conditioner"),
        Hyperparameter("order", "str", "reverse", "'reverse', 'random' or 'fixed' variable order between transforms"),
        Hyperparameter(
            "hidden_degrees", "str | None", None, "'equal' (None) or 'random' MADE hidden degrees; autoregressive only"
        ),
        Hyperparameter("batch_norm", "bool", False, "put FlowBatchNormalization between transforms"),
        Hyperparameter("batch_norm_momentum", "float", 0.9, "momentum of its running statistics"),
        Hyperparameter("context_size", "int | None", None, "width of the conditioning input, or None"),
        Hyperparameter("seed", "int", 0, "seed of random orders, degrees and coupling halves"),
        Hyperparameter("coupling", "bool", False, "coupling transforms (one-pass sampling) instead of autoregressive"),
        Hyperparameter("bins", "int", 8, "number of spline bins K"),
        Hyperparameter("bound", "float", 5.0, "the splines' interval [-bound, bound]"),
    ),
)
