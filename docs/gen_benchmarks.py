"""Markdown tables from `benchmarks/results/*.json`, for the documentation's benchmark pages.

A benchmark page holds prose and markers `<!-- results: RENDERER FILE -->`; `expand(markdown)` replaces each
marker by the table `RENDERERS[RENDERER]` makes from `benchmarks/results/FILE`, captioned with the file, its
date and the command that wrote it. `index()` is the page listing every result file. No figure is typed by
hand: every number on those pages comes from a result file through this module.

Run it as a script to print every marker's table: `python docs/gen_benchmarks.py docs/benchmarks/*.md`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "RENDERERS", "RESULTS", "MarkerError", "expand", "index", "load"]

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
MARKER = re.compile(r"<!--\s*results:\s*(\S+)\s+(\S+)\s*-->")

COMMANDS: dict[str, str] = {
    "bnn_uci.json": "python benchmarks/bnn_uci.py --models tfp_arch tfp_arch_elbo tfp_arch_previous tf_keras "
    "tf_keras_lr1e-3 --split-counts power-plant=5 naval-propulsion-plant=5 protein-tertiary-structure=3",
    "bnn_uci_quick.json": "python benchmarks/bnn_uci.py --quick --output bnn_uci_quick",
    "bnn_uci_defaults.json": "python benchmarks/bnn_uci.py --datasets wine-quality-red --splits 2",
    "bnn_uci_defaults_boston.json": "python benchmarks/bnn_uci.py --datasets bostonHousing --splits 1 "
    "--output bnn_uci_defaults_boston && python benchmarks/bnn_uci.py --datasets bostonHousing --split-ids 1 "
    "--output bnn_uci_defaults_boston",
    "bnn_uci_defaults_naval.json": "python benchmarks/bnn_uci.py --datasets naval-propulsion-plant --splits 1 "
    "--output bnn_uci_defaults_naval",
    "bnn_uci_defaults_power.json": "python benchmarks/bnn_uci.py --datasets power-plant --splits 1 "
    "--output bnn_uci_defaults_power && python benchmarks/bnn_uci.py --datasets power-plant --split-ids 1 "
    "--output bnn_uci_defaults_power",
    "bnn_uci_defaults_protein.json": "python benchmarks/bnn_uci.py --datasets protein-tertiary-structure --splits 1 "
    "--models tfp_arch --output bnn_uci_defaults_protein",
    "bnn_budget_small.json": "python benchmarks/bnn_budget.py --cases friedman1_snr1000@200 friedman1_snr1@200 "
    "friedman1_snr1000@400 --splits 3 --name bnn_budget_small",
    "bnn_budget.json": "python benchmarks/bnn_budget.py",
    "bnn_validation.json": "python benchmarks/bnn_validation.py",
    "bnn_validation_variance_weighting.json": 'python benchmarks/bnn_validation.py --settings default '
    '"ELBO (variance_weighting 0)" "variance_weighting 1" --name bnn_validation_variance_weighting',
    "bnn_mnist.json": "python benchmarks/bnn_mnist.py --seeds 3",
    "bnn_mnist_seeds3to5.json": "python benchmarks/bnn_mnist.py --seed 3 --seeds 3 --output bnn_mnist_seeds3to5",
    "flows_uci.json": "python benchmarks/flows_uci.py --epochs 20 --seeds 3",
    "flows_uci_power.json": "python benchmarks/flows_uci.py --datasets power-plant "
    "--output benchmarks/results/flows_uci_power.json",
    "flows_sampling.json": "python benchmarks/flows_sampling.py",
    "sampler_ab.json": "python benchmarks/sampler_ab.py",
    "maf_uci.json": "python benchmarks/maf_uci.py --epochs 20 --seeds 3",
    "maf_uci_power_quiet.json": "python benchmarks/maf_uci.py --datasets power-plant --epochs 20 --seeds 5 "
    "--name maf_uci_power_quiet",
    "maf_uci_quick.json": "python benchmarks/maf_uci.py --quick --name maf_uci_quick",
    "maf_validation.json": "python benchmarks/maf_validation.py",
    "vae_mnist.json": "python benchmarks/vae_mnist.py --epochs 20 --seeds 3 --k 5000 --n-eval 500 --floor",
    "vae_mnist_floor_quiet.json": "python benchmarks/vae_mnist.py --floor-only --floor-repeats 5 "
    "--output benchmarks/results/vae_mnist_floor_quiet.json",
    "vae_mnist_quick.json": "python benchmarks/vae_mnist.py --quick --output vae_mnist_quick",
    "cli_list.json": "python benchmarks/cli_list.py",
    "fit_feeding.json": "python benchmarks/fit_feeding.py",
    "streaming.json": "python benchmarks/streaming.py --repeats 3",
    "streaming_3_epochs.json": "python benchmarks/streaming.py --rows 1000000 --memory-rows 1000000 --epochs 3 "
    "--repeats 3 --skip-workers --output streaming_3_epochs",
    "tfp_layers_parity.json": "python benchmarks/tfp_layers_parity.py",
    "tfp_vae_parity.json": "python benchmarks/tfp_vae_parity.py",
    "tflite_conversion.json": "python benchmarks/tflite_conversion.py",
}
"""The command that wrote each result file that does not record its own (`commands` in the file wins)."""


class MarkerError(ValueError):
    """A marker names an unknown renderer, a missing file, or data the renderer cannot read."""


def load(name: str) -> dict[str, Any]:
    path = RESULTS / name
    if not path.is_file():
        raise MarkerError(f"benchmarks/results/{name}: no such result file")
    return json.loads(path.read_text())


def commands_of(name: str, document: Mapping[str, Any]) -> list[str]:
    """The commands that wrote `name`: its own `commands` record, else `COMMANDS`, else none."""
    script = f"python benchmarks/{document.get('benchmark', name.split('_')[0])}.py"
    if document.get("commands"):
        return [" ".join([script, *map(_quoted, arguments)]) for arguments in document["commands"]]
    return [COMMANDS[name]] if name in COMMANDS else []


def _quoted(argument: str) -> str:
    return f'"{argument}"' if " " in argument or not argument else argument


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return None


def number(value: Any, digits: int = 4) -> str:
    """`value` to `digits` significant digits, thousands separated; NaN and infinities by name."""
    x = _float(value)
    if x is None:
        return "–" if value is None else str(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{x:,.{decimals}f}"
    return text.replace("-", "−")


def cell(value: Any, digits: int = 4) -> str:
    """A number, or a summary `{mean, stderr|sem, n}` as `mean ± standard error`."""
    if isinstance(value, Mapping) and "mean" in value:
        mean = number(value["mean"], digits)
        error = _float(value.get("stderr", value.get("sem")))
        if error is None or math.isnan(error) or value.get("n") == 1:
            text = mean
        else:
            text = f"{mean} ± {number(error, 2)}"
        if value.get("non_finite_runs"):
            text += f" ({value['non_finite_runs']} runs non-finite)"
        return text
    if isinstance(value, bool):
        return "met" if value else "not met"
    if isinstance(value, (list, tuple)):
        return ", ".join(number(v, digits) for v in value)
    return number(value, digits)


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def grid(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[str] | None = None, title: str = "",
         labels: Mapping[str, str] | None = None, digits: int = 4) -> str:
    """One row per key of `rows`, one column per key of the rows' mappings (all of them by default)."""
    labels = labels or {}
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows.values() for key in row if _is_value(row[key])))
    body = [[labels.get(name, name), *(cell(row.get(column), digits) if column in row else "–" for column in columns)]
            for name, row in rows.items()]
    return table([title, *(labels.get(column, column) for column in columns)], body)


def _is_value(value: Any) -> bool:
    return _float(value) is not None or (isinstance(value, Mapping) and "mean" in value) or isinstance(value, bool)


def _mapping(document: Mapping[str, Any], *path: str) -> Any:
    value: Any = document
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            raise MarkerError(f"no {'.'.join(path)} in the result file")
        value = value[key]
    return value


METRIC_LABELS = {
    "rmse": "RMSE", "log_likelihood": "test log-likelihood", "coverage_90": "90% coverage",
    "epoch_seconds": "s / epoch (side by side)", "test_log_likelihood": "test log-likelihood (standardised)",
    "train_examples_per_s": "train examples/s", "samples_per_s": "samples/s",
}


def bnn_uci(document: Mapping[str, Any]) -> str:
    parts = []
    for name, data in _mapping(document, "datasets").items():
        parts.append(f"**{name}** ({data.get('splits_run', '?')} of {data['protocol']['n_splits']} splits, "
                     f"{data.get('epochs', '?')} epochs)\n")
        parts.append(grid(data["summary"], ["rmse", "log_likelihood", "coverage_90", "epoch_seconds"], "model",
                          METRIC_LABELS))
    return "\n\n".join(parts)


def bnn_uci_ratios(document: Mapping[str, Any]) -> str:
    rows = {name: data.get("ratios", {}) for name, data in _mapping(document, "datasets").items()}
    return grid(rows, None, "data set", digits=3)


SOTA_MODELS = ("tfp_arch", "mc_dropout", "deep_ensemble", "tf_keras")


def _target_check(measured: Mapping[str, Any], published: Sequence[float] | None) -> str:
    """Whether tfp_arch's means meet the issue's targets against the published tuned MC dropout."""
    if not published:
        return "no published reference"
    rmse, log_lik, coverage = (measured[key]["mean"] for key in ("rmse", "log_likelihood", "coverage_90"))
    checks = [
        ("LL", log_lik >= published[1] - 0.05),
        # The published RMSEs are rounded to two decimals: naval's 0.00 stands for anything below 0.005.
        ("RMSE", rmse <= 1.1 * max(published[0], 0.005)),
        ("90% coverage", 0.85 <= coverage <= 0.95),
    ]
    missed = [name for name, ok in checks if not ok]
    return "all met" if not missed else "missed: " + ", ".join(missed)


def bnn_uci_sota(document: Mapping[str, Any]) -> str:
    """Per data set: tfp_arch, MC dropout, a deep ensemble and tf_keras measured on the same splits, with the
    published 20-split results beside them and whether tfp_arch meets the targets."""
    published = _mapping(document, "published")
    parts = []
    columns = ["rmse", "log_likelihood", "coverage_90", "train_seconds", "predict_seconds"]
    labels = {**METRIC_LABELS, "train_seconds": "training s", "predict_seconds": "prediction s"}
    for name, data in _mapping(document, "datasets").items():
        summary = data["summary"]
        rows: dict[str, Mapping[str, Any]] = {model: summary[model] for model in SOTA_MODELS if model in summary}
        reference = published["mc_dropout"].get(name)
        if reference:
            rows["MC dropout, published (Gal, grid search)"] = {"rmse": reference[0], "log_likelihood": reference[1]}
        ensemble = published["deep_ensemble_log_likelihood"].get(name)
        if ensemble is not None:
            rows["deep ensemble, published (Lakshminarayanan et al.)"] = {"log_likelihood": ensemble}
        splits = ", ".join(str(split) for split in data.get("split_ids", []))
        epochs = f"{data.get('epochs', '?')} epochs"
        best = summary["tfp_arch"].get("best_epoch")
        if best is not None:
            epochs = (f"tfp_arch's epochs from a search on a validation cut, best epoch {best['mean']:.0f} on "
                      f"average, at most {epochs}")
        parts.append(f"**{name}** (split ids {splits} of {data['protocol']['n_splits']}; {epochs}; "
                     f"tfp_arch against the published MC dropout: "
                     f"{_target_check(summary['tfp_arch'], reference)})\n")
        parts.append(grid(rows, columns, "model", labels))
    return "\n\n".join(parts)


def bnn_validation(document: Mapping[str, Any]) -> str:
    results = _mapping(document, "results")
    cases = list(dict.fromkeys(case for setting in results.values() for case in setting["cases"]))
    header = ["validation cut (RMSE / log-lik. / 90% coverage)", *results]
    body = []
    for case in cases:
        row = [case]
        for setting in results.values():
            mean = setting["cases"].get(case, {}).get("mean")
            row.append(" / ".join(number(mean[key], 3) for key in ("rmse", "log_likelihood", "coverage_90"))
                       if mean else "–")
        body.append(row)
    return table(header, body)


def summary_by_model(document: Mapping[str, Any], key: str = "results") -> str:
    return grid(_mapping(document, key), None, "model / setting", digits=4)


def targets(document: Mapping[str, Any]) -> str:
    return table(["target", "result"], [[name.replace("_", " "), cell(value)]
                                        for name, value in _mapping(document, "targets").items()])


def flows_summary(document: Mapping[str, Any]) -> str:
    parts = []
    for name, data in _mapping(document, "summary").items():
        models = {model: values for model, values in data.items()
                  if isinstance(values, Mapping) and model not in ("ratios", "targets")}
        parts.append(f"**{name}** ({data.get('dims', '?')}-D, {number(data.get('n_train'))} training rows)\n")
        parts.append(grid(models, ["test_log_likelihood", "train_examples_per_s", "samples_per_s"], "implementation",
                          METRIC_LABELS))
        if isinstance(data.get("targets"), Mapping):
            parts.append(table(["comparison", "value"], [[key.replace("_", " "), number(value, 3)]
                                                         for key, value in data["targets"].items()]))
    return "\n\n".join(parts)


def maf_ratios(document: Mapping[str, Any]) -> str:
    rows = {name: data["ratios"] for name, data in _mapping(document, "summary").items() if "ratios" in data}
    return grid(rows, None, "data set (tfp_arch over)", digits=3)


def maf_validation(document: Mapping[str, Any]) -> str:
    body = []
    for name, settings in _mapping(document, "summary").items():
        for setting, values in settings.items():
            body.append([name, setting, cell(values["val_log_likelihood"]),
                         number(values.get("val_log_likelihood minus default"), 3), str(values.get("diverged", "–"))])
    return table(["data set", "setting", "validation log-likelihood", "minus default", "diverged runs"], body)


def flows_sampling(document: Mapping[str, Any]) -> str:
    body = []
    for row in _mapping(document, "results"):
        body.append([str(row["dims"]), *(number(row[model]["samples_per_s"]) for model in
                                         ("maf", "nsf_autoregressive", "nsf_coupling")),
                     number(row["nsf_autoregressive_over_maf"], 2), number(row["nsf_coupling_over_maf"], 2)])
    return table(["D", "`maf` samples/s", "autoregressive `nsf`", "coupling `nsf`", "autoregressive / `maf`",
                  "coupling / `maf`"], body)


def sampler_ab(document: Mapping[str, Any]) -> str:
    body = []
    for row in _mapping(document, "results"):
        body.append([str(row["dims"]), f"{number(row['maf']['speedup'], 3)}×",
                     f"{number(row['nsf_autoregressive']['speedup'], 3)}×",
                     number(row["nsf_now_over_maf_baseline"], 3), number(row["nsf_now_over_maf_now"], 2),
                     number(max(row["maf"]["max_abs_difference"], row["nsf_autoregressive"]["max_abs_difference"]), 2)])
    return table(["D", "`maf` speed-up", "autoregressive `nsf` speed-up", "`nsf` now / `maf` sliced",
                  "`nsf` now / `maf` now", "largest sample difference"], body)


def vae_summary(document: Mapping[str, Any]) -> str:
    return grid(_mapping(document, "summary"), None, "model", digits=5)


def vae_ratios(document: Mapping[str, Any]) -> str:
    return table(["quantity", "value"], [[name.replace("_", " "), cell(value, 3)]
                                          for name, value in _mapping(document, "ratios").items()])


def vae_floor(document: Mapping[str, Any]) -> str:
    floor = _mapping(document, "floor")
    models = floor["median_images_per_second"]
    rows = {model: {"median images/s": models[model],
                    "median CPU µs per image": floor["median_cpu_microseconds_per_image"][model]} for model in models}
    ratios = {name.replace("_over_", " over "): value for name, value in floor["ratios"].items()}
    return (grid(rows, None, "model") + "\n\n" + grid(ratios, None, "throughput ratio", digits=3)
            + f"\n\nMatrix products per training image: {number(floor['matmul_flops_per_training_image'] / 1e6, 3)} "
            "MFLOP.")


def cli_list(document: Mapping[str, Any]) -> str:
    medians, ratios = _mapping(document, "median_seconds"), _mapping(document, "ratio_to_python_pass")
    return table(["command", "median ms", "vs `python -c pass`"],
                 [[f"`{command}`", number(seconds * 1000, 3), f"{number(ratios[command], 3)}×"]
                  for command, seconds in medians.items()])


def fit_feeding(document: Mapping[str, Any]) -> str:
    medians = _mapping(document, "median_seconds_per_epoch")
    base = medians["keras arrays"]
    return table(["feeding", "ms / epoch", "speed-up over Keras' array path"],
                 [[name, number(seconds * 1000, 3), f"{number(base / seconds, 2)}×"]
                  for name, seconds in medians.items()])


def streaming_reading(document: Mapping[str, Any]) -> str:
    body = []
    for rows, readers in _mapping(document, "reading").items():
        for reader, values in readers.items():
            if isinstance(values, Mapping):
                body.append([number(int(rows)), reader, number(values["seconds"], 3), number(values["peak_mb"], 3)])
        body.append([number(int(rows)), "read_table / numpy.loadtxt", f"{number(readers['time_ratio'], 3)}×",
                     f"{number(readers['memory_ratio'], 3)}×"])
    return table(["rows", "reader", "seconds", "peak MB"], body)


def streaming_training(document: Mapping[str, Any]) -> str:
    body = []
    for rows, feedings in _mapping(document, "training").items():
        for feeding, values in feedings.items():
            if isinstance(values, Mapping) and "seconds" in values:
                body.append([number(int(rows)), feeding, number(values.get("fit_peak_mb"), 3),
                             number(values["peak_mb"], 3), number(values.get("examples_per_second")),
                             number(values.get("steady_examples_per_second")), number(values["seconds"], 3)])
    return table(["rows", "feeding", "fit peak MB", "run peak MB", "examples/s", "steady examples/s", "run seconds"],
                 body)


def streaming_ratios(document: Mapping[str, Any]) -> str:
    rows = {number(int(rows)): {key.replace("_", " "): value for key, value in feedings.items()
                                if not isinstance(value, Mapping)}
            for rows, feedings in _mapping(document, "training").items()}
    return grid(rows, None, "rows", digits=3)


def streaming_workers(document: Mapping[str, Any]) -> str:
    body = []
    for rows, counts in _mapping(document, "workers").items():
        for count, values in counts.items():
            peaks = values.get("peak_mb_per_worker") or []
            body.append([number(int(rows)), count, number(values["train_seconds"], 3),
                         number(values["examples_per_second"]), ", ".join(number(p, 3) for p in peaks)])
    return table(["rows", "workers", "train seconds", "examples/s", "peak MB per worker"], body)


def side_by_side(document: Mapping[str, Any]) -> str:
    """Each model's metrics as `ours / tf_keras` (means over seeds) and the epoch-time ratio."""
    results = _mapping(document, "results")
    metrics = list(dict.fromkeys(key for row in results.values() for key in row.get("ours", {})))
    body = []
    for name, row in results.items():
        ours, peer = row.get("ours", {}), row.get("tf_keras", {})
        cells = [f"{cell(ours[m])} / {cell(peer[m])}" if m in ours and m in peer else "–" for m in metrics]
        body.append([name.replace("_", " "), cell(row.get("epoch_time_ratio_ours_over_tf_keras"), 3), *cells])
    header = ["model", "epoch time, ours / tf_keras"]
    return table([*header, *(f"{METRIC_LABELS.get(m, m.replace('_', ' '))}: ours / tf_keras" for m in metrics)], body)


def paired_seeds(document: Mapping[str, Any]) -> str:
    """Per seed, ours and tf_keras' losses and epoch times and the test-loss difference; then the means
    ± standard errors and the verdict on seed noise."""
    runs, results = _mapping(document, "runs"), _mapping(document, "results")
    difference = "test_loss_difference_ours_minus_tf_keras"
    metrics = ("test_loss", "train_loss", "seconds_per_epoch")

    def pair(ours: Any, peer: Any, metric: str) -> str:
        return f"{cell(ours[metric])} / {cell(peer[metric])}"

    body = [[f"seed {seed}", *(pair(ours, peer, m) for m in metrics), cell(runs[difference][seed])]
            for seed, (ours, peer) in enumerate(zip(runs["ours"], runs["tf_keras"], strict=True))]
    body.append(["mean ± stderr", *(pair(results["ours"], results["tf_keras"], m) for m in metrics),
                 cell(results[difference])])
    header = ["seed", "test loss (nats), ours / tf_keras", "final train loss, ours / tf_keras",
              "s / epoch, ours / tf_keras", "test loss difference, ours − tf_keras"]
    return table(header, body) + f"\n\nVerdict on the test-loss difference: {results['verdict']}."


def tflite_conversion(document: Mapping[str, Any]) -> str:
    """One row per signature and op set: converted or not, what stopped it, and what running it gave."""
    body = []
    for name, row in _mapping(document, "results").items():
        signature, _, ops = name.rpartition(".")
        if row.get("converted"):
            outcome = f"converted ({row.get('bytes', '?')} bytes)"
            if "max_abs_difference" in row:
                worst = max(row["max_abs_difference"].values())
                run = f"runs; largest difference from the SavedModel {number(worst, 3)}"
            else:
                run = row.get("run_error", "–").split(". ")[0]
        else:
            outcome = f"not converted ({row.get('error', '?')})"
            run = ", ".join(f"`{op}`" for op in row.get("problems", [])) or "–"
        op_set = "built-in ops" if ops == "builtins" else "with Flex (SELECT_TF_OPS)"
        body.append([f"`{signature}`", op_set, outcome, run])
    return table(["signature", "op set", "conversion", "run / missing ops"], body)


RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "bnn_uci": bnn_uci,
    "bnn_uci_ratios": bnn_uci_ratios,
    "bnn_validation": bnn_validation,
    "bnn_uci_sota": bnn_uci_sota,
    "summary_by_model": summary_by_model,
    "targets": targets,
    "flows_summary": flows_summary,
    "maf_ratios": maf_ratios,
    "maf_validation": maf_validation,
    "flows_sampling": flows_sampling,
    "sampler_ab": sampler_ab,
    "vae_summary": vae_summary,
    "vae_ratios": vae_ratios,
    "vae_floor": vae_floor,
    "cli_list": cli_list,
    "fit_feeding": fit_feeding,
    "streaming_reading": streaming_reading,
    "streaming_training": streaming_training,
    "streaming_ratios": streaming_ratios,
    "streaming_workers": streaming_workers,
    "side_by_side": side_by_side,
    "paired_seeds": paired_seeds,
    "tflite_conversion": tflite_conversion,
}


def caption(name: str, document: Mapping[str, Any]) -> str:
    date = document.get("date", "date not recorded")
    commands = commands_of(name, document)
    source = f"From [`benchmarks/results/{name}`](results.md#{_anchor(name)}) ({date})"
    if not commands:
        return f"{source}; the command that wrote it was not recorded."
    return f"{source}, written by:\n\n```bash\n" + "\n".join(commands) + "\n```"


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", name.lower().replace(".", ""))


def render(renderer: str, name: str) -> str:
    if renderer not in RENDERERS:
        raise MarkerError(f"unknown renderer {renderer!r}; expected one of {sorted(RENDERERS)}")
    document = load(name)
    try:
        body = RENDERERS[renderer](document)
    except (KeyError, TypeError) as error:
        raise MarkerError(f"benchmarks/results/{name}: renderer {renderer!r} cannot read it ({error!r})") from error
    return f'<div class="results" markdown>\n\n{caption(name, document)}\n\n{body}\n\n</div>\n'


def expand(markdown: str, source: str = "page") -> str:
    """`markdown` with every `<!-- results: RENDERER FILE -->` marker replaced by its table."""
    def replace(match: re.Match[str]) -> str:
        try:
            return render(match.group(1), match.group(2))
        except MarkerError as error:
            raise MarkerError(f"{source}: {error}") from error

    return MARKER.sub(replace, markdown)


def _machine(document: Mapping[str, Any]) -> str:
    machine = document.get("machine")
    if not isinstance(machine, Mapping):
        return "not recorded"
    packages = machine.get("packages") or {}
    listed = ", ".join(f"{name} {version}" for name, version in packages.items() if version)
    return f"{machine.get('cpus', '?')} CPUs, Python {machine.get('python', '?')}" + (f"; {listed}" if listed else "")


def index(pages: Mapping[str, list[tuple[str, str]]] | None = None) -> str:
    """The page listing every result file: its benchmark, date, command, machine and the pages using it."""
    pages = pages or {}
    lines = [
        "# Result files",
        "",
        "Every file in `benchmarks/results/`, as the benchmark scripts wrote it (strict JSON; a non-finite "
        "number is the string `\"nan\"`, `\"inf\"` or `\"-inf\"`). Files written by a `--quick` run are smoke "
        "runs, kept to check that the harness reproduces earlier results.",
        "",
    ]
    for path in sorted(RESULTS.glob("*.json")):
        document = json.loads(path.read_text())
        commands = commands_of(path.name, document)
        lines += [f"## {path.name}", ""]
        date = document.get("date", "not recorded")
        lines.append(f"- benchmark: `{document.get('benchmark', path.stem)}`; date: {date}")
        if commands:
            lines += [f"- written by `{command}`" for command in commands]
        else:
            lines.append("- the command that wrote it was not recorded")
        lines.append(f"- machine: {_machine(document)}")
        used = pages.get(path.name)
        if used:
            lines.append("- shown in " + ", ".join(f"[{title}]({page})" for page, title in used))
        if document.get("notes"):
            lines += ["", "> " + str(document["notes"]).replace("\n", " ")]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    for page in sys.argv[1:]:
        print(expand(Path(page).read_text(), page))
