"""CLI command modules. Each exposes `register(app)`; the order here is the order in `--help`."""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = ("estimate", "report", "prepare", "prices", "models", "history", "reconcile")


def register_all(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"planner.commands.{name}")
        module.register(app)
