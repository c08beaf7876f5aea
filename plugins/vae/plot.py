"""The figure of a trained variational autoencoder."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tfp_arch.data.dataset import Dataset

if TYPE_CHECKING:
    from tfp_arch.plugins.vae.model import VariationalAutoencoder

__all__ = ["as_images", "plot_vae"]


def as_images(x: np.ndarray) -> np.ndarray | None:
    """`(n, h, w)` greyscale or `(n, h, w, 3)` images from image or square flat data, else None."""
    if x.ndim == 4:
        return x[..., 0] if x.shape[-1] == 1 else x[..., :3]
    if x.ndim == 2:
        side = int(round(math.sqrt(x.shape[1])))
        if side * side == x.shape[1] and side >= 4:
            return x.reshape(len(x), side, side)
    return None


def _mosaic(images: np.ndarray, columns: int) -> np.ndarray:
    n, h, w = images.shape[:3]
    rows = math.ceil(n / columns)
    canvas = np.ones((rows * (h + 1) + 1, columns * (w + 1) + 1) + images.shape[3:], dtype="float32")
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w] = image
    return canvas


def plot_vae(model: VariationalAutoencoder, path: str, dataset: Dataset | None = None) -> str:
    """Write decoder means of prior samples, test inputs beside their reconstructions and, for a 2-D
    latent space with known labels, the test set's posterior means coloured by label.

    Args:
        model: a trained variational autoencoder.
        path: PNG file to write.
        dataset: the data set (its test part is drawn); None shows samples only.

    Returns:
        `path`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = None if dataset is None else np.asarray(dataset.x_test if len(dataset.x_test) else dataset.x_train)
    labels = None if dataset is None else dataset.labels_test
    show_latent = x is not None and model.latent_dim == 2 and labels is not None
    panels = 1 + (x is not None) + show_latent
    fig, axes = plt.subplots(1, panels, figsize=(5.0 * panels, 5.4), layout="constrained")
    axes = np.atleast_1d(axes)
    samples = model.sample(64, seed=0, mean=True)
    sample_images = as_images(samples)
    ax = axes[0]
    if sample_images is not None:
        ax.imshow(_mosaic(sample_images, 8), cmap="gray_r", vmin=0.0, vmax=1.0 if samples.max() <= 1 else None)
        ax.set_title("samples: E[x | z], z ~ p(z)")
        ax.axis("off")
    else:
        drawn = model.sample(1000, seed=0)
        if x is not None:
            ax.scatter(x[:, 0], x[:, 1], s=4, alpha=0.4, label="data")
        ax.scatter(drawn[:, 0], drawn[:, 1], s=4, alpha=0.4, label="samples")
        ax.set_title("data and samples (first two features)")
        ax.legend()
    if x is not None:
        ax = axes[1]
        inputs = x[:32]
        recon = model.reconstruct(inputs)
        in_images, out_images = as_images(inputs), as_images(recon)
        if in_images is not None and out_images is not None:
            pairs = np.stack([in_images, out_images], axis=1).reshape((-1,) + in_images.shape[1:])
            ax.imshow(_mosaic(pairs, 8), cmap="gray_r", vmin=0.0, vmax=1.0 if inputs.max() <= 1 else None)
            ax.set_title("test inputs (left) and reconstructions (right)")
            ax.axis("off")
        else:
            ax.scatter(inputs[:, 0], recon[:, 0], s=8)
            ax.set_xlabel("input (feature 0)")
            ax.set_ylabel("reconstruction (feature 0)")
            ax.set_title("inputs and reconstructions")
    if show_latent:
        ax = axes[2]
        loc = model.encode(x)[0]
        labels = np.asarray(labels)
        for label in np.unique(labels):
            chosen = labels == label
            ax.scatter(loc[chosen, 0], loc[chosen, 1], s=6, label=str(label))
        ax.legend(title="label", markerscale=2)
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        ax.set_title("latent space: posterior means of the test set")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
