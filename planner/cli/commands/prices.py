"""`batchplan prices …`: list, show, diff, validate and sync the versioned price tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli.commands._common import AsOfOption, JsonOption, handle_errors, note, parse_date, print_json

if TYPE_CHECKING:
    from planner.prices.schema import ModeTerms, PriceTable, ProviderBatch

RootOption = Annotated[
    Path | None,
    typer.Option("--root", metavar="DIR", help="Folder of price tables (default: the shipped pricing/ folder)."),
]


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def rates_json(ps: Any) -> dict[str, Any] | None:
    """A PriceSet as JSON: decimal strings, tiers included."""
    if ps is None:
        return None
    out: dict[str, Any] = {
        k: _money(getattr(ps, k)) for k in ("input", "cached_input", "cache_write", "cache_write_1h", "output")
    }
    out["tiers"] = [
        {"above_input_tokens": t.above_input_tokens, **{k: _money(getattr(t, k)) for k in out if k != "tiers"}}
        for t in ps.tiers
    ]
    return out


def register(app: typer.Typer) -> None:
    from planner.cli.commands.updates import outdated_cmd, update_cmd

    prices = typer.Typer(help="Versioned price tables: list, show, diff, validate, update, sync from genai-prices.")
    app.add_typer(prices, name="prices")
    for name, command in (("list", list_cmd), ("show", show_cmd), ("diff", diff_cmd), ("validate", validate_cmd),
                          ("update", update_cmd), ("outdated", outdated_cmd), ("sync", sync_cmd)):
        prices.command(name)(handle_errors(command))


def list_cmd(root: RootOption = None, json_out: JsonOption = False) -> None:
    """Every provider and its table versions (effective dates)."""
    from planner.prices.tablefiles import list_versions

    versions = list_versions(_root(root))
    if not versions:
        from planner.core.errors import PricingError

        raise PricingError(f"no price tables under {root}: expected <provider>/<YYYY-MM-DD>.yaml files")
    if json_out:
        print_json({p: [v.version.isoformat() for v in vs] for p, vs in versions.items()})
        return
    import sys

    from planner.cli.commands._common import piped_stdout, stdout_console
    from planner.render.layout import Col, Grid, print_grid, print_plain

    grid = Grid([Col("Provider", key=True), Col("Versions (in force from)"), Col("Newest file", drop=True)],
                see_also="--json or a pipe")
    for p, vs in versions.items():
        grid.add(p, ", ".join(v.version.isoformat() for v in vs), str(vs[-1].path))
    if not (piped_stdout() and print_plain(grid, sys.stdout)):
        print_grid(stdout_console(), grid)


def show_cmd(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", help="Provider id, e.g. openai, google.")],
    as_of: AsOfOption = None,
    root: RootOption = None,
    json_out: JsonOption = False,
) -> None:
    """The table for PROVIDER in force on --as-of: prices per 1M tokens, batch basis, limits."""
    from planner.prices.pricing import load_pricebook

    book = load_pricebook(parse_date(as_of), root=_root(root))
    table = _table(book, provider)
    if json_out:
        print_json(table.model_dump(mode="json", exclude_none=True))
        return
    _print_table(table)


def _print_table(table: PriceTable) -> None:
    """A table as `prices show` prints it: its batch terms, then a row per model."""
    from rich.text import Text

    from planner.cli.commands._common import stdout_console
    from planner.core.money import rate_display
    from planner.render.layout import Col, Grid, print_grid

    con = stdout_console()
    head = Text(table.name, style="bold")
    head.append(f" {table.label} (verified {table.verified})", style="")
    con.print(head)
    if table.batch.supported:
        con.print(_batch_terms(table.batch))
    else:
        con.print(Text(f"batch: not offered ({table.batch.reason})"))
    for mode, terms in table.modes.items():
        con.print(Text(_mode_terms(mode, terms)))
    grid = Grid(
        [
            Col("Model", key=True), Col("Input", "right"), Col("Cached", "right"), Col("Output", "right"),
            Col("Batch\nin", "right"), Col("Batch\nout", "right"), Col("Batch basis"), Col("Tiers", drop=True),
        ],
        see_also="--json, a pipe or a wider terminal",
    )
    for m in table.models:
        bp, basis = table.batch_prices(m)
        grid.add(
            m.id,
            rate_display(m.realtime.input),
            rate_display(m.realtime.cached_input),
            rate_display(m.realtime.output),
            rate_display(bp.input) if bp else "-",
            rate_display(bp.output) if bp else "-",
            basis,
            ", ".join(f">{x:,}" for x in m.realtime.thresholds()) or "-",
        )
    print_grid(con, grid)
    _print_modes(con, table)
    con.print(
        "Prices in USD per 1M tokens. 'default multiplier' = derived from the provider's default discount"
        + ("; (derived) = the vendor's stated discount or premium applied to standard." if table.modes else ".")
    )


def _mode_terms(mode: str, t: ModeTerms) -> str:
    """A provider's terms for one synchronous mode in one line: how to ask for it, which models, the
    price rule, whether requests may be refused, and the vendor's stated latency target."""
    if not t.supported:
        return f"{mode}: not offered ({t.reason})"
    parts = [f"{mode}: {t.label or mode}" + (f" ({t.request_field})" if t.request_field else "")]
    parts.append("listed models" if t.listed_only else "every model")
    if t.default_multiplier is not None:
        parts.append(f"x{t.default_multiplier} standard")
    if t.rate_limit_multiplier != 1:
        parts.append(f"x{t.rate_limit_multiplier} rate limits")
    if t.sheddable:
        parts.append(f"may refuse: {t.refusal or 'yes'}")
    if t.latency_p50_s is not None or t.latency_p90_s is not None:
        parts.append(f"target p50 {t.latency_p50_s or '?'} s, p90 {t.latency_p90_s or '?'} s")
    if t.output_speedup is not None:
        parts.append(f"up to x{t.output_speedup} output speed")
    return " | ".join(parts)


def short_basis(basis: str) -> str:
    """A mode price's basis in a table cell: 'explicit', or the derivation in a few characters
    ('derived: 50% off standard' -> '-50% (derived)'); --json keeps the words."""
    words = basis.removeprefix("derived: ")
    if words == basis:
        return basis
    pct, _, how = words.partition("% ")
    if how == "off standard":
        return f"-{pct}% (derived)"
    if how == "over standard":
        return f"+{pct}% (derived)"
    return "= standard (derived)" if words == "the standard price" else basis


def _print_modes(con: Any, table: PriceTable) -> None:
    """The models offering flex or priority, a row per model and mode: prices and their basis."""
    from planner.core.money import rate_display
    from planner.render.layout import Col, Grid, print_grid

    grid = Grid(
        [Col("Model", key=True), Col("Mode"), Col("Input", "right"), Col("Cached", "right"), Col("Output", "right"),
         Col("Basis")],
        title="Processing modes", see_also="--json, a pipe or a wider terminal",
    )
    for m in table.models:
        for mode in table.modes:
            ps, basis = table.mode_prices(m, mode)
            if ps is not None:
                grid.add(m.id, mode, rate_display(ps.input), rate_display(ps.cached_input), rate_display(ps.output),
                         short_basis(basis))
    if grid.rows:
        print_grid(con, grid)


def _batch_terms(b: ProviderBatch) -> str:
    """A provider's batch offer in one line: default discount, limits per batch, completion window."""
    lim = b.limits
    return (
        f"batch: default discount x{b.default_multiplier} | max {lim.max_requests or '?'} requests, "
        f"{(lim.max_bytes or 0) // 1_048_576 or '?'} MB per batch"
        + (f", {lim.max_embedding_inputs} embedding inputs" if lim.max_embedding_inputs else "")
        + " | window "
        f"{b.turnaround.completion_window_hours if b.turnaround else '?'} h"
    )


def diff_cmd(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", help="Provider id.")],
    a: Annotated[str, typer.Argument(metavar="A", help="Older version date (YYYY-MM-DD).")],
    b: Annotated[str, typer.Argument(metavar="B", help="Newer version date (YYYY-MM-DD).")],
    root: RootOption = None,
    json_out: JsonOption = False,
) -> None:
    """What changed for PROVIDER between the versions in force on dates A and B."""
    from planner.prices.pricing import load_pricebook
    from planner.prices.sync import diff_tables

    ta = _table(load_pricebook(parse_date(a, option="A"), root=_root(root)), provider)
    tb = _table(load_pricebook(parse_date(b, option="B"), root=_root(root)), provider)
    lines = diff_tables(ta, tb)
    if json_out:
        print_json({"provider": provider, "from": ta.label, "to": tb.label, "changes": lines})
        return
    print(f"{ta.label} -> {tb.label}")
    print("\n".join(lines) if lines else "no changes")


def validate_cmd(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Price table YAML files.")],
) -> None:
    """Check tables against the schema and the semantic rules; exit 2 on the first bad one."""
    from planner.prices.pricing import read_table

    for f in files:
        table = read_table(f, user=True, stream=True)  # the user named it: may be <(cmd)
        print(f"{f}: ok ({table.label}, {len(table.models)} models)")


def sync_cmd(
    provider: Annotated[
        str, typer.Argument(metavar="PROVIDER", help="Provider id (a base must exist in pricing/_base/).")
    ],
    on: Annotated[
        str | None,
        typer.Option("--date", metavar="DATE", help="Effective date of the new version (default: today)."),
    ] = None,
    verified: Annotated[
        str | None, typer.Option("--verified", metavar="DATE", help="Verification date (default: today).")
    ] = None,
    allow_older: Annotated[
        bool, typer.Option("--allow-older", help="Allow adding a version older than the newest one.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff, write nothing.")] = False,
    root: RootOption = None,
) -> None:
    """Write a new dated table from the installed genai-prices package, carrying our facts over."""
    from datetime import date

    from planner.prices.sync import build_table, diff_tables, load_base, previous_version, write_version

    version = parse_date(on, option="--date") or date.today()
    base = load_base(provider, root)
    previous = previous_version(provider, version, root)
    result = build_table(base, version, previous=previous, verified=parse_date(verified, option="--verified"))
    print(f"{result.table.label} (from {previous.label if previous else 'the base only'}):")
    for line in diff_tables(previous, result.table) or ["no changes"]:
        print(f"  {line}")
    for w in result.warnings:
        note(w, kind="warning")
    if dry_run:
        print("dry run: nothing written")
        return
    path = write_version(result.table, root, allow_older=allow_older)
    print(f"wrote {path}")


def _root(root: Path | None) -> Path | None:
    """`--root` as given, if it is a folder; else a one-line error (an empty listing would look like success)."""
    if root is not None and not root.is_dir():
        from planner.core.errors import UsageError

        raise UsageError(f"--root {root}: no such folder of price tables")
    return root


def _table(book: Any, provider: str) -> Any:
    from planner.core.errors import PricingError

    if provider in book.tables:
        return book.tables[provider]
    if provider in book.missing:
        raise PricingError(book.missing[provider])
    raise PricingError(f"unknown provider '{provider}'; known: {', '.join(sorted(book.tables))}")
