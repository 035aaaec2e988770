"""`reconcile -o report.html|.md|.csv`: the answer as a file for whoever pays the bill (#28), headed
"You paid $X against an estimate of $Y", with the same numbers as `--json` and the terminal; written all or
nothing, never over a file it read, never over an existing file without --force.

The batch is real: 65 gpt-4o requests and their results (tests/fixtures/real/README.md cites them)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

REAL = Path(__file__).parent / "fixtures" / "real"
RESULTS = str(REAL / "openai_gpt4o_output.jsonl")
BASE = ["reconcile", RESULTS, "--input", str(REAL / "openai_gpt4o_input.jsonl"), "--no-store"]
runner = CliRunner()


@pytest.fixture
def truth() -> dict:
    result = runner.invoke(app, [*BASE, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("suffix", [".html", ".md", ".csv"])
def test_each_form_is_written_with_the_json_numbers(tmp_path: Path, truth: dict, suffix: str) -> None:
    out = tmp_path / f"paid{suffix}"
    result = runner.invoke(app, [*BASE, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    cost = truth["cost_usd"]
    if suffix == ".csv":
        rows = {r["measure"]: r for r in csv.DictReader(io.StringIO(text))}
        assert list(rows) == ["input_tokens", "output_tokens", "cost_usd"]
        assert rows["cost_usd"]["actual"] == cost["actual"] and rows["cost_usd"]["estimated"] == cost["estimated"]
        assert float(rows["output_tokens"]["actual_vs_estimate_pct"]) == truth["output_tokens"][
            "actual_vs_estimate_pct"]
        assert int(rows["input_tokens"]["actual"]) == truth["input_tokens"]["actual"]
    else:
        text = re.sub(r"<[^>]+>", "", text)  # the page keeps each amount unbroken in a span
        assert "You paid $0.1055 against an estimate of $0.3706 (actual vs estimate -71.53%)." in text
        assert "-81.57%" in text  # output tokens, read the same way as everywhere: actual vs estimate
    assert f"wrote {suffix.lstrip('.').replace('markdown', 'md')} reconciliation {out}" in result.stderr
    # the terminal ends with the same sentence
    assert "You paid $0.1055 against an estimate of $0.3706" in result.stdout


def test_the_page_names_no_folder_and_fetches_nothing(tmp_path: Path) -> None:
    out = tmp_path / "paid.html"
    assert runner.invoke(app, [*BASE, "-o", str(out)]).exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert "<title>batchplan reconcile: openai_gpt4o_output.jsonl</title>" in page
    assert "default-src 'none'" in page and str(REAL) not in page.split("</title>")[0]


def test_an_existing_file_needs_force_and_is_left_whole(tmp_path: Path) -> None:
    out = tmp_path / "paid.md"
    out.write_text("mine")
    result = runner.invoke(app, [*BASE, "-o", str(out)])
    assert result.exit_code == 2 and out.read_text() == "mine"
    assert result.stderr.count("\n") == 1 and "--force" in result.stderr
    assert runner.invoke(app, [*BASE, "-o", str(out), "--force"]).exit_code == 0
    assert out.read_text().startswith("# Reconciled batch")


def test_a_file_it_reads_is_never_replaced(tmp_path: Path) -> None:
    results = tmp_path / "out.csv"  # a results file named like a report
    results.write_bytes(Path(RESULTS).read_bytes())
    before = results.read_bytes()
    result = runner.invoke(app, ["reconcile", str(results), "--no-store", "-o", str(results), "--force"])
    assert result.exit_code != 0 and results.read_bytes() == before
    assert "Traceback" not in result.stderr


def test_an_unknown_form_fails_before_anything_is_read(tmp_path: Path) -> None:
    result = runner.invoke(app, ["reconcile", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "paid.pdf")])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("batchplan: error: can't tell the form from 'paid.pdf': use a file ending in "
                                     ".html, .md or .csv")


def test_quiet_silences_the_note_not_the_file(tmp_path: Path) -> None:
    out = tmp_path / "paid.csv"
    result = runner.invoke(app, ["-q", *BASE, "-o", str(out)])
    assert result.exit_code == 0 and out.exists() and result.stderr == ""
