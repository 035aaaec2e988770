"""The versioned price-table files on disk: which exist, by provider and effective date, unread.

`pricing/<provider>/<YYYY-MM-DD>.yaml`, one file per version, bundled in the wheel as
`planner/_pricing`. Apart from planner.prices.pricing (the schema) so that `prices list` never imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

VERSION_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.ya?ml$")


def shipped_pricing_dir() -> Path:
    """The tables bundled in the wheel, or the repository's `pricing/` in a source checkout."""
    package = Path(__file__).resolve().parents[1]
    bundled = package / "_pricing"
    return bundled if bundled.is_dir() else package.parent / "pricing"


@dataclass(frozen=True)
class TableVersion:
    provider: str
    version: date
    path: Path


def list_versions(root: Path | None = None) -> dict[str, list[TableVersion]]:
    """All shipped table files by provider, oldest first, without parsing them."""
    root = root or shipped_pricing_dir()
    out: dict[str, list[TableVersion]] = {}
    if not root.is_dir():
        return out
    for provider_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        versions = []
        for f in provider_dir.iterdir():
            m = VERSION_FILE.match(f.name)
            if m:
                versions.append(TableVersion(provider_dir.name, date.fromisoformat(m.group(1)), f))
        if versions:
            out[provider_dir.name] = sorted(versions, key=lambda v: v.version)
    return out
