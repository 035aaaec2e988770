"""The human view of an estimate: one Rich table, then every assumption behind its numbers."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from planner.estimate import Estimate, ModelEstimate
from planner.money import usd_display


def _tokens(n: int, ci: tuple[int, int]) -> str:
    if ci[0] == ci[1]:
        return f"{n:,}"
    return f"{n:,}\n±{(ci[1] - ci[0]) // 2:,}"


def _batch_cell(e: ModelEstimate) -> str:
    if e.batch_cost_usd is None:
        return "—"
    cell = usd_display(e.batch_cost_usd)
    if e.batch_price_basis != "explicit":
        cell += " *"
    return cell


def _qualifies(e: ModelEstimate) -> Text:
    if e.batch_eligible:
        return Text("yes", style="green")
    return Text("no", style="bold red")


def estimate_table(result: Estimate) -> Table:
    table = Table(title=f"batchplan estimate: {result.dataset.path}", title_justify="left")
    for name, justify in (
        ("Model", "left"),
        ("Requests", "right"),
        ("Input tok", "right"),
        ("Output tok", "right"),
        ("Realtime", "right"),
        ("Batch", "right"),
        ("Savings", "right"),
        ("Batch OK", "center"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for e in result.estimates:
        savings = "—"
        if e.savings_usd is not None:
            savings = f"{usd_display(e.savings_usd)}\n{e.savings_pct:.0f}%"
        name = f"{e.provider}/{e.resolved_model}"
        if e.model not in (e.resolved_model, name):
            name = f"{e.model}\n→ {name}"
        table.add_row(
            name,
            f"{e.requests:,}",
            _tokens(e.input_tokens, e.input_tokens_ci95),
            _tokens(e.output_tokens, e.output_tokens_ci95),
            usd_display(e.realtime_cost_usd),
            _batch_cell(e),
            savings,
            _qualifies(e),
        )
    return table


def savings_chart(result: Estimate, width: int = 30) -> list[Text]:
    """A small bar per model: its batch saving in dollars, scaled to the largest; '—' without batch."""
    if not any(e.savings_usd is not None for e in result.estimates):
        return []
    top = max((e.savings_usd for e in result.estimates if e.savings_usd is not None and e.savings_usd > 0), default=0)
    names = [f"{e.provider}/{e.resolved_model}" for e in result.estimates]
    pad = min(32, max(len(n) for n in names))
    lines = [Text("Savings with batch", style="bold")]
    for e, name in zip(result.estimates, names, strict=True):
        line = Text(f"  {name[:pad]:<{pad}} ")
        if e.savings_usd is None:
            line.append("— no batch", style="dim")
        else:
            n = round(width * float(e.savings_usd / top)) if top and e.savings_usd > 0 else 0
            line.append("█" * n or "▏", style="green" if e.batch_eligible else "dim")
            line.append(f" {usd_display(e.savings_usd)} ({e.savings_pct:.0f}%)")
            if not e.batch_eligible:
                line.append(" (not eligible)", style="red")
        lines.append(line)
    return lines


def render_estimate(result: Estimate, console: Console | None = None) -> None:
    console = console or Console()
    console.print(estimate_table(result))
    for bar in savings_chart(result):
        console.print(bar, highlight=False)
    ds = result.dataset
    lines = [
        f"Dataset: {ds.path} ({ds.format}), {ds.counted_requests:,} requests counted; {result.scaling}.",
        f"Output tokens: {result.output_assumption.description}.",
        f"Prices: tables in force on {result.as_of}; USD per the tables' sources.",
    ]
    if any(e.batch_price_basis == "default multiplier" for e in result.estimates):
        lines.append("* batch price derived from the provider's default batch discount (no explicit batch price).")
    for e in result.estimates:
        lines.append(
            f"{e.provider}/{e.resolved_model}: tokens {e.token_method_label}; "
            f"prices {e.price_table} (verified {e.price_table_verified}, {e.price_source})"
        )
    for e in result.estimates:
        if e.cache is not None:
            lines.append(f"{e.model}: prompt cache: {e.cache.description}.")
    for e in result.estimates:
        for reason in e.reasons:
            lines.append(f"[red]✗[/red] {e.model}: {reason}")
        if e.token_method == "approximate":
            low, high = usd_display(e.realtime_cost_range.low), usd_display(e.realtime_cost_range.high)
            lines.append(
                f"{e.model}: no public tokenizer; tokens approximated ({e.token_method_label}); "
                f"cost range {low}–{high} realtime."
            )
    for e in result.estimates:
        lines.extend(timing_lines(e))
    lines.extend(f"[dim]{note}[/dim]" for note in result.notes)
    for line in lines:
        console.print(line, highlight=False)


def _h(hours: float | None) -> str:
    if hours is None:
        return "unknown"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:,.1f} h"


def timing_lines(e: ModelEstimate) -> list[str]:
    """Turnaround and plan under the table: batch files/waves/p50/p90/worst, realtime and its binding limit."""
    t = e.turnaround
    if t is None:
        return []
    name = f"{e.provider}/{e.resolved_model}"
    tier = f" at tier {t.tier}" if t.tier else ""
    out: list[str] = []
    b = t.batch
    if b.supported:
        worst = "none (the vendor never expires a job)" if b.never_expires else _h(b.worst_hours)
        src = "observed in your history" if b.observed else (b.figures_source or "no source")
        out.append(
            f"{name}{tier}: batch {b.files:,} file(s), {b.waves:,} wave(s) ({b.bound_by}): "
            f"p50 {_h(b.p50_hours)}, p90 {_h(b.p90_hours)}, worst {worst} (figures: {escape(src)})"
        )
    rt = t.realtime
    bound = f"bound by {rt.bound_by}" if rt.hours is not None else "tier limits unknown"
    out.append(f"{name}: realtime {_h(rt.hours)} ({bound})")
    out.extend(f"[yellow]![/yellow] {name}: {escape(n)}" for n in t.notes)
    out.extend(f"[dim]{name}: {escape(n)}[/dim]" for n in (*b.notes, *rt.notes) if n)
    if e.plan is not None:
        out.append(f"[bold]{name} plan:[/bold] {escape(e.plan.summary)}")
    return out
