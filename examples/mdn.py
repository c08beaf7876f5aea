# %% [markdown]
# # Mixture density networks with a `MixtureNormal` head
#
# A port to Keras 3 and tfp_arch of the keras.io recipe "Approximating non-Function Mappings with
# Mixture Density Networks" (lukewood, 2023,
# https://keras.io/examples/keras_recipes/approximating_non_function_mappings/). The recipe needs
# Keras Core and hand-written mixture code: a custom output layer, a loss that rebuilds the mixture
# from the split outputs, and a NumPy sampler. Here the output layer is `tfp_arch.layers.MixtureNormal`
# and the loss is `tfp_arch.losses.NegativeLogLikelihood`, so that code goes away.
#
# The original is 427 lines, 212 of them code (lines that are not blank, comments or prose).
# This port is 142 lines, 68 of them code.
#
# Run it as a script (`python examples/mdn.py --quick` takes well under a minute on a CPU) or open it
# as a notebook: the `# %%` markers are cells for Jupyter (through jupytext) and VS Code.

# %%
import argparse

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tfp_arch
from tfp_arch.layers import MixtureNormal

parser = argparse.ArgumentParser(description="Mixture density network on noisy spirals.")
parser.add_argument("--quick", action="store_true", help="fewer points and epochs, for CI")
parser.add_argument("--figure", default="mdn.png", help="where to write the figure")
parser.add_argument("--seed", type=int, default=0)
args, _ = parser.parse_known_args()  # a notebook kernel passes its own arguments

POINTS_PER_SPIRAL = 300 if args.quick else 1000
MAX_EPOCHS = 50 if args.quick else 300
keras.utils.set_random_seed(args.seed)
rng = np.random.default_rng(args.seed)

# %% [markdown]
# ## The data: noisy spirals
#
# Ten copies of a two-turn spiral, each with its own uniform jitter, scaled to [-5, 5] on both axes.
# Most values of x have several values of y, so y is not a function of x. The recipe draws a random
# radius and centre per spiral, but its scaling to [-5, 5] undoes them; this version leaves them out
# and draws the jitter from a seeded generator.

# %%
def noisy_spiral(n, max_jitter=0.2):
    t = np.arange(n) * 360.0 / n
    curve = np.stack([t / 360 * np.cos(t / 90 * np.pi), t / 360 * np.sin(t / 90 * np.pi)], axis=1) * 5
    points = curve + rng.uniform(-max_jitter / 2, max_jitter / 2, size=curve.shape)
    points = (points - points.min(axis=0)) / (points.max(axis=0) - points.min(axis=0))
    return (points * 10 - 5).astype("float32")


data = np.concatenate([noisy_spiral(POINTS_PER_SPIRAL) for _ in range(10)])
rng.shuffle(data)
x, y = data[:, :1], data[:, 1:]
split = int(0.85 * len(x))
x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]

# %% [markdown]
# ## A network trained on the squared error learns the mean of y
#
# Two hidden layers of 128 ReLU units and one output, trained with the mean squared error: for each x
# it predicts the average of the y values, a curve that runs between the arms of the spiral.

# %%
def hidden_layers():
    return [keras.Input((1,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(128, activation="relu")]


regression = keras.Sequential([*hidden_layers(), keras.layers.Dense(1)])
regression.compile(optimizer="adam", loss="mse")
regression.fit(
    x_train, y_train, epochs=MAX_EPOCHS, batch_size=128, validation_split=0.15, verbose=0,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)],
)
y_regression = regression.predict(x, verbose=0)

# %% [markdown]
# ## A mixture density network learns the distribution of y
#
# The network's last dense layer outputs the parameters of a mixture of 20 normals: 20 mixture
# logits, then a location and a raw scale per component, `MixtureNormal.params_size(20, 1) = 60`
# numbers in all. The `MixtureNormal` head makes the mixture they describe (the model's output, as
# in tfp.layers), and the loss evaluates -log p(y | x) under it. (The recipe keeps scales positive with ELU + 1 + ε;
# the head uses softplus, as `tfp.layers.MixtureNormal` does.)

# %%
head = MixtureNormal(num_components=20, event_shape=1)
mdn = keras.Sequential([*hidden_layers(), keras.layers.Dense(MixtureNormal.params_size(20, 1)), head])
mdn.compile(optimizer="adam", loss=tfp_arch.losses.NegativeLogLikelihood(head))
mdn.fit(
    x_train, y_train, epochs=MAX_EPOCHS, batch_size=128, validation_split=0.15, verbose=0,
    callbacks=[
        keras.callbacks.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=5),
    ],
)

# %% [markdown]
# ## Predictions: samples, quantiles and the held-out likelihood
#
# The network without its head gives the mixture parameters of each x. The head turns them into draws of y (the
# recipe's NumPy sampler), into quantiles (found by bisection on the mixture's CDF), and into the
# log-likelihood of held-out points. If the mixture is calibrated, about 90% of the held-out y fall
# between its 5% and 95% quantiles.

# %%
params = keras.Sequential(mdn.layers[:-1]).predict(x, verbose=0)
y_samples = head.sample(params, seed=args.seed).numpy()

test_params = keras.Sequential(mdn.layers[:-1]).predict(x_test, verbose=0)
low, high = head.quantile(test_params, [0.05, 0.95]).numpy()
coverage = np.mean((low <= y_test) & (y_test <= high))
nll = -np.mean(head.log_prob(test_params, y_test))
rmse = np.sqrt(np.mean((regression.predict(x_test, verbose=0) - y_test) ** 2))
print(f"held-out: mixture NLL {nll:.3f} nats, 90% interval coverage {coverage:.3f}; squared-error RMSE {rmse:.3f}")

# %% [markdown]
# ## The figure
#
# Left, the data; middle, the squared-error network's predictions; right, one draw of y per x from the
# mixture density network, which traces the spiral's arms.

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharey=True)
for ax, values, color, title in [
    (axes[0], y, "tab:blue", "Ground truth"),
    (axes[1], y_regression, "tab:red", "Squared-error network"),
    (axes[2], y_samples, "tab:green", "Mixture density network (samples)"),
]:
    ax.scatter(x, values, s=2, alpha=0.2, color=color)
    ax.set_title(title)
    ax.set_xlabel("x")
axes[0].set_ylabel("y")
fig.tight_layout()
fig.savefig(args.figure, dpi=100)
print(f"figure written to {args.figure}")
