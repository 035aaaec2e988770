"""`batchplan check MODEL`: exit 0 qualifies, 1 does not (with every reason), 2 unknown (with suggestions)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from planner.cli import app

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
