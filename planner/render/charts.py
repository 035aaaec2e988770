"""Charts as inline SVG: `<rect>`s and `<text>` labels, an accessible `<title>`/`<desc>`, no scripts.

Every function returns one `<svg>` element as a string, ready to drop into HTML; all text is escaped.
Sizes are in user units with a viewBox, drawn for one `width` (the report draws each chart twice: 720
for the page, 360 for a phone, so text is never shrunk below 11 px).

Rules every chart keeps: axes run from 0 (or, on a log axis, the ladder value below the data) to the
first 1-2-5 tick at or past the data, never further; each model's name sits on its own line above its
bars, so no label is clipped, and value labels move inside a bar when they would leave the drawing;
hours go on a log axis when the values span more than ~20× (minutes to days), so that the deadline and
every bar are visible; the deadline and the budget are lines with their value written beside them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

from planner.core.money import usd_display
from planner.core.units import duration

REALTIME = "#d9822b"
BATCH = "#2b6cb0"
BATCH_P90 = "#90b4dd"
BATCH_WORST = "#dbe6f3"
DEADLINE = "#c53030"
BUDGET = "#6b46c1"
FLEX = "#2f855a"
PRIORITY = "#b83280"
GRID = "#d0d0d0"
INK = "#222222"
MUTED = "#595959"

WIDTH = 720
NARROW = 360
MARGIN = 10
#: Average glyph width of the sans-serif used, as a share of the font size (a little generous).
GLYPH = 0.62
FONT = 12
SMALL = 11


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def text_width(text: str, size: float) -> float:
    return len(text) * size * GLYPH


#: A mode's bar colour: standard is the realtime colour it always had.
MODE_COLOR = {"realtime": REALTIME, "standard": REALTIME, "flex": FLEX, "priority": PRIORITY, "batch": BATCH}


def wrap_label(text: str, width: float, size: float = FONT) -> list[str]:
    """`text` in lines that each fit `width`, broken after a '/', '.', '-', ':', '@' or space where it can
    be (a long Bedrock profile id on a phone), inside a word only when a part alone is too wide."""
    most = max(4, int(width / (size * GLYPH)))
    if len(text) <= most:
        return [text]
    lines: list[str] = []
    current = ""
    for piece in re.findall(r"[^/.\-:@ ]*[/.\-:@ ]?", text):
        if current and len(current) + len(piece.rstrip()) > most:
            lines.append(current.rstrip())
            current = ""
        current += piece
        while len(current) > most:
            lines.append(current[:most])
            current = current[most:]
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _label(lines: Sequence[str], y: float, *, size: int = FONT, weight: str = "600", fill: str = INK,
           step: float = 16) -> list[str]:
    """A wrapped label, its first baseline at `y`."""
    return [_text(MARGIN, y + k * step, line, size=size, weight=weight, fill=fill) for k, line in enumerate(lines)]


def _svg(chart_id: str, title: str, desc: str, width: int, height: float, body: list[str]) -> str:
    return (
        f'<svg class="chart" id="{_e(chart_id)}" role="img" viewBox="0 0 {width} {height:.0f}" '
        f'width="{width}" height="{height:.0f}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc">'
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>'
        f'<desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str = "", extra: str = "") -> str:
    tip = f"<title>{_e(title)}</title>" if title else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{h:.1f}" fill="{fill}"{extra}>{tip}</rect>'


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK, size: int = FONT, weight: str = ""
) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" font-size="{size}"{bold}>'
        f"{_e(text)}</text>"
    )


def _fit_label(
    x: float, y: float, text: str, right: float, *, size: int = SMALL, inside_from: float = 0, light: bool = False
) -> str:
    """A value label just right of x; when it would pass `right`, right-aligned inside the bar instead
    (white on a dark bar, ink on a `light` one)."""
    if x + 5 + text_width(text, size) <= right:
        return _text(x + 5, y, text, size=size)
    if x - 5 - text_width(text, size) >= inside_from:
        return _text(x - 5, y, text, anchor="end", fill=INK if light else "#ffffff", size=size, weight="600")
    return _text(right, y, text, anchor="end", size=size)


# --- scales -----------------------------------------------------------------------------------


def nice_step(span: float, intervals: int = 5) -> float:
    """A 1, 2 or 5 × 10^k step giving at most about `intervals` intervals over `span`."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / intervals
    exp = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * exp >= raw * (1 - 1e-9):
            return float(m * exp)
    return float(10 * exp)


def linear_ticks(vmax: float, intervals: int = 6) -> list[float]:
    """0, step, 2·step … up to the first tick at or past vmax (1-2-5 steps)."""
    if not vmax > 0 or not math.isfinite(vmax):
        return [0.0, 1.0]
    step = nice_step(vmax, intervals)
    n = max(1, math.ceil(vmax / step - 1e-9))
    return [round(k * step, 10) for k in range(n + 1)]


def nice_max(value: float) -> float:
    """The axis end for `value`: the first 1-2-5 tick at or past it (1 for nothing to show)."""
    return linear_ticks(value)[-1]


#: Ticks of a log axis of hours: 1-2-5 in minutes, hours, then days (labels read '10 min', '2 h', '5 d').
HOUR_LADDER = (
    1 / 60, 2 / 60, 5 / 60, 10 / 60, 20 / 60, 30 / 60, 1, 2, 5, 10, 20, 50,
    5 * 24, 10 * 24, 20 * 24, 50 * 24, 100 * 24, 200 * 24, 500 * 24, 1000 * 24,
)


def hour_ticks(lo: float, hi: float) -> list[float]:
    """Ticks of a log axis from the ladder value at or below `lo` to the one at or past `hi`."""
    lo = max(lo, HOUR_LADDER[0] * 1.5)
    # strictly below the smallest value, so that its bar has a visible length
    start = max((v for v in HOUR_LADDER if v <= lo / 1.5), default=HOUR_LADDER[0])
    end = min((v for v in HOUR_LADDER if v >= hi * (1 - 1e-9)), default=HOUR_LADDER[-1])
    ticks = [v for v in HOUR_LADDER if start <= v <= end]
    if len(ticks) > 7:  # keep every other tick, always the ends
        kept = ticks[::2]
        if kept[-1] != ticks[-1]:
            kept.append(ticks[-1])
        ticks = kept
    return ticks


@dataclass(frozen=True)
class Scale:
    """Value → x over [x0, x1]: linear from 0, or log between its first and last tick."""

    ticks: list[float]
    x0: float
    x1: float
    log: bool = False

    @property
    def lo(self) -> float:
        return self.ticks[0]

    @property
    def hi(self) -> float:
        return self.ticks[-1]

    def x(self, value: float) -> float:
        v = min(max(value, self.lo), self.hi)
        if self.log:
            frac = (math.log(v) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        else:
            frac = (v - self.lo) / (self.hi - self.lo) if self.hi > self.lo else 0.0
        return self.x0 + (self.x1 - self.x0) * frac


def hours_scale(values: Sequence[float], x0: float, x1: float) -> Scale:
    """Log when the positive values span more than 20×, else linear (1-2-5 hours or days)."""
    positive = [v for v in values if v > 0]
    if not positive:
        return Scale([0.0, 1.0], x0, x1)
    lo, hi = min(positive), max(positive)
    if hi / lo > 20:
        return Scale(hour_ticks(lo, hi), x0, x1, log=True)
    if hi >= 72:
        return Scale([t * 24 for t in linear_ticks(hi / 24, 4)], x0, x1)
    return Scale(linear_ticks(hi, 4), x0, x1)


def _spaced(labels: Sequence[tuple[float, str]], left: float, right: float, y: float, size: int = SMALL) -> list[str]:
    """Labels centred on their x, kept inside [left, right]; a label that would overlap the previous one
    is left out (the first and the last are always kept)."""
    placed: list[tuple[float, float, str, str]] = []  # start, end, anchor, text (with its x)
    out: list[tuple[float, str, str]] = []
    n = len(labels)
    for k, (x, text) in enumerate(labels):
        w = text_width(text, size)
        anchor, start = "middle", x - w / 2
        if start < left:
            anchor, start = "start", x
        if start + w > right:
            anchor, start = "end", x - w
        if placed and start < placed[-1][1] + 10:
            if k != n - 1:
                continue
            while placed and start < placed[-1][1] + 10 and len(placed) > 1:
                placed.pop()
                out.pop()
        placed.append((start, start + w, anchor, text))
        out.append((x, text, anchor))
    return [_text(x, y, text, anchor=anchor, fill=MUTED, size=size) for x, text, anchor in out]


def _axis(scale: Scale, top: float, bottom: float, fmt: Callable[[float], str]) -> list[str]:
    """Vertical gridlines with labels under the plot; labels stay inside the drawing and never overlap."""
    out = [_rect(scale.x(v) - 0.5, top, 1, bottom - top, GRID) for v in scale.ticks]
    return out + _spaced([(scale.x(v), fmt(v)) for v in scale.ticks], scale.x0, scale.x1, bottom + 14)


def _legend(y: float, items: Sequence[tuple[str, str]], width: int) -> tuple[list[str], float]:
    """Legend swatches, wrapping onto further lines; returns the elements and the y below them."""
    out, x = [], float(MARGIN)
    for label, color in items:
        w = 17 + text_width(label, SMALL) + 12
        if x + w > width - MARGIN and x > MARGIN:
            x, y = float(MARGIN), y + 18
        out.append(_rect(x, y - 10, 12, 12, color))
        out.append(_text(x + 17, y, label, size=SMALL))
        x += w
    return out, y + 14


def money_tick(v: float) -> str:
    if v == 0:
        return "$0"
    if v >= 1000:
        return f"${v:,.0f}"
    if v >= 1:
        return f"${v:,.2f}".removesuffix(".00")
    return f"${v:.4f}".rstrip("0").rstrip(".")


def hours_tick(v: float) -> str:
    return "0" if v == 0 else duration(v)


# --- charts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostBar:
    """One model's costs: realtime and batch, or, when `modes` is given, one bar per mode in its order
    (a mode with no cost is written as `(mode, None, why)`)."""

    label: str
    realtime: Decimal | None
    batch: Decimal | None
    note: str = ""
    modes: tuple[tuple[str, Decimal | None, str], ...] = field(default_factory=tuple)

    @property
    def bars(self) -> tuple[tuple[str, Decimal | None, str], ...]:
        if self.modes:
            return self.modes
        return (("realtime", self.realtime, self.note), ("batch", self.batch, self.note))


def _money_scale(values: Sequence[float], extra: float | None, x0: float, x1: float) -> tuple[Scale, bool]:
    """The cost axis, including `extra` (the budget) when it is within 3× of the data; (scale, shown)."""
    top = max([*values, 0.0])
    shown = extra is not None and (top == 0 or extra <= 3 * top)
    vmax = max(top, extra) if shown and extra is not None else top
    return Scale(linear_ticks(vmax), x0, x1), shown


def _budget_line(scale: Scale, shown: bool, budget: float | None, top: float, bottom: float, width: int) -> list[str]:
    if budget is None:
        return []
    words = f"budget {money_tick(budget)}"
    if not shown:
        return [_text(width - MARGIN, top - 6, f"{words} (off the scale, right) →", anchor="end", fill=BUDGET,
                      size=SMALL)]
    bx = scale.x(budget)
    anchor = "end" if bx + text_width(words, SMALL) > width - MARGIN else "start"
    return [
        _rect(bx - 1, top - 2, 2, bottom - top + 2, BUDGET, words, ' fill-opacity="0.9"'),
        _text(bx + (4 if anchor == "start" else -4), top - 6, words, anchor=anchor, fill=BUDGET, size=SMALL),
    ]


def _cost_legend(rows: Sequence[CostBar], budget: Decimal | None) -> list[tuple[str, str]]:
    modes = list(dict.fromkeys(mode for r in rows for mode, _, _ in r.bars))
    items = [(mode.capitalize(), MODE_COLOR.get(mode, BATCH)) for mode in modes]
    return items + ([("Budget", BUDGET)] if budget is not None else [])


def cost_bars(chart_id: str, rows: Sequence[CostBar], *, budget: Decimal | None = None, width: int = WIDTH) -> str:
    """Cost per model and mode: the model's name (wrapped to the width), then a bar per mode; the budget line."""
    bar_h, gap, line_h, group_gap = 15, 3, 16, 12
    body, y = _legend(16, _cost_legend(rows, budget), width)
    top = y + 14
    values = [float(v) for r in rows for _, v, _ in r.bars if v is not None]
    scale, shown = _money_scale(values, float(budget) if budget is not None else None, MARGIN, width - MARGIN)
    labels = [wrap_label(r.label, width - 2 * MARGIN) for r in rows]
    heights = [len(lines) * line_h + 2 + len(r.bars) * (bar_h + gap) + group_gap
               for r, lines in zip(rows, labels, strict=True)]
    bottom = top + sum(heights)
    body += _axis(scale, top - 4, bottom, money_tick)
    y = top
    for r, lines, height in zip(rows, labels, heights, strict=True):
        body += _label(lines, y + 13, step=line_h)
        by0 = y + len(lines) * line_h + 2
        if all(v is None for _, v, _ in r.bars) and r.note:
            body.append(_text(MARGIN + 4, by0 + bar_h - 3, r.note, fill=MUTED, size=SMALL))
        else:
            for k, (mode, value, why) in enumerate(r.bars):
                body += _cost_bar(r.label, mode, value, why, by0 + k * (bar_h + gap), scale, width, named=bool(r.modes))
        y += height
    body += _budget_line(scale, shown, float(budget) if budget is not None else None, top, bottom, width)
    desc = "; ".join(
        f"{r.label}: " + ", ".join(f"{mode} {usd_display(v)}" if v is not None else f"{mode}: {why or 'none'}"
                                   for mode, v, why in r.bars)
        for r in rows
    ) + (f"; budget {usd_display(budget)}" if budget is not None else "")
    title = "Cost per model and processing mode" if any(r.modes for r in rows) else "Realtime vs batch cost per model"
    return _svg(chart_id, title, desc, width, bottom + 24, body)


def _cost_bar(label: str, mode: str, value: Decimal | None, why: str, by: float, scale: Scale, width: int, *,
              named: bool) -> list[str]:
    """One mode's bar and its value (`named`: the mode's name before it, when there are more than two)."""
    bar_h = 15
    if value is None:
        return [_text(MARGIN + 4, by + bar_h - 3, f"{mode}: {why or 'none'}", fill=MUTED, size=SMALL)]
    x = scale.x(float(value))
    words = f"{mode} {usd_display(value)}" if named else usd_display(value)
    return [
        _rect(MARGIN, by, x - MARGIN, bar_h, MODE_COLOR.get(mode, BATCH), f"{label}: {mode} {usd_display(value)}"),
        _fit_label(x, by + bar_h - 3, words, width - MARGIN, inside_from=MARGIN),
    ]


@dataclass(frozen=True)
class CostRangeRow:
    label: str
    mode: str  # "realtime" or "batch"
    low: Decimal
    expected: Decimal
    high: Decimal


def cost_ranges(chart_id: str, rows: Sequence[CostRangeRow], *, width: int = WIDTH) -> str:
    """Low / expected / high cost per model and mode: a band from low to high, a mark at expected."""
    line_h, band_h, row_gap = 16, 20, 8
    modes = list(dict.fromkeys(r.mode for r in rows))
    items = [(f"{m.capitalize()} range", MODE_COLOR.get(m, BATCH)) for m in modes] + [("Expected", INK)]
    body, y = _legend(16, items, width)
    top = y + 12
    scale = Scale(linear_ticks(max([float(r.high) for r in rows] + [0.0])), MARGIN, width - MARGIN)
    labels = [wrap_label(f"{r.label} ({r.mode})", width - 2 * MARGIN) for r in rows]
    heights = [len(lines) * line_h + 1 + band_h + row_gap for lines in labels]
    bottom = top + sum(heights)
    body += _axis(scale, top - 4, bottom, money_tick)
    y = top
    for r, lines, height in zip(rows, labels, heights, strict=True):
        body += _label(lines, y + 13, step=line_h)
        body += _range_band(r, y + len(lines) * line_h + 1 + band_h / 2, scale, width)
        y += height
    desc = "; ".join(
        f"{r.label} {r.mode}: {usd_display(r.low)} to {usd_display(r.high)}, expected {usd_display(r.expected)}"
        for r in rows
    )
    return _svg(chart_id, "Cost range per model (low, expected, high)", desc, width, bottom + 24, body)


def _range_band(r: CostRangeRow, cy: float, scale: Scale, width: int) -> list[str]:
    color = MODE_COLOR.get(r.mode, BATCH)
    x0, x1, xe = scale.x(float(r.low)), scale.x(float(r.high)), scale.x(float(r.expected))
    words = (f"{r.label} ({r.mode}): low {usd_display(r.low)}, expected {usd_display(r.expected)}, "
             f"high {usd_display(r.high)}")
    body = [
        _rect(x0, cy - 5, max(x1 - x0, 2.0), 10, color, words, ' fill-opacity="0.55"'),
        _rect(x0 - 1, cy - 8, 2, 16, color),
        _rect(x1 - 1, cy - 8, 2, 16, color),
        _rect(xe - 2, cy - 10, 4, 20, INK, words),
    ]
    span = usd_display(r.expected) if r.low == r.high else f"{usd_display(r.low)}–{usd_display(r.high)}"
    end = max(x1, xe)
    if end + 6 + text_width(span, SMALL) <= width - MARGIN:
        body.append(_text(end + 6, cy + 4, span, size=SMALL))
    else:
        body.append(_text(min(x0, xe) - 6, cy + 4, span, anchor="end", size=SMALL))
    return body


def histogram(
    chart_id: str, label: str, edges: Sequence[int], counts: Sequence[int], *, width: int = WIDTH
) -> str:
    """Requests per input-token bucket, as vertical bars with the bucket edges under them."""
    height, top, left, right = 240, 36, 44, MARGIN
    plot_h = height - top - 50
    plot_w = width - left - right
    n = max(1, len(counts))
    ticks = linear_ticks(max([*counts, 0]))
    cmax = ticks[-1]
    body = [_text(MARGIN, 16, f"Input tokens per request: {label}", size=FONT, weight="600")]
    for v in ticks:
        y = top + plot_h - plot_h * v / cmax
        body.append(_rect(left, y - 0.5, plot_w, 1, GRID))
        body.append(_text(left - 6, y + 4, f"{v:,.0f}", anchor="end", fill=MUTED, size=SMALL))
    slot = plot_w / n
    widest = max(text_width(f"{e:,}", SMALL) for e in edges) + 6
    every = max(1, math.ceil(widest / slot))
    for i, c in enumerate(counts):
        h = plot_h * c / cmax
        x = left + slot * i
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else edges[i]
        what = f"{c:,} request(s) with {edges[i]:,}–{hi:,} input tokens"
        body.append(_rect(x + 1, top + plot_h - h, slot - 2, h, BATCH, what))
        if c and text_width(f"{c:,}", SMALL) <= slot:
            body.append(_text(x + slot / 2, top + plot_h - h - 3, f"{c:,}", anchor="middle", size=SMALL))
    shown = list(range(0, len(edges), every))
    if shown[-1] != len(edges) - 1:
        shown.append(len(edges) - 1)
    body += _spaced([(left + slot * i, f"{edges[i]:,}") for i in shown], MARGIN, width - MARGIN, top + plot_h + 15)
    body.append(_rect(left, top + plot_h, plot_w, 1, INK))
    body.append(_text(left + plot_w / 2, height - 8, "input tokens per request (counted sample)", anchor="middle",
                      fill=MUTED, size=SMALL))
    desc = f"Histogram of input tokens per counted request, {label}: " + ", ".join(
        f"{edges[i]:,}+: {c:,}" for i, c in enumerate(counts)
    )
    return _svg(chart_id, f"Per-request input token distribution ({label})", desc, width, height, body)


@dataclass(frozen=True)
class TurnaroundRow:
    label: str
    p50: float | None
    p90: float | None
    worst: float | None
    realtime: float | None
    batch_supported: bool
    never_expires: bool = False
    note: str = ""
    #: further synchronous modes (flex, priority) and the hours each is judged on, drawn under realtime
    modes: tuple[tuple[str, float | None], ...] = field(default_factory=tuple)


def _batch_words(r: TurnaroundRow) -> str:
    if r.note:
        return r.note
    if not r.batch_supported:
        return "no batch"
    if r.p50 is None:
        return "batch turnaround unknown"
    worst = "never expires" if r.never_expires else (duration(r.worst) if r.worst is not None else "?")
    p90 = duration(r.p90) if r.p90 is not None else "?"
    return f"batch p50 {duration(r.p50)} · p90 {p90} · worst {worst}"


#: The turnaround chart's bar height, gap between a model's two bars, line of text, and gap between models.
_BAR_H, _BAR_GAP, _LINE_H, _GROUP_GAP = 15, 3, 17, 12


def turnaround(chart_id: str, rows: Sequence[TurnaroundRow], deadline_hours: float | None, *,
               width: int = WIDTH) -> str:
    """Batch p50 / p90 / worst, realtime and each further mode's hours per model, with the deadline as a
    line; hours go on a log axis when they span orders of magnitude. Each model's name (wrapped to the
    width), then its batch figures (beside the name when they fit, else on lines of their own), then a bar
    per mode."""
    items = [("Batch p50", BATCH), ("p90", BATCH_P90), ("worst", BATCH_WORST), ("Realtime", REALTIME)]
    extra = list(dict.fromkeys(mode for r in rows for mode, _ in r.modes))
    items += [(mode.capitalize(), MODE_COLOR.get(mode, BATCH)) for mode in extra]
    if deadline_hours is not None:
        items.append(("Deadline", DEADLINE))
    body, y = _legend(16, items, width)
    top = y + 14
    known = [v for r in rows if not r.note for v in (r.p50, r.p90, r.worst, r.realtime, *(h for _, h in r.modes))
             if v is not None]
    scale = hours_scale([*known, *([deadline_hours] if deadline_hours else [])], MARGIN, width - MARGIN)
    right = width - MARGIN
    layout = [_turnaround_layout(r, right) for r in rows]
    bottom = top + sum(h for *_, h in layout)
    body += _axis(scale, top - 4, bottom, hours_tick)
    y = top
    for r, name, words, beside, height in layout:
        body += _turnaround_row(r, name, words, beside, y, scale, right)
        y += height
    if deadline_hours is not None:
        body += _deadline_line(scale, deadline_hours, top, bottom, right)
    axis = "log scale" if scale.log else "linear scale"
    desc = "; ".join(
        f"{r.label}: " + (r.note or f"batch p50 {duration(r.p50)}, p90 {duration(r.p90)}, worst "
                          f"{duration(r.worst)}, realtime {duration(r.realtime)}"
                          + "".join(f", {mode} {duration(h)}" for mode, h in r.modes))
        for r in rows
    ) + (f"; deadline {duration(deadline_hours)}" if deadline_hours is not None else "") + f" ({axis})"
    return _svg(chart_id, f"Turnaround per model ({axis})", desc, width, bottom + 24, body)


def _turnaround_layout(r: TurnaroundRow, right: float) -> tuple[TurnaroundRow, list[str], list[str], bool, float]:
    """(row, name lines, figure lines, figures beside the name, height) of one model."""
    name = wrap_label(r.label, right - MARGIN)
    words = _batch_words(r)
    beside = len(name) == 1 and text_width(r.label, FONT) + 14 + text_width(words, SMALL) <= right - MARGIN
    figures = [words] if beside else wrap_label(words, right - MARGIN, SMALL)
    bars = 0 if r.note else 2 + len(r.modes)
    lines = len(name) + (0 if beside else len(figures))
    return r, name, figures, beside, _LINE_H * lines + bars * (_BAR_H + _BAR_GAP) + _GROUP_GAP


def _turnaround_row(r: TurnaroundRow, name: list[str], words: list[str], beside: bool, y: float, scale: Scale,
                    right: float) -> list[str]:
    """One model from `y` down: its name, its batch figures (beside it or below), then a bar per mode."""
    body = _label(name, y + 13, step=_LINE_H)
    fill = MUTED if r.note else INK
    if beside:
        body.append(_text(right, y + 13, words[0], anchor="end", fill=fill, size=SMALL))
    else:
        body += _label(words, y + len(name) * _LINE_H + 13, size=SMALL, weight="", fill=fill, step=_LINE_H)
    if r.note:
        return body
    by = y + _LINE_H * (len(name) + (0 if beside else len(words)))
    if r.batch_supported and r.p50 is not None:
        tip = f"{r.label}: {' '.join(words)}"
        if r.worst is not None:
            body.append(_rect(MARGIN, by, scale.x(r.worst) - MARGIN, _BAR_H, BATCH_WORST, tip,
                              f' stroke="{BATCH_P90}" stroke-width="1"'))
        if r.p90 is not None:
            body.append(_rect(MARGIN, by, scale.x(r.p90) - MARGIN, _BAR_H, BATCH_P90, tip))
        body.append(_rect(MARGIN, by, scale.x(r.p50) - MARGIN, _BAR_H, BATCH, tip))
    for k, (mode, hours) in enumerate((("realtime", r.realtime), *r.modes), start=1):
        body += _hours_bar(r.label, mode, hours, by + k * (_BAR_H + _BAR_GAP), scale, right)
    return body


def _hours_bar(label: str, mode: str, hours: float | None, y: float, scale: Scale, right: float) -> list[str]:
    if hours is None:
        return [_text(MARGIN + 4, y + _BAR_H - 3, f"{mode} duration unknown", fill=MUTED, size=SMALL)]
    x = scale.x(hours)
    return [
        _rect(MARGIN, y, x - MARGIN, _BAR_H, MODE_COLOR.get(mode, REALTIME), f"{label}: {mode} {duration(hours)}"),
        _fit_label(x, y + _BAR_H - 3, f"{mode} {duration(hours)}", right, inside_from=MARGIN),
    ]


def _deadline_line(scale: Scale, deadline_hours: float, top: float, bottom: float, right: float) -> list[str]:
    """The deadline as a red line across every model, labelled above the chart (left of it near the edge)."""
    dx = scale.x(deadline_hours)
    words = f"deadline {duration(deadline_hours)}"
    anchor = "end" if dx + 4 + text_width(words, SMALL) > right else "start"
    return [
        _rect(dx - 1, top - 2, 2, bottom - top + 2, DEADLINE, words),
        _text(dx + (4 if anchor == "start" else -4), top - 6, words, anchor=anchor, fill=DEADLINE, size=SMALL),
    ]
