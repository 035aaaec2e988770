"""The estimate as data (JSON, CSV) and the plain-text pieces every report form shares.

JSON is `Estimate.model_dump(mode="json")`: money as decimal strings (micro-dollars), dates ISO.
CSV is one row per model with the columns in `CSV_COLUMNS` (documented in docs/report.md); money is a
decimal string in USD, empty cells mean "not applicable / unknown". Column names and order are stable:
new columns are only ever appended.

`summary()`, `table()` and `assumptions()` hold the words of the HTML and Markdown reports, so the two
say the same things.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal

from planner.core.money import usd, usd_display
from planner.core.units import counted, duration
from planner.plan.estimate import Estimate, ModelEstimate
from planner.plan.recommend import cannot_run_text
from planner.plan.results import ModeEstimate
from planner.render.cells import (
    batch_cell,
    derived_batch_price,
    flex_assumption,
    mode_cost_cell,
    mode_judged_on,
    mode_lines,
    mode_time_cell,
    mode_verdict_cell,
    modes_asked,
    plan_saved_cell,
    plan_saving,
    realtime_cell,
    recommendation_of,
    saved_cell,
    savings_differ,
    shows_modes,
    verdict_word,
)

#: (column, meaning). Stable order; append only.
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("model", "model name as asked for"),
    ("provider", "provider of the price table"),
    ("resolved_model", "model id in the price table"),
    ("requests", "requests in the job (scaled from the sample when --rows/--sample)"),
    ("counted_requests", "requests actually counted"),
    ("input_tokens", "input tokens for the job"),
    ("input_tokens_ci95_low", "95% interval of input tokens, low"),
    ("input_tokens_ci95_high", "95% interval of input tokens, high"),
    ("output_tokens", "output tokens for the job, per the output assumption"),
    ("output_tokens_ci95_low", "95% interval of output tokens, low"),
    ("output_tokens_ci95_high", "95% interval of output tokens, high"),
    ("input_tokens_per_request", "mean input tokens per counted request"),
    ("output_tokens_per_request", "mean output tokens per counted request"),
    ("max_input_tokens", "largest input of a counted request"),
    ("realtime_cost_usd", "expected realtime cost, USD"),
    ("realtime_cost_low_usd", "realtime cost range, low (tokenizer band, cache hits)"),
    ("realtime_cost_high_usd", "realtime cost range, high"),
    ("realtime_cost_ci95_low_usd", "95% sampling interval of realtime cost, low"),
    ("realtime_cost_ci95_high_usd", "95% sampling interval of realtime cost, high"),
    ("batch_cost_usd", "expected batch cost, USD (empty: no batch price)"),
    ("batch_cost_low_usd", "batch cost range, low"),
    ("batch_cost_high_usd", "batch cost range, high"),
    ("batch_cost_ci95_low_usd", "95% sampling interval of batch cost, low"),
    ("batch_cost_ci95_high_usd", "95% sampling interval of batch cost, high"),
    ("savings_usd", "realtime minus batch, USD"),
    ("savings_pct", "savings as a percentage of realtime"),
    ("batch_eligible", "true when the job may run as a batch"),
    ("batch_price_basis", "explicit, default multiplier, or why there is no batch price"),
    ("reasons", "why not eligible; '; '-separated"),
    ("token_method", "exact or approximate"),
    ("token_band", "relative uncertainty of approximate token counts (0.1 = ±10%)"),
    ("price_table", "price table label, provider@version"),
    ("price_table_verified", "date the model's prices were last verified"),
    ("price_source", "URL of the published prices"),
    ("tier", "usage tier used for turnaround"),
    ("batch_p50_hours", "typical batch turnaround for the whole job, hours"),
    ("batch_p90_hours", "90th-percentile batch turnaround, hours"),
    ("batch_worst_hours", "worst case before expiry, hours (empty: unknown or never expires)"),
    ("realtime_hours", "realtime duration under the tier's limits, hours"),
    ("plan_choice", "batch / realtime / split / flex / priority / none / unknown (with --deadline or --budget)"),
    ("plan_cost_usd", "cost of the chosen plan, USD"),
    ("plan_hours", "duration of the chosen plan, hours"),
    ("plan_summary", "the plan in words"),
    ("verdict", "fits / over_budget / unknown / late / cannot_run (planner.plan.recommend)"),
    ("verdict_plan", "batch / realtime / split / flex / priority: the option the verdict is about (empty: cannot run)"),
    ("verdict_cost_usd", "cost of that option, USD"),
    ("verdict_hours", "its duration, hours (batch on p90)"),
    ("recommended", "true for the one model the recommendation picks (or names as the closest)"),
    ("verdict_text", "the verdict in words"),
    ("cannot_run", "why the model cannot run the job at all; '; '-separated (empty: it can)"),
    ("verdict_split_with", "standard / flex / priority: what a split sends beside its batch part (empty: no split)"),
    ("verdict_saving_usd", "what the verdict's option saves against all realtime, USD (empty: no saving)"),
    ("verdict_saving_pct", "that saving as a percentage of realtime"),
    *(
        (f"{mode}_{column}", meaning.format(mode=mode))
        for mode in ("flex", "priority")
        for column, meaning in (
            ("offered", "true when the model is sold in {mode} mode on the date (empty: --mode left it out)"),
            ("qualifies", "true when the job may run in {mode} mode"),
            ("cost_usd", "expected cost of the job in {mode} mode, USD (flex: refused requests re-sent at standard)"),
            ("cost_low_usd", "{mode} cost range, low (flex: nothing refused)"),
            ("cost_high_usd", "{mode} cost range, high"),
            ("hours", "the hours {mode} mode is judged on (flex: refused requests sent again)"),
            ("hours_basis", "what those hours rest on"),
            ("vendor_target", "true when those hours rest on the vendor's stated target, not a promise"),
            ("price_basis", "explicit, derived (the vendor's stated discount or premium), or why there is no price"),
            ("reasons", "why the job cannot run in {mode} mode; '; '-separated"),
        )
    ),
)


def _money(value: Decimal | None) -> str:
    return "" if value is None else usd(value)


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def csv_row(result: Estimate, e: ModelEstimate) -> dict[str, str]:
    """One model's row, its cells in CSV_COLUMNS order (each group of columns built by one helper)."""
    row = {"model": e.model, "provider": e.provider, "resolved_model": e.resolved_model}
    row |= _token_cells(result, e)
    row |= _cost_cells(e)
    row |= _price_cells(e)
    row |= _time_cells(e)
    row |= _verdict_cells(result, e)
    row |= _plan_saving_cells(result, e)
    row |= _mode_cells(e, "flex") | _mode_cells(e, "priority")
    assert list(row) == [c for c, _ in CSV_COLUMNS]
    return row


def _token_cells(result: Estimate, e: ModelEstimate) -> dict[str, str]:
    return {
        "requests": str(e.requests),
        "counted_requests": str(result.dataset.counted_requests),
        "input_tokens": str(e.input_tokens),
        "input_tokens_ci95_low": str(e.input_tokens_ci95[0]),
        "input_tokens_ci95_high": str(e.input_tokens_ci95[1]),
        "output_tokens": str(e.output_tokens),
        "output_tokens_ci95_low": str(e.output_tokens_ci95[0]),
        "output_tokens_ci95_high": str(e.output_tokens_ci95[1]),
        "input_tokens_per_request": _num(e.input_tokens_per_request),
        "output_tokens_per_request": _num(e.output_tokens_per_request),
        "max_input_tokens": str(e.max_input_tokens),
    }


def _cost_cells(e: ModelEstimate) -> dict[str, str]:
    return {
        "realtime_cost_usd": _money(e.realtime_cost_usd),
        "realtime_cost_low_usd": _money(e.realtime_cost_range.low),
        "realtime_cost_high_usd": _money(e.realtime_cost_range.high),
        "realtime_cost_ci95_low_usd": _money(e.realtime_cost_ci95[0]),
        "realtime_cost_ci95_high_usd": _money(e.realtime_cost_ci95[1]),
        "batch_cost_usd": _money(e.batch_cost_usd),
        "batch_cost_low_usd": _money(e.batch_cost_range.low if e.batch_cost_range else None),
        "batch_cost_high_usd": _money(e.batch_cost_range.high if e.batch_cost_range else None),
        "batch_cost_ci95_low_usd": _money(e.batch_cost_ci95[0] if e.batch_cost_ci95 else None),
        "batch_cost_ci95_high_usd": _money(e.batch_cost_ci95[1] if e.batch_cost_ci95 else None),
        "savings_usd": _money(e.savings_usd),
        "savings_pct": _num(e.savings_pct),
    }


def _price_cells(e: ModelEstimate) -> dict[str, str]:
    return {
        "batch_eligible": "true" if e.batch_eligible else "false",
        "batch_price_basis": e.batch_price_basis,
        "reasons": "; ".join(e.reasons),
        "token_method": e.token_method,
        "token_band": str(e.token_band),
        "price_table": e.price_table,
        "price_table_verified": e.price_table_verified.isoformat(),
        "price_source": e.price_source,
    }


def _time_cells(e: ModelEstimate) -> dict[str, str]:
    """Turnaround and the --deadline/--budget plan; empty cells when the estimate has none."""
    t = e.turnaround
    b = t.batch if t is not None and t.batch.supported else None
    p = e.plan
    return {
        "tier": (t.tier or "") if t is not None else "",
        "batch_p50_hours": _num(b.p50_hours) if b is not None else "",
        "batch_p90_hours": _num(b.p90_hours) if b is not None else "",
        "batch_worst_hours": _num(b.worst_hours) if b is not None else "",
        "realtime_hours": _num(t.realtime.hours) if t is not None else "",
        "plan_choice": p.choice if p is not None else "",
        "plan_cost_usd": _money(p.cost_usd) if p is not None else "",
        "plan_hours": _num(p.hours) if p is not None else "",
        "plan_summary": p.summary if p is not None else "",
    }


def _verdict_cells(result: Estimate, e: ModelEstimate) -> dict[str, str]:
    """This model's verdict in the recommendation (planner.plan.recommend)."""
    rec = recommendation_of(result)
    v = next((v for v, x in zip(rec.verdicts, result.estimates, strict=True) if x is e), None)
    c = v.choice if v is not None else None
    return {
        "verdict": v.status if v is not None else "",
        "verdict_plan": c.plan if c is not None else "",
        "verdict_cost_usd": _money(c.cost_usd) if c is not None else "",
        "verdict_hours": _num(c.hours) if c is not None else "",
        "recommended": "true" if v is not None and rec.model == v.model and rec.name == v.name else "false",
        "verdict_text": v.text if v is not None else "",
        "cannot_run": "; ".join(e.cannot_run),
    }


def _plan_saving_cells(result: Estimate, e: ModelEstimate) -> dict[str, str]:
    rec = recommendation_of(result)
    v = next((v for v, x in zip(rec.verdicts, result.estimates, strict=True) if x is e), None)
    c = v.choice if v is not None else None
    saving = plan_saving(e, v) if v is not None else None
    return {
        "verdict_split_with": (c.split_with or "standard") if c is not None and c.plan == "split" else "",
        "verdict_saving_usd": _money(saving[0]) if saving else "",
        "verdict_saving_pct": _num(round(saving[1], 2)) if saving else "",
    }


def _mode_cells(e: ModelEstimate, mode: str) -> dict[str, str]:
    """One mode's columns: empty when the mode was not asked about (`--mode`)."""
    m: ModeEstimate | None = e.modes.get(mode)
    if m is None:
        return {f"{mode}_{c}": "" for c in ("offered", "qualifies", "cost_usd", "cost_low_usd", "cost_high_usd",
                                              "hours", "hours_basis", "vendor_target", "price_basis", "reasons")}
    r = m.cost_range
    return {
        f"{mode}_offered": "true" if m.offered else "false",
        f"{mode}_qualifies": "true" if m.qualifies else "false",
        f"{mode}_cost_usd": _money(m.cost_usd),
        f"{mode}_cost_low_usd": _money(r.low if r else None),
        f"{mode}_cost_high_usd": _money(r.high if r else None),
        f"{mode}_hours": _num(m.hours),
        f"{mode}_hours_basis": m.hours_basis,
        f"{mode}_vendor_target": "true" if m.vendor_target else "false",
        f"{mode}_price_basis": m.price_basis,
        f"{mode}_reasons": "; ".join(m.reasons),
    }


def to_csv(result: Estimate) -> str:
    """One row per model, a header of `CSV_COLUMNS`, RFC 4180 quoting, CRLF line ends."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[c for c, _ in CSV_COLUMNS], lineterminator="\r\n")
    writer.writeheader()
    for e in result.estimates:
        writer.writerow(csv_row(result, e))
    return buf.getvalue()


def to_json(result: Estimate) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


# --- words shared by the HTML and Markdown reports ------------------------------------------------


def model_name(e: ModelEstimate) -> str:
    name = f"{e.provider}/{e.api_id or e.resolved_model}"  # the id the vendor's API takes (docs/names.md)
    return name if e.model in (e.resolved_model, e.api_id, name) else f"{e.model} → {name}"


def hours(h: float | None) -> str:
    return duration(h)


@dataclass
class Summary:
    """The answer, as the reports print it: the recommendation's headline, then each model's verdict."""

    headline: str
    status: str
    limits: str
    verdicts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def details(self) -> list[str]:
        """One line per model, in the order asked: its verdict."""
        return [text for _, text in self.verdicts]


def summary(result: Estimate) -> Summary:
    """The recommendation (planner.plan.recommend) in words; the same sentences as the terminal's."""
    rec = recommendation_of(result)
    limits = []
    plan = next((e.plan for e in result.estimates if e.plan is not None), None)
    if rec.deadline_hours is not None:
        when = f" (by {plan.deadline.isoformat(timespec='minutes')})" if plan and plan.deadline else ""
        limits.append(f"deadline {duration(rec.deadline_hours)}{when}")
    if rec.budget_usd is not None:
        limits.append(f"budget {usd_display(rec.budget_usd)}")
    text = ("Planned against " + " and ".join(limits) + "; batch judged on its p90 time.") if limits else (
        "No --deadline or --budget given: the cheapest way to run the job.")
    return Summary(rec.headline, rec.status, text, [(v.status, v.text) for v in rec.verdicts])


TABLE_HEADERS = (
    "Model",
    "Verdict",
    "Realtime",
    "Batch",
    "Savings",
    "Batch p50 / p90",
    "Realtime time",
    "Input tokens",
    "Output tokens",
)
#: The savings columns when some model's plan is not all batch: each plan's, and all batch's, labelled.
APART = ("Plan saves", "All batch saves")


def table_headers(result: Estimate) -> tuple[str, ...]:
    """TABLE_HEADERS, with 'Savings' split in two when a plan saves other than all batch would."""
    if not savings_differ(result, recommendation_of(result)):
        return TABLE_HEADERS
    k = TABLE_HEADERS.index("Savings")
    return (*TABLE_HEADERS[:k], *APART, *TABLE_HEADERS[k + 1:])


def table(result: Estimate) -> list[list[str]]:
    """The estimate table, as text cells in the order of `table_headers` (the terminal's cells). The job's
    request count is the same for every model and is stated above the table."""
    rec = recommendation_of(result)
    apart = savings_differ(result, rec)
    rows = []
    for e, v in zip(result.estimates, rec.verdicts, strict=True):
        t = e.turnaround
        b_time = rt_time = "—"
        if t is not None and not e.cannot_run:
            if t.batch.supported:
                b_time = f"{duration(t.batch.p50_hours)} / {duration(t.batch.p90_hours)}"
            rt_time = duration(t.realtime.hours)
        rows.append(
            [
                model_name(e),
                verdict_word(v),
                realtime_cell(e),
                batch_cell(e),
                *([plan_saved_cell(e, v)] if apart else []),
                saved_cell(e),
                b_time,
                rt_time,
                counted(e.input_tokens, e.input_tokens_ci95),
                counted(e.output_tokens, e.output_tokens_ci95),
            ]
        )
    return rows


MODE_HEADERS = ("Model", "Mode", "Cost", "Time", "Verdict", "Time judged on")


def modes_table(result: Estimate) -> list[list[str]]:
    """One row per model and mode asked about, in the order of MODE_HEADERS (the terminal's cells; the
    model's name on every row, since a report's reader may sort or scan a row alone)."""
    rec = recommendation_of(result)
    rows = []
    for e in result.estimates:
        for name in modes_asked(result):
            m = e.modes.get(name)
            if m is not None:
                rows.append([model_name(e), name, mode_cost_cell(m), mode_time_cell(m),
                             mode_verdict_cell(m, rec.deadline_hours, rec.budget_usd), mode_judged_on(m)])
    return rows


def assumptions(result: Estimate) -> list[tuple[str, list[str]]]:
    """Every assumption behind the numbers, grouped under a heading, in plain text (URLs as text)."""
    groups = [
        ("Sample and interval", _sample_lines(result)),
        ("Prices", _price_lines(result)),
        ("Token counting", _token_lines(result)),
        ("Output tokens", [f"{result.output_assumption.description}."]),
        ("Prompt cache", [f"{model_name(e)}: {e.cache.description}." for e in result.estimates if e.cache is not None]),
        ("Tier and turnaround", [line for e in result.estimates for line in _timing_lines(e)]),
        ("Processing modes", _mode_lines(result) if shows_modes(result) else []),
        ("Batch eligibility", _eligibility_lines(result) or ["Every model asked about qualifies for batch."]),
        ("Notes", list(result.notes)),
    ]
    return [(title, lines) for title, lines in groups if lines]


def _sample_lines(result: Estimate) -> list[str]:
    ds = result.dataset
    sample = [
        f"Dataset {ds.path} ({ds.format}): {ds.counted_requests:,} requests counted, job of {ds.requests:,}.",
        f"Scaling and interval: {result.scaling}.",
    ]
    if ds.skipped.count:
        sample.append(
            f"{ds.skipped.count:,} malformed line(s) skipped (first: "
            f"{', '.join(str(n) for n in ds.skipped.first_lines)}): {ds.skipped.first_reasons[0]}"
        )
    return sample


def _price_lines(result: Estimate) -> list[str]:
    prices = [f"Price tables in force on {result.as_of.isoformat()}; all amounts in USD."]
    prices += [
        f"{model_name(e)}: table {e.price_table}, prices verified {e.price_table_verified.isoformat()}, "
        f"source {e.price_source}; batch price basis: {e.batch_price_basis}."
        for e in result.estimates
    ]
    if derived_batch_price(result):
        prices.append("* batch price derived from the provider's default batch discount (no explicit batch price).")
    return prices


def _token_lines(result: Estimate) -> list[str]:
    return [
        f"{model_name(e)}: tokens {e.token_method_label}; realtime cost range "
        f"{usd_display(e.realtime_cost_range.low)} – {usd_display(e.realtime_cost_range.expected)} – "
        f"{usd_display(e.realtime_cost_range.high)} (low – expected – high)."
        for e in result.estimates
    ]


def _timing_lines(e: ModelEstimate) -> list[str]:
    """The model's tier, where its batch figures come from, its turnaround notes and its plan's limits."""
    t = e.turnaround
    if t is None:
        return []
    tier = t.tier or "none (no tier given and no default in the table)"
    src = ""
    if t.batch.supported:
        src = "; batch figures " + (
            "observed in your history" if t.batch.observed else (t.batch.figures_source or "unknown")
        )
    timing = [f"{model_name(e)}: tier {tier}{src}; realtime bound by {t.realtime.bound_by}."]
    timing.extend(f"{model_name(e)}: {n}" for n in (*t.notes, *t.batch.notes, *t.realtime.notes) if n)
    p = e.plan
    if p is None:
        return timing
    limits = []
    if p.deadline_hours is not None:
        when = f" ({p.deadline.isoformat(timespec='minutes')})" if p.deadline is not None else ""
        limits.append(f"deadline {hours(p.deadline_hours)}{when}")
    if p.budget_usd is not None:
        limits.append(f"budget {usd_display(p.budget_usd)}")
    if limits:
        timing.append(f"{model_name(e)}: plan against {', '.join(limits)}.")
    return timing


def _mode_lines(result: Estimate) -> list[str]:
    """The flex assumption, then each flex and priority mode's basis, reasons and notes."""
    flex = flex_assumption(result)
    lines = [flex] if flex else []
    lines.append("Times marked † rest on the vendor's target (a batch window, a flex latency), not a promise.")
    for e in result.estimates:
        lines.extend(mode_lines(e, model_name(e)))
    return lines


def _eligibility_lines(result: Estimate) -> list[str]:
    lines = [f"{model_name(e)}: {cannot_run_text([r])}" for e in result.estimates for r in e.cannot_run]
    return lines + [
        f"{model_name(e)} does not qualify for batch: {r}"
        for e in result.estimates for r in e.reasons if r not in e.cannot_run
    ]
