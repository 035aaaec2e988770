"""Where batchplan keeps the user's things, and the user's config file.

`$BATCHPLAN_HOME` (default: the platform's user data directory) holds the history store and
`config.yaml`; `$BATCHPLAN_CONFIG` points at another config file. The config lists the user's own
price tables, layered over the shipped ones on every command, before any `--prices FILE`:

    prices:
      - negotiated-openai.yaml        # relative to the config file
      - /etc/batchplan/azure-deployments.yaml
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from planner.core.errors import UsageError

#: The config names a few files: reading stops (with an error) past this size.
CONFIG_MAX_BYTES = 1024 * 1024


def xdg_dir(variable: str, *default: str) -> Path | None:
    """`$XDG_…` when it is an absolute path (the XDG spec: a relative one is invalid and ignored), else
    `~/<default>`; None when neither can be had (no HOME and a uid without a passwd entry)."""
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    try:
        return Path.home().joinpath(*default)
    except (RuntimeError, KeyError, OSError):
        return None


def _platform_home() -> Path | None:
    try:
        if sys.platform == "win32":
            return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "batchplan"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Application Support" / "batchplan"
    except (RuntimeError, KeyError, OSError):
        return None
    base = xdg_dir("XDG_DATA_HOME", ".local", "share")
    return base / "batchplan" if base is not None else None


def home() -> Path:
    """Where batchplan keeps user data: `$BATCHPLAN_HOME`, else the platform's user data directory.
    A `~user` that names no user, or no home directory at all (HOME unset, a uid without a passwd
    entry), is a UsageError; whether the place is usable is checked by whoever writes there
    (`usable_home`). Readers ask `known_home` instead."""
    env = os.environ.get("BATCHPLAN_HOME")
    if env:
        try:
            return Path(env).expanduser()
        except RuntimeError:  # `~nouser`, or `~` without a home directory
            raise UsageError(f"BATCHPLAN_HOME '{env}' names no home directory (no such user?)") from None
    found = _platform_home()
    if found is None:
        raise UsageError("there is no home directory (HOME is unset and this user has no passwd entry); "
                         "set BATCHPLAN_HOME to a directory for batchplan's data")
    return found


def known_home() -> Path | None:
    """`home()`, or None when there is none to be had: a reader then reads nothing from there."""
    try:
        return home()
    except UsageError:
        return None


def usable_home() -> Path:
    """`home()`, created if missing, as a directory batchplan can write in; else a one-line UsageError
    (BATCHPLAN_HOME naming a file, `/dev/null`, a read-only place)."""
    where = home()
    named = "BATCHPLAN_HOME" if os.environ.get("BATCHPLAN_HOME") else "the data directory"
    try:
        where.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{named} {where} is not a directory") from None
    except OSError as exc:
        raise UsageError(f"{named} {where} cannot be created: {exc.strerror or exc}") from None
    if not os.access(where, os.W_OK | os.X_OK):
        raise UsageError(f"{named} {where} is not writable")
    return where


def config_path() -> Path | None:
    """`$BATCHPLAN_CONFIG`, else `config.yaml` in the data directory; None when there is no home
    directory to look in (then there is no config)."""
    env = os.environ.get("BATCHPLAN_CONFIG")
    if env:
        try:
            return Path(env).expanduser()
        except RuntimeError:
            raise UsageError(f"BATCHPLAN_CONFIG '{env}' names no home directory (no such user?)") from None
    where = known_home()
    return where / "config.yaml" if where is not None else None


class Config(BaseModel):
    """The config file's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prices: list[str] = []


def load_config() -> Config:
    """The user's config, or an empty one when there is no file. A bad file is a one-line error; the
    file is read once, bounded, and must be a regular file (a FIFO there is refused, not waited on)."""
    path = config_path()
    if path is None or not os.path.lexists(path):
        if os.environ.get("BATCHPLAN_CONFIG"):
            raise UsageError(f"{path}: no such config file (BATCHPLAN_CONFIG)")
        return Config()
    import yaml  # only with a config file to read (commands start faster without it)

    from planner.io.inputs import read_small
    from planner.io.safeyaml import load_yaml

    data = read_small(path, "config file", limit=CONFIG_MAX_BYTES, regular=True, error=UsageError)
    try:
        raw = load_yaml(data.decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{path}{line}: cannot read the config: {reason}") from None
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"{path}: {where + ': ' if where else ''}{err['msg']}") from None


def updated_prices_dir() -> Path:
    """Where `batchplan prices update` keeps the tables it makes: `prices/` in the data directory."""
    return home() / "prices"


def configured_price_tables() -> list[Path]:
    """The user's own tables named in the config, resolved relative to the config file."""
    path = config_path()
    if path is None:
        return []
    base = path.parent
    return [(base / p).expanduser() if not Path(p).is_absolute() else Path(p) for p in load_config().prices]
