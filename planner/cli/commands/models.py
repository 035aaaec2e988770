"""`batchplan models`: the models the price tables know on a date, with prices, batch support and the
processing modes (standard, flex, priority, batch) each offers."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli.commands._common import AsOfOption, JsonOption, PricesOption, handle_errors, parse_date, print_json

if TYPE_CHECKING:
    from planner.prices.pricing import PriceBook


def model_json(table: Any, model: Any, as_of: Any) -> dict[str, Any]:
    """One model as documented in docs/prices.md: money as decimal strings, tiers included. The
    verdict fields come from planner.plan.eligibility, as they do for `check` and `estimate`."""
    from planner.cli.commands.prices import rates_json
    from planner.plan.eligibility import eligibility
    from planner.prices.pricing import ResolvedModel

    verdict = eligibility(ResolvedModel(table, model, model.id), as_of)
    return {
        "provider": table.provider,
        "model": model.id,
        "name": model.name,
        "aliases": model.aliases,
        "context_window": model.context_window,
        "max_output": model.max_output,
        "batch_supported": verdict.qualifies,
        "batch_basis": verdict.basis,
        "realtime": rates_json(model.realtime),
        "batch": rates_json(verdict.batch_prices),
        "retired": model.retired.isoformat() if model.retired else None,
        "fine_tuned": model.fine_tuned,
        "table_version": table.version.isoformat(),
        "qualifies": verdict.qualifies,
        "reasons": list(verdict.reasons),
        "modes": mode_offers(table, model, verdict),
    }


def mode_offers(table: Any, model: Any, verdict: Any) -> dict[str, dict[str, Any]]:
    """Every processing mode of one model, keyed standard/flex/priority/batch: whether it is offered on the
    date, its prices per 1M tokens and their basis (explicit, or derived from the vendor's stated discount
    or premium), or why not. Batch is the eligibility verdict's; flex and priority are the table's."""
    from planner.cli.commands.prices import rates_json
    from planner.prices.schema import MODES

    out: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        if mode == "batch":
            prices, basis, reasons = verdict.batch_prices, verdict.basis, list(verdict.reasons)
        else:
            prices, basis = table.mode_prices(model, mode)
            reasons = [] if prices is not None else [basis]
            if not verdict.runs:
                prices, reasons = None, list(verdict.blocking)
        entry: dict[str, Any] = {
            "offered": not reasons, "basis": basis if prices is not None else None, "reasons": reasons,
            "prices": rates_json(prices),
        }
        terms = table.modes.get(mode)  # the vendor's name of the mode, and whether it may refuse requests
        entry.update(label=terms.label if terms else None, sheddable=bool(terms and terms.sheddable))
        out[mode] = entry
    return out


def _verdict_label(row: dict[str, Any]) -> str:
    """The `batch` column: yes / yes* (default discount) / no / retired / unreleased (`check` says why)."""
    if row["qualifies"]:
        return "yes" if row["batch_basis"] == "explicit" else "yes*"
    first = row["reasons"][0] if row["reasons"] else ""
    if first.startswith("retired on"):
        return "retired"
    if first.startswith("not released"):
        return "unreleased"
    return "no"


@handle_errors
def models_command(
    provider: Annotated[
        str | None, typer.Option("--provider", metavar="PROVIDER", help="Only this provider (e.g. openai, google).")
    ] = None,
    batch_only: Annotated[bool, typer.Option("--batch-only", help="Only models that can run as a batch.")] = False,
    mode: Annotated[
        str | None,
        typer.Option("--mode", metavar="MODE",
                     help="Only models offering this processing mode (standard, flex, priority, batch), "
                          "with its prices."),
    ] = None,
    as_of: AsOfOption = None,
    prices: PricesOption = None,
    json_out: JsonOption = False,
) -> None:
    """List models with realtime and batch prices (USD per 1M tokens) from the tables in force on --as-of."""
    from planner.prices.pricing import load_pricebook

    _check_mode(mode)
    book = load_pricebook(parse_date(as_of), user_tables=prices or [])
    _check_provider(book, provider)
    rows = [
        model_json(t, m, book.as_of)
        for t in book.providers()
        if provider is None or t.provider == provider
        for m in t.models
    ]
    if batch_only:
        rows = [r for r in rows if r["qualifies"]]
    if mode is not None:
        rows = [r for r in rows if r["modes"][mode]["offered"]]
    if json_out:
        print_json({"as_of": book.as_of.isoformat(), "models": rows})
    elif mode is not None:
        _print_mode(rows, book.as_of, mode)
    else:
        _print_models(rows, book.as_of)


def _check_mode(mode: str | None) -> None:
    from planner.prices.schema import MODES

    if mode is not None and mode not in MODES:
        from planner.core.errors import UsageError

        raise UsageError(f"--mode {mode}: not a processing mode; use one of {', '.join(MODES)}")


def _check_provider(book: PriceBook, provider: str | None) -> None:
    """Refuse a date no table is in force on, or a provider no table names (listing the known ones)."""
    from planner.core.errors import PricingError

    if not book.tables and book.missing and provider is None:
        from planner.prices.tablefiles import list_versions

        earliest = min(v[0].version for v in list_versions().values())
        raise PricingError(f"no price table is in force on {book.as_of}: the earliest starts {earliest}")
    if provider is not None and provider not in book.tables:
        raise PricingError(
            book.missing.get(provider) or f"unknown provider '{provider}'; known: {', '.join(sorted(book.tables))}"
        )


def _print_models(rows: list[dict[str, Any]], as_of: date) -> None:
    """On a terminal, one table per provider (narrower); piped, one flat table with a provider column."""
    from planner.cli.commands._common import stdout_console
    from planner.core.money import rate_display
    from planner.render.layout import Col, Grid, print_grid

    con = stdout_console()
    cols = [
        Col("Model", key=True), Col("Input", "right"), Col("Output", "right"), Col("Batch\nin", "right"),
        Col("Batch\nout", "right"), Col("Batch"), Col("Context", "right", drop=True), Col("Modes", drop=True),
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["provider"] if con.is_terminal else "", []).append(r)
    for name, members in groups.items():
        grid = Grid(cols if name else [Col("Provider", key=True), *cols], title=name or None,
                    see_also="--json, a pipe or a wider terminal")
        for r in members:
            rt, bt = r["realtime"], r["batch"]
            cells = [
                r["model"], rate_display(rt["input"]), rate_display(rt["output"]),
                rate_display(bt["input"]) if bt else "-", rate_display(bt["output"]) if bt else "-", _verdict_label(r),
                f"{r['context_window']:,}" if r["context_window"] else "?",
                " ".join(m for m in ("flex", "priority") if r["modes"][m]["offered"]) or "-",
            ]
            grid.add(*([] if name else [r["provider"]]), *cells)
        print_grid(con, grid)
    con.print(
        f"{len(rows)} models, tables in force on {as_of}. Prices in USD per 1M tokens; "
        "yes* = batch price derived from the provider's default discount; Modes = the synchronous modes "
        "beside standard (`--mode flex` lists their prices); `batchplan check MODEL` gives every "
        "reason a model does not qualify."
    )


def _print_mode(rows: list[dict[str, Any]], as_of: date, mode: str) -> None:
    """`models --mode MODE`: the models offering MODE, its prices beside standard's, and their basis."""
    from planner.cli.commands._common import stdout_console
    from planner.cli.commands.prices import short_basis
    from planner.core.money import rate_display
    from planner.render.layout import Col, Grid, print_grid

    con = stdout_console()
    head = mode.capitalize()
    cols = [Col("Model", key=True), Col("Input", "right"), Col("Output", "right")]
    if mode != "standard":
        cols += [Col(f"{head}\nin", "right"), Col(f"{head}\nout", "right"), Col("Basis")]
    cols.append(Col(f"{head}\ncached", "right", drop=True))
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:  # as `models` does: a table per provider on a terminal, one flat table when piped
        groups.setdefault(r["provider"] if con.is_terminal else "", []).append(r)
    for name, members in groups.items():
        grid = Grid(cols if name else [Col("Provider", key=True), *cols], title=name or None,
                    see_also="--json, a pipe or a wider terminal")
        for r in members:
            rt, offer = r["realtime"], r["modes"][mode]
            mp = offer["prices"]
            cells = [r["model"], rate_display(rt["input"]), rate_display(rt["output"])]
            if mode != "standard":
                cells += [rate_display(mp["input"]), rate_display(mp["output"]), short_basis(offer["basis"])]
            grid.add(*([] if name else [r["provider"]]), *cells, rate_display(mp["cached_input"]))
        print_grid(con, grid)
    con.print(
        f"{len(rows)} models offer {mode}, tables in force on {as_of}. Prices in USD per 1M tokens; "
        "(derived) = the vendor's stated discount or premium applied to standard; "
        "`batchplan prices show PROVIDER` gives each mode's terms."
    )


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
