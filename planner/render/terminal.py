"""The human view of an estimate: one Rich table, then every assumption behind its numbers."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from planner.estimate import Estimate, ModelEstimate
from planner.money import usd_display
from planner.turnaround import format_hours


def compact(n: float) -> str:
    """12,345 as is; larger counts as 123.4K, 96.0M, 1.2B so the table stays narrow."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= 100 * size / 100 and abs(n) >= 100_000:
            return f"{n / size:,.1f}{unit}"
    return f"{n:,.0f}"


def _tokens(n: int, ci: tuple[int, int]) -> str:
    half = (ci[1] - ci[0]) // 2
    return compact(n) if half == 0 else f"{compact(n)}\n±{compact(half)}"


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
        ("In tok", "right"),
        ("Out tok", "right"),
        ("Realtime", "right"),
        ("Batch", "right"),
        ("Saved", "right"),
        ("%", "right"),
        ("OK", "center"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for e in result.estimates:
        savings = pct = "—"
        if e.savings_usd is not None:
            savings, pct = usd_display(e.savings_usd), f"{e.savings_pct:.0f}%"
        name = e.resolved_model
        if e.model not in (e.resolved_model, f"{e.provider}/{e.resolved_model}"):
            name = f"{e.model}\n→ {name}"
        table.add_row(
            name,
            compact(e.requests),
            _tokens(e.input_tokens, e.input_tokens_ci95),
            _tokens(e.output_tokens, e.output_tokens_ci95),
            usd_display(e.realtime_cost_usd),
            _batch_cell(e),
            savings,
            pct,
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


_h = format_hours


def turnaround_table(result: Estimate) -> Table | None:
    """Batch turnaround (files, waves, p50/p90/worst) next to the same job sent realtime."""
    rows = [e for e in result.estimates if e.turnaround is not None]
    if not rows:
        return None
    table = Table(title="Turnaround", title_justify="left")
    for name, justify in (
        ("Model", "left"),
        ("Tier", "left"),
        ("Files", "right"),
        ("Waves", "right"),
        ("Batch p50", "right"),
        ("p90", "right"),
        ("Worst", "right"),
        ("Realtime", "right"),
        ("Bound by", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for e in rows:
        t = e.turnaround
        assert t is not None
        b, rt = t.batch, t.realtime
        realtime = _h(rt.hours)
        bound = rt.bound_by if rt.hours is not None else "limits unknown"
        if not b.supported:
            table.add_row(e.resolved_model, t.tier or "—", "—", "—", "no batch", "", "", realtime, bound)
            continue
        worst = "never expires" if b.never_expires else _h(b.worst_hours)
        table.add_row(
            e.resolved_model,
            t.tier or "—",
            f"{b.files:,}" if b.files is not None else "?",
            f"{b.waves:,}" if b.waves is not None else "?",
            _h(b.p50_hours),
            _h(b.p90_hours),
            worst,
            realtime,
            bound,
        )
    return table


def _assumptions(result: Estimate) -> list[str]:
    ds = result.dataset
    lines = [
        f"Dataset: {escape(ds.path)} ({ds.format}), {ds.counted_requests:,} requests counted; {result.scaling}.",
        f"Output tokens: {result.output_assumption.description}.",
    ]
    for e in result.estimates:
        name = f"{e.provider}/{e.resolved_model}"
        tokens = f"tokens {e.token_method_label}"
        if e.token_method == "approximate":
            low, high = usd_display(e.realtime_cost_range.low), usd_display(e.realtime_cost_range.high)
            tokens += f" (no public tokenizer; realtime cost {low}–{high})"
        lines.append(
            f"{name}: {tokens}; prices {e.price_table}, verified {e.price_table_verified} ({escape(e.price_source)})"
        )
        if e.cache is not None:
            lines.append(f"{name}: prompt cache: {escape(e.cache.description)}.")
        t = e.turnaround
        if t is not None and t.batch.supported:
            src = "observed in your history" if t.batch.observed else (t.batch.figures_source or "no source")
            lines.append(f"{name}: batch turnaround figures: {escape(src)}")
    if any(e.batch_price_basis == "default multiplier" for e in result.estimates):
        lines.append("* batch price derived from the provider's default batch discount (no explicit batch price).")
    return lines


def _warnings(result: Estimate) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for e in result.estimates:
        name = f"{e.provider}/{e.resolved_model}"
        out.extend(f"[red]✗[/red] {name}: {escape(reason)}" for reason in e.reasons)
        t = e.turnaround
        if t is not None:
            out.extend(f"[yellow]![/yellow] {name}: {escape(n)}" for n in t.notes)
            for note in (*t.batch.notes, *t.realtime.notes):
                key = f"{e.provider}: {note}"
                if note and key not in seen:
                    seen.add(key)
                    out.append(f"[dim]{escape(key)}[/dim]")
        if e.plan is not None:
            out.append(f"[bold]{name} plan:[/bold] {escape(e.plan.summary)}")
    return out


def render_estimate(result: Estimate, console: Console | None = None) -> None:
    console = console or Console()
    console.print(estimate_table(result))
    for bar in savings_chart(result):
        console.print(bar, highlight=False)
    timing = turnaround_table(result)
    if timing is not None:
        console.print(timing)
    console.print("Assumptions", style="bold")
    for line in _assumptions(result):
        console.print(f"  • {line}", highlight=False)
    for line in _warnings(result):
        console.print(line, highlight=False)
    for note in result.notes:
        console.print(f"[dim]{escape(note)}[/dim]", highlight=False)
