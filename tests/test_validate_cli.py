"""`batchplan validate`: every problem with its line number, exit 1 on problems, 0 clean, 2 unreadable."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from planner.cli.main import app

ACME = str(Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml")
COMMON = ["--prices", ACME, "--as-of", "2026-03-01"]
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def oa(cid: str, model: str = "acme-small", url: str = "/v1/chat/completions", **body: object) -> str:
    b = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, **body}
    return json.dumps({"custom_id": cid, "method": "POST", "url": url, "body": b})


def test_clean_file_exits_0_with_estimate(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    f.write_text(oa("a") + "\n" + oa("b") + "\n", encoding="utf-8")
    code, out, _ = run("validate", str(f), "--vendor", "openai", "--json", *COMMON)
    assert code == 0
    report = json.loads(out)
    assert report["ok"] and report["problems"] == [] and report["estimate"]["requests"] == 2
    # the lines name their model: no note may tell the user to pass one
    assert not any("carry no model" in n for n in report["notes"]), report["notes"]


def test_every_problem_is_listed_with_its_line(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    lines = [
        oa("a"),
        oa("a"),  # duplicate id
        "{not json",
        oa("c", model="acme-long"),  # second model
        oa("d", url="/v1/moderations"),  # bad endpoint
        json.dumps({"custom_id": "e", "method": "GET", "url": "/v1/chat/completions", "body": {"model": "acme-small"}}),
        oa("f"),
    ]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run("validate", str(f), "--vendor", "openai", "--json", *COMMON)
    assert code == 1
    report = json.loads(out)
    by_line = {p["line"]: p["message"] for p in report["problems"]}
    assert "duplicate custom_id" in by_line[2]
    assert "malformed JSON" in by_line[3]
    assert "one model per file" in by_line[4]
    assert "is not one of openai's batch endpoints" in by_line[5]
    assert any(p["line"] == 6 and "POST" in p["message"] for p in report["problems"])
    assert any(p["line"] == 6 and "messages" in p["message"] for p in report["problems"])
    assert report["valid_requests"] == 2  # lines 1 and 7: every other line has a problem
    assert report["estimate"]["requests"] == 2
    code, text, _ = run("validate", str(f), "--vendor", "openai", *COMMON)
    assert code == 1 and f"{f}:2" in text.replace("\n", "")


def test_anthropic_rules(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    rows = [
        {"custom_id": "ok-1", "params": {"model": "acme-small", "max_tokens": 5,
                                         "messages": [{"role": "user", "content": "hi"}]}},
        {"custom_id": "bad id!", "params": {"model": "acme-small", "messages": [{"role": "user", "content": "x"}]}},
        {"custom_id": "s", "params": {"model": "acme-small", "max_tokens": 5, "stream": True,
                                      "messages": [{"role": "system", "content": "x"}]}},
    ]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, _ = run("validate", str(f), "--json", *COMMON)
    assert code == 1
    report = json.loads(out)
    assert report["vendor"] == "anthropic" and report["vendor_detected"]
    msgs = [(p["line"], p["message"]) for p in report["problems"]]
    assert any(line == 2 and "does not match" in m for line, m in msgs)
    assert any(line == 2 and "max_tokens is required" in m for line, m in msgs)
    assert any(line == 3 and "stream" in m for line, m in msgs)
    assert any(line == 3 and "params.system" in m for line, m in msgs)


def test_request_limit_and_bedrock_minimum(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    row = {"recordId": "r", "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 4,
                                          "messages": [{"role": "user", "content": "hi"}]}}
    f.write_text(json.dumps(row) + "\n", encoding="utf-8")
    code, out, _ = run("validate", str(f), "--vendor", "bedrock", "-m", "acme-small", "--json", *COMMON)
    assert code == 1
    assert any("at least 100" in p["message"] for p in json.loads(out)["problems"])


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    code, _, err = run("validate", str(tmp_path / "missing.jsonl"), *COMMON)
    assert code == 2 and "no such file" in err


def test_ineligible_model_is_a_problem(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    f.write_text(oa("a", model="acme-live") + "\n", encoding="utf-8")
    code, out, _ = run("validate", str(f), "--vendor", "openai", "--json", *COMMON)
    assert code == 1
    assert any("realtime-only" in p["message"] for p in json.loads(out)["problems"])


def test_a_bad_url_is_one_problem_on_its_own_line(tmp_path: Path) -> None:
    """Not also an endpoint problem of the model on line 1 (a valid line), nor line 1 'differing' from it."""
    for lines, bad in (([oa("a"), oa("b", url="/v1/bogus")], 2), ([oa("a", url="/v1/bogus"), oa("b")], 1)):
        f = tmp_path / "b.jsonl"
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        code, out, _ = run("validate", str(f), "--vendor", "openai", "--json", *COMMON)
        report = json.loads(out)
        assert code == 1
        assert [(p["line"], p["message"].split(" (")[0]) for p in report["problems"]] == [
            (bad, "url '/v1/bogus' is not one of openai's batch endpoints")
        ]
        assert report["valid_requests"] == 1


def test_verbose_lists_every_problem_and_what_the_estimate_assumes(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    f.write_text("\n".join([oa("a"), *["{not json"] * 25]) + "\n", encoding="utf-8")
    _, short, _ = run("validate", str(f), "--vendor", "openai", *COMMON)
    code, full, _ = run("validate", str(f), "--vendor", "openai", "-v", *COMMON)
    assert code == 1
    assert "and 5 more problem(s)" in short and f"{f}:26" not in short
    assert f"{f}:26: malformed JSON" in full and "more problem(s)" not in full
    assert "output tokens: " in full and "output tokens: " not in short
