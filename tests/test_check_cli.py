"""`batchplan check MODEL`: exit 0 qualifies, 1 does not (with every reason), 2 unknown (with suggestions)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from planner.cli.main import app

runner = CliRunner()


def check(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["check", *args, "--as-of", "2026-11-25"])
    return r.exit_code, r.stdout, r.stderr


def test_qualifies_exit_0() -> None:
    code, out, _ = check("gpt-4o")
    assert code == 0 and "qualifies" in out and "$1.25 in / $5.00 out" in out


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
    assert r.exit_code == 0 and "default discount" in r.stdout and "$0.50 in" in r.stdout


#: Vertex's page of Claude models with batch prediction, as read on 2026-12-02 (its newest stored copy).
VERTEX_CLAUDE_BATCH = "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/partner-models/claude/batch"


def test_claude_models_on_vertex_s_batch_list_qualify_and_say_what_their_price_rests_on() -> None:
    """Before 2026-12-02 every Claude model on Vertex but Fable 5.2 said "does NOT qualify", though Vertex
    runs batch predictions for the models its Claude batch page lists: a user was told to pay realtime."""
    r = runner.invoke(app, ["check", "vertex/claude-sonnet-5-5", "--as-of", "2026-12-02"])
    assert r.exit_code == 0 and "qualifies for batch" in r.stdout
    assert "$1.00 in / $5.00 out" in r.stdout and "(default multiplier)" in r.stdout  # half of $2 / $10
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


# ---------------------------------------------------------------------------------------------
# Several ids at once, --from, --alias, names people use, one money format (issue #28)


def test_several_ids_give_one_table_and_the_worst_exit_code() -> None:
    code, out, err = check("gpt-4o", "claude-3-opus", "gpt-4o-mini")
    rows = {line.split()[0]: line for line in out.splitlines()[1:4]}
    assert code == 1, err  # one does not qualify: the worst of 0, 1, 0
    assert out.splitlines()[0].split() == ["Asked", "Model", "Batch", "Batch", "in", "/", "out", "Modes", "Why", "not"]
    assert "✓ yes" in rows["gpt-4o"] and "$1.25 / $5.00" in rows["gpt-4o"]
    assert "✗ no" in rows["claude-3-opus"] and "retired on 2026-01-05" in rows["claude-3-opus"]
    assert "3 models on 2026-11-25: 2 qualify, 1 do not, 0 unknown" in out
    code, out, _ = check("gpt-4o", "gtp-4o")
    assert code == 2 and "? unknown" in out and "did you mean gpt-4o" in out  # an unknown row, not the end


def test_from_a_file_with_comments_and_blank_lines_or_stdin(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("# pasted from the consoles\ngpt-4o   # prod\n\n  claude-haiku-4-5\n")
    code, out, _ = check("--from", str(ids), "--json")
    assert code == 0
    assert [d["model"] for d in json.loads(out)] == ["gpt-4o", "claude-haiku-4-5"]
    r = runner.invoke(app, ["check", "--from", "-", "--as-of", "2026-11-25"], input="gpt-4o-mini\n")
    assert r.exit_code == 0 and "openai/gpt-4o-mini" in r.stdout and "1 models on" in r.stdout
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    code, _, err = check("--from", str(empty))
    assert code == 2 and f"{empty}: no model ids in it" in err
    code, _, err = check()
    assert code == 2 and "name a MODEL to check" in err


def test_json_of_several_is_a_list_of_the_one_model_objects() -> None:
    one = json.loads(check("gpt-4o", "--json")[1])
    code, out, _ = check("gpt-4o", "nope-model-x", "--json")
    many = json.loads(out)
    assert code == 2 and isinstance(one, dict) and isinstance(many, list)
    assert many[0] == one
    assert many[1]["requested"] == "nope-model-x" and many[1]["qualifies"] is None and many[1]["exit_code"] == 2
    assert "unknown model" in many[1]["error"]


def test_an_azure_deployment_name_gets_the_alias_hint_then_resolves_with_it() -> None:
    code, _, err = check("my-gpt4o-prod")
    assert code == 2 and "--alias my-gpt4o-prod=azure/gpt-4o" in err and "gpt-5.4-pro" not in err
    code, out, _ = check("my-gpt4o-prod", "--alias", "my-gpt4o-prod=azure/gpt-4o")
    assert code == 0 and out.startswith("azure/gpt-4o (azure@") and "your --alias for azure/gpt-4o" in out
    code, _, err = check("x", "--alias", "x")
    assert code == 2 and "batchplan: error: invalid value for '--alias'" in err and "NAME=PROVIDER/MODEL" in err
    code, _, err = check("a", "--alias", "a=b", "--alias", "b=a")  # one step, never a loop
    assert code == 2 and "unknown model 'b'" in err


def test_alias_works_on_every_command_that_takes_model_names(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}) + "\n")
    alias = ["--alias", "prod4o=azure/gpt-4o", "--as-of", "2026-11-25"]
    r = runner.invoke(app, ["estimate", str(data), "-m", "prod4o", "--json", *alias])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["estimates"][0]["provider"] == "azure"
    r = runner.invoke(app, ["report", str(data), "-m", "prod4o", "-o", str(tmp_path / "r.csv"), *alias])
    assert r.exit_code == 0 and "azure" in (tmp_path / "r.csv").read_text()
    r = runner.invoke(app, ["prepare", str(data), "-m", "prod4o", "-o", str(tmp_path / "o"), *alias])
    line = json.loads((tmp_path / "o" / "batch-0001.jsonl").read_text().splitlines()[0])
    assert r.exit_code == 0 and line["body"]["model"] == "prod4o"  # Azure's lines name the deployment
    r = runner.invoke(app, ["validate", str(tmp_path / "o" / "batch-0001.jsonl"), "--vendor", "azure", "--json",
                            *alias])
    assert r.exit_code == 0 and json.loads(r.stdout)["estimate"]["price_table"].startswith("azure@")


def test_names_shown_are_the_ids_the_vendors_apis_take() -> None:
    code, out, _ = check("claude-opus-4-1@20250805")
    assert code == 0 and out.startswith("vertex/claude-opus-4-1@20250805 (vertex@")
    code, out, _ = check("bedrock/claude-opus-5")
    assert out.startswith("bedrock/anthropic.claude-opus-5 (bedrock@") and "regional." not in out.splitlines()[0]
    doc = json.loads(check("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "--json")[1])
    assert doc["api_id"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert doc["model"] == "regional.anthropic.claude-sonnet-4-5-20250929-v1:0"  # the table row, as before


def test_per_million_prices_read_one_way() -> None:
    """Two decimals at least, no float noise: $0.075, $0.30, $5.00 (never $0.3, $5, $0.0 or $0.010)."""
    import re

    for model in ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "claude-haiku-4-5"):
        out = check(model)[1]
        prices = re.findall(r"\$(\d+(?:\.\d+)?) (?:in|out)", out)
        assert len(prices) == 2, out
        assert all(re.fullmatch(r"\d+\.\d{2,}", p) and not re.fullmatch(r"\d+\.\d{2}\d*0", p) for p in prices), out


def test_check_shows_the_processing_modes_a_model_qualifies_for() -> None:
    """Each mode's verdict (planner.plan.modes.mode_offers), with its prices or why not; --json carries
    them under the keys estimate's modes use."""
    r = runner.invoke(app, ["check", "gpt-5.5", "--as-of", "2026-12-06"])
    lines = {line.split()[1]: line for line in r.stdout.splitlines() if line.startswith("    ")}
    assert r.exit_code == 0 and set(lines) == {"standard", "flex", "priority", "batch"}
    assert lines["flex"].lstrip().startswith("✓") and "may refuse requests at peak" in lines["flex"]
    mini = runner.invoke(app, ["check", "gpt-4o-mini", "--as-of", "2026-12-06"]).stdout
    assert "✗ flex      not in the OpenAI flex list" in mini
    doc = json.loads(runner.invoke(app, ["check", "gpt-4o-mini", "--as-of", "2026-12-06", "--json"]).stdout)
    assert set(doc["modes"]) == {"standard", "flex", "priority", "batch"}
    for m in doc["modes"].values():
        assert {"qualifies", "reasons", "price_basis", "offered", "prices"} <= set(m)
    assert doc["modes"]["flex"]["qualifies"] is False and doc["modes"]["flex"]["reasons"]
    assert doc["modes"]["batch"]["prices"]["input"] == doc["batch"]["input"]
    retired = runner.invoke(app, ["check", "claude-3-opus", "--as-of", "2026-11-25"]).stdout
    assert "modes: none" in retired and retired.count("retired on 2026-01-05") == 1
    code, out, _ = check("gpt-4o-mini", "claude-3-opus")
    assert code == 1
    assert "standard, priority, batch" in out  # the table's Modes column


def test_a_name_pinned_to_azure_that_its_table_lacks_is_a_deployment_name_until_shown_otherwise() -> None:
    code, _, err = check("azure/my-gpt4o-prod")
    assert code == 2 and "--alias my-gpt4o-prod=azure/gpt-4o" in err and "did you mean" not in err
    code, _, err = check("azure/gpt-4oo")  # a typo of a real id is still suggested beside the hint
    assert code == 2 and "did you mean azure/gpt-4o" in err and "--alias gpt-4oo=" in err
    code, _, err = check("gpt-5.4-pr")  # an OpenAI-looking typo: OpenAI's suggestions, no Azure hint
    assert code == 2 and "did you mean gpt-5.4-pro" in err and "--alias" not in err
