"""The `tfp-arch` command group and its error handling."""

from __future__ import annotations

import os
import signal
import sys

import click

from tfp_arch.cli.environment import debug_enabled, quiet_environment
from tfp_arch.cli.exporting import export_command
from tfp_arch.cli.listing import info_command, list_command
from tfp_arch.cli.training import evaluate_command, sample_command, train_command
from tfp_arch.distribute import ClusterConfigError
from tfp_arch.hyperparameters import HyperparameterError
from tfp_arch.registry import RegistryError
from tfp_arch.safe_files import OutputError
from tfp_arch.validation import ValidationError

__all__ = ["main"]

USAGE_ERRORS = (HyperparameterError, OutputError, ClusterConfigError)
DOMAIN_ERRORS = (RegistryError, ValidationError)
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (a resumable run keeps its staging folder) but exiting 143."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _os_error(error: OSError) -> str:
    """An `OSError` as one line: what the system said and the file it said it of."""
    if not error.strerror:
        return _one_line(error)
    where = f": {error.filename}" if error.filename and str(error.filename) not in error.strerror else ""
    return _one_line(OSError(f"{error.strerror}{where}"))


class _Group(click.Group):
    """Turns every error into one line on stderr: exit 2 for usage errors, 1 for domain errors and
    system errors (a full disk, a worker that cannot be reached), 130 for Ctrl-C and 143 for SIGTERM.
    Any other exception is a bug: one line too, naming its type, and its traceback with
    `TFP_ARCH_DEBUG=1`."""

    def invoke(self, ctx: click.Context):
        previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
        # A process started in the background by a shell script inherits SIGINT ignored; the CLI
        # answers SIGINT as Ctrl-C wherever it runs (a waiting worker must end at once).
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler) if _main_thread() else None
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except KeyboardInterrupt as interrupt:
            if debug_enabled():
                raise
            code = EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED
            click.echo(f"Interrupted{getattr(interrupt, 'note', '')}", err=True)
            sys.exit(code)
        except USAGE_ERRORS as error:
            if debug_enabled():
                raise
            click.echo(f"Error: {_one_line(error)}", err=True)
            sys.exit(2)
        except DOMAIN_ERRORS as error:
            if debug_enabled():
                raise
            click.echo(f"Error: {_one_line(error)}", err=True)
            sys.exit(1)
        except OSError as error:
            if debug_enabled():
                raise
            click.echo(f"Error: {_os_error(error)}", err=True)
            sys.exit(1)
        except MemoryError:
            if debug_enabled():
                raise
            click.echo("Error: out of memory; try a smaller --batch-size or smaller data", err=True)
            sys.exit(1)
        except Exception as error:
            if debug_enabled():
                raise
            click.echo(
                f"Error: unexpected {type(error).__name__}: {_one_line(error)[:500]} "
                f"(a bug in tfp-arch or a plugin; TFP_ARCH_DEBUG=1 shows the traceback)",
                err=True,
            )
            sys.exit(1)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if previous_int is not None:
                signal.signal(signal.SIGINT, previous_int)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfp-arch")
def main() -> None:
    """Variational Bayes architectures for Keras 3: list, train, evaluate and sample.

    Set TFP_ARCH_PLUGINS to restrict the plugins used (all, none, builtin, NAME, DIST:NAME, DIST:*),
    and TFP_ARCH_DEBUG=1 to see full tracebacks and TensorFlow's own log messages.
    """
    quiet_environment()


for _command in (list_command, info_command, train_command, evaluate_command, sample_command, export_command):
    main.add_command(_command)

if __name__ == "__main__":
    main()
