"""Every architecture's figure: written, with every drawn text (titles, labels, ticks, legends) inside the canvas."""

from __future__ import annotations

from pathlib import Path

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.text import Text  # noqa: E402
from tfp_arch.plugins.bnn import BayesianCNN, BayesianMLP  # noqa: E402
from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel  # noqa: E402
from tfp_arch.plugins.nsf import NeuralSplineFlowModel  # noqa: E402
from tfp_arch.plugins.vae import VariationalAutoencoder  # noqa: E402

from tfp_arch.data.synthetic import make_synthetic  # noqa: E402


@pytest.fixture
def drawn_texts(monkeypatch):
    """(text, extent, canvas width, canvas height) of every text matplotlib draws, in pixels."""
    drawn: list[tuple[str, object, float, float]] = []
    original = Text.draw

    def draw(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append((self.get_text(), self.get_window_extent(renderer), renderer.width, renderer.height))
        return original(self, renderer)

    monkeypatch.setattr(Text, "draw", draw)
    return drawn


def _trained(name: str):
    keras.utils.set_random_seed(0)
    if name == "bnn":
        data = make_synthetic("gap_regression", n=300)
        model = BayesianMLP(hidden_units=[8])
        model.fit(data.x_train, data.y_train, epochs=1, verbose=0)
    elif name == "bcnn":
        data = make_synthetic("shapes_classification", n=120)
        model = BayesianCNN(num_classes=int(np.max(np.asarray(data.y_train))) + 1, filters=[4], num_samples=4)
        model.fit(data.x_train, data.y_train, epochs=1, verbose=0)
    elif name in ("vae", "vae_2d"):
        data = make_synthetic("shapes", n=120)
        model = VariationalAutoencoder(data_shape=list(data.x_train.shape[1:]), latent_dim=2 if name == "vae_2d" else 4,
                                       hidden_units=[16], binarize=True)
        model.fit(data.x_train, epochs=1, verbose=0)
    else:
        data = make_synthetic("two_moons" if name == "maf" else "checkerboard", n=300)
        cls = MaskedAutoregressiveFlowModel if name == "maf" else NeuralSplineFlowModel
        model = cls(num_transforms=2, hidden_units=[8])
        model.fit(data.x_train, epochs=1, verbose=0)
    return model, data


# The bnn figure in the fast loop; the others, which train a model each, in the full suite.
FIGURES = [pytest.param(name, marks=[] if name == "bnn" else [pytest.mark.slow]) for name in
           ["bnn", "bcnn", "vae", "vae_2d", "maf", "nsf"]]


@pytest.mark.parametrize("name", FIGURES)
def test_every_text_of_the_figure_lies_inside_the_canvas(name, tmp_path, drawn_texts):
    model, data = _trained(name)
    path = Path(model.plot(str(tmp_path / "plot.png"), data))
    assert path.stat().st_size > 10_000
    assert drawn_texts, "the figure drew no text"
    outside = [
        (text, [round(v) for v in (box.x0, box.y0, box.x1, box.y1)], (width, height))
        for text, box, width, height in drawn_texts
        if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height
    ]
    assert outside == []
