"""TFP's "Probabilistic Layers VAE" ported by rename beside the tf_keras original, over seeds, in one run.

Both models are built and trained by `examples/tfp_vae_tutorial.py` itself (`train_and_evaluate`, which
calls the example's `datasets` and `build_vae`): once with (keras, tfp_arch.layers), once with
(tf_keras, tfp.layers), on the same MNIST images of `../shared/data/mnist` (images 0..7,999 train,
8,000..9,999 test, binarised at random on each pass as the tutorial does), at the same budget. For every
seed the two are trained one after the other, ours first on even seeds and the original first on odd
seeds.

Reported per framework and seed: the final training loss, the test loss (negative ELBO, nats per image,
Keras' `evaluate` on the 2,000 test images) and the seconds per epoch (the wall seconds of `fit` over the
number of epochs; the first epoch includes tracing). Per seed, the paired difference ours - original of
the test loss; over the seeds, mean ± standard error of everything (`harness.summarize`) and whether the
mean difference lies within 2 standard errors of the paired differences, or within the seed-to-seed
standard deviation of the original's test loss.

Usage:
    python benchmarks/tfp_vae_parity.py                    # writes benchmarks/results/tfp_vae_parity.json
    python benchmarks/tfp_vae_parity.py --seeds 3 --epochs 2 --train-size 8000
    python benchmarks/tfp_vae_parity.py --quick            # a smoke test, nothing written
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import MNIST, load_example, print_table, summarize, tfp_frameworks, write_result  # noqa: E402

METRICS = ("train_loss", "test_loss", "seconds_per_epoch")


def run(tutorial: Any, name: str, frameworks: dict[str, tuple[Any, Any]], args: argparse.Namespace,
        seed: int) -> dict[str, float]:
    """One training of the tutorial's VAE with framework `name` at `seed`: the example's own numbers."""
    keras_module, tfpl = frameworks[name]
    budget = argparse.Namespace(data=Path(args.data), train_size=args.train_size, test_size=args.test_size,
                                epochs=args.epochs, seed=seed)
    result = tutorial.train_and_evaluate(keras_module, tfpl, f"seed {seed} {name}", budget)
    return {metric: float(result[metric]) for metric in METRICS}


def verdict(differences: dict[str, float], original_test_loss: dict[str, float]) -> dict[str, Any]:
    """Whether the mean paired difference is within seed noise: 2 standard errors of the differences, or
    the standard deviation of the original's test loss over the seeds."""
    mean = abs(differences["mean"])
    paired, spread = 2 * differences["stderr"], original_test_loss["std"]
    within_paired = bool(mean <= paired) if math.isfinite(paired) else None
    within_spread = bool(mean <= spread) if math.isfinite(spread) else None
    if within_paired is None and within_spread is None:
        text = "undetermined: one seed gives no standard error"
    elif within_paired or within_spread:
        text = (f"within seed noise: |mean difference| {mean:.3g} nats <= "
                + (f"2 standard errors of the paired differences ({paired:.3g})" if within_paired
                   else f"the seed-to-seed standard deviation of the original ({spread:.3g})"))
    else:
        text = (f"not within seed noise: |mean difference| {mean:.3g} nats > 2 standard errors of the paired "
                f"differences ({paired:.3g}) and > the original's seed-to-seed standard deviation ({spread:.3g})")
    return {"within_2_stderr_of_paired_differences": within_paired,
            "within_seed_std_of_original": within_spread, "verdict": text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0, 1, ...")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each model")
    parser.add_argument("--train-size", type=int, default=None, help="training images (default: all 8,000)")
    parser.add_argument("--data", default=str(MNIST), help="folder of the MNIST IDX files")
    parser.add_argument("--quick", action="store_true", help="1 seed, 1 epoch, 256 train and 256 test images")
    parser.add_argument("--output", default="tfp_vae_parity")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1 or (args.train_size is not None and args.train_size < 1):
        parser.error(f"--seeds, --epochs and --train-size must be positive; received --seeds {args.seeds}, "
                     f"--epochs {args.epochs}, --train-size {args.train_size}")
    if not any(Path(args.data).glob("t10k-images-idx3-ubyte*")):
        print(f"skipped: no MNIST IDX images in {args.data} (give --data FOLDER)", file=sys.stderr)
        return 0
    args.test_size = None
    if args.quick:
        args.seeds, args.epochs, args.train_size, args.test_size = 1, 1, 256, 256
    tutorial = load_example("tfp_vae_tutorial")
    frameworks = tfp_frameworks()

    runs: dict[str, list[dict[str, float]]] = {"ours": [], "tf_keras": []}
    for seed in range(args.seeds):
        for name in (["ours", "tf_keras"] if seed % 2 == 0 else ["tf_keras", "ours"]):
            runs[name].append(run(tutorial, name, frameworks, args, seed))
    differences = [ours["test_loss"] - theirs["test_loss"]
                   for ours, theirs in zip(runs["ours"], runs["tf_keras"], strict=True)]

    results: dict[str, Any] = {name: {metric: summarize([r[metric] for r in seeds]) for metric in METRICS}
                               for name, seeds in runs.items()}
    results["test_loss_difference_ours_minus_tf_keras"] = summarize(differences)
    results.update(verdict(results["test_loss_difference_ours_minus_tf_keras"], results["tf_keras"]["test_loss"]))

    per_seed = {f"seed {seed}": {"ours test loss": runs["ours"][seed]["test_loss"],
                                 "tf_keras test loss": runs["tf_keras"][seed]["test_loss"],
                                 "difference": differences[seed]} for seed in range(args.seeds)}
    print_table(per_seed, ("ours test loss", "tf_keras test loss", "difference"), title="seed")
    print_table({name: results[name] for name in runs}, METRICS, title="framework (mean ± stderr)")
    print(f"test loss difference ours - tf_keras: {results['test_loss_difference_ours_minus_tf_keras']['mean']:+.3f}"
          f" ± {results['test_loss_difference_ours_minus_tf_keras']['stderr']:.3f} nats; {results['verdict']}")
    if not args.quick:
        path = write_result("tfp_vae_parity", {
            "settings": {**vars(args), "seed_list": list(range(args.seeds)),
                         "train_images": 8000 if args.train_size is None else min(args.train_size, 8000),
                         "test_images": 2000, "batch_size": 256,
                         "model": "examples/tfp_vae_tutorial.py build_vae(tfk, tfpl): the tutorial's encoder "
                                  "(MultivariateNormalTriL(16) with KLDivergenceRegularizer) and Bernoulli decoder",
                         "test_loss": "negative ELBO, nats per image (vae.evaluate on the test images)",
                         "seconds_per_epoch": "wall seconds of fit / epochs (the first epoch includes tracing)",
                         "interleaving": "ours then tf_keras on even seeds, the reverse on odd seeds"},
            "results": results,
            "runs": {**runs, "test_loss_difference_ours_minus_tf_keras": differences},
        }, args.output)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
