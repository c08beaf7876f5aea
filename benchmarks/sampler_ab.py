"""Autoregressive sampling now against the sampler of an earlier commit, interleaved in one process.

`MADE.autoregressive_pass` (every hidden unit computed once) replaced the sliced steps of commit
`ae0c3a4` (`MADE.autoregressive_steps`: each of the D steps recomputed the hidden units of degree
below it). This script takes that commit's `autoregressive_steps` and the `forward` that used it
from git (`git show COMMIT:tfp_arch/layers/made.py`), builds `maf` and autoregressive `nsf` as
`flows_sampling.py` does, traces the sampling graph once with each sampler, checks that both draw
the same samples from the same seed (to float rounding), and times them in interleaved rounds, so
that a change in the machine's load reaches both alike. The baseline runs in one chain, as it did
then; this checkout's sampler with its default `sampling_chains()` (2 on 2 cores). Also reported:
autoregressive nsf's rate now over maf's, with maf's baseline sampler and with its sampler now.
Needs the repository's git history.

Usage:
    python benchmarks/sampler_ab.py [--commit ae0c3a4] [--dims D ...] [--rounds N] [--output PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from flows_sampling import THREADS, build, synthetic  # noqa: E402
from harness import Stopwatch, limit_threads, print_table, write_result  # noqa: E402

MODELS = ("maf", "nsf_autoregressive")
SAMPLES = 10000


def sliced_steps(commit: str) -> Callable:
    """`MADE.autoregressive_steps` as it was at `commit`."""
    from functools import partial

    from keras import ops

    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "-C", str(root), "show", f"{commit}:tfp_arch/layers/made.py"],
                            capture_output=True, text=True, check=True).stdout
    start, end = source.index("    def autoregressive_steps("), source.index("    def compute_output_shape(")
    namespace = {"np": np, "ops": ops, "partial": partial, "Callable": Callable, "Any": Any}
    exec(textwrap.dedent(source[start:end]), namespace)  # noqa: S102 - this repository's own history
    return namespace["autoregressive_steps"]


def sliced_forward(self, z, context=None):
    """`MaskedAutoregressiveTransform.forward` as it was at the baseline commit."""
    from keras import ops

    columns = ops.arange(int(z.shape[-1]))
    x = ops.zeros_like(z)
    for variable, params_of in self.made.autoregressive_steps(context):
        value = self.transformer.forward(z[..., variable], params_of(x))
        x = ops.where(columns == variable, value[..., None], x)
    return x


def measure(dims: int, rounds: int) -> dict:
    import tensorflow as tf

    from tfp_arch.layers.flows.autoregressive import MaskedAutoregressiveTransform

    current = MaskedAutoregressiveTransform.forward
    data = synthetic(dims)
    functions, result = {}, {"dims": dims}
    for name in MODELS:
        model = build(name, data)
        for label, forward, chains in (("baseline", sliced_forward, 1), ("one_pass", current, None)):
            MaskedAutoregressiveTransform.forward = forward
            try:
                model.flow._sample_fn = None
                model.flow.sample_chains = chains
                model.sample(SAMPLES, seed=1)  # traces with this sampler
                functions[(name, label)] = model.flow._sample_fn
            finally:
                MaskedAutoregressiveTransform.forward = current
        seed = tf.constant([3, 4], tf.int32)
        draws = [functions[(name, label)](tf.constant(SAMPLES), seed, None).numpy() for label in ("baseline", "one_pass")]
        result[name] = {"max_abs_difference": float(np.max(np.abs(draws[0] - draws[1])))}
    times: dict = {key: [] for key in functions}
    for index in range(rounds):
        for key, function in functions.items():
            with Stopwatch() as watch:
                function(tf.constant(SAMPLES), tf.constant([index, 5], tf.int32), None)
            times[key].append(watch.seconds)
    for (name, label), seconds in times.items():
        result[name][label] = {"median_seconds": float(np.median(seconds)), "seconds": seconds}
    for name in MODELS:
        result[name]["speedup"] = result[name]["baseline"]["median_seconds"] / result[name]["one_pass"]["median_seconds"]
    spline, affine = result["nsf_autoregressive"], result["maf"]
    result["nsf_now_over_maf_baseline"] = affine["baseline"]["median_seconds"] / spline["one_pass"]["median_seconds"]
    result["nsf_now_over_maf_now"] = affine["one_pass"]["median_seconds"] / spline["one_pass"]["median_seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default="ae0c3a4")
    parser.add_argument("--dims", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--output", type=Path, default=None, help="result file (default: results/sampler_ab.json)")
    args = parser.parse_args()
    from tfp_arch.layers.flows.made import MADE

    limit_threads(THREADS)
    MADE.autoregressive_steps = sliced_steps(args.commit)
    results = [measure(dims, args.rounds) for dims in args.dims]
    rows = {f"D={r['dims']}": {f"{name} {column}": value for name in MODELS for column, value in (
        ("baseline s", r[name]["baseline"]["median_seconds"]), ("one-pass s", r[name]["one_pass"]["median_seconds"]),
        ("speed-up", r[name]["speedup"]))} | {"nsf now / maf baseline": r["nsf_now_over_maf_baseline"],
                                              "nsf now / maf now": r["nsf_now_over_maf_now"]} for r in results}
    print_table(rows, list(next(iter(rows.values()))), title="D")
    config = {"commit": args.commit, "dims": args.dims, "rounds": args.rounds, "samples": SAMPLES, "threads": THREADS,
              "models": "flows_sampling.py's maf and autoregressive nsf (5 transforms of 2 x 100 units, 8 bins)",
              "speedup": "baseline median seconds / one-pass median seconds, interleaved rounds in one process",
              "baseline": "the sliced steps of --commit, one chain (as they ran)",
              "one_pass": "this checkout's sampler: MADE.autoregressive_pass, default sampling_chains()",
              "ratios": "nsf_now_over_maf_*: the rate of autoregressive nsf now over maf's (baseline or now)"}
    path = write_result("sampler_ab", {"config": config, "results": results}, args.output)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
