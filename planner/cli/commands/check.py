"""`batchplan check MODEL`: does it qualify for batch on a date, and every reason why not (exit 0/1)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli.commands._common import (
    ENDPOINT_HELP,
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
    from planner.prices.pricing import ResolvedModel


@handle_errors
def check_command(
    model: Annotated[
        str, typer.Argument(metavar="MODEL", help="Model id, alias, dated snapshot, ft: name or provider/model.")
    ],
    as_of: AsOfOption = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", metavar="ENDPOINT", help=f"Batch endpoint: {ENDPOINT_HELP}.")
    ] = None,
    prices: PricesOption = None,
    json_out: JsonOption = False,
) -> None:
    """Exit 0 when MODEL qualifies for its provider's batch API, 1 when it does not, 2 when unknown."""
    from planner.cli.commands.models import model_json
    from planner.core.errors import EXIT_CHECK_FAILED
    from planner.plan.eligibility import eligibility
    from planner.prices.pricing import load_pricebook

    endpoint = endpoint_url(endpoint)
    book = load_pricebook(parse_date(as_of), user_tables=prices or [])
    resolved = book.resolve(model, ft_base=True)
    verdict = eligibility(resolved, book.as_of, endpoints=[endpoint] if endpoint else ())
    reasons = list(verdict.reasons)
    info = model_json(resolved.table, resolved.model, book.as_of)
    info.update(qualifies=verdict.qualifies, reasons=reasons, batch_supported=verdict.qualifies)
    notes = _notes(resolved, verdict)
    stale = book.staleness([resolved])
    notes += [stale] if stale is not None else []
    if json_out:
        print_json(
            {
                "requested": model,
                "as_of": book.as_of.isoformat(),
                "qualifies": verdict.qualifies,
                "reasons": reasons,
                "notes": notes,
                "endpoint": endpoint,
                **{k: v for k, v in info.items() if k not in ("qualifies", "reasons")},
            }
        )
    else:
        _print_verdict(resolved, book.as_of, info, reasons, notes)
    if reasons:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _notes(resolved: ResolvedModel, verdict: Eligibility) -> list[str]:
    """What explains the verdict: the name's resolution, a fine-tune priced as its base, a derived batch
    price, and the table's own note on the model."""
    from planner.plan.eligibility import DEFAULT_MULTIPLIER, is_fine_tuned
    from planner.prices.lifecycles import lifecycle_note

    notes = []
    asked = resolved.requested.strip().lower().removeprefix(f"{resolved.table.provider}/")
    if resolved.notes:
        notes += list(resolved.notes)
    elif asked != resolved.model.id.lower():
        notes.append(f"'{resolved.requested}' resolves to {resolved.label}")
    if is_fine_tuned(resolved) and not resolved.model.fine_tuned:
        notes.append("fine-tuned name: priced and checked as its base model")
    if verdict.batch_offered and verdict.basis == DEFAULT_MULTIPLIER:
        notes.append(f"batch price derived from {resolved.table.name}'s default discount (none published)")
    if resolved.model.notes:
        notes.append(resolved.model.notes)
    lifecycle = lifecycle_note(resolved.table.provider, resolved.model)
    return [*notes, lifecycle] if lifecycle else notes


def _print_verdict(
    resolved: ResolvedModel, as_of: date, info: dict[str, Any], reasons: list[str], notes: list[str]
) -> None:
    head = f"{resolved.table.provider}/{resolved.model.id} ({resolved.table.label})"
    if reasons:
        print(f"{head}: does NOT qualify for batch on {as_of}")
        for r in reasons:
            print(f"  - {r}")
    else:
        bt = info["batch"]
        print(f"{head}: qualifies for batch on {as_of}")
        print(f"  batch ${bt['input']} in / ${bt['output']} out per 1M tokens ({info['batch_basis']})")
    for n in notes:  # they explain the verdict above, so they stay with it on stdout
        print(f"  note: {n}")


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
