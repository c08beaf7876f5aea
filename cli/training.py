"""`tfp-arch train`, `evaluate` and `sample`."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from tfp_arch.cli.describing import describe_entry
from tfp_arch.cli.environment import import_quietly
from tfp_arch.cli.output import emit, format_metrics, info
from tfp_arch.cli.params import parse_hyperparameters
from tfp_arch.cli.progress import elapsed_ticker
from tfp_arch.cli.sampling import stream_samples
from tfp_arch.cli.tensorboard_option import check_tensorboard, tensorboard_callbacks, tensorboard_option
from tfp_arch.distribute import STRATEGIES
from tfp_arch.runs.plan import Plan, plan_resume, plan_run
from tfp_arch.runs.request import OptionError
from tfp_arch.validation import MAX_SEED

__all__ = ["evaluate_command", "sample_command", "train_command"]

_json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout; progress goes to stderr."
)


def _verbosity() -> int:
    return 1 if sys.stderr.isatty() else 2


def _run(plan: Plan, as_json: bool, tensorboard: Path | None = None) -> None:
    """Train in the plan's staging folder (TensorFlow is imported here, quietly)."""
    folder, request, chief = plan.folder, plan.request, plan.chief
    try:
        import_quietly("tfp_arch.runs.training")
    except BaseException:
        folder.discard() if chief is not None else folder.give_up()
        raise
    import keras

    from tfp_arch.runs.training import run_in

    announce = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: info(f"training {request['architecture']} on {request['data']} in {folder.path}")
    )
    try:
        with contextlib.redirect_stdout(sys.stderr):
            run = run_in(
                folder,
                request,
                verbose=_verbosity(),
                callbacks=[announce, *tensorboard_callbacks(tensorboard)],
                chief=chief,
                role=plan.role,
            )
    except KeyboardInterrupt as interrupt:
        if chief is None and folder.resumable:
            interrupt.note = f"; continue with: tfp-arch train --resume {folder.path}"  # type: ignore[attr-defined]
        raise
    info(f"wrote {run.path}" if run.chief else f"trained as a worker; the chief writes {run.path}")
    emit({"output": str(run.path), "metrics": run.metrics, "config": run.config}, as_json, format_metrics(run.metrics))


def _option_hint(argument: str) -> str:
    return f"'--{argument.replace('_', '-')}'"


@click.command("train")
@click.argument("name", required=False)
@click.option(
    "--data",
    "data",
    default=None,
    metavar="SPEC",
    help="Data spec, e.g. uci:DIR#split=0 or csv:FILE#target=quality. Default: the architecture's embedded data.",
)
@click.option(
    "--epochs",
    type=int,
    default=None,
    help="Training epochs (default: the architecture's, which may follow the training rows; see epochs_rule).",
)
@click.option("--batch-size", type=int, default=None, help="Examples per batch (default: the architecture's).")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for Python, NumPy and TensorFlow, and of each epoch's data order (0 to 2**32-1).",
)
@click.option(
    "--output", type=click.Path(path_type=Path), default=None, help="Run folder to create (default runs/NAME-TIME)."
)
@click.option(
    "--overwrite", is_flag=True, help="Replace an existing --output folder when the run finishes (never before)."
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Hyperparameter (repeatable); values are JSON or plain strings.",
)
@click.option("--plot", is_flag=True, help="Also write plot.png into the run folder.")
@click.option(
    "--validation-split",
    type=float,
    default=0.0,
    show_default=True,
    help="Fraction of the training data (its last rows) held out to validate each epoch.",
)
@click.option(
    "--patience",
    type=int,
    default=None,
    help="Stop after this many epochs without a better validation loss (training loss without "
    "--validation-split); the best epoch's weights are kept.",
)
@click.option(
    "--checkpoint-every",
    type=int,
    default=None,
    help="Checkpoint every N epochs (0: never). Default: after an epoch when the last checkpoint is 10 s old.",
)
@click.option(
    "--strategy",
    metavar="[" + "|".join(STRATEGIES) + "]",
    default="auto",
    show_default=True,
    help="tf.distribute strategy: auto (mirrored on several local GPUs, else one device), one_device, "
    "mirrored, or multi_worker_mirrored (reads TF_CONFIG; only the chief writes the run folder).",
)
@click.option(
    "--resume",
    "resume",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="Continue the interrupted run in DIR (its .partial folder).",
)
@click.option(
    "--allow-changed-data",
    is_flag=True,
    help="With --resume: continue even if the data files changed since the run started.",
)
@tensorboard_option
@_json_option
def train_command(
    name,
    data,
    epochs,
    batch_size,
    seed,
    output,
    overwrite,
    params,
    plot,
    validation_split,
    patience,
    checkpoint_every,
    strategy,
    resume,
    allow_changed_data,
    tensorboard,
    as_json,
) -> None:
    """Train architecture NAME and write a run folder.

    The folder holds model.keras, config.json, history.csv and metrics.json (and plot.png with --plot).
    The run works in OUTPUT.partial and renames it when finished. If it is interrupted after a
    checkpoint, OUTPUT.partial is kept and `tfp-arch train --resume OUTPUT.partial` continues it.
    With --strategy multi_worker_mirrored, start the same command on every worker, each with its
    TF_CONFIG: only the chief writes OUTPUT; to restart a job, run --resume on every worker.
    A worker that cannot reach the others within TFP_ARCH_CONNECT_TIMEOUT seconds (default 120) stops.

    A resume checks that the data files are those the run started on (size and contents), and that
    no other process is training in the folder.
    """
    if allow_changed_data and resume is None:
        raise click.UsageError("--allow-changed-data goes with --resume DIR")
    check_tensorboard(tensorboard)
    if resume is not None:
        options = {
            "data": data,
            "epochs": epochs,
            "batch_size": batch_size,
            "output": output,
            "params": params,
            "validation_split": validation_split,
            "patience": patience,
            "checkpoint_every": checkpoint_every,
        }
        given = [key for key, value in options.items() if value not in (None, (), 0.0)]
        if name is not None or given or plot or overwrite or seed != 0 or strategy != "auto":
            raise click.UsageError(
                "--resume takes no NAME and no training options: the run continues as it was started"
            )
        _run(plan_resume(resume, allow_changed_data), as_json, tensorboard)
        return
    if name is None:
        raise click.UsageError("Missing argument 'NAME' (or --resume DIR).")
    entry, declaration = describe_entry(name)
    try:
        plan = plan_run(
            entry,
            data,
            declaration=declaration,
            output=output,
            overwrite=overwrite,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            hyperparameters=parse_hyperparameters(params, declaration),
            plot=plot,
            validation_split=validation_split,
            patience=patience,
            checkpoint_every=checkpoint_every,
            strategy=strategy,
        )
    except OptionError as error:
        raise click.BadParameter(error.problem, param_hint=_option_hint(error.argument)) from None
    _run(plan, as_json, tensorboard)


@click.command("evaluate")
@click.argument("run_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--data", "data", default=None, metavar="SPEC", help="Data spec to evaluate on (default: the run's own data)."
)
@_json_option
def evaluate_command(run_dir, data, as_json) -> None:
    """Compute the test metrics of the run in DIR."""
    import_quietly("tfp_arch.runs")
    from tfp_arch.runs import evaluate_run

    with contextlib.redirect_stdout(sys.stderr), elapsed_ticker("evaluating"):
        metrics = evaluate_run(run_dir, data)
    emit(metrics, as_json, format_metrics(metrics))


@click.command("sample")
@click.argument("run_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-n", "num_samples", type=click.IntRange(min=1), default=10, show_default=True, help="Number of samples.")
@click.option(
    "--seed", type=click.IntRange(min=0, max=MAX_SEED), default=None, help="Seed for repeatable samples (0 to 2**32-1)."
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the samples to this .npy file instead of printing them.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --output file.")
@_json_option
def sample_command(run_dir, num_samples, seed, output, overwrite, as_json) -> None:
    """Draw samples from the model in DIR (architectures that can sample).

    Prints one sample per line as comma-separated values (flattened), or a JSON list with --json.
    Samples are drawn and written in chunks, so memory stays bounded for any -n.
    """
    stream_samples(run_dir, num_samples, seed, output, as_json, overwrite)
