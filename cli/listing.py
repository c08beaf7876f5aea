"""`tfp-arch list` and `tfp-arch info`."""

from __future__ import annotations

import json

import click

from tfp_arch.cli.describing import describe_entry
from tfp_arch.cli.environment import import_quietly
from tfp_arch.cli.output import emit
from tfp_arch.registry import default_registry

__all__ = ["info_command", "list_command"]


def _row(entry, entries: list, load: bool) -> dict:
    row = {
        "name": entry.name,
        "qualified_name": entry.qualified,
        "distribution": entry.distribution,
        "version": entry.version,
        "value": entry.value,
        "status": "ok",
        "problem": entry.problem(),
    }
    duplicates = [e for e in entries if e.name == entry.name]
    if len(duplicates) > 1:
        row["status"] = "duplicate"
        row["problem"] = (
            f"name also registered by {', '.join(e.qualified for e in duplicates if e != entry)}; use {entry.qualified}"
        )
    if row["problem"] and row["status"] == "ok":
        row["status"] = "broken"
    if load and row["status"] != "broken":
        import_quietly()
        from tfp_arch.registry import get

        try:
            cls = get(entry)
            row["summary"] = cls.summary
        except Exception as error:
            row["status"], row["problem"] = "broken", str(error)
    return row


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--load", is_flag=True, help="Import every plugin to show its summary and catch import errors (slower).")
def list_command(as_json: bool, load: bool) -> None:
    """List the installed architectures (built-in and third-party).

    Reads entry-point metadata only, so it is fast and imports no plugin; a plugin whose module cannot
    be found is shown as broken. With --load every plugin is imported and import errors are shown.
    """
    entries = default_registry().entries()
    rows = [_row(entry, entries, load) for entry in entries]
    lines = []
    for row in rows:
        text = f"{row['name']:<12} {row['qualified_name']:<28} {row['value']}"
        if row.get("summary"):
            text += f"\n{'':<12} {row['summary']}"
        if row["status"] != "ok":
            text += f"\n{'':<12} {row['status'].upper()}: {row['problem']}"
        lines.append(text)
    emit(rows, as_json, "\n".join(lines) or "no architectures installed")


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def info_command(name: str, as_json: bool) -> None:
    """Show what architecture NAME is, its data and its hyperparameters with their types and defaults.

    Read from the architecture's declaration without importing it (or TensorFlow) when it has one.
    """
    entry, declaration = describe_entry(name)
    hyperparameters = declaration.hyperparameters
    document = {
        "name": entry.name,
        "qualified_name": entry.qualified,
        "class": declaration.qualified_class,
        "summary": declaration.summary,
        "task": declaration.task,
        "default_data": declaration.default_data,
        "default_epochs": declaration.default_epochs,
        "min_training_steps": declaration.min_training_steps,
        "max_default_epochs": declaration.max_default_epochs,
        "epochs_search": declaration.epochs_search,
        "default_batch_size": declaration.default_batch_size,
        "capabilities": list(declaration.capabilities),
        "can_sample": "sample" in declaration.capabilities,
        "has_plot": declaration.has_plot,
        "hyperparameters": {h.name: h.default for h in hyperparameters},
        "hyperparameter_types": {h.name: h.kind.describe() for h in hyperparameters},
        "hyperparameter_help": {h.name: h.help for h in hyperparameters},
        "read_from": declaration.source,
    }
    human = "\n".join(
        [
            f"{entry.name} ({entry.qualified}): {declaration.summary}",
            f"task: {declaration.task}; default data: {declaration.default_data}",
            f"defaults: epochs={declaration.epochs_text} batch_size={declaration.default_batch_size}; "
            f"capabilities: {', '.join(declaration.capabilities) or 'none'}",
            "hyperparameters:",
        ]
        + [
            f"  {h.name} = {json.dumps(h.default)}  ({h.kind.describe()})" + (f"  {h.help}" if h.help else "")
            for h in hyperparameters
        ]
    )
    emit(document, as_json, human)
