"""`batchplan check MODEL…`: does each model qualify for batch on a date, and every reason why not; and
which processing modes (standard, flex, priority, batch) it can run in.

One model gives its verdict, prices, modes and notes (exit 0 qualifies, 1 does not, 2 unknown). Several (as
arguments, or one per line of `--from FILE`, `-` for stdin) give one table with a row each, and the
worst exit code of them; `--json` then prints a list of the one-model objects (docs/json.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli.commands._common import (
    ENDPOINT_HELP,
    AliasOption,
    AsOfOption,
    JsonOption,
    PricesOption,
    endpoint_url,
    handle_errors,
    parse_date,
    print_json,
)

if TYPE_CHECKING:
    from planner.plan.eligibility import Eligibility
    from planner.prices.pricing import PriceBook, ResolvedModel

#: The most ids one `check` reads from `--from` (a list pasted from consoles, not a dataset).
MAX_IDS = 10_000


@dataclass
class Checked:
    """One id's answer: its JSON object, or the error that made it unknown (exit 2)."""

    requested: str
    doc: dict[str, Any] | None = None
    error: str | None = None
    exit_code: int = 0


@handle_errors
def check_command(
    models: Annotated[
        list[str] | None,
        typer.Argument(metavar="MODEL", help="Model ids, aliases, dated snapshots, ft: names or provider/model."),
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option("--from", metavar="FILE",
                     help="Read model ids from FILE, one a line (# comments, blank lines skipped; - for stdin)."),
    ] = None,
    as_of: AsOfOption = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", metavar="ENDPOINT", help=f"Batch endpoint: {ENDPOINT_HELP}.")
    ] = None,
    prices: PricesOption = None,
    alias: AliasOption = None,
    json_out: JsonOption = False,
) -> None:
    """Does each MODEL qualify for its provider's batch API on a date (every reason why not), and which
    processing modes can it run in.

    Exit 0 when each qualifies, 1 when one does not (a retired model: "retired on DATE"), 2 when one is
    unknown. Several models (or --from FILE) give one table and, with --json, a list.
    """
    from planner.core.errors import UsageError
    from planner.prices.pricing import load_pricebook

    ids = [*(models or []), *(_read_ids(from_file) if from_file is not None else [])]
    if not ids:
        raise UsageError("name a MODEL to check (or several), or --from FILE with one id a line")
    url = endpoint_url(endpoint)
    book = load_pricebook(parse_date(as_of), user_tables=prices or [])
    if len(ids) == 1 and from_file is None:
        _check_one(book, ids[0], url, json_out)
        return
    answers = [_answer(book, name, url) for name in ids]
    if json_out:
        print_json([a.doc if a.doc is not None else _error_doc(a, book.as_of) for a in answers])
    else:
        _print_table(answers, book.as_of)
    worst = max(a.exit_code for a in answers)
    if worst:
        raise typer.Exit(worst)


def _read_ids(path: str) -> list[str]:
    """The ids of a `--from` file: one a line, `#` starts a comment, blank lines are skipped."""
    from planner.core.errors import InputError
    from planner.io.inputs import open_input

    out: list[str] = []
    with open_input(path, "list of model ids") as src:
        for line in src.text_lines():
            name = line.split("#", 1)[0].strip()
            if name:
                out.append(name)
            if len(out) > MAX_IDS:
                raise InputError(f"more than {MAX_IDS:,} model ids: is this a list of ids?", path=src.name,
                                 line=src.line)
    if not out:
        raise InputError("no model ids in it (one a line; # starts a comment)", path=path)
    return out


def _verdict(book: PriceBook, name: str, endpoint: str | None) -> tuple[ResolvedModel, Eligibility, dict[str, Any]]:
    """One name resolved and judged, as the JSON object of docs/json.md."""
    from planner.cli.commands.models import model_json
    from planner.plan.eligibility import eligibility

    resolved = book.resolve(name, ft_base=True)
    verdict = eligibility(resolved, book.as_of, endpoints=[endpoint] if endpoint else ())
    info = model_json(resolved.table, resolved.model, book.as_of)
    reasons = list(verdict.reasons)
    notes = _notes(resolved, verdict)
    stale = book.staleness([resolved])
    notes += [stale] if stale is not None else []
    modes = _modes_json(resolved, book.as_of, endpoint, verdict)
    doc = {
        "requested": name,
        "as_of": book.as_of.isoformat(),
        "qualifies": verdict.qualifies,
        "reasons": reasons,
        "notes": notes,
        "endpoint": endpoint,
        "api_id": resolved.api_id,
        **{k: v for k, v in info.items() if k not in ("qualifies", "reasons")},
        "batch_supported": verdict.qualifies,
        "modes": modes,
    }
    return resolved, verdict, doc


#: The fields of a mode's verdict `check --json` carries: those of `estimate --json`'s `modes` that need
#: no workload (docs/json.md), and its prices per 1M tokens.
MODE_FIELDS = {"mode", "offered", "qualifies", "reasons", "price_basis", "label", "request_field", "sheddable",
               "vendor_target"}


def _modes_json(resolved: ResolvedModel, as_of: date, endpoint: str | None, verdict: Eligibility
                ) -> dict[str, dict[str, Any]]:
    """Each processing mode's verdict for the model (planner.plan.modes, as `estimate` judges it without
    a workload), with the mode's prices when it is offered."""
    from planner.cli.commands.prices import rates_json
    from planner.plan.modes import mode_offers, mode_prices

    out: dict[str, dict[str, Any]] = {}
    for mode, offer in mode_offers(resolved, as_of, endpoints=[endpoint] if endpoint else ()).items():
        prices = verdict.batch_prices if mode == "batch" else mode_prices(resolved, mode)
        out[mode] = {**offer.model_dump(mode="json", include=MODE_FIELDS),
                     "prices": rates_json(prices) if offer.offered else None}
    return out


def _check_one(book: PriceBook, name: str, endpoint: str | None, json_out: bool) -> None:
    """One model: its verdict, batch prices and notes (an unknown name is an error: exit 2)."""
    from planner.core.errors import EXIT_CHECK_FAILED

    resolved, _, doc = _verdict(book, name, endpoint)
    if json_out:
        print_json(doc)
    else:
        _print_verdict(resolved, book.as_of, doc)
    if doc["reasons"]:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _answer(book: PriceBook, name: str, endpoint: str | None) -> Checked:
    """One row of several: an unknown name is that row's answer (exit 2), not the end of the table."""
    from planner.core.errors import EXIT_CHECK_FAILED, BatchplanError

    try:
        _, _, doc = _verdict(book, name, endpoint)
    except BatchplanError as exc:
        short = exc.message.replace(f" '{name}' on {book.as_of}", "")  # the row names both already
        return Checked(name, error=short, exit_code=exc.exit_code)
    return Checked(name, doc=doc, exit_code=EXIT_CHECK_FAILED if doc["reasons"] else 0)


def _error_doc(answer: Checked, as_of: date) -> dict[str, Any]:
    return {"requested": answer.requested, "as_of": as_of.isoformat(), "qualifies": None,
            "error": answer.error, "exit_code": answer.exit_code}


def _notes(resolved: ResolvedModel, verdict: Eligibility) -> list[str]:
    """What explains the verdict: the name's resolution, a fine-tune priced as its base, a derived batch
    price, and the table's own note on the model."""
    from planner.plan.eligibility import DEFAULT_MULTIPLIER, is_fine_tuned
    from planner.prices.lifecycles import lifecycle_note

    notes = []
    asked = resolved.requested.strip().lower().removeprefix(f"{resolved.table.provider}/")
    if resolved.notes:
        notes += list(resolved.notes)
    elif asked not in (resolved.model.id.lower(), resolved.api_id.lower()):
        row = f" (its table row: {resolved.label})" if resolved.shown != resolved.label else ""
        notes.append(f"'{resolved.requested}' resolves to {resolved.shown}{row}")
    if is_fine_tuned(resolved) and not resolved.model.fine_tuned:
        notes.append("fine-tuned name: priced and checked as its base model")
    if verdict.batch_offered and verdict.basis == DEFAULT_MULTIPLIER:
        notes.append(f"batch price derived from {resolved.table.name}'s default discount (none published)")
    if resolved.model.notes:
        notes.append(resolved.model.notes)
    lifecycle = lifecycle_note(resolved.table.provider, resolved.model)
    return [*notes, lifecycle] if lifecycle else notes


def batch_rates(doc: dict[str, Any]) -> str:
    """'$0.075 in / $0.30 out per 1M tokens': the batch prices in the one format of per-1M prices."""
    from planner.core.money import rate_usd

    bt = doc["batch"]
    return f"{rate_usd(bt['input'])} in / {rate_usd(bt['output'])} out per 1M tokens"


def _print_verdict(resolved: ResolvedModel, as_of: date, doc: dict[str, Any]) -> None:
    head = f"{resolved.shown} ({resolved.table.label})"
    if doc["reasons"]:
        print(f"{head}: does NOT qualify for batch on {as_of}")
        for r in doc["reasons"]:
            print(f"  - {r}")
    else:
        print(f"{head}: qualifies for batch on {as_of}")
        print(f"  batch {batch_rates(doc)} ({doc['batch_basis']})")
    modes = doc["modes"]
    if not any(m["qualifies"] for m in modes.values()) and all(m["reasons"] == doc["reasons"] for m in modes.values()):
        print("  modes: none (the reasons above hold for every mode)")  # a retired model: said once, above
    else:
        print("  modes (per 1M tokens, in / out):")
        width = max(len(m) for m in modes)
        for mode, m in modes.items():
            print(f"    {'✓' if m['qualifies'] else '✗'} {mode:<{width}}  {_mode_words(m)}")
    for n in doc["notes"]:  # they explain the verdict above, so they stay with it on stdout
        print(f"  note: {n}")


def _mode_words(m: dict[str, Any]) -> str:
    """'$0.25 / $1.00 (Priority processing, explicit)', or why the mode is not open to the model."""
    from planner.core.money import rate_usd

    if m["prices"] is None or not m["qualifies"]:
        return "; ".join(m["reasons"]) or "not offered"
    about = ", ".join(x for x in (m["label"], m["price_basis"], "may refuse requests at peak" if m["sheddable"]
                                  else None) if x)
    return f"{rate_usd(m['prices']['input'])} / {rate_usd(m['prices']['output'])} ({about})"


def _modes_cell(doc: dict[str, Any]) -> str:
    """The modes a model qualifies for, for a table cell: 'standard, priority, batch'."""
    return ", ".join(mode for mode, m in doc["modes"].items() if m["qualifies"]) or "none"


def _print_table(answers: list[Checked], as_of: date) -> None:
    """Several models: a row each (the id asked for, the model it is, the verdict, batch prices, why)."""
    from planner.cli.commands._common import stdout_console
    from planner.core.money import rate_display
    from planner.render.layout import Col, Grid, print_grid

    why = any(a.doc is None or a.doc["reasons"] for a in answers)
    grid = Grid(
        [Col("Asked", key=True), Col("Model"), Col("Batch"), Col("Batch in / out", "right"),
         Col("Modes", drop=True), *([Col("Why not")] if why else [])],
        see_also="--json or a wider terminal",
    )
    for a in answers:
        d = a.doc
        if d is None:
            grid.add(a.requested, "—", "? unknown", "—", "—", *([a.error or ""] if why else []))
            continue
        bt = d["batch"]
        word = ("✓ yes" if d["batch_basis"] == "explicit" else "✓ yes*") if d["qualifies"] else "✗ no"
        rates = f"${rate_display(bt['input'])} / ${rate_display(bt['output'])}" if bt else "—"
        grid.add(a.requested, f"{d['provider']}/{d['api_id']}", word, rates, _modes_cell(d),
                 *(["; ".join(d["reasons"])] if why else []))
    console = stdout_console()
    print_grid(console, grid)
    yes = sum(1 for a in answers if a.exit_code == 0)
    no = sum(1 for a in answers if a.doc is not None and a.exit_code != 0)
    unknown = len(answers) - yes - no
    console.print(
        f"{len(answers)} models on {as_of}: {yes} qualify, {no} do not, {unknown} unknown. Batch prices in USD "
        "per 1M tokens; yes* = derived from the provider's default discount; `batchplan check MODEL` gives one "
        "model's notes.",
        soft_wrap=not console.is_terminal,
    )


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
