"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

Opened at 1280 px and at 390 px (a phone): every visible chart must have a non-empty drawn area, shapes
in it and every label inside its SVG; nothing in the estimate section may overflow sideways (on the phone
each model is a card); no text may render below 11 px; the headline must say what the JSON
recommendation says (and, when every plan says nothing fits, must not recommend one); the console must
stay free of errors (a Content-Security-Policy violation is one). Screenshots are saved (paths printed
with -s); the issue's scenario (tests/_reviews.py) is one of the reports. Skips only on a machine
without /usr/bin/chromium, and never when $CI is set: there a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from _reviews import args as review_args
from _reviews import write_reviews
from typer.testing import CliRunner

from planner.cli.main import app

CHROMIUM = Path(os.environ.get("BATCHPLAN_CHROMIUM", "/usr/bin/chromium"))
ACME = Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml"
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


#: The layout facts a reader notices: sideways overflow, text too small to read, the headline.
LAYOUT = """() => {
    const section = document.querySelector('#estimate');
    const right = section.getBoundingClientRect().right;
    const overflowing = [...section.querySelectorAll('*')]
        .filter(el => el.getClientRects().length && el.getBoundingClientRect().right > right + 1)
        .map(el => el.tagName + ' ' + (el.textContent || '').slice(0, 40));
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
                    page.emulate_media(media="print")
                    seen[width]["print_height"] = page.evaluate("() => document.body.scrollHeight")
                page.close()
        finally:
            browser.close()
    return seen


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
    assert seen[1280]["print_height"] > 500


def test_html_report_renders_in_chromium(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = [
        str(_dataset(tmp_path)), "-m", "acme-small", "-m", "acme-long", "-m", "acme-live",
        "--prices", str(_timed_table(tmp_path)), "--as-of", "2026-03-01", "--rows", "100000", "--deadline", "30h",
    ]
    result = CliRunner().invoke(app, ["report", *args, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    _check_page(_look(out, tmp_path, "acme"))


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
