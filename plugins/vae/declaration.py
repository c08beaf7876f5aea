"""The `vae` architecture as declared: read by `tfp-arch info` and `-p` checks without TensorFlow."""

from tfp_arch.declaration import Declaration, Hyperparameter

__all__ = ["VAE"]

VAE = Declaration(
    architecture_name="vae",
    summary="Variational autoencoder: Gaussian latent, Bernoulli or Gaussian decoder, ELBO.",
    task="unsupervised",
    default_data="synthetic:shapes",
    default_epochs=100,
    default_batch_size=64,
    capabilities=("sample", "plot"),
    registered_name="tfp_arch>VariationalAutoencoder",
    qualified_class="tfp_arch.plugins.vae.model.VariationalAutoencoder",
    hyperparameters=(
        Hyperparameter("data_shape", "list[int] | None", None, "shape of one example, [d] or [h, w, c]"),
        Hyperparameter("latent_dim", "int", 8, "size of z"),
        Hyperparameter("hidden_units", "list[int] | None", None, "hidden layers of the encoder (mirrored)"),
        Hyperparameter("network", "str", "dense", "'dense' or 'conv' (stride-2 convolutions with filters)"),
        Hyperparameter("filters", "list[int] | None", None, "convolution channels of a 'conv' encoder (mirrored)"),
        Hyperparameter("likelihood", "str", "bernoulli", "'bernoulli' (data in [0, 1]) or 'gaussian'"),
        Hyperparameter("decoder_scale", "float | None", None, "fixed scale of a Gaussian decoder, or None to learn it"),
        Hyperparameter("posterior", "str", "normal_diag", "'normal_diag' or 'normal_tril' (full covariance)"),
        Hyperparameter("kl_weight", "float", 1.0, "the KL weight beta (1 gives the ELBO)"),
        Hyperparameter("free_bits", "float", 0.0, "nats per latent dimension not penalised (0 disables)"),
        Hyperparameter("activation", "str", "relu", "activation of the hidden layers"),
        Hyperparameter("eval_samples", "int", 100, "importance samples of evaluate_metrics' log-likelihood"),
        Hyperparameter("binarize", "bool", False, "draw binary data from [0, 1] inputs (one seeded Bernoulli draw)"),
        Hyperparameter("seed", "int | None", None, "seed of the latent noise"),
    ),
)
