"""Charts as inline SVG: `<rect>`s and `<text>` labels, an accessible `<title>`/`<desc>`, no scripts.

Every function returns one `<svg>` element as a string, ready to drop into HTML; all text is escaped.
Sizes are fixed in user units (with a viewBox) so the charts scale to the page and print cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from planner.money import usd_display

REALTIME = "#d9822b"
BATCH = "#2b6cb0"
BATCH_P90 = "#90b4dd"
BATCH_WORST = "#dbe6f3"
DEADLINE = "#c53030"
GRID = "#d0d0d0"
INK = "#222222"
MUTED = "#666666"

WIDTH = 720
LABEL_W = 210
VALUE_W = 110
PLOT_W = WIDTH - LABEL_W - VALUE_W


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _clip(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _svg(chart_id: str, title: str, desc: str, height: int, body: list[str]) -> str:
    return (
        f'<svg class="chart" id="{_e(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc">'
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>'
        f'<desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str = "", extra: str = "") -> str:
    tip = f"<title>{_e(title)}</title>" if title else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{h:.1f}" fill="{fill}"{extra}>{tip}</rect>'


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK, size: int = 12, full: str = ""
) -> str:
    tip = f"<title>{_e(full)}</title>" if full and full != text else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" font-size="{size}">{tip}{_e(text)}</text>'
    )


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above value (1 for nothing to show)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value * (1 - 1e-12):
            return float(step * exp)
    return float(10 * exp)


def _axis(top: float, bottom: float, vmax: float, fmt: Callable[[float], str], ticks: int = 4) -> list[str]:
    """Vertical gridlines with labels under the plot, from 0 to vmax."""
    out = []
    for k in range(ticks + 1):
        v = vmax * k / ticks
        x = LABEL_W + PLOT_W * k / ticks
        out.append(_rect(x - 0.5, top, 1, bottom - top, GRID))
        out.append(_text(x, bottom + 14, fmt(v), anchor="middle", fill=MUTED, size=11))
    return out


def _legend(y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], float(LABEL_W)
    for label, color in items:
        out.append(_rect(x, y - 10, 12, 12, color))
        out.append(_text(x + 17, y, label, size=11))
        x += 24 + 7 * len(label)
    return out


def _money_tick(v: float) -> str:
    if v == 0:
        return "$0"
    if v >= 1000:
        return f"${v:,.0f}"
    return f"${v:,.2f}".rstrip("0").rstrip(".") if v < 1 else f"${v:,.2f}".removesuffix(".00")


@dataclass(frozen=True)
class CostBar:
    label: str
    realtime: Decimal
    batch: Decimal | None
    note: str = ""


def cost_bars(chart_id: str, rows: Sequence[CostBar]) -> str:
    """Realtime vs batch cost per model: a pair of horizontal bars each."""
    bar_h, gap, group = 16, 4, 52
    top = 28
    vmax = nice_max(max([float(r.realtime) for r in rows] + [float(r.batch or 0) for r in rows] + [0.0]))
    bottom = top + group * len(rows)
    body = _legend(16, [("Realtime", REALTIME), ("Batch", BATCH)])
    body += _axis(top - 4, bottom, vmax, _money_tick)
    for i, r in enumerate(rows):
        y = top + group * i + 6
        body.append(_text(LABEL_W - 8, y + bar_h + 2, _clip(r.label), anchor="end", full=r.label))
        w = PLOT_W * float(r.realtime) / vmax
        body.append(_rect(LABEL_W, y, w, bar_h, REALTIME, f"{r.label}: realtime {usd_display(r.realtime)}"))
        body.append(_text(LABEL_W + w + 5, y + bar_h - 3, usd_display(r.realtime), size=11))
        y2 = y + bar_h + gap
        if r.batch is None:
            body.append(_text(LABEL_W + 4, y2 + bar_h - 3, r.note or "no batch", fill=MUTED, size=11))
        else:
            w = PLOT_W * float(r.batch) / vmax
            body.append(_rect(LABEL_W, y2, w, bar_h, BATCH, f"{r.label}: batch {usd_display(r.batch)}"))
            body.append(_text(LABEL_W + w + 5, y2 + bar_h - 3, usd_display(r.batch), size=11))
    desc = "; ".join(
        f"{r.label}: realtime {usd_display(r.realtime)}, "
        + ("no batch" if r.batch is None else f"batch {usd_display(r.batch)}")
        for r in rows
    )
    return _svg(chart_id, "Realtime vs batch cost per model", desc, bottom + 24, body)


@dataclass(frozen=True)
class CostRangeRow:
    label: str
    mode: str  # "realtime" or "batch"
    low: Decimal
    expected: Decimal
    high: Decimal


def cost_ranges(chart_id: str, rows: Sequence[CostRangeRow]) -> str:
    """Low / expected / high cost per model and mode: a band from low to high, a mark at expected."""
    row_h, top = 30, 28
    vmax = nice_max(max([float(r.high) for r in rows] + [0.0]))
    bottom = top + row_h * len(rows)
    body = _legend(16, [("Realtime range", REALTIME), ("Batch range", BATCH), ("Expected", INK)])
    body += _axis(top - 4, bottom, vmax, _money_tick)
    for i, r in enumerate(rows):
        y = top + row_h * i + row_h / 2
        color = REALTIME if r.mode == "realtime" else BATCH
        label = f"{r.label} ({r.mode})"
        body.append(_text(LABEL_W - 8, y + 4, _clip(label, 30), anchor="end", full=label))
        x0 = LABEL_W + PLOT_W * float(r.low) / vmax
        x1 = LABEL_W + PLOT_W * float(r.high) / vmax
        xe = LABEL_W + PLOT_W * float(r.expected) / vmax
        words = f"{label}: low {usd_display(r.low)}, expected {usd_display(r.expected)}, high {usd_display(r.high)}"
        body.append(_rect(x0, y - 5, max(x1 - x0, 2.0), 10, color, words, ' fill-opacity="0.55"'))
        body.append(_rect(x0 - 1, y - 8, 2, 16, color))
        body.append(_rect(x1 - 1, y - 8, 2, 16, color))
        body.append(_rect(xe - 2, y - 10, 4, 20, INK, words))
        span = usd_display(r.expected) if r.low == r.high else f"{usd_display(r.low)}–{usd_display(r.high)}"
        body.append(_text(max(x1, xe) + 6, y + 4, span, size=11))
    desc = "; ".join(
        f"{r.label} {r.mode}: {usd_display(r.low)} to {usd_display(r.high)}, expected {usd_display(r.expected)}"
        for r in rows
    )
    return _svg(chart_id, "Cost range per model (low, expected, high)", desc, bottom + 24, body)


def histogram(chart_id: str, label: str, edges: Sequence[int], counts: Sequence[int]) -> str:
    """Requests per input-token bucket, as vertical bars with the bucket edges under them."""
    height, top, left, right = 230, 30, 60, 20
    plot_h = height - top - 50
    plot_w = WIDTH - left - right
    n = max(1, len(counts))
    cmax = nice_max(max([*counts, 0]))
    body = [_text(left, 16, f"Input tokens per request: {label}", size=12)]
    for k in range(5):
        v = cmax * k / 4
        y = top + plot_h - plot_h * k / 4
        body.append(_rect(left, y - 0.5, plot_w, 1, GRID))
        body.append(_text(left - 6, y + 4, f"{v:g}", anchor="end", fill=MUTED, size=11))
    slot = plot_w / n
    every = max(1, math.ceil(n / 8))
    for i, c in enumerate(counts):
        h = plot_h * c / cmax
        x = left + slot * i
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else edges[i]
        what = f"{c:,} request(s) with {edges[i]:,}–{hi:,} input tokens"
        body.append(_rect(x + 1, top + plot_h - h, slot - 2, h, BATCH, what))
        if c:
            body.append(_text(x + slot / 2, top + plot_h - h - 3, f"{c:,}", anchor="middle", size=10))
    for i in range(0, len(edges), every):
        x = left + slot * i
        body.append(_text(x, top + plot_h + 14, f"{edges[i]:,}", anchor="middle", fill=MUTED, size=10))
    body.append(_rect(left, top + plot_h, plot_w, 1, INK))
    body.append(
        _text(
            left + plot_w / 2,
            height - 8,
            "input tokens per request (counted sample)",
            anchor="middle",
            fill=MUTED,
            size=11,
        )
    )
    desc = f"Histogram of input tokens per counted request for {label}: " + ", ".join(
        f"{edges[i]:,}+: {c:,}" for i, c in enumerate(counts)
    )
    return _svg(chart_id, f"Per-request input token distribution ({label})", desc, height, body)


@dataclass(frozen=True)
class TurnaroundRow:
    label: str
    p50: float | None
    p90: float | None
    worst: float | None
    realtime: float | None
    batch_supported: bool
    never_expires: bool = False


def _hours_tick(v: float) -> str:
    if 0 < v < 1:
        return f"{v * 60:.0f}m"
    return f"{v:,.1f}".removesuffix(".0") + "h"


def turnaround(chart_id: str, rows: Sequence[TurnaroundRow], deadline_hours: float | None) -> str:
    """Batch p50 / p90 / worst and realtime duration per model, in hours, with the deadline as a line."""
    row_h, group, top = 18, 50, 28
    known = [v for r in rows for v in (r.p50, r.p90, r.worst, r.realtime) if v is not None]
    vmax = nice_max(max([*known, deadline_hours or 0.0, 0.0]))
    bottom = top + group * len(rows)
    items = [("Batch p50", BATCH), ("p90", BATCH_P90), ("worst", BATCH_WORST), ("Realtime", REALTIME)]
    if deadline_hours is not None:
        items.append(("Deadline", DEADLINE))
    body = _legend(16, items)
    body += _axis(top - 4, bottom, vmax, _hours_tick)

    def x(v: float) -> float:
        return LABEL_W + PLOT_W * min(v, vmax) / vmax

    for i, r in enumerate(rows):
        y = top + group * i + 6
        body.append(_text(LABEL_W - 8, y + row_h + 2, _clip(r.label), anchor="end", full=r.label))
        if not r.batch_supported:
            body.append(_text(LABEL_W + 4, y + row_h - 4, "no batch", fill=MUTED, size=11))
        elif r.p50 is None:
            body.append(_text(LABEL_W + 4, y + row_h - 4, "batch turnaround unknown", fill=MUTED, size=11))
        else:
            worst = "never expires" if r.never_expires else (_hours_tick(r.worst) if r.worst is not None else "?")
            words = (
                f"{r.label}: batch p50 {_hours_tick(r.p50)}, p90 "
                + (_hours_tick(r.p90) if r.p90 is not None else "?")
                + f", worst {worst}"
            )
            if r.worst is not None:
                body.append(
                    _rect(
                        LABEL_W,
                        y,
                        x(r.worst) - LABEL_W,
                        row_h,
                        BATCH_WORST,
                        words,
                        f' stroke="{BATCH_P90}" stroke-width="1"',
                    )
                )
            if r.p90 is not None:
                body.append(_rect(LABEL_W, y, x(r.p90) - LABEL_W, row_h, BATCH_P90, words))
            body.append(_rect(LABEL_W, y, x(r.p50) - LABEL_W, row_h, BATCH, words))
            end = max(v for v in (r.p50, r.p90, r.worst) if v is not None)
            body.append(_text(x(end) + 5, y + row_h - 4, f"p50 {_hours_tick(r.p50)} · worst {worst}", size=11))
        y2 = y + row_h + 4
        if r.realtime is None:
            body.append(_text(LABEL_W + 4, y2 + row_h - 4, "realtime duration unknown", fill=MUTED, size=11))
        else:
            words = f"{r.label}: realtime {_hours_tick(r.realtime)}"
            body.append(_rect(LABEL_W, y2, x(r.realtime) - LABEL_W, row_h, REALTIME, words))
            body.append(_text(x(r.realtime) + 5, y2 + row_h - 4, f"realtime {_hours_tick(r.realtime)}", size=11))
    if deadline_hours is not None:
        dx = x(deadline_hours)
        body.append(_rect(dx - 1, top - 6, 2, bottom - top + 8, DEADLINE, f"deadline {_hours_tick(deadline_hours)}"))
    desc = "; ".join(
        f"{r.label}: batch p50 {r.p50}, p90 {r.p90}, worst {r.worst}, realtime {r.realtime} hours" for r in rows
    ) + (f"; deadline {deadline_hours} hours" if deadline_hours is not None else "")
    return _svg(chart_id, "Turnaround per model, hours", desc, bottom + 24, body)
