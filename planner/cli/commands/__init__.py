"""CLI command modules. Each exposes `register(app)`, which adds its commands to the app.

`COMMANDS` names every top-level command, in `--help` order, with the module that registers it, so
that `batchplan NAME …` imports and builds NAME's module alone (planner.cli.main.build_app). A new command:
its module with `register(app)`, and a line here (tests/test_cli_conventions.py checks the two agree).
"""

from __future__ import annotations

import importlib

import typer

COMMANDS: dict[str, str] = {
    "estimate": "estimate",
    "report": "report",
    "prepare": "prepare",
    "validate": "prepare",
    "models": "models",
    "check": "check",
    "reconcile": "reconcile",
    "prices": "prices",  # groups are listed after the commands
    "history": "history",
}


def register_all(app: typer.Typer) -> None:
    for module in dict.fromkeys(COMMANDS.values()):
        importlib.import_module(f"planner.cli.commands.{module}").register(app)


def register_command(app: typer.Typer, name: str) -> None:
    """Register the module that provides the top-level command `name` (and that module's others)."""
    importlib.import_module(f"planner.cli.commands.{COMMANDS[name]}").register(app)
