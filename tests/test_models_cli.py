"""`batchplan models` and `prices list|show|diff|validate` from the outside."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from planner.cli.main import app
from planner.prices.pricing import shipped_pricing_dir

runner = CliRunner()


def test_models_json_contract() -> None:
    result = runner.invoke(app, ["models", "--provider", "openai", "--as-of", "2026-11-25", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["as_of"] == "2026-11-25"
    m = next(r for r in doc["models"] if r["model"] == "gpt-5.4")
    assert {"provider", "model", "aliases", "context_window", "max_output", "batch_supported", "realtime", "batch",
            "table_version"} <= set(m)
    assert m["realtime"]["input"] == "2.5" and m["batch"]["input"] == "1.25"
    assert m["realtime"]["tiers"][0] == {"above_input_tokens": 272000, "input": "5", "cached_input": "0.5",
                                         "cache_write": None, "cache_write_1h": None, "output": "22.5"}
    assert m["table_version"] == "2026-11-17" and "gpt-5.4-2026-03-05" in m["aliases"]


def test_models_batch_only_filters() -> None:
    doc = json.loads(runner.invoke(app, ["models", "--batch-only", "--json", "--as-of", "2026-11-25"]).stdout)
    ids = {(r["provider"], r["model"]) for r in doc["models"]}
    assert ("openai", "gpt-4o") in ids and not any(p == "deepseek" for p, _ in ids)
    assert all(r["batch_supported"] and r["batch"] for r in doc["models"])


def test_models_unknown_provider_and_early_date() -> None:
    bad = runner.invoke(app, ["models", "--provider", "nope"])
    assert bad.exit_code == 2 and "unknown provider 'nope'" in bad.stderr
    early = runner.invoke(app, ["models", "--provider", "openai", "--as-of", "2025-01-01"])
    assert early.exit_code == 2 and "earliest version starts 2026-07-09" in early.stderr


def test_prices_show_says_when_batch_is_derived() -> None:
    result = runner.invoke(app, ["prices", "show", "openai", "--as-of", "2026-07-10"])
    assert result.exit_code == 0 and "default multiplier" in result.stdout and "openai@2026-07-09" in result.stdout


def test_prices_diff_shows_the_price_cut() -> None:
    result = runner.invoke(app, ["prices", "diff", "openai", "2026-07-09", "2026-07-30"])
    assert result.exit_code == 0 and "~ gpt-5.6-luna realtime.input: 1 -> 0.2" in result.stdout


def test_prices_validate(tmp_path: Path) -> None:
    good = shipped_pricing_dir() / "anthropic" / "2026-11-09.yaml"
    assert runner.invoke(app, ["prices", "validate", str(good)]).exit_code == 0
    bad = tmp_path / "2026-01-01.yaml"
    text = good.read_text().replace("version: '2026-11-09'", "version: '2026-01-01'")
    bad.write_text(text.replace("input: '5'", "input: 5.5", 1))
    result = runner.invoke(app, ["prices", "validate", str(bad)])
    assert result.exit_code == 2 and "quoted string" in result.stderr and "model '" in result.stderr


def test_prices_list_json() -> None:
    doc = json.loads(runner.invoke(app, ["prices", "list", "--json"]).stdout)
    assert doc["openai"][0] == "2026-07-09" and "deepseek" in doc
