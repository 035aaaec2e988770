"""What `prepare` writes besides the lines: `manifest.json` (per file: requests, bytes, tokens, realtime and
batch cost, ETA; and totals equal to `estimate()` on the prepared lines), the ids of the lines, and the names
of the files it owns in OUTDIR (the only ones it replaces, with --force)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from planner.core.errors import InputError
from planner.core.request import Request
from planner.vendors import Vendor

BATCH_FILE = re.compile(r"^batch-\d{4,}\.jsonl$")
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Limits(_Frozen):
    """The per-file limits a split used, and where each came from ('table', 'providers.md', 'option')."""

    max_requests: int | None
    max_bytes: int | None
    max_line_bytes: int | None
    min_requests: int | None
    max_embedding_inputs: int | None = None  # summed over the requests of an embeddings batch
    sources: dict[str, str]


class Eta(_Frozen):
    p50_hours: float | None
    p90_hours: float | None
    worst_hours: float | None
    waves: int | None = None


class FileEntry(_Frozen):
    name: str
    requests: int
    bytes: int
    sha256: str
    first_id: str | None
    last_id: str | None
    input_tokens: int
    output_tokens: int
    realtime_cost_usd: str
    batch_cost_usd: str | None
    eta: Eta | None


class Totals(_Frozen):
    files: int
    requests: int
    bytes: int
    input_tokens: int
    output_tokens: int
    realtime_cost_usd: str
    batch_cost_usd: str | None
    savings_usd: str | None
    eta: Eta | None


class Manifest(_Frozen):
    """manifest.json. Stable: no timestamps, keys in this order; same inputs give the same bytes."""

    manifest_version: int = MANIFEST_VERSION
    vendor: str
    line_format: str
    model: str
    resolved_model: str
    provider: str
    price_table: str
    as_of: date
    endpoint: str | None
    deployment: str | None
    source: dict[str, Any]
    output_assumption: dict[str, Any]
    limits: Limits
    batch_eligible: bool
    reasons: list[str]
    files: list[FileEntry]
    totals: Totals
    notes: list[str] = Field(default_factory=list)

# ---------------------------------------------------------------------------------------------
# Custom ids


class IdMaker:
    """Stable ids valid everywhere (`^[a-zA-Z0-9_-]{1,64}$`): from the row's id, deduplicated in order."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    @staticmethod
    def sanitize(raw: str, fallback: str) -> str:
        clean = re.sub(r"[^a-zA-Z0-9_-]", "_", raw.strip())
        if not clean.strip("_"):
            clean = fallback
        if len(clean) > 64:
            digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:10]
            clean = f"{clean[:53]}-{digest}"
        return clean

    def make(self, raw: str, line: int) -> str:
        base = self.sanitize(raw, f"row-{line}")
        candidate, n = base, 1
        while candidate in self.used:
            n += 1
            suffix = f"-{n}"
            candidate = base[: 64 - len(suffix)] + suffix
        self.used.add(candidate)
        return candidate


class UserIds:
    """The user's own ids (`--id-column`), kept as they are: each must fit the vendor's id rule and be unique
    (a duplicate names the line of its first use)."""

    def __init__(self) -> None:
        self.first: dict[str, int] = {}

    def take(self, req: Request, rules: Vendor, name: str) -> str:
        rid = req.id
        pattern = rules.id_pattern
        if pattern is not None and not pattern.match(rid):
            raise InputError(f"id {json.dumps(rid)} does not fit {rules.name}'s {rules.id_field} rule "
                             f"{pattern.pattern}", path=name, line=req.line)
        if not rid.strip():
            raise InputError("empty id (the --id-column)", path=name, line=req.line)
        if rid in self.first:
            raise InputError(f"duplicate id {json.dumps(rid)} (first on line {self.first[rid]}); {rules.id_field} "
                             "must be unique in a batch", path=name, line=req.line)
        self.first[rid] = req.line
        return rid

# ---------------------------------------------------------------------------------------------
# The files prepare owns in OUTDIR


def is_output_name(name: str) -> bool:
    """The files `prepare` writes in OUTDIR (and replaces or removes there with --force)."""
    return name == MANIFEST or BATCH_FILE.match(name) is not None


def manifest_bytes(manifest: Manifest) -> bytes:
    """manifest.json as written: indented JSON, keys in the models' order, a final newline."""
    return (json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n").encode()
