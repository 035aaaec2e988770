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

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from planner.errors import UsageError


def home() -> Path:
    """Where batchplan keeps user data: `$BATCHPLAN_HOME`, else the platform's user data directory."""
    env = os.environ.get("BATCHPLAN_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "batchplan"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "batchplan"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "batchplan"


def config_path() -> Path:
    env = os.environ.get("BATCHPLAN_CONFIG")
    return Path(env).expanduser() if env else home() / "config.yaml"


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prices: list[str] = []


def load_config() -> Config:
    """The user's config, or an empty one when there is no file. A bad file is a one-line error."""
    path = config_path()
    if not path.is_file():
        if os.environ.get("BATCHPLAN_CONFIG"):
            raise UsageError(f"{path}: no such config file (BATCHPLAN_CONFIG)")
        return Config()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read the config: {str(exc).splitlines()[0]}") from None
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"{path}: {where + ': ' if where else ''}{err['msg']}") from None


def configured_price_tables() -> list[Path]:
    """The user's own tables named in the config, resolved relative to the config file."""
    base = config_path().parent
    return [(base / p).expanduser() if not Path(p).is_absolute() else Path(p) for p in load_config().prices]
