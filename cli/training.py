"""`tfp-arch train`, `evaluate` and `sample`."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from tfp_arch_cli.output import emit, format_metrics, info
from tfp_arch_cli.params import parse_hyperparameters
from tfp_arch_registry import default_registry

__all__ = ["evaluate_command", "sample_command", "train_command"]

_json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout; progress goes to stderr.")


def _verbosity() -> int:
    return 1 if sys.stderr.isatty() else 2


@click.command("train")
@click.argument("name")
@click.option("--data", "data", default=None, metavar="SPEC", help="Data spec, e.g. uci:DIR#split=0 or csv:FILE#target=quality. Default: the architecture's embedded data.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs (default: the architecture's).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Examples per batch (default: the architecture's).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for Python, NumPy and TensorFlow.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None, help="Run folder to create (default runs/NAME-TIME).")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="Hyperparameter (repeatable); values are JSON or plain strings.")
@click.option("--plot", is_flag=True, help="Also write plot.png into the run folder.")
@_json_option
def train_command(name, data, epochs, batch_size, seed, output, params, plot, as_json) -> None:
    """Train architecture NAME and write a run folder.

    The folder holds model.keras, config.json, history.csv and metrics.json (and plot.png with --plot).
    It appears only when the run has finished.
    """
    hyperparameters = parse_hyperparameters(params)
    default_registry().resolve(name)
    import tfp_arch
    from tfp_arch.runs import hyperparameter_names, train

    cls = tfp_arch.get(name)
    known = hyperparameter_names(cls)
    for key in hyperparameters:
        if key not in known:
            raise click.BadParameter(f"unknown hyperparameter {key!r} for {cls.name}; known: {', '.join(known)}", param_hint="'-p'")
    info(f"training {cls.name} on {data or cls.default_data}")
    with contextlib.redirect_stdout(sys.stderr):
        run = train(name, data, epochs=epochs, batch_size=batch_size, seed=seed, output=output,
                    hyperparameters=hyperparameters, plot=plot, verbose=_verbosity())
    info(f"wrote {run.path}")
    emit({"output": str(run.path), "metrics": run.metrics, "config": run.config}, as_json, format_metrics(run.metrics))


@click.command("evaluate")
@click.argument("run_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", "data", default=None, metavar="SPEC", help="Data spec to evaluate on (default: the run's own data).")
@_json_option
def evaluate_command(run_dir, data, as_json) -> None:
    """Compute the test metrics of the run in DIR."""
    from tfp_arch.runs import evaluate_run

    with contextlib.redirect_stdout(sys.stderr):
        metrics = evaluate_run(run_dir, data)
    emit(metrics, as_json, format_metrics(metrics))


@click.command("sample")
@click.argument("run_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-n", "num_samples", type=click.IntRange(min=1), default=10, show_default=True, help="Number of samples.")
@click.option("--seed", type=int, default=None, help="Seed for repeatable samples.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the samples to this .npy file instead of printing them.")
@_json_option
def sample_command(run_dir, num_samples, seed, output, as_json) -> None:
    """Draw samples from the model in DIR (architectures that can sample).

    Prints one sample per line as comma-separated values (flattened), or JSON with --json.
    """
    import numpy as np

    from tfp_arch.runs import load_run

    with contextlib.redirect_stdout(sys.stderr):
        model, _ = load_run(run_dir)
    if not model.can_sample:
        raise NotImplementedError(f"architecture {model.name!r} cannot sample")
    samples = np.asarray(model.sample(num_samples, seed=seed))
    if output is not None:
        np.save(output, samples)
        info(f"wrote {output}")
        return
    flat = samples.reshape(len(samples), -1)
    emit(samples.tolist(), as_json, "\n".join(",".join(f"{v:.6g}" for v in row) for row in flat))
