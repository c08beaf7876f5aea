"""The `bnn` and `bcnn` architectures as declared: read by `tfp-arch info` and `-p` checks without TensorFlow."""

from tfp_arch.declaration import Declaration, Hyperparameter

__all__ = ["BCNN", "BNN"]

BNN = Declaration(
    architecture_name="bnn",
    summary="Bayesian MLP (mean-field variational DenseVariational layers) with predictive uncertainty",
    task="supervised",
    default_data="synthetic:gap_regression",
    default_epochs=40,
    default_batch_size=32,
    min_training_steps=20_000,
    max_default_epochs=1_000,
    epochs_search=True,
    capabilities=("plot",),
    registered_name="tfp_arch>BayesianMLP",
    qualified_class="tfp_arch.plugins.bnn.model.BayesianMLP",
    hyperparameters=(
        Hyperparameter("hidden_units", "Sequence[int]", [50], "widths of the hidden layers (the UCI protocol: [50])"),
        Hyperparameter("activation", "str", "relu", "a Keras activation name, or 'gaussian_bump' (localised units)"),
        Hyperparameter("likelihood", "str", "heteroscedastic", "'gaussian', 'heteroscedastic' or 'categorical'"),
        Hyperparameter("num_classes", "int | None", None, "number of classes, for 'categorical'"),
        Hyperparameter("prior", "str", "standard_normal", "weight prior, see DenseVariational"),
        Hyperparameter("prior_scale", "float", 1.0, "scale of the 'normal' prior, initial scale of 'empirical_bayes'"),
        Hyperparameter("prior_mixture_scales", "Sequence[float] | None", None, "the two scales of 'scale_mixture'"),
        Hyperparameter("prior_mixture_weight", "float", 0.5, "weight of the first mixture component"),
        Hyperparameter(
            "estimator",
            "str",
            "local_reparameterization",
            "'reparameterization', 'local_reparameterization', 'flipout'",
        ),
        Hyperparameter("posterior_scale_init", "float", 0.02, "initial posterior standard deviation of each weight"),
        Hyperparameter(
            "scale_learning_rate_ratio",
            "float | None",
            None,
            "learning rate of the posterior scales relative to the means; None: min(1, 0.006 / peak)",
        ),
        Hyperparameter("kl_weight", "float | None", None, "KL weight, or None for 1 / n set from the training data"),
        Hyperparameter("noise_scale_init", "float", 1.0, "initial noise standard deviation (standardised units)"),
        Hyperparameter("variance_weighting", "float", 0.5, "the beta of beta-NLL for regression (0: plain ELBO)"),
        Hyperparameter("num_samples", "int", 100, "default number of weight samples of predictions and metrics"),
        Hyperparameter("seed", "int | None", None, "seed of the layers' training noise"),
    ),
)

BCNN = Declaration(
    architecture_name="bcnn",
    summary="Bayesian CNN (variational convolutions, categorical head) for image classification",
    task="supervised",
    default_data="synthetic:shapes_classification",
    default_epochs=20,
    default_batch_size=64,
    capabilities=("plot",),
    registered_name="tfp_arch>BayesianCNN",
    qualified_class="tfp_arch.plugins.bnn.cnn.BayesianCNN",
    hyperparameters=(
        Hyperparameter("num_classes", "int", 10, "number of classes (set from the labels)"),
        Hyperparameter("filters", "Sequence[int]", [16, 32], "output channels of each convolution block"),
        Hyperparameter("dense_units", "Sequence[int]", [], "widths of the dense hidden layers after the convolutions"),
        Hyperparameter("prior", "str", "standard_normal", "weight prior, see DenseVariational"),
        Hyperparameter("prior_scale", "float", 1.0, "scale of the 'normal' prior"),
        Hyperparameter("estimator", "str", "flipout", "'reparameterization', 'local_reparameterization', 'flipout'"),
        Hyperparameter("posterior_family", "str", "mean_field", "posterior of each layer's weights"),
        Hyperparameter(
            "posterior_scale_init", "float | None", None, "initial posterior scale; None: 0.1 * sqrt(2 / fan_in)"
        ),
        Hyperparameter("scale_learning_rate_ratio", "float", 1.0, "learning rate of the scales relative to the means"),
        Hyperparameter("kl_weight", "float | None", None, "KL weight, or None for 1 / n set from the training data"),
        Hyperparameter("num_samples", "int", 30, "default number of weight samples of predictions and metrics"),
        Hyperparameter("seed", "int | None", None, "seed of the layers' training noise"),
    ),
)
