"""Reading and training on a large CSV: the in-memory reader against numpy.loadtxt, and training
`bnn` for one epoch from memory against streaming.

Every measurement runs in its own Python process, which reports its wall-clock seconds and its peak
resident memory (`resource.getrusage(RUSAGE_SELF).ru_maxrss`). The CSV files (5 columns: 4 inputs
and a noisy linear target) are generated in a temporary folder and deleted at the end.

Usage: python benchmarks/streaming.py [--rows 100000 1000000] [--batch-size 256] [--skip-train]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import write_result

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

_TRAIN = """
import shutil, tempfile
import keras
from tfp_arch.registry.staging import RunFolder
from tfp_arch.runs import run_in, run_request

class FitPeak(keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        self.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

folder, peak = tempfile.mkdtemp(), FitPeak()
request = run_request("bnn", sys.argv[1], epochs=1, batch_size=int(sys.argv[2]))
run = run_in(RunFolder.create(folder + "/run", request), request, verbose=0, callbacks=[peak])
extra = {"train_seconds": run.metrics["train_seconds"], "test_rmse": run.metrics["test_rmse"], "fit_peak_mb": peak.peak_mb}
shutil.rmtree(folder)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict] = {"reading": {}, "training": {}}
    with tempfile.TemporaryDirectory() as folder:
        small = write_csv(Path(folder) / "small.csv", 2_000)
        for rows in args.rows:
            path = write_csv(Path(folder) / f"rows{rows}.csv", rows)
            array_mb = rows * 5 * 8 / 2**20
            reading = {name: measure(body, str(path)) for name, body in _READERS.items()}
            reading["array_mb_float64"] = array_mb
            reading["time_ratio"] = reading["read_table"]["seconds"] / reading["numpy.loadtxt"]["seconds"]
            reading["memory_ratio"] = reading["read_table"]["peak_mb"] / reading["numpy.loadtxt"]["peak_mb"]
            results["reading"][str(rows)] = reading
            print(rows, "rows, reading:", json.dumps(reading), flush=True)
            if args.skip_train:
                continue
            training = {"tiny (2000 rows, in memory)": measure(_TRAIN, f"csv:{small}", str(args.batch_size))}
            for mode in ("no", "yes"):
                spec = f"csv:{path}#stream={mode}"
                outcome = measure(_TRAIN, spec, str(args.batch_size))
                outcome["examples_per_second"] = 0.9 * rows / outcome["train_seconds"]
                training["in memory" if mode == "no" else "streamed"] = outcome
            tiny = training["tiny (2000 rows, in memory)"]
            for mode in ("in memory", "streamed"):
                outcome = training[mode]
                outcome["fit_over_footprint_in_arrays"] = (outcome["fit_peak_mb"] - tiny["fit_peak_mb"]) / array_mb
                outcome["over_footprint_in_arrays"] = (outcome["peak_mb"] - tiny["peak_mb"]) / array_mb
            results["training"][str(rows)] = training
            print(rows, "rows, training:", json.dumps(training), flush=True)
    notes = ("peak_mb: the process's peak resident memory over the whole run (reading, fit, test metrics, saving); "
             "fit_peak_mb: the same when fit ends, before the test metrics; *_over_footprint_in_arrays: (peak - the "
             "same peak of the run on 2000 rows) / the size of the table as float64; examples_per_second: training "
             "rows (~90%) / train_seconds.")
    print(write_result("streaming", {"batch_size": args.batch_size, "notes": notes, **results}))


if __name__ == "__main__":
    main()
