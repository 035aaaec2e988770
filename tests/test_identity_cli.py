"""Every case listed at the top of issue #12, from the outside (each failed before the fix).

Real ids: Anthropic's API answers with dated snapshots such as `claude-sonnet-4-5-20250929`
(https://platform.claude.com/docs/en/about-claude/models/model-ids-and-versions); Bedrock's ids and
inference profiles are https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html;
Gemini's `models/…` names are https://ai.google.dev/gemini-api/docs/models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

runner = CliRunner()
NOV = "2026-11-20"
REG = "regional.anthropic."  # genai-prices' Bedrock rows for in-region and geo (us./eu./apac.) profiles


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def check_json(model: str, as_of: str = NOV) -> dict[str, object]:
    code, out, err = run("check", model, "--json", "--as-of", as_of)
    assert code in (0, 1), err
    doc: dict[str, object] = json.loads(out)
    return doc


@pytest.mark.parametrize(
    ("model", "row", "batch_in", "batch_out"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "1.5", "7.5"),  # not Bedrock's $1.65/$8.25
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5", "0.5", "2.5"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5", "2.5", "12.5"),
    ],
)
def test_anthropic_snapshots_get_anthropic_prices(model: str, row: str, batch_in: str, batch_out: str) -> None:
    doc = check_json(model)
    assert (doc["provider"], doc["model"], doc["qualifies"]) == ("anthropic", row, True)
    batch = doc["batch"]
    assert isinstance(batch, dict) and (batch["input"], batch["output"]) == (batch_in, batch_out)
    assert doc["batch_basis"] == "explicit"


def test_claude_sonnet_4_snapshot_is_anthropics_and_retired() -> None:
    doc = check_json("claude-sonnet-4-20250514")
    assert (doc["provider"], doc["model"], doc["qualifies"]) == ("anthropic", "claude-sonnet-4-0", False)
    assert doc["reasons"] == ["retired on 2026-06-15: cannot run"] and doc["batch"] is None


@pytest.mark.parametrize(
    ("model", "provider", "row"),
    [
        ("claude-3-5-sonnet-20241022", "anthropic", "claude-3-5-sonnet"),
        ("claude-3-haiku-20240307", "anthropic", "claude-3-haiku"),
        ("claude-3-7-sonnet-20250219", "anthropic", "claude-3-7-sonnet"),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "bedrock", f"{REG}claude-3-5-sonnet-20241022-v2:0"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock", f"{REG}claude-sonnet-4-5-20250929-v1:0"),
        ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock", f"{REG}claude-sonnet-4-5-20250929-v1:0"),
        ("apac.anthropic.claude-sonnet-4-20250514-v1:0", "bedrock", f"{REG}claude-sonnet-4-20250514-v1:0"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock",
         "global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("models/gemini-2.5-flash", "google", "gemini-2.5-flash"),
        ("claude-mythos-5-2", "anthropic", "claude-mythos-5-2"),
        ("gpt-4o-mini-search-preview", "openai", "gpt-4o-mini-search-preview"),
    ],
)
def test_ids_that_were_unknown_or_misrouted_now_resolve(model: str, provider: str, row: str) -> None:
    doc = check_json(model)
    assert (doc["provider"], doc["model"]) == (provider, row)


def test_retired_and_search_preview_verdicts_agree_across_models_and_check() -> None:
    code, out, _ = run("models", "--provider", "anthropic", "--batch-only", "--json", "--as-of", "2026-11-25")
    listed = {m["model"] for m in json.loads(out)["models"]}
    assert code == 0 and "claude-2" not in listed and "claude-3-opus" not in listed and "claude-haiku-4-5" in listed
    code, out, _ = run("models", "--provider", "anthropic", "--as-of", "2026-11-25")
    code, out, _ = run("models", "--provider", "anthropic", "--as-of", "2026-11-25", "--json")
    rows = {m["model"]: m for m in json.loads(out)["models"]}
    assert rows["claude-2"]["batch"] is None and rows["claude-2"]["reasons"] == ["retired on 2025-07-21: cannot run"]
    mini = check_json("gpt-4o-mini-search-preview", "2026-11-25")
    full = check_json("gpt-4o-search-preview", "2026-11-25")
    assert mini["qualifies"] is False and full["qualifies"] is False


def test_estimate_and_report_give_a_retired_model_no_batch_price_and_no_realtime_plan(
    write_jsonl: Callable[..., Path], tmp_path: Path
) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}])
    code, out, err = run("estimate", str(data), "-m", "claude-2", "-m", "claude-haiku-4-5", "--as-of", "2026-11-25",
                         "--budget", "5000", "--json")
    assert code == 0, err
    e = {x["model"]: x for x in json.loads(out)["estimates"]}["claude-2"]
    assert e["batch_cost_usd"] is None and e["savings_usd"] is None and e["runs"] is False
    assert e["reasons"] == ["retired on 2025-07-21: cannot run"] and e["plan"]["choice"] == "none"
    code, out, err = run("estimate", str(data), "-m", "claude-2", "-m", "claude-haiku-4-5", "--as-of", "2026-11-25",
                         "--budget", "5000")
    assert code == 0 and "realtime only" not in out.split("claude-2")[-1].split("\n")[0]


@pytest.mark.parametrize(
    ("tier", "message"),
    [
        ("teir-3", "--tier 'teir-3' is not a tier of openai"),
        ("openia=tier-5", "unknown provider 'openia'"),
        ("anthropic=tier-9", "anthropic has no tier 'tier-9'; known: start, build, scale"),
    ],
)
def test_tier_typos_are_errors(write_jsonl: Callable[..., Path], tier: str, message: str) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    code, _, err = run("estimate", str(data), "-m", "gpt-4o-mini", "--as-of", "2026-11-25", "--tier", tier)
    assert code == 2 and message in err and "Traceback" not in err
    if tier == "teir-3":
        assert "nearest: tier-3" in err
    if tier == "openia=tier-5":
        assert "nearest: openai" in err


@pytest.mark.parametrize("spelling", ["1", "tier1", "Tier 1", "tier-1", "TIER-1", "openai=1"])
def test_tier_spellings_people_use(write_jsonl: Callable[..., Path], spelling: str) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    code, out, err = run("estimate", str(data), "-m", "gpt-4o-mini", "--as-of", "2026-11-25", "--tier", spelling,
                         "--json")
    assert code == 0, err
    assert json.loads(out)["estimates"][0]["turnaround"]["tier"] == "tier-1"


def test_prepare_refuses_a_model_the_vendor_does_not_serve(write_jsonl: Callable[..., Path], tmp_path: Path) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    code, _, err = run("prepare", str(data), "-m", "gpt-4o-mini", "--vendor", "anthropic", "-o", str(tmp_path / "o"),
                       "--as-of", "2026-11-25")
    assert code == 2 and "anthropic does not serve model 'gpt-4o-mini'" in err and "--vendor openai" in err
    assert not list((tmp_path / "o").glob("*")) if (tmp_path / "o").exists() else True


def test_validate_an_unknown_model_exits_2(write_jsonl: Callable[..., Path]) -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}
    path = write_jsonl([line], "batch.jsonl")
    code, _, err = run("validate", str(path), "-m", "nope", "--as-of", "2026-11-25")
    assert code == 2 and "unknown openai model 'nope'" in err


def test_validate_a_real_anthropic_file_uses_anthropic_limits(write_jsonl: Callable[..., Path]) -> None:
    """A 2-request Anthropic batch with the snapshot id: no Bedrock 'at least 100' limit."""
    rows = [{"custom_id": f"r{i}", "params": {"model": "claude-sonnet-4-5-20250929", "max_tokens": 16,
                                             "messages": [{"role": "user", "content": "hi"}]}} for i in range(2)]
    path = write_jsonl(rows, "anthropic.jsonl")
    code, out, err = run("validate", str(path), "--vendor", "anthropic", "--as-of", NOV, "--json")
    doc = json.loads(out)
    assert code == 0, (out, err)
    assert doc["problems"] == [] and doc["estimate"]["resolved_model"] == "claude-sonnet-4-5"
    assert doc["estimate"]["price_table"].startswith("anthropic@")


def test_a_date_before_the_tables_names_the_table_of_the_model_asked_about(write_jsonl: Callable[..., Path]) -> None:
    """Priced with the earliest table that lists it, as reconcile prices an old batch, saying so; check refuses
    with the missing table of the model's own provider."""
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    code, _, err = run("estimate", str(data), "-m", "gpt-4o-mini", "--as-of", "2025-01-01")
    assert code == 0 and "no price table is in force on 2025-01-01 (--as-of); priced with openai@" in err
    assert "anthropic" not in err
    code, _, err = run("check", "gpt-4o-mini", "--as-of", "2025-01-01")
    assert code == 2 and "no openai price table in force on 2025-01-01" in err and "anthropic" not in err


def test_suggestions_are_distinct_and_each_resolves() -> None:
    code, _, err = run("check", "gpt-4o-mni", "--as-of", "2026-11-25")
    assert code == 2
    names = err.split("did you mean ")[1].rstrip("?\n").split(", ")
    assert len(names) == len(set(names)) >= 1
    for name in names:
        assert run("check", name, "--as-of", "2026-11-25")[0] in (0, 1), name


def test_a_csv_record_is_numbered_by_the_line_it_starts_on_when_its_fields_hold_newlines(tmp_path: Path) -> None:
    """A quoted field with newlines makes one record span lines: its `row-N` id and its errors name the
    line it starts on (the first record is row-2 under the header, as in a file without such fields)."""
    from planner.read.datasets import read_requests
    from planner.read.options import ReadOptions

    data = tmp_path / "notes.csv"
    data.write_text('id,text\n,"first\nsecond\nthird"\n,"next"\n,"bad","extra"\n')
    _, stream = read_requests(str(data), ReadOptions(text_column="text"))
    got = []
    with pytest.raises(Exception, match=r"notes\.csv:6: expected 2 columns"):
        for req in stream:
            got.append((req.id, req.line))
    assert got == [("row-2", 2), ("row-5", 5)]


def test_retired_models_one_rule_on_every_command(write_jsonl: Callable[..., Path], tmp_path: Path) -> None:
    """docs/names.md, "Retired models": a model the tables know as retired is known, and cannot run
    (exit 1, saying since when); a name the tables leave out on purpose stays unknown (exit 2, why)."""
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}])
    code, out, _ = run("check", "claude-3-5-sonnet-20241022", "--as-of", "2026-12-06")
    assert code == 1 and "retired on 2025-10-28: cannot run" in out
    code, out, err = run("estimate", str(data), "-m", "claude-3-5-sonnet-20241022", "--as-of", "2026-12-06")
    assert code == 1, err
    assert "No model asked about can run this job" in out and "retired on 2025-10-28" in out
    assert out.count("retired on 2025-10-28: cannot run") <= 1  # the verdict line says "cannot run" once
    assert "cannot run: retired on 2025-10-28" in json.dumps(
        json.loads(run("estimate", str(data), "-m", "claude-3-5-sonnet-20241022", "--as-of", "2026-12-06",
                       "--json")[1])["recommendation"])
    code, _, _ = run("report", str(data), "-m", "claude-3-5-sonnet-20241022", "--as-of", "2026-12-06",
                     "-o", str(tmp_path / "r.md"))
    assert code == 1 and (tmp_path / "r.md").exists()  # the answer is written, and it says why
    code, out, _ = run("prepare", str(data), "-m", "claude-3-5-sonnet-20241022", "--as-of", "2026-12-06",
                       "-o", str(tmp_path / "o"))
    assert code == 1 and "✗ retired on 2025-10-28" in out
    code, _, _ = run("estimate", str(data), "-m", "claude-3-5-sonnet-20241022", "-m", "claude-haiku-4-5",
                     "--as-of", "2026-12-06")
    assert code == 0  # one model asked about can run it
    code, out, err = run("check", "models/gemini-1.5-flash-002", "--as-of", "2026-12-06")
    assert code == 2 and "left out of google" in err and "on purpose: Gemini 1.x models are retired" in err


def test_estimate_shows_the_ids_the_vendors_apis_take(write_jsonl: Callable[..., Path]) -> None:
    """Bedrock's rows are `regional.anthropic.…`, an id AWS never takes; Vertex's Opus 4.1 row is
    `claude-4-opus`: the answer names `anthropic.claude-opus-5` and the snapshot asked for."""
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}])
    code, out, err = run("estimate", str(data), "-m", "bedrock/claude-opus-5", "-m", "claude-opus-4-1@20250805",
                         "--as-of", "2026-12-06")
    assert code == 0, err
    assert "bedrock/anthropic.claude-opus-5" in out and "vertex/claude-opus-4-1@20250805" in out
    assert "regional." not in out and "claude-4-opus" not in out
    doc = json.loads(run("estimate", str(data), "-m", "bedrock/claude-opus-5", "--as-of", "2026-12-06", "--json")[1])
    assert doc["estimates"][0]["resolved_model"] == "regional.anthropic.claude-opus-5"  # the JSON keeps the row
