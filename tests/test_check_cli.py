"""`batchplan check MODEL`: exit 0 qualifies, 1 does not (with every reason), 2 unknown (with suggestions)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from planner.cli.main import app

runner = CliRunner()


def check(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["check", *args, "--as-of", "2026-11-25"])
    return r.exit_code, r.stdout, r.stderr


def test_qualifies_exit_0() -> None:
    code, out, _ = check("gpt-4o")
    assert code == 0 and "qualifies" in out and "$1.25 in / $5 out" in out


def test_snapshot_and_alias_resolve() -> None:
    code, out, _ = check("gpt-4o-2024-11-20")
    assert code == 0 and "resolves to openai/gpt-4o" in out


def test_retired_model_exit_1_with_reason() -> None:
    code, out, _ = check("claude-3-opus")
    assert code == 1 and "retired on 2026-01-05" in out


def test_no_batch_api_exit_1() -> None:
    code, out, _ = check("deepseek/deepseek-chat")
    assert code == 1 and "no batch API" in out


def test_endpoint_not_allowed() -> None:
    code, out, _ = check("o3-pro", "--endpoint", "/v1/chat/completions")
    assert code == 1 and "endpoint /v1/chat/completions is not allowed" in out


def test_fine_tuned_openai_ok_azure_not() -> None:
    assert check("ft:gpt-4o-mini:org::id")[0] == 0
    code, out, _ = check("azure/ft:gpt-4o-mini:org::id")
    assert code == 1 and "fine-tuned models are not supported" in out


def test_fine_tuned_of_unlisted_base_checks_the_base() -> None:
    code, out, _ = check("ft:gpt-4.1-mini:acme::x1")
    assert code == 0 and "checked as its base model" in out


def test_unknown_model_exit_2_with_suggestions() -> None:
    code, _, err = check("gtp-4o")
    assert code == 2 and "did you mean gpt-4o" in err


def test_json_lists_reasons() -> None:
    code, out, _ = check("claude-3-opus", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["qualifies"] is False and doc["reasons"] == ["retired on 2026-01-05: cannot run"]


def test_as_of_before_price_cut_says_discount_is_derived() -> None:
    r = runner.invoke(app, ["check", "gpt-5.6-luna", "--as-of", "2026-07-10"])
    assert r.exit_code == 0 and "default discount" in r.stdout and "$0.5 in" in r.stdout


#: Vertex's page of Claude models with batch prediction, as read on 2026-12-02 (its newest stored copy).
VERTEX_CLAUDE_BATCH = "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/partner-models/claude/batch"


def test_claude_models_on_vertex_s_batch_list_qualify_and_say_what_their_price_rests_on() -> None:
    """Before 2026-12-02 every Claude model on Vertex but Fable 5.2 said "does NOT qualify", though Vertex
    runs batch predictions for the models its Claude batch page lists: a user was told to pay realtime."""
    r = runner.invoke(app, ["check", "vertex/claude-sonnet-5-5", "--as-of", "2026-12-02"])
    assert r.exit_code == 0 and "qualifies for batch" in r.stdout
    assert "$1.0 in / $5.0 out" in r.stdout and "(default multiplier)" in r.stdout  # half of $2 / $10
    assert VERTEX_CLAUDE_BATCH in r.stdout and "give no Claude batch price" in r.stdout
    # a Vertex snapshot id of a model the earlier copy of the page lists: the note says how old that is
    r = runner.invoke(app, ["check", "claude-sonnet-4@20250514", "--as-of", "2026-12-02", "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 0 and out["provider"] == "vertex" and out["batch_basis"] == "default multiplier"
    assert any("earlier copy" in n and "Opus 4.1 was the newest" in n for n in out["notes"])
    # Haiku 5.5: its own model page lists batch predictions among its capabilities
    r = runner.invoke(app, ["check", "vertex/claude-haiku-5-5", "--as-of", "2026-12-02"])
    assert r.exit_code == 0 and "partner-models/claude/haiku-5-5" in r.stdout


def test_claude_models_the_readable_list_does_not_name_say_not_verified_not_a_bare_no() -> None:
    for name in ("vertex/claude-opus-4-8", "claude-haiku-4-5@20251001"):
        r = runner.invoke(app, ["check", name, "--as-of", "2026-12-02"])
        assert r.exit_code == 1 and "not verified" in r.stdout and VERTEX_CLAUDE_BATCH in r.stdout, name
    # 3.5 Sonnet: the page lists v2, but one entry prices v1 and v2, so it cannot say yes for both
    r = runner.invoke(app, ["check", "claude-3-5-sonnet-v2@20241022", "--as-of", "2026-12-02"])
    assert r.exit_code == 1 and "names Claude 3.5 Sonnet v2 but not 3.5 Sonnet (v1)" in r.stdout
