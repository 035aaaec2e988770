"""`batchplan prices update` and `prices outdated`: prices newer than the shipped tables, from genai-prices."""

from __future__ import annotations

from typing import Annotated

import typer

from planner.cli.commands._common import JsonOption, notes_summarised, print_json
from planner.prices.update import DEFAULT_URL, UpdateResult

UrlOption = Annotated[
    str,
    typer.Option("--url", metavar="URL", show_default=False,
                 help="genai-prices' data file (default: the one it publishes); a local path works offline."),
]
ProviderOption = Annotated[
    list[str] | None,
    typer.Option("--provider", "-p", metavar="PROVIDER", help="Only this provider (repeatable). Default: all."),
]


def update_cmd(
    url: UrlOption = DEFAULT_URL,
    provider: ProviderOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what changed, write nothing.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Fetch the newest genai-prices data and keep it as dated tables in your data directory.

    Estimates on or after today use them (their table label says so); `--as-of` an earlier date still
    uses the tables in force then. Nothing changes if the download fails or is not a valid price file."""
    from planner.core.clock import today
    from planner.prices.update import update

    result = update(url, version=today(), dry_run=dry_run, only=provider or ())
    if json_out:
        print_json(_json(result))
        return
    _print(result)
    if dry_run:
        print("dry run: nothing written")
    elif result.written:
        folder = result.written[0].parent.parent
        print(f"wrote {len(result.written)} table(s) under {folder}; answers from {result.version} on use them")


def outdated_cmd(
    url: UrlOption = DEFAULT_URL,
    provider: ProviderOption = None,
    json_out: JsonOption = False,
) -> None:
    """For maintainers: what the newest genai-prices data has that the shipped tables lack or price otherwise.

    Compares with the shipped tables only (not your updates). Exit code 1 when anything differs."""
    from planner.core.clock import today
    from planner.prices.tablefiles import shipped_pricing_dir
    from planner.prices.update import update

    shipped = shipped_pricing_dir()
    result = update(url, version=today(), dry_run=True, only=provider or (), shipped=shipped, updated=shipped)
    if json_out:
        print_json(_json(result))
    else:
        _print(result)
    if result.updates:
        raise typer.Exit(1)


def _print(result: UpdateResult) -> None:
    for update in result.updates:
        print(f"{update.provider}: {update.previous} -> {update.provider}@{result.version}")
        for line in update.changes:
            print(f"  {line}")
    warnings = [f"{u.provider}: {w}" for u in result.updates for w in u.warnings]
    notes_summarised(warnings, kind="warning:")
    if result.unchanged:
        print(f"no changes: {', '.join(result.unchanged)}")


def _json(result: UpdateResult) -> dict[str, object]:
    return {
        "url": result.url,
        "version": result.version.isoformat(),
        "changed": {
            u.provider: {"previous": u.previous, "changes": u.changes, "warnings": u.warnings}
            for u in result.updates
        },
        "unchanged": result.unchanged,
        "written": [str(p) for p in result.written],
    }
