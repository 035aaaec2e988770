"""Retirement dates from Anthropic's own machine-readable list (its SDK's DEPRECATED_MODELS, every release),
held against the tables: where they disagree, `check` and `estimate` say so on the model.

pricing/_lifecycles/anthropic.yaml was read from the released wheels on PyPI by scripts/sdk_lifecycles.py."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def _check(name: str, as_of: str = "2026-11-20") -> dict[str, Any]:
    out = CliRunner().invoke(app, ["check", name, "--as-of", as_of, "--json"])
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _lifecycle(notes: list[str]) -> list[str]:
    return [n for n in notes if n.startswith("retirement dates disagree")]


def test_a_release_that_stops_listing_a_model_is_a_disagreement() -> None:
    """Sonnet 4.5: 1.11.0-2.14.0 say 2026-11-30, 2.15.0 on no longer list it (while still listing an older
    date of another model, so the release did not just tidy away passed retirements)."""
    notes = _lifecycle(_check("claude-sonnet-4-5-20250929")["notes"])
    assert len(notes) == 1
    assert "1.11.0-2.14.0 list 2026-11-30; 2.15.0-2.17.0 do not list it; this table says 2026-11-30" in notes[0]


def test_a_date_the_table_lacks_is_a_disagreement() -> None:
    notes = _lifecycle(_check("claude-opus-4-5")["notes"])
    assert len(notes) == 1 and "list 2027-01-22; this table gives no retirement date" in notes[0]


@pytest.mark.parametrize("name", ["claude-3-5-haiku-20241022", "claude-opus-4-0", "claude-haiku-4-5"])
def test_agreement_or_no_listing_adds_nothing(name: str) -> None:
    """Retirements the SDK later tidied away (3.5 Haiku, Opus 4) agree with the table; Haiku 4.5 is never listed."""
    assert _lifecycle(_check(name, "2026-02-17")["notes"]) == []


def test_estimate_carries_the_same_note() -> None:
    data = ROOT / "examples" / "tickets.jsonl"
    out = CliRunner().invoke(app, ["estimate", str(data), "-m", "claude-opus-4-5", "--output-tokens", "10",
                                   "--as-of", "2026-11-20", "--json"])
    notes = json.loads(out.stdout)["notes"]
    assert any("claude-opus-4-5: retirement dates disagree" in n for n in notes)


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("sdk_lifecycles", ROOT / "scripts" / "sdk_lifecycles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("place", "source"),
    [
        ("anthropic/_data/deprecated_models.py",
         'from typing import Dict\n\nDEPRECATED_MODELS: Dict[str, str] = {\n    "claude-x": "June 30th, 2026",\n}\n'),
        ("anthropic/resources/messages/messages.py",
         'import warnings\n\nDEPRECATED_MODELS = {\n    "claude-x": "June 30th, 2026",\n}\n\n\nclass Messages: ...\n'),
    ],
    ids=["2.x", "1.x"],
)
def test_the_script_reads_the_table_where_each_release_keeps_it(place: str, source: str, tmp_path: Path) -> None:
    wheel = tmp_path / "anthropic-2.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(place, source)
    assert _script().table_of(wheel) == {"claude-x": date(2026, 6, 30)}
