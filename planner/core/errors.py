"""Errors a user can act on: one line, naming the file and line, with a documented exit code.

Exit codes: 0 ok, 1 a check failed (e.g. a model does not qualify), 2 bad usage or input, or an output
that cannot be written (disk full, read-only, not a directory), 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from planner.core.text import printable

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class BatchplanError(Exception):
    """Base class: everything the CLI turns into one line on stderr instead of a traceback."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return printable(f"{where}{self.message}", one_line=True)  # a file name or header may hold escapes


class InputError(BatchplanError):
    """The dataset (or another user file) cannot be read as asked."""


class PricingError(BatchplanError):
    """A price table is missing, malformed, or has no version in force on the requested date."""


class UsageError(BatchplanError):
    """The options given do not make sense together."""


class OutputError(BatchplanError):
    """An output cannot be written (disk full, read-only, not a directory, standard output closed); the
    message says what was left as it was."""


class UnknownModelError(BatchplanError):
    """A model name matches nothing in the price tables; carries the nearest known names (distinct,
    each one a name that resolves) and the provider whose table was searched, when there was one."""

    def __init__(
        self,
        name: str,
        suggestions: Sequence[str],
        *,
        as_of: str | None = None,
        provider: str | None = None,
        why: str | None = None,
        newer: str | None = None,
    ) -> None:
        unique = list(dict.fromkeys(suggestions))
        hint = f"; did you mean {', '.join(unique)}?" if unique else ""
        when = f" on {as_of}" if as_of else ""
        whose = f"{provider} " if provider else ""
        reason = f": {why}" if why else ""
        later = f" ({newer})" if newer else ""
        super().__init__(f"unknown {whose}model '{name}'{when}{reason}{hint}{later}")
        self.name, self.suggestions, self.as_of, self.provider, self.why = name, unique, as_of, provider, why


class AmbiguousModelError(BatchplanError):
    """A name that several tables answer to, none of them by the vendor's own id grammar: pin one."""

    def __init__(self, name: str, candidates: Sequence[str], *, as_of: str | None = None) -> None:
        when = f" on {as_of}" if as_of else ""
        super().__init__(
            f"model '{name}' is ambiguous{when}: it names {', '.join(candidates)}; "
            "pin one as provider/model"
        )
        self.name = name
        self.candidates = list(candidates)
