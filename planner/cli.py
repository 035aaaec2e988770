"""The `batchplan` command line: parses options, calls the Python API, renders. Nothing else.

Each command group lives in its own `planner/commands/*.py` module and registers itself on `app`.
Conventions every command shares are wired here, once: `-h`/`--help`; `--quiet`/`-q` and `--no-color`
accepted before or after the command; shell completion (`--install-completion`, `--show-completion`);
argument metavars that read (`DATA`, `FILE...`, never a type such as `<str>`); and the whole first
paragraph of each command's description in the top-level help, never cut at 45 characters.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from planner.commands import register_all
from planner.commands._common import SETTINGS


class _Argument(TyperArgument):
    """A positional argument shown by its metavar alone: `DATA`, `FILE...` (Typer appends `<str>`)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def _rich_display_name(self) -> str:
        return self.display_name_raw + ("..." if self.nargs != 1 else "")


def _set_quiet(value: bool) -> None:
    if value:
        SETTINGS.quiet = True


def _set_no_color(value: bool) -> None:
    if value:
        SETTINGS.no_color = True


def _shared_options() -> list[Any]:
    """`--quiet/-q` and `--no-color` as Typer builds them (taken from a throwaway command)."""
    holder = typer.Typer()

    @holder.command()
    def shared(
        quiet: Annotated[bool, typer.Option("--quiet", "-q", callback=_set_quiet, is_eager=True, expose_value=False,
                                            help="No notes, warnings or progress on stderr (errors still).")] = False,
        no_color: Annotated[bool, typer.Option("--no-color", callback=_set_no_color, is_eager=True,
                                               expose_value=False,
                                               help="No colour (also: the NO_COLOR environment variable).")] = False,
    ) -> None:
        """Unused."""

    command = typer.main.get_command(holder)
    return [p for p in command.params if p.name in ("quiet", "no_color")]


def _conventions(command: Any) -> None:
    """Shared options on every command, readable argument metavars, full short help."""
    for param in command.params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None and param.name:
            param.metavar = param.name.upper()  # a name that reads, never a type such as <str>
    names = {opt for p in command.params for opt in getattr(p, "opts", [])}
    if "--quiet" not in names:
        command.params.extend(_shared_options())
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _conventions(sub)
            if sub.help and not sub.short_help:
                sub.short_help = sub.help.strip().split("\n\n", 1)[0].replace("\n", " ")


class _Root(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _conventions(self)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        # a fresh start for each invocation (one process may run several, e.g. tests); the shared
        # --quiet/--no-color callbacks of this group and of the command then set them
        SETTINGS.quiet = SETTINGS.no_color = False
        return super().make_context(info_name, args, parent, **extra)


app = typer.Typer(
    name="batchplan",
    cls=_Root,
    help="Plan LLM batch jobs: realtime vs batch cost, turnaround and model eligibility from a sample.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from planner import __version__

        print(f"batchplan {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Plan LLM batch jobs: realtime vs batch cost, turnaround and model eligibility from a sample.

    Results go to stdout (plain, full-width rows when piped); notes and warnings to stderr.
    """


register_all(app)


def main() -> None:
    app()
