"""The user's config file layers their own price tables over the shipped ones on every command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

ACME = Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml"
runner = CliRunner()


def test_config_tables_apply_without_prices_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path))
    assert runner.invoke(app, ["check", "acme-small", "--as-of", "2026-03-01"]).exit_code == 2  # unknown
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "acme.yaml").write_text(ACME.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "config.yaml").write_text("prices:\n  - tables/acme.yaml\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "acme-small", "--as-of", "2026-03-01"])
    assert result.exit_code == 0, result.stderr
    # shipped tables are still there underneath
    assert runner.invoke(app, ["check", "gpt-4o-mini", "--as-of", "2026-11-25"]).exit_code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("prices: [\n", "cannot read the config"),
        ("price: [a.yaml]\n", "price: Extra inputs are not permitted"),
        ("prices: [missing.yaml]\n", "missing.yaml: no such price table"),
    ],
)
def test_bad_config_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, message: str) -> None:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path))
    (tmp_path / "config.yaml").write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["models", "--provider", "openai"])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_named_config_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_CONFIG", str(tmp_path / "nope.yaml"))
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 2 and "no such config file" in result.stderr
