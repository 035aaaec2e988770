"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

Opened at 1280 px and at 390 px (a phone): every visible chart must have a non-empty drawn area, shapes
in it and every label inside its SVG; no element may overflow its card sideways (the page at 1280 px, each
model's card on the phone); no text may render below 11 px; the headline must say what the JSON
recommendation says (and, when every plan says nothing fits, must not recommend one); the console must
stay free of errors (a Content-Security-Policy violation is one). Then the report is printed to PDF on A4
(Chromium's print-to-PDF, `page.pdf()`, under `@media print`): every money and token cell of every model
must be in the PDF's text whole (read with tests/_pdf.py: neither pdftotext nor pypdf is installed here),
and, laid out at the printable width, inside the page and not clipped. Screenshots are saved (paths
printed with -s); the issue's scenario (tests/_reviews.py) is one of the reports. Skips only on a machine
without /usr/bin/chromium, and never when $CI is set: there a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from _pdf import pdf_pages
from _reviews import args as review_args
from _reviews import write_reviews
from typer.testing import CliRunner

from planner.cli.main import app
from planner.plan.results import Estimate
from planner.render.tabular import MODE_HEADERS, modes_table, table, table_headers

CHROMIUM = Path(os.environ.get("BATCHPLAN_CHROMIUM", "/usr/bin/chromium"))
ACME = Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml"
MODECO = Path(__file__).parent / "fixtures" / "pricing" / "modeco" / "2026-01-01.yaml"
TICKETS = Path(__file__).resolve().parents[1] / "examples" / "tickets.jsonl"
#: A4's printable width at the report's 15 mm margins, in CSS px (96 per inch).
A4_PRINTABLE_PX = (210 - 2 * 15) / 25.4 * 96
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: install Debian's chromium package", pytrace=False)
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else None
if sync_api is None:
    import playwright.sync_api as sync_api


def _timed_table(tmp_path: Path) -> Path:
    """The acme fixture plus turnaround figures and a tier, so the turnaround chart has bars."""
    data = yaml.safe_load(ACME.read_text(encoding="utf-8"))
    data["batch"]["turnaround"] = {
        "completion_window_hours": 24,
        "expiry_hours": 24,
        "p50_hours": "2",
        "p90_hours": "8",
        "source": "https://example.test/acme/turnaround",
    }
    data["rate_limits"] = {"tier-1": {"rpm": 500, "tpm": 200000, "batch_queue_tokens": 2000000}}
    data["default_tier"] = "tier-1"
    path = tmp_path / "acme-timed.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _dataset(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.jsonl"
    lines = []
    for i in range(40):
        words = " ".join(["budget", "<b>report</b>", "tokens"][k % 3] for k in range(5 + (i * 7) % 90))
        body = {"messages": [{"role": "user", "content": words}], "max_tokens": 50 + (i % 4) * 50, "id": f"r{i}"}
        lines.append(json.dumps(body))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _charts_and_console(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('svg')].filter(svg => svg.getBoundingClientRect().width > 0)
            .map(svg => {
                const box = svg.getBBox();
                const rect = svg.getBoundingClientRect();
                const vb = svg.viewBox.baseVal;
                const shapes = [...svg.querySelectorAll('rect, path, line, circle, polygon')]
                    .filter(s => { const b = s.getBBox(); return b.width > 0 && b.height > 0; });
                const scale = rect.width / vb.width;
                const outside = [...svg.querySelectorAll('text')].map(t => {
                    const b = t.getBBox();
                    return {text: t.textContent, x0: b.x, x1: b.x + b.width, y0: b.y, y1: b.y + b.height};
                }).filter(b => b.x0 < -0.5 || b.y0 < -0.5 || b.x1 > vb.width + 0.5 || b.y1 > vb.height + 0.5);
                const sizes = [...svg.querySelectorAll('text')]
                    .map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
                return {id: svg.id, title: svg.querySelector(':scope > title')?.textContent || '',
                        bbox: [box.width, box.height], rect: [rect.width, rect.height],
                        shapes: shapes.length, texts: svg.querySelectorAll('text').length, outside,
                        smallest: Math.min(...sizes)};
            })"""
    )


#: The layout facts a reader notices: anything past the edge of its card (the page's content box, or a
#: model's card on a phone), text too small to read, the headline.
LAYOUT = """() => {
    const section = document.querySelector('#estimate');
    const main = document.querySelector('main');
    const inner = el => {
        const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
        return {left: r.left + parseFloat(cs.paddingLeft), right: r.right - parseFloat(cs.paddingRight)};
    };
    const page = inner(main);
    const overflowing = [...main.querySelectorAll('*')]
        .filter(el => el.getClientRects().length && !(el instanceof SVGElement && el.tagName !== 'svg'))
        .filter(el => {
            const card = el.parentElement.closest('.card');
            const box = card ? inner(card) : page;
            const r = el.getBoundingClientRect();
            return r.right > box.right + 1 || r.left < box.left - 1 || el.scrollWidth > el.clientWidth + 1
                && getComputedStyle(el).overflowX !== 'visible';
        })
        .map(el => el.tagName + '.' + el.className + ' ' + (el.textContent || '').slice(0, 40));
    const tiny = [...document.querySelectorAll('body *')]
        .filter(el => el.getClientRects().length && !(el instanceof SVGElement)
                && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .filter(el => parseFloat(getComputedStyle(el).fontSize) < 11)
        .map(el => el.tagName + ' ' + getComputedStyle(el).fontSize);
    const cards = [...document.querySelectorAll('.card')].filter(c => c.getClientRects().length);
    const costsVisible = cards.every(c => c.getBoundingClientRect().right <= window.innerWidth + 1);
    return {pageWidth: document.documentElement.scrollWidth, sectionScroll: section.scrollWidth - section.clientWidth,
            overflowing, tiny, cards: cards.length, costsVisible,
            tableShown: !!document.querySelector('.table-wrap').getClientRects().length,
            headline: document.querySelector('.summary .headline').innerText};
}"""


def _look(out: Path, shots: Path, name: str) -> dict[int, dict[str, Any]]:
    """Open the report at 1280 px and 390 px: charts, layout and console, with a screenshot of each."""
    seen: dict[int, dict[str, Any]] = {}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            for width in (1280, 390):
                console: list[tuple[str, str]] = []
                failed: list[str] = []
                requests: list[str] = []
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("console", lambda m, console=console: console.append((m.type, m.text)))
                page.on("pageerror", lambda e, console=console: console.append(("error", str(e))))
                page.on("requestfailed", lambda r, failed=failed: failed.append(r.url))
                page.on("request", lambda r, requests=requests: requests.append(r.url))
                page.goto(out.as_uri(), wait_until="load")
                shot = shots / f"{name}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot: {shot}")
                seen[width] = {"charts": _charts_and_console(page), "layout": page.evaluate(LAYOUT),
                               "console": console, "failed": failed, "requests": requests, "shot": shot}
                if width == 1280:
                    seen[width]["print"] = _print(page, shots / f"{name}.pdf")
                page.close()
        finally:
            browser.close()
    return seen


#: In the print layout: every table cell's box against the printable width, and whether its text is clipped.
PRINT_CELLS = """() => [...document.querySelectorAll('.table-wrap table')].flatMap(t =>
    [...t.querySelectorAll('td, th')].map(c => {
        const r = c.getBoundingClientRect();
        return {text: c.innerText, right: r.right, shown: c.getClientRects().length > 0,
                clipped: c.scrollWidth > c.clientWidth + 1};
    }))"""


def _print(page: Any, pdf: Path) -> dict[str, Any]:
    """The report as printed: its cells laid out at A4's printable width, and the A4 PDF's text per page."""
    page.emulate_media(media="print")
    page.set_viewport_size({"width": int(A4_PRINTABLE_PX), "height": 1100})
    cells = page.evaluate(PRINT_CELLS)
    height = page.evaluate("() => document.body.scrollHeight")
    shot = pdf.with_suffix(".print.png")
    page.screenshot(path=str(shot), full_page=True)
    page.pdf(path=str(pdf), format="A4", print_background=True)
    print(f"\npdf: {pdf}\nprint layout: {shot}")
    return {"cells": cells, "height": height, "pages": pdf_pages(pdf.read_bytes())}


def _squeezed(text: str) -> str:
    """Text as compared with the PDF's: ligatures undone, no whitespace (the PDF spaces runs its own way)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def money_and_token_cells(doc: dict[str, Any]) -> list[str]:
    """Every money and token cell of every model, as the report's tables print them (from the JSON)."""
    result = Estimate.model_validate(doc)
    headers = table_headers(result)
    wanted = [i for i, h in enumerate(headers) if h in {"Realtime", "Batch", "Savings", "Plan saves",
                                                        "All batch saves", "Input tokens", "Output tokens"}]
    cells = [row[i] for row in table(result) for i in wanted]
    cost = MODE_HEADERS.index("Cost")
    cells += [row[cost] for row in modes_table(result)]
    return [c for c in cells if c != "—"]


def _check_print(printed: dict[str, Any], cells: list[str]) -> None:
    """On paper, every figure a decision needs is there whole: inside the printable width, not clipped, and
    in the PDF's text."""
    assert printed["height"] > 500
    laid = printed["cells"]
    assert all(c["shown"] for c in laid)
    assert [c for c in laid if c["right"] > A4_PRINTABLE_PX + 1 or c["clipped"]] == []
    shown = {_squeezed(c["text"]) for c in laid}
    text = _squeezed("".join(run for page in printed["pages"] for run in page))
    assert len(printed["pages"]) >= 2
    for cell in cells:
        assert _squeezed(cell) in shown, cell
        assert _squeezed(cell) in text, (cell, "not in the PDF")


def _check_page(seen: dict[int, dict[str, Any]]) -> None:
    for width, look in seen.items():
        assert look["shot"].stat().st_size > 10_000
        errors = [text for kind, text in look["console"] if kind in ("error", "warning")]
        assert errors == [], errors
        assert look["failed"] == []
        assert all(u.startswith("file://") for u in look["requests"]), look["requests"]  # nothing from the network
        layout = look["layout"]
        assert layout["pageWidth"] <= width, (width, layout)
        assert layout["sectionScroll"] <= 0 and layout["overflowing"] == [], (width, layout["overflowing"])
        assert layout["tiny"] == [], (width, layout["tiny"])
        for c in look["charts"]:
            assert c["title"], c
            assert c["bbox"][0] > 50 and c["bbox"][1] > 20, c
            assert c["rect"][0] > 50 and c["rect"][1] > 20, c
            assert c["shapes"] >= 3 and c["texts"] >= 2, c
            assert c["outside"] == [], (width, c["id"], c["outside"])  # every label inside its SVG
            assert c["smallest"] >= 10.99, (width, c["id"], c["smallest"])  # text at least 11 px
    assert seen[1280]["layout"]["tableShown"] and seen[1280]["layout"]["cards"] == 0
    assert not seen[390]["layout"]["tableShown"] and seen[390]["layout"]["cards"] >= 2  # a card per model
    assert seen[390]["layout"]["costsVisible"]
    wide = {c["id"] for c in seen[1280]["charts"]}
    narrow = {c["id"] for c in seen[390]["charts"]}
    assert {"chart-cost", "chart-range", "chart-tokens-0", "chart-turnaround"} <= wide, wide
    assert {"chart-cost-narrow", "chart-turnaround-narrow"} <= narrow, narrow


def test_html_report_renders_in_chromium(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = [
        str(_dataset(tmp_path)), "-m", "acme-small", "-m", "acme-long", "-m", "acme-live",
        "--prices", str(_timed_table(tmp_path)), "--as-of", "2026-03-01", "--rows", "100000", "--deadline", "30h",
    ]
    result = CliRunner().invoke(app, ["report", *args, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(CliRunner().invoke(app, ["estimate", *args, "--json"]).stdout)
    seen = _look(out, tmp_path, "acme")
    _check_page(seen)
    _check_print(seen[1280]["print"], money_and_token_cells(doc))


@pytest.mark.parametrize("rows", [None, "2000000"], ids=["fits", "nothing-fits"])
def test_the_issue_scenario_at_desktop_and_phone_width(tmp_path: Path, rows: str | None) -> None:
    """10,000 reviews, four models (a Claude, a Gemini), --deadline 12h --budget 300: and the same job at 2M
    rows, where nothing fits and the headline must say so instead of recommending what the plan rejects."""
    data = write_reviews(tmp_path / "reviews.jsonl")
    extra = ["--rows", rows] if rows else []
    env = {"BATCHPLAN_HOME": str(tmp_path)}
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", *review_args(data, *extra), "-o", str(out)], env=env)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(CliRunner().invoke(app, ["estimate", *review_args(data, *extra), "--json"], env=env).stdout)
    seen = _look(out, tmp_path, f"reviews-{'fits' if rows is None else 'nothing'}")
    _check_page(seen)
    _check_print(seen[1280]["print"], money_and_token_cells(doc))
    rec = doc["recommendation"]
    for width in (1280, 390):
        headline = " ".join(seen[width]["layout"]["headline"].split())
        assert headline.endswith(rec["headline"]), (headline, rec["headline"])
    plans = [e["plan"] for e in doc["estimates"]]
    if rows is None:
        assert rec["status"] == "fits" and headline.startswith("✓ Cheapest that meets")
        picked = next(e for e in doc["estimates"] if f"{e['provider']}/{e['resolved_model']}" == rec["name"])
        assert picked["plan"]["choice"] == rec["choice"]["plan"] and picked["plan"]["within_budget"] is True
        assert picked["plan"]["cost_usd"] == rec["choice"]["cost_usd"]
    else:
        # every plan says nothing is known to finish in time: the headline must not recommend one
        assert all(p["choice"] in ("none", "unknown") for p in plans)
        assert rec["status"] in ("nothing_fits", "unknown") and "Nothing is known to meet" in headline
        assert "Cheapest" not in headline


def test_long_ids_huge_counts_and_every_mode_on_screen_phone_and_paper(tmp_path: Path) -> None:
    """Issue #28's printed report: a Bedrock profile id (`bedrock/claude-opus-5` →
    `bedrock/regional.anthropic.claude-opus-5`), 600,000,000 output tokens, and a model sold in all four
    processing modes (#25): nothing cut at 1280 px, at 390 px or on A4, and every chart label whole."""
    out = tmp_path / "report.html"
    args = [str(TICKETS), "-m", "bedrock/claude-opus-5", "-m", "gpt-4o-mini", "-m", "modeco-one",
            "--prices", str(MODECO), "--output-tokens", "3000", "--rows", "200000", "--deadline", "6h"]
    result = CliRunner().invoke(app, ["report", *args, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(CliRunner().invoke(app, ["estimate", *args, "--json"]).stdout)
    html = out.read_text(encoding="utf-8")
    assert re.search(r"<title>batchplan report: tickets\.jsonl</title>", html)  # no folder in the title
    assert "Processing modes" in html
    seen = _look(out, tmp_path, "long-ids")
    _check_page(seen)
    cells = money_and_token_cells(doc)
    assert "600,000,000" in cells and any(c.startswith("≈") for c in cells)  # a token cell, a flex band
    _check_print(seen[1280]["print"], cells)
    names = {c["id"] for c in seen[390]["charts"]}
    assert {"chart-cost-narrow", "chart-range-narrow", "chart-turnaround-narrow"} <= names
