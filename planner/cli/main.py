"""The `batchplan` command line: parses options, calls the Python API, renders. Nothing else.

Each command group lives in its own `planner/cli/commands/*.py` module and registers itself on the app.
Conventions every command shares are wired here, once: `-h`/`--help`; `--quiet`/`-q` and `--no-color`
accepted before or after the command; shell completion (`--install-completion`, `--show-completion`);
argument metavars that read (`DATA`, `FILE...`, never a type such as `<str>`); and the whole first
paragraph of each command's description in the top-level help, never cut at 45 characters.

Start-up is part of the interface (`batchplan check MODEL` should feel instant, issue #14):
`batchplan NAME …` imports and builds only NAME's command (`build_app`); the top-level help, errors
and shell completion build them all, and so does `app`, the whole app for tests and embedding.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn


def _interrupted_at_start() -> NoReturn:
    """Ctrl-C before a command could install its handlers (while Python imports): one line, exit 130."""
    with contextlib.suppress(Exception):
        print("batchplan: interrupted", file=sys.stderr)
    raise SystemExit(130)


try:
    import typer
    from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

    from planner.cli.commands import COMMANDS, register_all, register_command
    from planner.cli.commands._common import SETTINGS
    from planner.cli.streams import guard_streams, hold_closed_streams
except KeyboardInterrupt:
    _interrupted_at_start()

#: Options of `batchplan` itself that may come before the command name and take no value.
LEADING_FLAGS = frozenset({"-q", "--quiet", "--no-color"})

try:  # typer >= 0.25 converts values through pydantic TypeAdapters, built when a value is parsed
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # pragma: no cover - older typer converts through click types
    RuntimeParam = None  # type: ignore[assignment,misc]


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
    """`--quiet/-q` and `--no-color` as Typer builds them, a fresh copy for each command."""
    return [copy.copy(p) for p in _built_shared_options()]


@functools.cache
def _built_shared_options() -> tuple[Any, ...]:
    """The shared options, built once per process (taken from a throwaway command)."""
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
    return tuple(p for p in command.params if p.name in ("quiet", "no_color"))


if RuntimeParam is not None:

    class _Verbatim(RuntimeParam):  # type: ignore[misc,valid-type]
        """A parameter's conversion, without a pydantic TypeAdapter where the value needs none.

        Typer builds a pydantic TypeAdapter for every parameter it parses, even one left out (None)
        or already what the command takes: that imports pydantic's validators and plugin loader and
        builds one core schema each (much of `check`'s start-up). Typer's own `coerce` turns a missing
        value into None or (); a `str` given to a `str` (or list-of-`str`) parameter is returned as
        is, which is what that adapter returns; any other value (bytes, numbers, paths, choices,
        files, custom parsers) goes to the conversion typer builds, as before."""

        descriptor: Any
        verbatim: bool
        converter: Any

        def __init__(self, descriptor: Any) -> None:
            super().__init__(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
            object.__setattr__(self, "descriptor", descriptor)
            object.__setattr__(self, "verbatim", descriptor.parameter_info.parser is None)
            object.__setattr__(self, "converter", None)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.verbatim:
                if self.annotation is str and type(value) is str:
                    return value
                if self.annotation == list[str] and type(value) in (list, tuple) and all(
                    type(v) is str for v in value
                ):
                    return list(value)
            if self.converter is None:
                object.__setattr__(self, "converter", build_runtime_param(self.descriptor))
            return self.converter._coerce_value(value, param=param, ctx=ctx)


def _lazy_conversion(param: Any) -> None:
    """Convert `param`'s values through `_Verbatim` (typer's pydantic adapter only when needed). A typer
    whose internals differ keeps its own conversion (tests/test_cli_conventions.py notices)."""
    descriptor = getattr(param, "type_descriptor", None)
    if RuntimeParam is not None and descriptor is not None and getattr(param, "_runtime_param", False) is None:
        with contextlib.suppress(TypeError, AttributeError):  # another typer's RuntimeParam
            param._runtime_param = _Verbatim(descriptor)


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:  # the command's own, --help and the shared ones
            _lazy_conversion(param)
        return params


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:  # also --install-completion and --show-completion, added after __init__
            _lazy_conversion(param)
        return params


def _conventions(command: Any) -> None:
    """Shared options on every command, readable argument metavars, full short help, and values
    converted without typer's pydantic adapters where they need none (`_Verbatim`)."""
    if type(command) is TyperCommand:
        command.__class__ = _Command
    elif type(command) is TyperGroup:
        command.__class__ = _Group
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


class _Root(_Group):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _conventions(self)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        # a fresh start for each invocation (one process may run several, e.g. tests); the shared
        # --quiet/--no-color callbacks of this group and of the command then set them
        SETTINGS.quiet = SETTINGS.no_color = False
        inputs = sys.modules.get("planner.io.inputs")  # the files the last command read are not this one's
        if inputs is not None:
            inputs.forget_inputs()
        try:
            with _usage_errors():
                return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt:  # before the command's own handling (click would say "Aborted!", exit 1)
            _interrupted_at_start()

    def invoke(self, ctx: Any) -> Any:
        try:
            with _usage_errors():  # the command's own options are parsed here
                return super().invoke(ctx)
        except KeyboardInterrupt:  # the command's handler answers its own; this is before or after it
            _interrupted_at_start()


def _usage_error_classes() -> tuple[type[Exception], ...]:
    import click

    try:  # typer >= 0.26 parses with its own copy of Click
        from typer._click.exceptions import UsageError as TyperUsageError
    except ImportError:  # pragma: no cover - older typer
        return (click.UsageError,)
    return (click.UsageError, TyperUsageError)


_USAGE_ERRORS = _usage_error_classes()


@contextlib.contextmanager
def _usage_errors() -> Any:
    """The option parser's errors (a missing argument, an unknown option, a bad value) read like every
    other error: `batchplan: error: …` on one line, then where the usage is, exit 2 (Click's own are a
    usage block and `Error: Missing option …`)."""
    try:
        yield
    except _USAGE_ERRORS as exc:
        setattr(exc, "show", _UsageErrorShow(exc).show)  # noqa: B010 - an instance's own show, not Click's
        raise


class _UsageErrorShow:
    """`show` for a Click usage error, in our format."""

    def __init__(self, exc: Any) -> None:
        self.exc = exc

    def show(self, file: Any = None) -> None:
        import sys

        message = self.exc.format_message().strip().rstrip(".")
        if message[:1].isupper() and not message[1:2].isupper():
            message = message[0].lower() + message[1:]
        ctx = self.exc.ctx
        out = file or sys.stderr
        print(f"batchplan: error: {message.splitlines()[0] if message else 'bad usage'}", file=out)
        if ctx is None:
            print("usage: batchplan COMMAND -h", file=out)
        else:
            usage = ctx.get_usage().strip().replace("Usage: ", "", 1)
            print(f"usage: {usage} (more: {ctx.command_path} -h)", file=out)


def _new_app() -> typer.Typer:
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
    app.callback()(root)
    return app


def _version(value: bool) -> None:
    if value:
        from planner import __version__

        print(f"batchplan {__version__}")
        raise typer.Exit()


def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Plan LLM batch jobs: realtime vs batch cost, turnaround and model eligibility from a sample.

    Results go to stdout (plain, full-width rows when piped); notes and warnings to stderr.
    """


def command_word(argv: Sequence[str]) -> str | None:
    """The first word of `argv` (without the program name) that is not a leading flag: the command's
    name when there is one (`invoked_command` checks it against the commands)."""
    for arg in argv:
        if arg not in LEADING_FLAGS:
            return arg
    return None


def invoked_command(argv: Sequence[str]) -> str | None:
    """The command `argv` (without the program name) runs, when it plainly names one; None when it is
    help, completion, an error or anything else that needs every command (they then all get built)."""
    if any(name.endswith("_COMPLETE") for name in os.environ):  # shell completion (`_BATCHPLAN_COMPLETE`)
        return None
    name = command_word(argv)
    return name if name in COMMANDS else None


def build_app(argv: Sequence[str] | None = None) -> typer.Typer:
    """The app with every command, or, for an `argv` that runs one command, with only that one: the
    same command, help and errors (tests/test_cli_conventions.py compares them), without importing
    and building the others."""
    app = _new_app()
    name = invoked_command(argv) if argv is not None else None
    if name is None:
        register_all(app)
    else:
        register_command(app, name)
    return app


def __getattr__(name: str) -> Any:
    """`planner.cli.main.app`: the whole app (built on first use, so that `main` need not build it)."""
    if name == "app":
        whole = build_app()
        globals()["app"] = whole
        return whole
    raise AttributeError(f"module 'planner.cli.main' has no attribute {name!r}")


def _note_no_home(argv: Sequence[str]) -> None:
    """No home directory (HOME unset and a uid without a passwd entry, as under `env -i` in a container):
    the config, the table cache and the history have nowhere to live, so they are skipped; say so once."""
    if os.environ.get("BATCHPLAN_HOME") or os.path.expanduser("~") != "~":
        return
    if any(arg in ("-q", "--quiet") for arg in argv):
        return
    with contextlib.suppress(Exception):
        print("batchplan: note: there is no home directory (HOME is unset and this user has no passwd entry): "
              "no config file or table cache is used; set BATCHPLAN_HOME to a directory to keep them",
              file=sys.stderr)


def main() -> None:
    """The `batchplan` program: closed standard streams are held first (planner.cli.streams), then the
    command named in argv runs."""
    try:
        hold_closed_streams()
        guard_streams()
        _note_no_home(sys.argv[1:])
        app = build_app(sys.argv[1:])
    except KeyboardInterrupt:
        _interrupted_at_start()
    app()
