"""The `tfp-arch` command group and its error handling."""

from __future__ import annotations

import os
import sys

import click

from tfp_arch_cli.listing import info_command, list_command
from tfp_arch_cli.training import evaluate_command, sample_command, train_command
from tfp_arch_registry import RegistryError

__all__ = ["main"]

DOMAIN_ERRORS = (RegistryError, ValueError, FileExistsError, FileNotFoundError, NotImplementedError)


class _Group(click.Group):
    """Turns domain errors into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except DOMAIN_ERRORS as error:
            if os.environ.get("TFP_ARCH_DEBUG"):
                raise
            message = " ".join(str(error).split()) or type(error).__name__
            click.echo(f"Error: {message}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfp-arch")
def main() -> None:
    """Variational Bayes architectures for Keras 3: list, train, evaluate and sample.

    Set TFP_ARCH_PLUGINS to restrict the plugins used (all, none, builtin, NAME, DIST:NAME, DIST:*),
    and TFP_ARCH_DEBUG=1 to see full tracebacks.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


for _command in (list_command, info_command, train_command, evaluate_command, sample_command):
    main.add_command(_command)

if __name__ == "__main__":
    main()
