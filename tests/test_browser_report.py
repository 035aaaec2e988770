"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

Every chart must have a non-empty drawn area and shapes in it, the console must stay free of errors
(a Content-Security-Policy violation is one), and a screenshot is saved. Skips only on a machine
without /usr/bin/chromium, and never when $CI is set: there a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli import app

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


def test_html_report_renders_in_chromium(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(_dataset(tmp_path)),
            "-m",
            "acme-small",
            "-m",
            "acme-long",
            "-m",
            "acme-live",
            "--prices",
            str(_timed_table(tmp_path)),
            "--as-of",
            "2026-03-01",
            "--rows",
            "100000",
            "--deadline",
            "30h",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    console: list[tuple[str, str]] = []
    failed: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: console.append(("error", str(e))))
            page.on("requestfailed", lambda r: failed.append(r.url))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri(), wait_until="load")
            charts: list[dict[str, Any]] = page.evaluate(
                """() => [...document.querySelectorAll('svg')].map(svg => {
                    const box = svg.getBBox();
                    const rect = svg.getBoundingClientRect();
                    const shapes = [...svg.querySelectorAll('rect, path, line, circle, polygon')]
                        .filter(s => { const b = s.getBBox(); return b.width > 0 && b.height > 0; });
                    return {id: svg.id, title: svg.querySelector(':scope > title')?.textContent || '',
                            bbox: [box.width, box.height], rect: [rect.width, rect.height],
                            shapes: shapes.length, texts: svg.querySelectorAll('text').length};
                })"""
            )
            headline = page.inner_text(".summary .headline")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            page.emulate_media(media="print")
            print_height = page.evaluate("() => document.body.scrollHeight")
        finally:
            browser.close()
    print(f"\nscreenshot: {shot}")
    assert shot.stat().st_size > 10_000
    errors = [text for kind, text in console if kind in ("error", "warning")]
    assert errors == [], errors
    assert failed == []
    assert all(u.startswith("file://") for u in requests), requests  # nothing fetched from the network
    ids = {c["id"] for c in charts}
    assert {"chart-cost", "chart-range", "chart-tokens-0", "chart-turnaround"} <= ids, ids
    for c in charts:
        assert c["title"], c
        assert c["bbox"][0] > 50 and c["bbox"][1] > 20, c
        assert c["rect"][0] > 50 and c["rect"][1] > 20, c
        assert c["shapes"] >= 3 and c["texts"] >= 2, c
    assert headline.startswith("Recommended:")
    assert print_height > 500
