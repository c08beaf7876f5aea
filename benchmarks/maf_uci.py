"""Density estimation on UCI data: tfp_arch's MAF against TFP on tf_keras and zuko (PyTorch).

The runs of `flows_uci.py` (same data, flow, budget and measurements) for the affine flows only,
with this benchmark's names and comparisons: `tfp_arch` (flows_uci's `maf`), `tfp_tf_keras` (TFP's
`AutoregressiveNetwork` + `MaskedAutoregressiveFlow` fed like tfp_arch: a shuffled tf.data pipeline,
32 steps per execution), `tfp_tf_keras_documented` (as that docstring trains it: NumPy arrays,
default compile) and `zuko` (flows_uci's `zuko_maf`). The summary adds tfp_arch's training and
sampling rates over each reference's and its log-likelihood minus theirs.

Training rates are means over epochs 2..E, so an occasional stall inside `fit` (2-5 s, seen in about
one epoch in 50-100 with XLA on this machine) counts against the run it hits.

Usage:
    python benchmarks/maf_uci.py [--quick] [--epochs N] [--seeds N] [--max-train N] [--datasets NAME ...]
                                 [--peers [NAME ...]] [--name NAME]

Requirements: benchmarks/requirements-maf.txt (torch, zuko), only for this script's zuko runs.
"""

from __future__ import annotations

import argparse
import os

import flows_uci
from harness import write_result

PEERS = {"tfp_arch": "maf", "tfp_tf_keras": "tfp_tf_keras", "tfp_tf_keras_documented": "tfp_tf_keras_documented",
         "zuko": "zuko_maf"}
REFERENCES = [peer for peer in PEERS if peer != "tfp_arch"]
COMPILATION = ("tfp_arch: plugin defaults (XLA on a single GPU only, steps_per_execution=32); tfp_tf_keras: tf_keras "
               "defaults (no XLA), tf.data and steps_per_execution=32; tfp_tf_keras_documented: NumPy arrays and "
               "default compile, as TFP's AutoregressiveNetwork docstring; zuko: eager")


def comparisons(measured: dict, peers: list[str]) -> None:
    """Add tfp_arch's rate ratios and log-likelihood differences against each peer to a data set's summary."""
    ours = measured["tfp_arch"]
    measured["ratios"] = {f"{key}_vs_{peer}": ours[key]["mean"] / measured[peer][key]["mean"]
                          for peer in peers for key in ("train_examples_per_s", "samples_per_s")}
    measured["log_likelihood_difference"] = {
        f"vs_{peer}": ours["test_log_likelihood"]["mean"] - measured[peer]["test_log_likelihood"]["mean"]
        for peer in peers
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs, 1 seed, 3000 training rows")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=None, help="subsample training rows (seeded)")
    parser.add_argument("--datasets", nargs="+", choices=flows_uci.DATASETS, default=list(flows_uci.DATASETS))
    parser.add_argument("--name", default="maf_uci", help="result file benchmarks/results/NAME.json "
                        "(a path NAME writes NAME.json there instead)")
    parser.add_argument("--peers", nargs="*", choices=REFERENCES, default=REFERENCES,
                        help="references to run (none: `--peers` alone runs tfp_arch only)")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.seeds, args.max_train = 2, 1, 3000
    peers = ["tfp_arch", *args.peers]
    runs, summary = flows_uci.run(args.datasets, {peer: PEERS[peer] for peer in peers}, args.seeds, args.epochs,
                                  args.max_train, label="implementation")
    for measured in summary.values():
        comparisons(measured, args.peers)
    config = {"datasets": list(args.datasets), "peers": list(args.peers), "epochs": args.epochs, "seeds": args.seeds,
              "max_train": args.max_train, "quick": args.quick, "compilation": COMPILATION,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
              "sample_rate": f"{flows_uci.SAMPLES} samples per draw, median of {flows_uci.SAMPLE_REPEATS} draws "
                             "after a warm-up",
              **flows_uci.CONFIG}
    path = write_result("maf_uci", {"config": config, "summary": summary, "runs": runs}, args.name)
    flows_uci.print_summary(summary, peers)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
