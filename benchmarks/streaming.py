"""Reading and training on large CSVs: the in-memory reader against numpy.loadtxt, training `bnn`
from memory and streamed (with the parsed rows cached on disk, the default, and parsing the text
every epoch), and streamed on 1 and 2 local workers.

Every measurement runs in its own Python process, which reports its wall-clock seconds and its peak
resident memory (`resource.getrusage`, the maximum resident set size). The CSV files (5 columns: 4
inputs and a noisy linear target) are generated in a temporary folder and deleted at the end.

Examples/s are given two ways: `examples_per_second` is the training rows (~90%) over
`train_seconds` (the whole epoch, the first step's tracing included), `steady_examples_per_second`
the rows after the first execution of `steps_per_execution` steps over the time after it.
The workers run `tfp-arch train --strategy multi_worker_mirrored` with a `TF_CONFIG` each on
127.0.0.1, the peak being that of each worker's process.

Usage: python benchmarks/streaming.py [--rows 100000 1000000 10000000] [--memory-rows 100000 1000000]
    [--worker-rows 1000000] [--batch-size 4096] [--epochs 1] [--repeats 1] [--output streaming]
    [--skip-train] [--skip-workers]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from harness import write_result

from tfp_arch.distribute import local_cluster

_REPORT = """
import json, resource, sys, time
started = time.perf_counter()
{body}
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}}))
"""

_READERS = {
    "imports only": "import numpy; import tfp_arch.data.tables\nextra = {}",
    "numpy.loadtxt": "import numpy\nvalues = numpy.loadtxt(sys.argv[1], delimiter=',', skiprows=1)\nextra = {}",
    "read_table": "from tfp_arch.data.tables import read_table\nvalues = read_table(sys.argv[1]).values\nextra = {}",
}

# The default streamed read (the parsed rows cached on disk: `cache=auto`) and the text parsed again
# every epoch (`cache=no`), beside the in-memory read.
_MODES = {"in memory": "stream=no", "streamed": "stream=yes", "streamed, text parsed every epoch": "stream=yes&cache=no"}

_TRAIN = """
import shutil, tempfile
import keras
from tfp_arch.runs import plan_run, run_in

class FitPeak(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.begin, self.first = time.perf_counter(), None

    def on_train_batch_end(self, batch, logs=None):
        if self.first is None:
            self.first, self.first_steps = time.perf_counter(), batch + 1

    def on_train_end(self, logs=None):
        self.end, self.steps = time.perf_counter(), self.model.optimizer.iterations.numpy()
        self.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

folder, peak = tempfile.mkdtemp(), FitPeak()
plan = plan_run("bnn", sys.argv[1], output=folder + "/run", epochs=int(sys.argv[3]), batch_size=int(sys.argv[2]))
run = run_in(plan.folder, plan.request, verbose=0, callbacks=[peak], role=plan.role)
batch = int(sys.argv[2])
rows = int(peak.steps) * batch
extra = {"train_seconds": run.metrics["train_seconds"], "test_rmse": run.metrics["test_rmse"], "fit_peak_mb": peak.peak_mb,
         "training_steps": int(peak.steps), "examples_per_second": rows / run.metrics["train_seconds"],
         "steady_examples_per_second": (rows - peak.first_steps * batch) / (peak.end - peak.first)
         if peak.steps > peak.first_steps else float("nan")}
shutil.rmtree(folder)
"""

_CHILD = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=False)
print(json.dumps({"returncode": done.returncode, "error": done.stderr.strip()[-300:],
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def write_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """A CSV of `rows` rows: columns x1..x4 standard normal, y = x . w + 0.1 noise; a header row."""
    rng = np.random.default_rng(seed)
    weights = np.array([1.0, -2.0, 0.5, 0.0])
    with open(path, "w") as handle:
        handle.write("x1,x2,x3,x4,y\n")
        for start in range(0, rows, 100_000):
            x = rng.standard_normal((min(100_000, rows - start), 4))
            y = x @ weights + 0.1 * rng.standard_normal(len(x))
            np.savetxt(handle, np.column_stack([x, y]), fmt="%.6g", delimiter=",")
    return path


def measure(body: str, *args: str) -> dict[str, float]:
    """Seconds and peak resident memory (MB) of `body` run in a fresh Python process."""
    script = _REPORT.format(body=body)
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def workers(spec: str, count: int, batch_size: int, folder: Path, rows: int) -> dict:
    """`tfp-arch train bnn` for one epoch on `count` local workers: each worker's peak memory, the
    chief's train_seconds and `rows` (one epoch's training rows) over them."""
    configs = local_cluster(count)
    output = folder / f"workers{count}"
    command = [str(Path(sys.executable).with_name("tfp-arch")), "train", "bnn", "--data", spec, "--epochs", "1",
               "--batch-size", str(batch_size), "--strategy", "multi_worker_mirrored", "--output", str(output)]
    started = []
    for index in range(count):
        cwd = folder / f"worker{count}-{index}"
        cwd.mkdir()
        env = {**os.environ, "TF_CONFIG": configs[index], "TMPDIR": str(cwd)}
        started.append(subprocess.Popen([sys.executable, "-c", _CHILD, *command], cwd=cwd, env=env,
                                        stdout=subprocess.PIPE, text=True))
    reports = [json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in started]
    failed = [report["error"] for report in reports if report["returncode"]]
    if failed:
        raise RuntimeError(failed[0])
    seconds = json.loads((output / "metrics.json").read_text())["train_seconds"]
    return {"peak_mb_per_worker": [report["peak_mb"] for report in reports], "train_seconds": seconds,
            "examples_per_second": rows / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--memory-rows", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="sizes also read and trained in memory")
    parser.add_argument("--worker-rows", type=int, nargs="+", default=[1_000_000],
                        help="sizes also trained streamed on 1 and 2 local workers")
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=1, help="epochs of every training run")
    parser.add_argument("--repeats", type=int, default=1,
                        help="training runs per feeding, interleaved; the medians are reported")
    parser.add_argument("--output", default="streaming", help="result name in benchmarks/results/ or a path")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict] = {"reading": {}, "training": {}, "workers": {}}
    with tempfile.TemporaryDirectory() as folder:
        small = write_csv(Path(folder) / "small.csv", 2_000)
        tiny = None if args.skip_train else measure(_TRAIN, f"csv:{small}", str(args.batch_size), str(args.epochs))
        for rows in args.rows:
            path = write_csv(Path(folder) / f"rows{rows}.csv", rows)
            array_mb = rows * 5 * 8 / 2**20
            if rows in args.memory_rows:
                reading = {name: measure(body, str(path)) for name, body in _READERS.items()}
                reading["array_mb_float64"] = array_mb
                reading["time_ratio"] = reading["read_table"]["seconds"] / reading["numpy.loadtxt"]["seconds"]
                reading["memory_ratio"] = reading["read_table"]["peak_mb"] / reading["numpy.loadtxt"]["peak_mb"]
                results["reading"][str(rows)] = reading
                print(rows, "rows, reading:", json.dumps(reading), flush=True)
            if args.skip_train:
                path.unlink()
                continue
            training = {"tiny (2000 rows, in memory)": tiny}
            modes = _MODES if rows in args.memory_rows else {"streamed": _MODES["streamed"]}
            repeats: dict[str, list[dict]] = {feeding: [] for feeding in modes}
            for _ in range(args.repeats):
                for feeding, options in modes.items():
                    repeats[feeding].append(measure(_TRAIN, f"csv:{path}#{options}", str(args.batch_size), str(args.epochs)))
            for feeding, outcomes in repeats.items():
                outcome = {key: float(np.median([run[key] for run in outcomes])) for key in outcomes[0]}
                outcome["fit_over_footprint_in_arrays"] = (outcome["fit_peak_mb"] - tiny["fit_peak_mb"]) / array_mb
                outcome["over_footprint_in_arrays"] = (outcome["peak_mb"] - tiny["peak_mb"]) / array_mb
                if args.repeats > 1:
                    outcome["repeats"] = outcomes
                training[feeding] = outcome
            if "in memory" in training:
                for feeding in ("streamed", "streamed, text parsed every epoch"):
                    prefix = "streamed" if feeding == "streamed" else "streamed_uncached"
                    for key in ("examples_per_second", "steady_examples_per_second", "seconds"):
                        training[f"{prefix}_over_in_memory_{key}"] = training[feeding][key] / training["in memory"][key]
            results["training"][str(rows)] = training
            print(rows, "rows, training:", json.dumps(training), flush=True)
            if rows in args.worker_rows and not args.skip_workers:
                epoch_rows = training["streamed"]["training_steps"] * args.batch_size
                results["workers"][str(rows)] = {
                    str(count): workers(f"csv:{path}#stream=yes", count, args.batch_size, Path(folder), epoch_rows)
                    for count in (1, 2)
                }
                print(rows, "rows, workers:", json.dumps(results["workers"][str(rows)]), flush=True)
            path.unlink()
    streamed = {rows: training["streamed"]["peak_mb"] for rows, training in results["training"].items()}
    if len(streamed) > 1:
        results["streamed_peak_ratio_largest_over_smallest"] = streamed[max(streamed, key=int)] / streamed[min(streamed, key=int)]
    notes = ("peak_mb: the process's peak resident memory over the whole run (reading, fit, test metrics, saving); "
             "fit_peak_mb: the same when fit ends, before the test metrics; *_over_footprint_in_arrays: (peak - the "
             "same peak of the run on 2000 rows) / the size of the table as float64; training rows are counted as "
             "optimiser steps x batch size (the last, partial batch counted full); examples_per_second: those rows / "
             "train_seconds (first step's tracing included); steady_examples_per_second: the rows after the first "
             "execution of steps_per_execution steps / the seconds after it (nan when the epoch is one execution); "
             "workers: tfp-arch train --strategy multi_worker_mirrored on 1 or 2 local processes, one epoch's rows "
             "(of the single-process streamed run) / the chief's train_seconds; streamed: the parsed rows cached on disk "
             "when the table is loaded (cache=auto, the default); streamed, text parsed every epoch: cache=no; seconds: "
             "the whole process, loading included; with repeats > 1, every figure of a feeding is the median over its "
             "interleaved runs (listed under repeats).")
    print(write_result("streaming", {"batch_size": args.batch_size, "epochs": args.epochs, "repeats": args.repeats, "notes": notes, **results}, args.output))


if __name__ == "__main__":
    main()
