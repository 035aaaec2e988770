"""`batchplan prices update`: the newest genai-prices data, made into dated tables in the user's data folder.

Prices change between our releases, and a wheel installed last month prices last month's world. The update
reads the data file genai-prices publishes (the one its own `UpdatePrices` fetches, through that class, so the
fetch and the parse are the library's), builds a table for every provider we ship exactly as `prices sync`
does (our reviewed facts carried over from the newest table and the sync base), and writes them under
`<data dir>/prices/<provider>/<date>.yaml`. The installed package is never written to.

All or nothing: the download is parsed whole and every table is built and validated before the first file is
written, so an offline machine, a truncated or malformed file, or prices the schema refuses change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from planner.core.errors import BatchplanError, PricingError, UsageError
from planner.prices.pricing import PriceTable, in_force, read_table
from planner.prices.sync import build_table, diff_tables, dump_table, load_base
from planner.prices.tablefiles import list_versions, shipped_pricing_dir
from planner.store.config import updated_prices_dir

#: what genai-prices' UpdatePrices fetches (kept here too, so the help text can name it without importing it)
DEFAULT_URL = "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"
HEADER = (
    "# {name} price table in force from {version}, made by `batchplan prices update` from\n"
    "# {url}\n# with the facts of {previous}. `batchplan prices update` replaces it; delete it to go back.\n"
)


class UpdateError(BatchplanError):
    """The update could not be made; nothing was changed."""


@dataclass
class ProviderUpdate:
    provider: str
    previous: str  # the label of the table it was compared with
    changes: list[str]
    warnings: list[str]
    table: PriceTable


@dataclass
class UpdateResult:
    url: str
    version: date
    updates: list[ProviderUpdate] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def fetch_providers(url: str) -> list[Any]:
    """genai-prices' providers from the data file at `url` (http(s), or a local path for offline use)."""
    from genai_prices.update_prices import UpdatePrices

    try:
        if url.startswith(("http://", "https://")):
            snapshot = UpdatePrices(url=url).fetch()
        else:
            snapshot = _read_local(Path(unquote(urlparse(url).path)) if url.startswith("file:") else Path(url))
        if snapshot is None:
            raise ValueError("no data")
    except Exception as exc:  # the network, the HTTP status, the JSON, genai-prices' own schema
        raise UpdateError(f"could not read prices from {url}: {_reason(exc)}") from None
    providers = list(snapshot.providers)
    if not providers:
        raise UpdateError(f"{url} holds no providers")
    return providers


def _read_local(path: Path) -> Any:
    """The same parse as UpdatePrices.fetch, on a file: a mirror or a copy carried to an offline machine."""
    import json

    from genai_prices import data_snapshot
    from genai_prices.types import _providers_from_raw

    raw = json.loads(path.read_bytes())
    if not isinstance(raw, list):
        raise ValueError("expected a list of providers")
    return data_snapshot.DataSnapshot(_providers_from_raw(raw), from_auto_update=True)


def _reason(exc: Exception) -> str:
    """One line of at most 200 characters; a file's error without the path the message already names."""
    plain = exc.strerror if isinstance(exc, OSError) and exc.filename and exc.strerror else str(exc)
    text = " ".join(plain.split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _in_force(provider: str, version: date, shipped: Path, updated: Path) -> PriceTable | None:
    """The table of `provider` in force on `version` among the shipped and the updated ones, as the price
    book chooses it."""
    found = [v for root in (shipped, updated) for v in list_versions(root).get(provider, [])]
    chosen = in_force(found, version, shipped)
    return read_table(chosen.path) if chosen is not None else None


def build_updates(
    providers: list[Any], version: date, *, shipped: Path, updated: Path, only: Sequence[str] = (), via: str = ""
) -> UpdateResult:
    """A table per shipped provider (or those in `only`) from `providers`, compared with the table in force."""
    result = UpdateResult(url="", version=version)
    known = sorted(list_versions(shipped))
    unknown = sorted(set(only) - set(known))
    if unknown:
        raise UsageError(f"no shipped tables for {', '.join(unknown)}; known: {', '.join(known)}")
    for provider in [p for p in known if not only or p in only]:
        base = load_base(provider, shipped)
        if not base.genai_provider:
            continue
        previous = _in_force(provider, version, shipped, updated)
        try:
            built = build_table(base, version, previous=previous, providers=providers, verified=version, via=via)
        except (PricingError, ValueError) as exc:  # ValueError: pydantic's, on a price out of bounds
            raise PricingError(f"{provider}: {_reason(exc)}") from None
        changes = diff_tables(previous, built.table)
        label = previous.label if previous is not None else "the sync base"
        if changes:
            result.updates.append(ProviderUpdate(provider, label, changes, built.warnings, built.table))
        else:
            result.unchanged.append(provider)
    return result


def write_updates(result: UpdateResult, updated: Path) -> None:
    """Write every changed table; same-day updates replace the day's earlier one (it is ours, not the user's)."""
    from planner.io.atomic import write_text

    for update in result.updates:
        path = updated / update.provider / f"{result.version.isoformat()}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = HEADER.format(name=update.table.name, version=result.version, url=result.url,
                               previous=update.previous)
        body = "".join(line for line in dump_table(update.table).splitlines(True) if not line.startswith("#"))
        write_text(path, header + body, force=True)
        result.written.append(path)


def update(
    url: str = DEFAULT_URL,
    *,
    version: date,
    dry_run: bool = False,
    only: Sequence[str] = (),
    shipped: Path | None = None,
    updated: Path | None = None,
    fetch: Callable[[str], list[Any]] = fetch_providers,
) -> UpdateResult:
    """Fetch, build and (unless `dry_run`) write the updated tables; raise before writing anything on failure."""
    shipped = shipped or shipped_pricing_dir()
    updated = updated or updated_prices_dir()
    providers = fetch(url)
    try:
        result = build_updates(providers, version, shipped=shipped, updated=updated, only=only,
                               via=f"the data at {url}")
    except PricingError as exc:
        raise UpdateError(f"the data from {url} does not make a valid table: {exc}") from None
    result.url = url
    if not dry_run:
        write_updates(result, updated)
    return result
