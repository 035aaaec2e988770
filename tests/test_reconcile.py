"""`batchplan reconcile`: real vendor result files, a prepare → results → reconcile round trip per vendor,
failures, batch objects, and learning from reconciled batches.

Real files (tests/fixtures/real/README.md has repo, path and commit of each): an OpenAI gpt-4o batch of 65
chat requests with its input (TimeEscaper/genai_navirag), a Groq output file (cho-groq/batch-processing)
and the Gemini API batch output printed in google-gemini/cookbook's Batch_mode notebook.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planner.batch.prepare import prepare
from planner.batch.reconcile import ReconcileOptions, reconcile
from planner.cli.main import app
from planner.core.errors import InputError, UsageError
from planner.plan.estimate import estimate
from planner.store import history

REAL = Path(__file__).parent / "fixtures" / "real"
AS_OF = date(2026, 11, 30)
runner = CliRunner()


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Real result files


def test_real_openai_batch_input_counts_equal_what_was_billed() -> None:
    out = reconcile([REAL / "openai_gpt4o_output.jsonl"], ReconcileOptions(input=REAL / "openai_gpt4o_input.jsonl"))
    r = out.report
    assert (r.requests.results, r.requests.matched, r.requests.succeeded, r.requests.failed) == (65, 65, 65, 0)
    assert r.input_tokens.estimated == r.input_tokens.actual == 36_501
    assert r.input_tokens.per_request is not None and r.input_tokens.per_request.exact == 65
    assert r.output_tokens.actual == 11_980 and r.output_tokens.estimated == 65 * 1000  # max_tokens: upper bound
    assert r.as_of == date(2024, 10, 24) and "response timestamp" in r.as_of_source
    # priced at the batch rates of the earliest table that lists gpt-4o (none is dated 2024): $1.25 / $5 per 1M
    exact = (Decimal(36_501) * Decimal("1.25") + Decimal(11_980) * 5) / 1_000_000
    assert Decimal(r.cost_usd.actual) == exact.quantize(Decimal("0.000001"))
    assert any("no price table is in force on 2024-10-24" in n for n in r.notes)


def test_real_groq_output_without_input_reports_usage_only() -> None:
    r = reconcile([REAL / "groq_llama_output.jsonl"], ReconcileOptions(as_of=AS_OF)).report
    assert r.provider == "groq" and r.requests.succeeded == 3
    assert r.input_tokens.actual == 48 + 75 + 55 and r.output_tokens.actual == 12 + 2003 + 76
    assert r.as_of == AS_OF and r.output_tokens.actual_distribution is not None
    assert r.output_tokens.actual_distribution.max == 2003
    assert r.input_tokens.estimated is None and r.cost_usd.estimated is None
    assert any("actual usage only" in n for n in r.notes)


def test_real_gemini_output_counts_thinking_as_output() -> None:
    r = reconcile([REAL / "gemini_output.jsonl"],
                  ReconcileOptions(input=REAL / "gemini_input.jsonl", as_of=AS_OF, output_tokens=20)).report
    assert r.resolved_model == "gemini-2.5-flash" and r.requests.matched == 2
    assert r.input_tokens.actual == 8 + 9
    assert r.output_tokens.actual == (829 + 11) + (1180 + 63) and r.output_tokens.reasoning == 829 + 1180
    assert r.output_tokens.estimated == 40 and r.input_tokens.estimated is not None
    # the approximation stays near what Gemini billed: the text alone, no chat framing (before: 33 for 17)
    assert r.input_tokens.actual <= r.input_tokens.estimated <= r.input_tokens.actual * 1.3


# ---------------------------------------------------------------------------------------------
# prepare → synthetic vendor results with usage → reconcile, per vendor


def _usage_lines(vendor: str, manifest_dir: Path, outcome: dict[str, tuple[int, int] | str]) -> list[Any]:
    """Result lines in `vendor`'s own shape for the prepared lines: (input, output) billed, or a failure."""
    lines: list[Any] = []
    for name in sorted(p.name for p in manifest_dir.glob("batch-*.jsonl")):
        for raw in (manifest_dir / name).read_text(encoding="utf-8").splitlines():
            line = json.loads(raw)
            cid = line.get("custom_id") or line.get("key") or line.get("recordId")
            got = outcome[cid if cid is not None else json.dumps(line["request"], sort_keys=True)]
            if vendor in ("openai", "azure", "groq"):
                if isinstance(got, str):
                    lines.append({"id": f"batch_req_{cid}", "custom_id": cid, "response": None,
                                  "error": {"code": got, "message": "boom"}})
                else:
                    usage = {"prompt_tokens": got[0], "completion_tokens": got[1], "total_tokens": sum(got),
                             "prompt_tokens_details": {"cached_tokens": 0},
                             "completion_tokens_details": {"reasoning_tokens": 0}}
                    lines.append({"id": f"batch_req_{cid}", "custom_id": cid, "response": {
                        "status_code": 200, "request_id": f"r-{cid}", "body": {
                            "object": "chat.completion", "created": 1_796_000_000, "model": line["body"]["model"],
                            "usage": usage}}, "error": None})
            elif vendor == "anthropic":
                if isinstance(got, str):
                    lines.append({"custom_id": cid, "result": {"type": got}})
                else:
                    lines.append({"custom_id": cid, "result": {"type": "succeeded", "message": {
                        "id": f"msg_{cid}", "model": line["params"]["model"],
                        "usage": {"input_tokens": got[0], "output_tokens": got[1], "cache_creation_input_tokens": 0,
                                  "cache_read_input_tokens": 0}}}})
            elif vendor == "gemini":
                if isinstance(got, str):
                    lines.append({"key": cid, "error": {"code": 13, "message": "Internal error", "status": got}})
                else:
                    lines.append({"key": cid, "response": {"modelVersion": "gemini-2.5-flash", "usageMetadata": {
                        "promptTokenCount": got[0], "candidatesTokenCount": got[1], "totalTokenCount": sum(got)}}})
            elif vendor == "vertex":
                assert not isinstance(got, str)
                lines.append({"request": line["request"], "status": "", "response": {
                    "modelVersion": "gemini-2.5-flash",
                    "usageMetadata": {"promptTokenCount": got[0], "candidatesTokenCount": got[1]}}})
            elif vendor == "bedrock":
                if isinstance(got, str):
                    lines.append({"recordId": cid, "modelInput": line["modelInput"],
                                  "error": {"errorCode": got, "errorMessage": "The model failed"}})
                else:
                    lines.append({"recordId": cid, "modelInput": line["modelInput"], "modelOutput": {
                        "id": f"msg_{cid}", "usage": {"input_tokens": got[0], "output_tokens": got[1]}}})
    return lines


ROWS = [
    {"id": f"t{i}", "messages": [{"role": "system", "content": "Classify the ticket."},
                                 {"role": "user", "content": f"Ticket {i}: order {i * 37} is late " * (1 + i % 4)}]}
    for i in range(12)
]


@pytest.mark.parametrize(
    ("vendor", "model", "fail"),
    [
        ("openai", "gpt-4o-mini", "batch_expired"),
        ("anthropic", "claude-haiku-4-5", "errored"),
        ("gemini", "gemini-2.5-flash", "INTERNAL"),
        ("vertex", "vertex/gemini-2.5-flash", None),
        ("bedrock", "bedrock/regional.anthropic.claude-haiku-4-5-20251001-v1:0", "ModelErrorException"),
    ],
)
def test_round_trip_per_vendor(tmp_path: Path, vendor: str, model: str, fail: str | None) -> None:
    data = write_lines(tmp_path / "d.jsonl", ROWS)
    out = tmp_path / "out"
    manifest = prepare(data, model, out, vendor=vendor, max_tokens=64, output_tokens=40, as_of=AS_OF)
    # the estimate's own counts per request, then synthetic billed usage: estimate + k tokens, output 10+i
    first = reconcile([write_lines(tmp_path / "self.jsonl", _usage_lines(vendor, out, _self(vendor, out)))],
                      ReconcileOptions(manifest=out / "manifest.json", as_of=AS_OF)).report
    assert first.input_tokens.estimated == manifest.totals.input_tokens
    estimated = _estimated_by_id(vendor, out, first)
    outcome: dict[str, tuple[int, int] | str] = {k: (v + (i % 3), 10 + i) for i, (k, v) in enumerate(estimated.items())}
    failed_key = next(iter(outcome)) if fail else None
    if failed_key is not None and fail is not None:
        outcome[failed_key] = fail
    results = write_lines(tmp_path / "results.jsonl", _usage_lines(vendor, out, outcome))
    r = reconcile([results], ReconcileOptions(manifest=out / "manifest.json", as_of=AS_OF)).report
    n_fail = 1 if fail else 0
    assert (r.requests.matched, r.requests.succeeded, r.requests.failed) == (12, 12 - n_fail, n_fail)
    billed = [v for v in outcome.values() if not isinstance(v, str)]
    assert r.input_tokens.actual == sum(i for i, _ in billed) and r.output_tokens.actual == sum(o for _, o in billed)
    assert r.output_tokens.estimated == 40 * (12 - n_fail)
    per = r.input_tokens.per_request
    assert per is not None and per.requests == 12 - n_fail and per.undercounted == sum(
        1 for k, v in outcome.items() if not isinstance(v, str) and v[0] > estimated[k])
    assert r.failures.count == n_fail and r.failures.billed_usd == "0.000000"
    if fail:
        assert r.failures.by_type == {fail: 1} and r.cost_usd.failed_rerun_estimate is not None
    # billed cost: every succeeded request at the batch prices of the table in force
    from planner.prices.pricing import load_pricebook

    res = load_pricebook(AS_OF).resolve(model)
    prices, _ = res.table.batch_prices(res.model)
    assert prices is not None
    expected = sum((Decimal(i) * prices.input + Decimal(o) * prices.output) / 1_000_000 for i, o in billed)
    assert Decimal(r.cost_usd.billed) == expected.quantize(Decimal("0.000001"))


def _self(vendor: str, out: Path) -> dict[str, tuple[int, int] | str]:
    """Placeholder usage (1, 1) for every line, only to learn the estimate's own per-request counts."""
    keys: dict[str, tuple[int, int] | str] = {}
    for p in sorted(out.glob("batch-*.jsonl")):
        for raw in p.read_text(encoding="utf-8").splitlines():
            line = json.loads(raw)
            cid = line.get("custom_id") or line.get("key") or line.get("recordId")
            keys[cid if cid is not None else json.dumps(line["request"], sort_keys=True)] = (1, 1)
    return keys


def _estimated_by_id(vendor: str, out: Path, report: Any) -> dict[str, int]:
    """Each line's estimated input tokens (recovered from a reconcile against usage of exactly 1)."""
    from planner.batch.reconcile import estimate_inputs
    from planner.prices.pricing import load_pricebook
    from planner.vendors import get_vendor

    rules = get_vendor(vendor)
    keys, requests = [], []
    for p in sorted(out.glob("batch-*.jsonl")):
        for number, raw in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            line = json.loads(raw)
            parsed = rules.parse_line(line, number)
            assert parsed.request is not None
            cid = line.get("custom_id") or line.get("key") or line.get("recordId")
            keys.append(cid if cid is not None else json.dumps(line["request"], sort_keys=True))
            requests.append(parsed.request)
    resolved = load_pricebook(AS_OF).resolve(report.model if "/" in report.model else report.resolved_model,
                                             provider=report.provider)
    counts, _, _ = estimate_inputs(resolved, requests, "")
    assert sum(counts) == report.input_tokens.estimated
    return dict(zip(keys, counts, strict=True))


# ---------------------------------------------------------------------------------------------
# Failures, batch objects, errors


def test_anthropic_failures_are_not_billed_and_missing_results_are_reported(tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [
        {"custom_id": f"c{i}", "params": {"model": "claude-haiku-4-5", "max_tokens": 20,
                                          "messages": [{"role": "user", "content": f"Say hello {i}"}]}}
        for i in range(5)])
    results = write_lines(tmp_path / "res.jsonl", [
        {"custom_id": "c0", "result": {"type": "succeeded", "message": {"model": "claude-haiku-4-5-20251001", "usage": {
            "input_tokens": 4, "cache_read_input_tokens": 6, "cache_creation_input_tokens": 2,
            "cache_creation": {"ephemeral_1h_input_tokens": 2, "ephemeral_5m_input_tokens": 0},
            "output_tokens": 7}}}},
        {"custom_id": "c1", "result": {"type": "errored", "error": {"type": "error", "error": {
            "type": "overloaded_error", "message": "Overloaded"}}}},
        {"custom_id": "c2", "result": {"type": "expired"}},
        {"custom_id": "c3", "result": {"type": "canceled"}},
    ])
    r = reconcile([results], ReconcileOptions(input=inp, as_of=AS_OF, model="claude-haiku-4-5")).report
    assert (r.requests.succeeded, r.requests.failed, r.requests.missing_results) == (1, 3, 1)
    assert r.requests.first_missing == ["c4"]
    assert r.failures.by_type == {"errored": 1, "expired": 1, "canceled": 1}
    assert r.input_tokens.actual == 12 and r.input_tokens.cached == 6 and r.input_tokens.cache_write == 2
    # batch rates of claude-haiku-4-5: $0.50 input, $2.50 output; reads 0.1x, 1-hour writes 2x of input
    expected = (4 * Decimal("0.5") + 6 * Decimal("0.05") + 2 * Decimal("1.0") + 7 * Decimal("2.5")) / 1_000_000
    assert Decimal(r.cost_usd.billed) == expected.quantize(Decimal("0.000001"))
    assert any("not billed" in n for n in r.notes) and any("have no result" in n for n in r.notes)


def test_batch_object_with_usage_dates_the_batch(tmp_path: Path) -> None:
    obj = {"id": "batch_abc", "object": "batch", "endpoint": "/v1/chat/completions", "status": "completed",
           "created_at": 1_795_000_000, "model": "gpt-4o-mini",
           "request_counts": {"total": 2, "completed": 2, "failed": 0},
           "usage": {"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200,
                     "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    r = reconcile([path]).report
    assert r.batch is not None and r.batch.id == "batch_abc" and r.key == "batch:batch_abc"
    assert r.as_of == date(2026, 11, 18) and "created_at" in r.as_of_source
    assert r.input_tokens.billed == 1000 and r.output_tokens.billed == 200
    assert any("usage totals" in n for n in r.notes)


def test_results_that_are_not_results_are_an_error_naming_the_line(tmp_path: Path) -> None:
    bad = write_lines(tmp_path / "in.jsonl", [{"custom_id": "a", "params": {"model": "m", "max_tokens": 1,
                                                                            "messages": []}}])
    with pytest.raises(InputError) as info:
        reconcile([bad])
    assert info.value.line == 1 and "not a batch result line" in info.value.message
    with pytest.raises(UsageError):
        reconcile([REAL / "gemini_output.jsonl"], ReconcileOptions(input=bad, manifest=bad))
    code = runner.invoke(app, ["reconcile", str(bad)])
    assert code.exit_code == 2 and "in.jsonl:1:" in code.stderr and "Traceback" not in code.stderr


def test_cli_json_has_the_documented_fields(tmp_path: Path) -> None:
    result = runner.invoke(app, ["reconcile", str(REAL / "openai_gpt4o_output.jsonl"), "--input",
                                 str(REAL / "openai_gpt4o_input.jsonl"), "--output-tokens", "180", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["requests"] == doc["requests"] | {"matched": 65, "succeeded": 65, "failed": 0}
    assert doc["input_tokens"]["estimated"] == doc["input_tokens"]["actual"] == 36_501
    assert doc["output_tokens"]["estimated"] == 65 * 180 and doc["output_tokens"]["actual"] == 11_980
    assert all(isinstance(doc["cost_usd"][k], str) for k in ("estimated", "actual"))
    Decimal(doc["cost_usd"]["estimated"])
    assert doc["stored"]["added"] is True
    again = json.loads(runner.invoke(app, ["reconcile", str(REAL / "openai_gpt4o_output.jsonl"), "--input",
                                           str(REAL / "openai_gpt4o_input.jsonl"), "--json"]).stdout)
    assert again["stored"]["added"] is False  # idempotent: the same batch is stored once
    human = runner.invoke(app, ["reconcile", str(REAL / "openai_gpt4o_output.jsonl"), "--input",
                                str(REAL / "openai_gpt4o_input.jsonl"), "--no-store"])
    assert human.exit_code == 0 and "65 of 65 exact" in human.stdout and "input tokens" in human.stdout


# ---------------------------------------------------------------------------------------------
# Learning from reconciled batches


def test_reconciled_batches_teach_later_estimates(tmp_path: Path) -> None:
    """Gemini is counted with an approximation: after one reconciled batch of 40 requests, an estimate of
    the same model multiplies by the observed billed/estimated ratio and assumes the observed outputs;
    --no-history turns both off."""
    rows = [{"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"Explain item {i} in a few words"}]}]}}
            for i in range(40)]
    inp = write_lines(tmp_path / "in.jsonl", rows)
    results = write_lines(tmp_path / "out.jsonl", [
        {"key": f"k{i}", "response": {"modelVersion": "gemini-2.5-flash",
                                      "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 30 + i}}}
        for i in range(40)])
    outcome = reconcile([results], ReconcileOptions(input=inp, as_of=AS_OF))
    stored = history.record_reconciliation(outcome)
    assert stored.added and not history.record_reconciliation(outcome).added
    est_before = outcome.report.input_tokens.estimated
    assert est_before is not None and est_before > 7 * 40

    chat = write_lines(tmp_path / "chat.jsonl", [{"messages": [{"role": "user", "content": f"Explain item {i} in a "
                                                                "few words"}]} for i in range(10)])
    learned = estimate(chat, ["gemini-2.5-flash"], as_of=AS_OF)
    e = learned.estimates[0]
    assert e.token_method == "calibrated" and "history" in e.token_method_label
    assert abs(e.input_tokens - 7 * 10) <= 10
    assert learned.output_assumption.mode == "history"
    assert e.output_tokens == round(sum(30 + i for i in range(40)) / 40) * 10
    assert any("observed mean over 40 requests" in n for n in e.assumptions)
    off = estimate(chat, ["gemini-2.5-flash"], as_of=AS_OF, output_tokens=5, use_history=False).estimates[0]
    assert off.token_method == "approximate" and off.input_tokens > e.input_tokens


def test_history_show_lists_what_reconcile_stored(tmp_path: Path) -> None:
    """`history show` is where a user sees what the store learned from: reconciled batches are listed with
    billed against estimated (before: only imported batch objects were, so a store that changed later
    estimates looked empty)."""
    rows = [{"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"Name colour {i}"}]}]}} for i in range(3)]
    inp = write_lines(tmp_path / "in.jsonl", rows)
    results = write_lines(tmp_path / "out.jsonl", [
        {"key": f"k{i}", "response": {"modelVersion": "gemini-2.5-flash",
                                      "usageMetadata": {"promptTokenCount": 6, "candidatesTokenCount": 10}}}
        for i in range(3)])
    outcome = reconcile([results], ReconcileOptions(input=inp, as_of=AS_OF))
    history.record_reconciliation(outcome)
    res = runner.invoke(app, ["history", "show", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["groups"] == []
    (group,) = doc["reconciled"]
    assert (group["provider"], group["model"], group["batches"], group["requests"]) == ("google", "gemini-2.5-flash",
                                                                                        1, 3)
    assert (group["input_actual"], group["output_actual"]) == (18, 30)
    assert group["input_estimated"] == outcome.report.input_tokens.estimated
    assert Decimal(group["cost_actual_usd"]) == Decimal(outcome.report.cost_usd.actual)
    table = runner.invoke(app, ["history", "show"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "reconciled batches" in table.stdout and "gemini-2.5-flash" in table.stdout


# ---------------------------------------------------------------------------------------------
# Claude on Vertex


def _vertex_claude_result(line: dict[str, Any], billed: tuple[int, int] | str, *, as_string: bool) -> dict[str, Any]:
    """A Claude-on-Vertex output row: the input line's `custom_id` and `request`, `status` ("" when it
    succeeded) and `response`, a Messages reply built with the Anthropic SDK's own type. The row's shape
    is the one langbatch reads from Vertex's output (EasyLLM/langbatch c7e6f4b0e3f3e98f20b2765746615b813a3288e1,
    langbatch/vertexai.py `VertexAIClaudeChatCompletionBatch._convert_response`: `response` a JSON string
    from the BigQuery output table, `status` an error text or "")."""
    from anthropic.types import Message, TextBlock, Usage

    if isinstance(billed, str):
        return {"custom_id": line["custom_id"], "request": line["request"], "response": None, "status": billed}
    reply = Message(id=f"msg_vrtx_{line['custom_id']}", type="message", role="assistant",
                    model="claude-sonnet-5-5", content=[TextBlock(type="text", text="billing")],
                    stop_reason="end_turn", stop_sequence=None,
                    usage=Usage(input_tokens=billed[0], output_tokens=billed[1]))
    response: Any = reply.model_dump_json() if as_string else reply.model_dump(mode="json")
    return {"custom_id": line["custom_id"], "request": line["request"], "response": response, "status": ""}


@pytest.mark.parametrize("as_string", [False, True], ids=["jsonl-object", "bigquery-json-string"])
def test_claude_on_vertex_results_are_billed_as_claude_usage(tmp_path: Path, as_string: bool) -> None:
    """Before, a Claude row on Vertex was read for Gemini's `usageMetadata`, which it does not have: every
    request counted as 0 tokens billed, and the report said batchplan had overestimated everything."""
    as_of = date(2026, 12, 2)  # Vertex's Claude batch list is in the table from then on
    data = write_lines(tmp_path / "d.jsonl", ROWS)
    out = tmp_path / "out"
    manifest = prepare(data, "vertex/claude-sonnet-5-5", out, vendor="vertex", max_tokens=64, output_tokens=40,
                       as_of=as_of)
    assert manifest.line_format == "vertex-claude-batch"
    lines = [json.loads(raw) for p in sorted(out.glob("batch-*.jsonl")) for raw in p.read_text("utf-8").splitlines()]
    billed: dict[str, tuple[int, int] | str] = {ln["custom_id"]: (100 + i, 10 + i) for i, ln in enumerate(lines)}
    billed[lines[0]["custom_id"]] = 'Bad Request: {"error": {"code": 400, "message": "max_tokens too large"}}'
    results = write_lines(tmp_path / "predictions.jsonl",
                          [_vertex_claude_result(ln, billed[ln["custom_id"]], as_string=as_string) for ln in lines])
    r = reconcile([results], ReconcileOptions(manifest=out / "manifest.json", as_of=as_of)).report
    ok = [v for v in billed.values() if not isinstance(v, str)]
    assert (r.requests.matched, r.requests.succeeded, r.requests.failed) == (12, 11, 1)
    assert r.input_tokens.actual == sum(i for i, _ in ok) and r.output_tokens.actual == sum(o for _, o in ok)
    assert r.failures.count == 1 and r.failures.billed_usd == "0.000000"
    # billed at Vertex's batch price for the model: half its $2 / $10 on-demand (the table's default discount)
    expected = sum((Decimal(i) * 1 + Decimal(o) * 5) / 1_000_000 for i, o in ok)
    assert Decimal(r.cost_usd.billed) == expected.quantize(Decimal("0.000001"))
    # without the manifest, each row's own request is the estimate's side
    alone = reconcile([results], ReconcileOptions(as_of=as_of)).report
    assert alone.requests.matched == 12 and alone.input_tokens.estimated == r.input_tokens.estimated
    # ...and the reply's bare "claude-sonnet-5-5" is priced at Vertex's table, where the rows came from
    assert alone.provider == "vertex" and alone.cost_usd.billed == r.cost_usd.billed


RESULT_SHAPES = {
    "openai": {"id": "b1", "custom_id": "r1", "error": None, "response": {
        "status_code": 200, "body": {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 7, "completion_tokens": 2}}}},
    "anthropic": {"custom_id": "r1", "result": {"type": "succeeded", "message": {
        "model": "claude-haiku-4-5", "usage": {"input_tokens": 5, "cache_read_input_tokens": 2, "output_tokens": 2}}}},
    "gemini": {"key": "r1", "response": {"usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2}}},
    "vertex": {"request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, "status": "",
               "response": {"usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2}}},
    "bedrock": {"recordId": "r1", "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                                                 "messages": [{"role": "user", "content": "hi"}]},
                "modelOutput": {"usage": {"input_tokens": 7, "output_tokens": 2}}},
}


@pytest.mark.parametrize("kind", sorted(RESULT_SHAPES))
def test_each_result_shape_is_read_by_its_own_vendor_module_only(kind: str) -> None:
    """A vendor's result shape is its module's business: no other module claims it, so the registry's order
    does not decide who reads a line, and a new vendor's shape touches only its module."""
    import importlib

    from planner.vendors import VENDOR_MODULES, parse_result
    from planner.vendors.results import Result

    line = RESULT_SHAPES[kind]
    readers = [m for m in VENDOR_MODULES if getattr(importlib.import_module(m), "read_result", None)]
    claimed = [m for m in readers if importlib.import_module(m).read_result(line, "f:1") is not None]
    assert len(claimed) == 1
    result = parse_result(line, "f:1")
    assert isinstance(result, Result)
    assert (result.kind, result.input_tokens, result.output_tokens) == (kind, 7, 2)


def test_piped_reconcile_prints_plain_full_rows_and_notes_on_stderr(tmp_path: Path) -> None:
    """Piped, reconcile follows estimate's rules: no box drawing, no wrapping at 80 columns, the notes and the
    history line on stderr; -q silences them and leaves the answer."""
    args = ["reconcile", str(REAL / "openai_gpt4o_output.jsonl"), "--input", str(REAL / "openai_gpt4o_input.jsonl")]
    env = {"BATCHPLAN_HOME": str(tmp_path), "COLUMNS": "80"}
    out = runner.invoke(app, args, env=env)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert not any(ch in out.stdout for ch in "─━│┃┏┡└")
    assert lines[0].startswith("openai batch on gpt-4o") and lines[0].endswith("(the earliest response timestamp in "
                                                                                "the results)")
    assert any(line.split()[:4] == ["batch", "cost", "$0.3706", "$0.1055"] for line in lines)
    assert "note:" not in out.stdout and "history" not in out.stdout
    assert "batchplan: note: no price table is in force on 2024-10-24" in out.stderr
    quiet = runner.invoke(app, ["-q", *args], env=env)
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == out.stdout
