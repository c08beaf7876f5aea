"""How long `tfp-arch list` takes beside `python -c pass` and `python -c "import tensorflow"`.

Listing reads entry-point metadata only, so it should cost little more than starting Python.
The commands run interleaved, several rounds, and the medians are compared in the same run.

Usage: python benchmarks/cli_list.py [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys

from harness import Stopwatch, print_table, write_result


def _time(command: list[str]) -> float:
    with Stopwatch() as watch:
        subprocess.run(command, check=True, capture_output=True)
    return watch.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    script = shutil.which("tfp-arch") or str(__import__("pathlib").Path(sys.executable).parent / "tfp-arch")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "tfp-arch list": [script, "list"],
        "tfp-arch list --json": [script, "list", "--json"],
        "python -c 'import tensorflow'": [sys.executable, "-c", "import tensorflow"],
    }
    times = {name: [] for name in commands}
    for name, command in commands.items():
        _time(command)
    for _ in range(args.rounds):
        for name, command in commands.items():
            if "tensorflow" in name and len(times[name]) >= 3:
                continue
            times[name].append(_time(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["python -c pass"]
    result = {
        "rounds": args.rounds,
        "median_seconds": medians,
        "ratio_to_python_pass": {name: value / baseline for name, value in medians.items()},
        "samples_seconds": times,
    }
    path = write_result("cli_list", result)
    print_table({name: {"median ms": 1000 * value, "vs python -c pass": value / baseline}
                 for name, value in medians.items()}, ("median ms", "vs python -c pass"), title="command")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
