"""Draw `docs/design.svg`: the packages of tfp_arch, their import arrows, and the path of a run.

Run it after changing the package structure: `python docs/gen_design.py` (matplotlib only).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_name("design.svg")

# name: (x, y, width, height, label, colour); y grows upwards, one band per layer.
BOXES = {
    "cli": (0.2, 8.6, 4.2, 1.1, "tfp_arch.cli\ntfp-arch train / info / list ...", "#dbe4ff"),
    "plugins": (5.0, 8.6, 6.8, 1.1, "tfp_arch.plugins.<name>\ndeclaration.py (no TensorFlow)  |  model.py", "#ffe3e3"),
    "plan": (
        0.2,
        6.4,
        5.4,
        1.5,
        "tfp_arch.runs  (no TensorFlow)\nrequest: options checked once\nplan: plan_run / plan_resume\nfolder, placement: staging, chief or worker",
        "#d3f9d8",
    ),
    "training": (
        6.2,
        6.4,
        5.6,
        1.5,
        "tfp_arch.runs  (TensorFlow)\ntraining: run_in, train, resume\ncallbacks: checkpoint, early stopping\nreuse: load_run, evaluate_run",
        "#b2f2bb",
    ),
    "registry": (
        0.2,
        4.2,
        3.2,
        1.5,
        "tfp_arch.registry\nentries, core: discovery\ndescribe: declarations\nloading: get, load_model",
        "#fff3bf",
    ),
    "declaration": (
        3.6,
        4.2,
        2.9,
        1.5,
        "tfp_arch.declaration\ntfp_arch.hyperparameters\n(standard library)",
        "#fff3bf",
    ),
    "data": (6.7, 4.2, 2.3, 1.5, "tfp_arch.data\nspecs (NumPy),\nreaders, streams", "#fff3bf"),
    "distribute": (9.2, 4.2, 2.6, 1.5, "tfp_arch.distribute\nTF_CONFIG (read once),\nstrategies", "#fff3bf"),
    "core": (
        0.2,
        2.2,
        11.6,
        1.3,
        "Keras core: tfp_arch.architecture (Architecture), layers, fast_fit, callbacks, losses,\nschedules, batching, seeding, multi_worker, export, serving",
        "#e9ecef",
    ),
    "base": (
        0.2,
        0.6,
        11.6,
        1.0,
        "standard library helpers: validation, safe_files, fingerprint, temporary",
        "#f1f3f5",
    ),
}

# Import arrows (from, to): every one points down a band or across it, never up.
IMPORTS = [
    ("cli", "plan"),
    ("cli", "registry"),
    ("plugins", "core"),
    ("plugins", "declaration"),
    ("plan", "registry"),
    ("plan", "declaration"),
    ("plan", "distribute"),
    ("plan", "data"),
    ("training", "plan"),
    ("training", "core"),
    ("training", "data"),
    ("registry", "declaration"),
    ("declaration", "base"),
]

# The path of `tfp-arch train bnn --data SPEC`, one module after another (none visited twice); the
# dashed calls go into the plugin.
PATH = [
    ("tfp_arch.cli.training", "parse the command line (types only)"),
    ("tfp_arch.registry", "resolve NAME to its entry point and read its declaration"),
    (
        "tfp_arch.runs.plan (request)",
        "check every option, hyperparameter and the data spec, once;\nread TF_CONFIG once",
    ),
    (
        "tfp_arch.runs.placement, folder",
        "create and lock DIR.partial (a temporary folder on a\nworker that is not the chief) with request.json",
    ),
    (
        "tfp_arch.runs.training",
        "import TensorFlow; strategy, data, epochs, model, fit,\nmetrics; write the files; rename to DIR",
    ),
]
PLUGIN_CALLS = {1: "declaration.py: Declaration", 4: "model.py: build, fit,\nevaluate_metrics, save"}
GATE = 3  # usage errors stop at or before this step, with TensorFlow not imported


def _centre(name: str) -> tuple[float, float]:
    x, y, w, h, *_ = BOXES[name]
    return x + w / 2, y + h / 2


def _edge(name: str, towards: tuple[float, float]) -> tuple[float, float]:
    x, y, w, h, *_ = BOXES[name]
    cx, cy = x + w / 2, y + h / 2
    dx, dy = towards[0] - cx, towards[1] - cy
    scale = min(w / 2 / abs(dx) if dx else float("inf"), h / 2 / abs(dy) if dy else float("inf"))
    return cx + dx * scale, cy + dy * scale


def _arrow(ax, start: str, end: str, **style) -> tuple[float, float]:
    a, b = _edge(start, _centre(end)), _edge(end, _centre(start))
    ax.annotate("", xy=b, xytext=a, arrowprops=dict(arrowstyle="-|>", shrinkA=2, shrinkB=2, **style))
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def main() -> None:
    fig, (left, right) = plt.subplots(2, 1, figsize=(10, 13.4), gridspec_kw={"hspace": 0.06})
    for ax, title in ((left, "Packages and import arrows (all point down)"), (right, "The path of a run")):
        ax.set_xlim(0, 12)
        ax.set_ylim(0.3, 10.2)
        ax.axis("off")
        ax.set_title(title, fontsize=13, loc="left")
        for x, y, w, h, label, colour in BOXES.values():
            ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=colour, ec="#495057", lw=1))
            ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=9.2, family="DejaVu Sans")
    for start, end in IMPORTS:
        _arrow(left, start, end, color="#495057", lw=1.0)
    right.clear()
    right.set_xlim(0, 12)
    right.set_ylim(0.3, 10.2)
    right.axis("off")
    right.set_title("The path of a run: tfp-arch train bnn --data SPEC", fontsize=13, loc="left")
    height, gap, top = 1.3, 0.55, 9.7
    for index, (module, what) in enumerate(PATH):
        y = top - (index + 1) * height - index * gap
        colour = "#d3f9d8" if index <= GATE else "#b2f2bb"
        colour = "#dbe4ff" if index == 0 else colour
        right.add_patch(FancyBboxPatch((0.2, y), 7.4, height, boxstyle="round,pad=0.04", fc=colour, ec="#495057"))
        right.text(0.4, y + height - 0.32, f"{index + 1}  {module}", fontsize=10, weight="bold", va="center")
        right.text(0.75, y + 0.45, what, fontsize=9.4, va="center")
        if index + 1 < len(PATH):
            right.annotate(
                "",
                xy=(3.9, y - gap + 0.02),
                xytext=(3.9, y - 0.02),
                arrowprops=dict(arrowstyle="-|>", color="#1864ab", lw=1.8),
            )
        if index in PLUGIN_CALLS:
            right.add_patch(
                FancyBboxPatch(
                    (8.6, y + 0.15), 3.2, height - 0.3, boxstyle="round,pad=0.04", fc="#ffe3e3", ec="#c92a2a", ls="--"
                )
            )
            right.text(10.2, y + height / 2, "plugin\n" + PLUGIN_CALLS[index], fontsize=9.2, ha="center", va="center")
            right.annotate(
                "",
                xy=(8.6, y + height / 2),
                xytext=(7.65, y + height / 2),
                arrowprops=dict(arrowstyle="<|-|>", color="#c92a2a", lw=1.4, ls="--"),
            )
        if index == GATE:
            right.plot([0.1, 11.9], [y - gap / 2] * 2, color="#868e96", lw=1, ls=":")
            right.text(
                11.9,
                y - gap / 2 + 0.05,
                "no TensorFlow above this line: usage errors stop here",
                fontsize=8.8,
                ha="right",
                va="bottom",
                color="#495057",
            )
    fig.savefig(OUT, bbox_inches="tight", metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
