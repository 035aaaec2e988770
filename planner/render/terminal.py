"""The human view of an estimate: the answer first, then the table, then short assumptions with sources.

Order: what to do (the recommendation's headline and one verdict line per model: what to do, what it
costs, by when), the cost table, savings bars (each model's plan's saving; the all-batch one apart and
labelled when they differ), turnaround, the processing modes (when some model offers flex or priority, or
`--mode` asked), then the assumptions in a few lines with the sources as numbered footnotes
(`verbose=True` gives every assumption in full). Warnings and notes are not printed here:
`estimate_notes()` returns them for the command to put on stderr.

Tables go through planner.render.layout, so no model id, amount or verdict is ever cut: at narrow
widths columns are stacked into further tables, and piped output is plain full-width rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal

from rich.console import Console
from rich.text import Text

from planner.core.money import usd_display
from planner.core.units import counted, duration
from planner.plan.estimate import Estimate, ModelEstimate, assumed_images_note
from planner.plan.recommend import Recommendation
from planner.prices.pricing import EARLIEST_NOTE, stale_prices_note
from planner.render.cells import (
    MARK,
    TARGET,
    batch_cell,
    derived_batch_price,
    flex_assumption,
    mode_cost_cell,
    mode_judged_on,
    mode_lines,
    mode_time_cell,
    mode_verdict_cell,
    modes_asked,
    name_of,
    plan_saved_cell,
    plan_saving,
    plan_words,
    realtime_cell,
    recommendation_of,
    saved_cell,
    savings_differ,
    shows_modes,
    verdict_word,
)
from planner.render.layout import Col, Grid, print_grid, print_marked

_URL = re.compile(r"https?://[^\s\"'<>]+")


def _styled(word: str, status: str) -> Text:
    return Text(word, style=MARK[status][1])


def estimate_grid(result: Estimate, rec: Recommendation) -> Grid:
    """The cost table. 'Saved' is what each model's own plan saves against realtime; when some plan is not
    all batch (a split, flex), the all-batch saving gets a column of its own, labelled so."""
    apart = savings_differ(result, rec)
    saved = [Col("Plan saves", "right"), Col("All batch saves", "right")] if apart else [Col("Saved", "right")]
    grid = Grid(
        [
            Col("Model", key=True),
            Col("Verdict"),
            Col("Realtime", "right"),
            Col("Batch", "right"),
            *saved,
            Col("Input tokens", "right"),
            Col("Output tokens", "right"),
        ],
    )
    for e, v in zip(result.estimates, rec.verdicts, strict=True):
        savings = [plan_saved_cell(e, v), saved_cell(e)] if apart else [saved_cell(e)]
        grid.add(
            name_of(e), _styled(verdict_word(v), v.status), realtime_cell(e), batch_cell(e), *savings,
            counted(e.input_tokens, e.input_tokens_ci95),
            counted(e.output_tokens, e.output_tokens_ci95),
        )
    return grid


def modes_grid(result: Estimate, rec: Recommendation) -> Grid:
    """Every processing mode asked about, one row per model and mode: its cost with the band, the hours it
    is judged on (marked when they are a vendor's target) and whether it can take the job."""
    grid = Grid(
        [
            Col("Model", key=True),
            Col("Mode", key=True),  # a stacked part names the mode of each of its rows
            Col("Cost", "right"),
            Col("Time", "right"),
            Col("Verdict"),
            Col("Time judged on", drop=True),
        ],
        title="Processing modes",
        see_also="--verbose, --json or a wider terminal",
    )
    asked = modes_asked(result)
    for e in result.estimates:
        first = True
        for name in asked:
            m = e.modes.get(name)
            if m is None:
                continue
            verdict = mode_verdict_cell(m, rec.deadline_hours, rec.budget_usd)
            status = {"✓": "fits", "✗": "late", "?": "unknown"}.get(verdict[:1])
            grid.add(name_of(e) if first else "", name, mode_cost_cell(m), mode_time_cell(m),
                     _styled(verdict, status) if status else verdict, mode_judged_on(m))
            first = False
    return grid


def modes_footnote(result: Estimate) -> str:
    """What the marks in the modes table mean (only the marks it shows)."""
    rows = [m for e in result.estimates for m in e.modes.values()]
    words = []
    if any(mode_time_cell(m).endswith(TARGET) for m in rows):
        words.append(f"{TARGET} the vendor's target (batch window, flex latency), not a promise")
    if any(mode_cost_cell(m).endswith(" *") for m in rows):
        words.append("* price derived from a stated or default discount or premium")
    if any(m.sheddable and m.offered for m in rows):
        words.append("flex cost and time include refused requests re-sent at standard")
    return "; ".join(words) + "." if words else ""


def turnaround_grid(result: Estimate) -> Grid:
    """Batch turnaround (files, waves, p50/p90/worst) next to the same job sent realtime."""
    grid = Grid(
        [
            Col("Model", key=True),
            Col("Batch p50", "right"),
            Col("p90", "right"),
            Col("Worst", "right"),
            Col("Realtime", "right"),
            Col("Files", "right"),
            Col("Waves", "right"),
            Col("Tier", drop=True),
            Col("Realtime bound by", drop=True),
        ],
        title="Turnaround",
        see_also="--json or a wider terminal",
    )
    for e in result.estimates:
        t = e.turnaround
        if t is None:
            continue
        b, rt = t.batch, t.realtime
        bound = rt.bound_by if rt.hours is not None else "limits unknown"
        if e.cannot_run:
            grid.add(name_of(e), "cannot run", "—", "—", "—", "—", "—", t.tier or "—", "—")
            continue
        if not b.supported:
            grid.add(name_of(e), "no batch", "—", "—", duration(rt.hours), "—", "—", t.tier or "—", bound)
            continue
        worst = "never expires" if b.never_expires else duration(b.worst_hours)
        grid.add(
            name_of(e), duration(b.p50_hours), duration(b.p90_hours), worst, duration(rt.hours),
            f"{b.files:,}" if b.files is not None else "?", f"{b.waves:,}" if b.waves is not None else "?",
            t.tier or "—", bound,
        )
    return grid


def savings_chart(result: Estimate, width: int = 30, rec: Recommendation | None = None,
                  line_width: int | None = None) -> list[Text]:
    """A bar per model that can run as a batch: its saving in dollars, scaled to the largest. When some
    model's plan is not all batch, the bars are each plan's saving, the all-batch one written beside it
    (bars shortened so that a line fits `line_width`)."""
    rec = rec or recommendation_of(result)
    if savings_differ(result, rec):
        return _plan_savings_chart(result, rec, width, line_width)
    rows = [e for e in result.estimates if e.savings_usd is not None and e.batch_eligible and not e.cannot_run]
    if not rows:
        return []
    top = max((e.savings_usd for e in rows if e.savings_usd is not None and e.savings_usd > 0), default=0)
    names = [name_of(e) for e in rows]
    pad = max(len(n) for n in names)
    lines = [Text("Savings with batch", style="bold")]
    for e, name in zip(rows, names, strict=True):
        assert e.savings_usd is not None
        line = Text(f"  {name:<{pad}} ")
        n = round(width * float(e.savings_usd / top)) if top and e.savings_usd > 0 else 0
        line.append("█" * n or "▏", style="green")
        line.append(f" {usd_display(e.savings_usd)} ({e.savings_pct or 0:.0f}%)")
        lines.append(line)
    return lines


def _plan_savings_chart(result: Estimate, rec: Recommendation, width: int, line_width: int | None) -> list[Text]:
    """Each model's plan saving against realtime, bars to scale; under it, when it differs, the all-batch
    saving, labelled."""
    rows = [(e, v, plan_saving(e, v)) for e, v in zip(result.estimates, rec.verdicts, strict=True)
            if not e.cannot_run]
    top = max((s[0] for _, _, s in rows if s is not None), default=Decimal(0))
    pad = max((len(name_of(e)) for e, _, _ in rows), default=0)
    words = {id(e): f" {plan_saved_cell(e, v) if s else 'no saving'}, {plan_words(v)}" for e, v, s in rows}
    if line_width is not None:
        width = max(4, min(width, line_width - 3 - pad - max((len(w) for w in words.values()), default=0)))
    lines = [Text("Savings of each model's plan, against all realtime", style="bold")]
    for e, v, s in rows:
        line = Text(f"  {name_of(e):<{pad}} ")
        n = round(width * float(s[0] / top)) if s is not None and top > 0 else 0
        line.append("█" * n or "▏", style="green")
        line.append(words[id(e)])
        lines.append(line)
        if saved_cell(e) not in ("—", plan_saved_cell(e, v)):
            lines.append(Text(f"  {'':<{pad}} all batch instead: {saved_cell(e)}", style="dim"))
    return lines


class Footnotes:
    """Sources as numbered footnotes: each URL gets a number the first time it is cited."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def cite(self, text: str | None) -> str:
        """'[1][2]' for the URLs in `text` ('' for none)."""
        refs = []
        for raw in _URL.findall(text or ""):
            url = raw.rstrip(").,;:")
            if url not in self.urls:
                self.urls.append(url)
            refs.append(f"[{self.urls.index(url) + 1}]")
        return "".join(dict.fromkeys(refs))


def _names(es: Iterable[ModelEstimate]) -> str:
    return ", ".join(name_of(e) for e in es)


def assumptions(result: Estimate, notes: Footnotes, *, verbose: bool = False) -> list[str]:
    """The assumptions behind the numbers in a few lines, sources cited as footnotes (cited in the order
    the lines are written, which numbers them)."""
    es = result.estimates
    lines = [f"Job: {result.scaling}.", f"Output tokens: {result.output_assumption.description}.", _tokens_line(es)]
    # images change a count by thousands of tokens: what was assumed of them is never hidden
    image_notes = [n for e in es if (n := assumed_images_note(e)) is not None]
    lines.extend(f"Images: {n}." for n in image_notes)
    renamed = [f"{e.model} → {name_of(e)}" for e in es if e.model not in (e.resolved_model, e.api_id, name_of(e))]
    if renamed:
        lines.append(f"Names: {'; '.join(renamed)}.")
    lines.append(_prices_line(result, notes))
    lines.extend(f"Prompt cache, {name_of(e)}: {e.cache.description}." for e in es if e.cache is not None)
    timed = [e for e in es if e.turnaround is not None]
    if timed:
        lines.append(_batch_times_line(timed, notes))
    flex = flex_assumption(result) if shows_modes(result) else None
    if flex:
        lines.append(flex)
    lines.append(
        "Batch windows are vendor targets, not guarantees: under peak load a batch can take the whole "
        "window, and requests unfinished at expiry are cancelled. Batch gives no streaming or interactive latency."
    )
    if verbose:
        lines += _in_full(result, notes, image_notes)
    return lines


def _tokens_line(es: list[ModelEstimate]) -> str:
    """How each model's tokens were counted: exact, calibrated or approximate (with its band)."""
    exact = [e for e in es if e.token_method == "exact"]
    approx = [e for e in es if e.token_method != "exact"]
    tokens = []
    if exact:
        tokens.append(f"exact for {_names(exact)}")
    for method in ("calibrated", "approximate"):  # calibrated: exact counts of a sample scale the rest
        these = [e for e in approx if e.token_method == method]
        if these:
            tokens.append(f"{method} for " + ", ".join(
                f"{name_of(e)} (±{math.ceil(e.token_band * 1000) / 10:g}%)" if e.token_band < Decimal("0.05")
                else f"{name_of(e)} (±{math.ceil(e.token_band * 100)}%)" for e in these))
    line = f"Tokens: {'; '.join(tokens)}."
    if approx:
        line += " Costs marked ≈ carry the band of the count (and of any cache assumption)."
    return line


def _prices_line(result: Estimate, notes: Footnotes) -> str:
    tables: dict[str, list[str]] = {}
    for e in result.estimates:
        tables.setdefault(e.price_table, [])
        ref = notes.cite(e.price_source)
        if ref not in tables[e.price_table]:
            tables[e.price_table].append(ref)
    verified = sorted({e.price_table_verified.isoformat() for e in result.estimates})
    line = (f"Prices (USD, tables in force on {result.as_of}): "
            + ", ".join(f"{t} {''.join(refs)}" for t, refs in tables.items())
            + f"; verified {', '.join(verified)}.")
    if derived_batch_price(result):
        line += " * batch price derived from the provider's default batch discount (none published)."
    return line


def _batch_times_line(timed: list[ModelEstimate], notes: Footnotes) -> str:
    """Where the batch and realtime times come from: published figures (cited) or the user's history."""
    cited = [
        notes.cite(e.turnaround.batch.figures_source) for e in timed
        if e.turnaround is not None and e.turnaround.batch.supported and not e.turnaround.batch.observed
    ]
    refs = "".join(dict.fromkeys(re.findall(r"\[\d+\]", "".join(cited))))
    observed = [e for e in timed if e.turnaround is not None and e.turnaround.batch.observed]
    src = f"published figures {refs}" if refs else "no published figures"
    if observed:
        src += f"; observed in your history for {_names(observed)}"
    tiers = sorted({f"{e.provider} {e.turnaround.tier}" for e in timed if e.turnaround and e.turnaround.tier})
    return (f"Batch times: waves × per-batch p50/p90 ({src}); plans judge batch on p90. Realtime time: "
            f"from the tier's rate limits ({', '.join(tiers) or 'no tier known'}).")


def _in_full(result: Estimate, notes: Footnotes, image_notes: list[str]) -> list[str]:
    """`verbose`: every model's assumptions in full, then the estimate's notes not already shown."""
    lines = []
    for e in result.estimates:
        name = name_of(e)
        lines.append(
            f"{name}: tokens {e.token_method_label}; prices {e.price_table}, verified "
            f"{e.price_table_verified} {notes.cite(e.price_source)}; batch price basis: {e.batch_price_basis}."
        )
        t = e.turnaround
        if t is not None and t.batch.supported:
            src = "observed in your history" if t.batch.observed else (t.batch.figures_source or "no source")
            lines.append(f"{name}: batch turnaround figures: {src}")
        lines.extend(f"{name}: not eligible for batch: {r}" for r in e.reasons)
        lines.extend(mode_lines(e, name))
    lines.extend(n for n in result.notes if n not in image_notes)  # those are shown above already
    return lines


def _stale_prices(result: Estimate) -> list[tuple[str, str]]:
    """The one note naming `prices update`, for the oldest prices the estimate used, if they are stale."""
    oldest = min(result.estimates, key=lambda e: e.price_table_verified, default=None)
    stale = oldest and stale_prices_note(oldest.price_table, oldest.price_table_verified, result.as_of)
    return [("note", stale)] if stale else []


def estimate_notes(result: Estimate) -> list[tuple[str, str]]:
    """(kind, text) for stderr: warnings first (per model), then the vendors' notes, once each."""
    warnings: list[tuple[str, str]] = []
    warnings = [("warning", n) for n in result.notes if n.startswith(EARLIEST_NOTE)]
    notes: list[tuple[str, str]] = _stale_prices(result)
    from planner.count.claude_tokens import unavailable_note

    ctok = unavailable_note()  # the way to exact Claude counts, said once (not once per model, not only with -v)
    if any(n.endswith(ctok) for n in result.notes):
        notes.append(("note", ctok))
    seen: set[str] = set()
    for e in result.estimates:
        t = e.turnaround
        if t is None or e.cannot_run:
            continue
        warnings.extend(("warning", f"{name_of(e)}: {n}") for n in t.notes)
        for n in (*t.batch.notes, *t.realtime.notes):
            key = f"{e.provider}: {n}"
            if n and key not in seen:
                seen.add(key)
                notes.append(("note", key))
    return warnings + notes


def render_estimate(result: Estimate, console: Console | None = None, *, verbose: bool = False) -> None:
    console = console or Console()
    rec = recommendation_of(result)
    ds = result.dataset
    console.print(Text(f"batchplan estimate: {ds.path}", style="bold"))
    console.print(Text(
        f"{ds.requests:,} requests ({ds.format}) · {result.output_assumption.description} · "
        f"prices in force on {result.as_of}", style="dim"))
    console.print()
    status = "fits" if rec.status == "fits" else "unknown" if rec.status == "unknown" else "late"
    print_marked(console, MARK[status][0], MARK[status][1], rec.headline, bold=True)
    if len(rec.verdicts) > 1:
        console.print()
        for v in rec.verdicts:
            print_marked(console, MARK[v.status][0], MARK[v.status][1], v.text, indent=2)
    console.print()
    print_grid(console, estimate_grid(result, rec))
    width = max(10, min(30, console.width - 60)) if console.is_terminal else 30
    bars = savings_chart(result, width, rec, console.width if console.is_terminal else None)
    if bars:
        console.print()
        for bar in bars:
            console.print(bar)
    timing = turnaround_grid(result)
    if timing.rows:
        console.print()
        print_grid(console, timing)
    if shows_modes(result):
        console.print()
        print_grid(console, modes_grid(result, rec))
        footnote = modes_footnote(result)
        if footnote:
            console.print(Text(footnote, style="dim"), soft_wrap=not console.is_terminal)
    console.print()
    notes = Footnotes()
    console.print(Text("Assumptions", style="bold"))
    for text in assumptions(result, notes, verbose=verbose):
        print_marked(console, "•", "", text, indent=2)
    if notes.urls:
        console.print(Text("Sources", style="bold"))
        for k, url in enumerate(notes.urls, 1):
            console.print(Text(f"  [{k}] {url}"), soft_wrap=True)
    if not verbose:
        console.print(Text("Every assumption and note in full: --verbose.", style="dim"))
