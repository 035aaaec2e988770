"""`batchplan reconcile` on hostile input (issue #27): every file through the one bounded way in, read once;
billing data checked like any other input; lines split on \\n only; one-line errors, never a traceback.

The real files are those of tests/fixtures/real/README.md (the OpenAI gpt-4o batch of TimeEscaper/
genai_navirag, dc783b9e57bb0c4d65a2bd6543ce83c6aff9dc7a).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planner.batch.reconcile import ReconcileOptions, reconcile
from planner.cli.main import app
from planner.core.errors import InputError
from planner.store import history

REAL = Path(__file__).parent / "fixtures" / "real"
OUTPUT = REAL / "openai_gpt4o_output.jsonl"
INPUT = REAL / "openai_gpt4o_input.jsonl"
runner = CliRunner()


def line(usage: Any, *, created: Any = 1_729_730_156, cid: str = "request-0", content: str = "ok") -> dict[str, Any]:
    body = {"object": "chat.completion", "created": created, "model": "gpt-4o-2024-08-06", "usage": usage,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    return {"id": f"batch_req_{cid}", "custom_id": cid, "response": {"status_code": 200, "request_id": "r",
                                                                     "body": body}, "error": None}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(args: list[str], **kw: Any) -> str:
    res = runner.invoke(app, args, **kw)
    assert res.exit_code == 2, (res.stdout, res.stderr, res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("batchplan: error: "), res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


# ---------------------------------------------------------------------------------------------
# Billing data is input, not truth


@pytest.mark.parametrize(
    ("usage", "said"),
    [
        ({"prompt_tokens": -5, "completion_tokens": 3}, "usage.prompt_tokens is -5 (negative)"),
        ({"prompt_tokens": 5.5, "completion_tokens": 3}, "usage.prompt_tokens is 5.5 (a fraction)"),
        ({"prompt_tokens": "5", "completion_tokens": 3}, "usage.prompt_tokens is '5' (a string, not a number)"),
        ({"prompt_tokens": None, "completion_tokens": 3}, "usage.prompt_tokens is null (null)"),
        ({"completion_tokens": 3}, "usage.prompt_tokens is missing"),
        ({"prompt_tokens": 5}, "usage.completion_tokens is missing"),
        ({"prompt_tokens": 5, "completion_tokens": True}, "usage.completion_tokens is true (a boolean"),
        ({"prompt_tokens": 5, "completion_tokens": 10**12}, "more tokens than any request can be billed for"),
        ({"prompt_tokens": 5, "completion_tokens": 10**30}, "an integer of over 19 digits"),
        ({"prompt_tokens": 5, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 9}},
         "exceed the prompt"),
        (None, "response.body.usage is missing"),
    ],
)
def test_impossible_usage_is_refused_with_file_and_line_and_never_stored(tmp_path: Path, usage: Any,
                                                                         said: str) -> None:
    good = json.dumps(line({"prompt_tokens": 5, "completion_tokens": 3}, cid="fine"))
    results = write(tmp_path / "out.jsonl", good + "\n" + json.dumps(line(usage)) + "\n")
    error = one_line_error(["reconcile", str(results), "-m", "gpt-4o"])
    assert f"{results}:2: " in error and said in error and error.endswith("refused")
    assert history.reconciled_summary() == []


@pytest.mark.parametrize(
    ("usage_meta", "said"),
    [
        ({"promptTokenCount": -1, "candidatesTokenCount": 2}, "usageMetadata.promptTokenCount is -1"),
        ({"candidatesTokenCount": 2}, "usageMetadata.promptTokenCount is missing"),
        ({"promptTokenCount": 3, "candidatesTokenCount": 2.5}, "usageMetadata.candidatesTokenCount is 2.5"),
    ],
)
def test_gemini_usage_is_checked_the_same_way(tmp_path: Path, usage_meta: dict[str, Any], said: str) -> None:
    row = {"key": "request_1", "response": {"modelVersion": "gemini-2.5-flash", "usageMetadata": usage_meta}}
    with pytest.raises(InputError) as err:
        reconcile([write(tmp_path / "g.jsonl", json.dumps(row) + "\n")], ReconcileOptions())
    assert said in str(err.value) and str(err.value).startswith(f"{tmp_path / 'g.jsonl'}:1: ")


@pytest.mark.parametrize("created", ["1e300", "Infinity", "-Infinity", "NaN", "0", '"2026-02-30T00:00:00"'])
def test_an_impossible_date_is_refused_not_a_traceback(tmp_path: Path, created: str) -> None:
    raw = json.dumps(line({"prompt_tokens": 5, "completion_tokens": 3}, created=12345)).replace("12345", created)
    results = write(tmp_path / "out.jsonl", raw + "\n")
    error = one_line_error(["reconcile", str(results), "-m", "gpt-4o"])
    assert f"{results}:1: response.body.created is " in error and "not a date from 2000 to 2999" in error


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"custom_id": "a", "response": {"status_code": 200, "body": {"usage": {"prompt_tokens": '
         + "7" * 5000 + ', "completion_tokens": 1}}}}', "an integer of over 19 digits"),
        ('{"a": ' + "1" * 5000 + "}", "not a batch result line of a known vendor"),
        ("\x00\x01garbage", "malformed JSON"),
        (b"\xff\xfe{}".decode("latin-1"), "malformed JSON"),
    ],
)
def test_hostile_lines_are_one_line_errors(tmp_path: Path, text: str, said: str) -> None:
    results = write(tmp_path / "out.jsonl", text + "\n")
    error = one_line_error(["reconcile", str(results), "-m", "gpt-4o"])
    assert said in error and f"{results}:1" in error


def test_unbounded_input_fails_on_its_first_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHPLAN_MAX_LINE_BYTES", "64K")
    error = one_line_error(["reconcile", "/dev/zero", "-m", "gpt-4o"])
    assert "/dev/zero:1: line is longer than 64 KiB" in error


# ---------------------------------------------------------------------------------------------
# Lines end at \n only; list pages on one line or many


def test_line_separators_inside_json_strings_do_not_split_a_line(tmp_path: Path) -> None:
    rows = [line({"prompt_tokens": 5, "completion_tokens": 3}, cid=f"r{i}", content=f"a{sep}b")
            for i, sep in enumerate(("\u2028", "\u2029", "\u0085", "\x1c", "\r"))]
    results = tmp_path / "out.jsonl"
    results.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    r = reconcile([results], ReconcileOptions(model="gpt-4o")).report
    assert r.requests.results == 5 and r.input_tokens.billed == 25


@pytest.mark.parametrize("indent", [None, 2])
def test_a_list_page_is_read_on_one_line_or_pretty_printed(tmp_path: Path, indent: int | None) -> None:
    page = {"object": "list", "data": [line({"prompt_tokens": 5, "completion_tokens": 3}, cid=f"r{i}")
                                       for i in range(3)], "has_more": False}
    results = write(tmp_path / "page.json", json.dumps(page, indent=indent) + "\n")
    r = reconcile([results], ReconcileOptions(model="gpt-4o")).report
    assert r.requests.results == 3 and r.output_tokens.billed == 9


def test_a_bad_item_of_a_list_page_names_the_item(tmp_path: Path) -> None:
    page = {"data": [line({"prompt_tokens": 5, "completion_tokens": 3}, cid="a"),
                     line({"prompt_tokens": -1, "completion_tokens": 3}, cid="b")]}
    with pytest.raises(InputError) as err:
        reconcile([write(tmp_path / "page.json", json.dumps(page) + "\n")], ReconcileOptions(model="gpt-4o"))
    assert str(err.value).startswith(f"{tmp_path / 'page.json'}:1: item 2: usage.prompt_tokens is -1")


# ---------------------------------------------------------------------------------------------
# --input read once: standard input, a FIFO, <(cmd)


def _matched(args: list[str], **kw: Any) -> dict[str, Any]:
    res = runner.invoke(app, [*args, "--no-store", "--json"], **kw)
    assert res.exit_code == 0, res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def test_input_from_standard_input_keeps_its_first_request() -> None:
    doc = _matched(["reconcile", str(OUTPUT), "--input", "-"], input=INPUT.read_text(encoding="utf-8"))
    assert doc["requests"]["matched"] == 65 and doc["requests"]["missing_results"] == 0
    assert doc["input_tokens"]["estimated"] == doc["input_tokens"]["actual"] == 36_501


def _feed(path_or_fd: str | int, data: bytes) -> threading.Thread:
    """A writer thread for a FIFO or a pipe (what `<(cat FILE)` gives the reader)."""
    def run() -> None:
        if isinstance(path_or_fd, int):
            with os.fdopen(path_or_fd, "wb") as w:
                w.write(data)
        else:
            with open(path_or_fd, "wb") as w:
                w.write(data)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_input_from_a_fifo_is_read_once(tmp_path: Path) -> None:
    fifo = tmp_path / "input.fifo"
    os.mkfifo(fifo)
    writer = _feed(str(fifo), INPUT.read_bytes())
    doc = _matched(["reconcile", str(OUTPUT), "--input", str(fifo)])
    writer.join()
    assert doc["requests"]["matched"] == 65 and doc["input_tokens"]["estimated"] == 36_501


def test_input_from_process_substitution_is_read_once() -> None:
    read_end, write_end = os.pipe()
    writer = _feed(write_end, INPUT.read_bytes())
    try:
        doc = _matched(["reconcile", str(OUTPUT), "--input", f"/dev/fd/{read_end}"])
    finally:
        writer.join()
        os.close(read_end)
    assert doc["requests"]["matched"] == 65 and doc["input_tokens"]["estimated"] == 36_501


def test_results_from_standard_input_are_read(tmp_path: Path) -> None:
    doc = _matched(["reconcile", "-", "--input", str(INPUT)], input=OUTPUT.read_text(encoding="utf-8"))
    assert doc["requests"]["matched"] == 65


# ---------------------------------------------------------------------------------------------
# --model: an unknown name is an error; another vendor's is a warning


def test_an_unknown_model_is_an_error() -> None:
    error = one_line_error(["reconcile", str(OUTPUT), "-m", "gpt-nonexistent-9", "--no-store"])
    assert "--model 'gpt-nonexistent-9' is not a model batchplan knows" in error


def test_another_vendors_model_is_a_warning() -> None:
    res = runner.invoke(app, ["reconcile", str(OUTPUT), "-m", "claude-sonnet-4-5", "--no-store"])
    assert res.exit_code == 0, res.stderr
    warnings = [w for w in res.stderr.splitlines() if w.startswith("batchplan: warning:")]
    assert len(warnings) == 1 and "anthropic table, but these results come from openai" in warnings[0]
    assert "gpt-4o-2024-08-06" in warnings[0]


def test_a_host_of_the_same_models_is_no_vendor_mix_up() -> None:
    res = runner.invoke(app, ["reconcile", str(OUTPUT), "-m", "azure/gpt-4o", "--no-store", "--as-of",
                              "2026-11-30"])
    assert res.exit_code == 0, res.stderr
    assert "warning" not in res.stderr


# ---------------------------------------------------------------------------------------------
# The manifest: bounded, typed, and its batch files plain names of regular files


def _manifest(tmp_path: Path, doc: Any) -> Path:
    (tmp_path / "in.jsonl").write_bytes(INPUT.read_bytes())
    return write(tmp_path / "manifest.json", json.dumps(doc) if not isinstance(doc, str) else doc)


GOOD = {"vendor": "openai", "files": [{"name": "in.jsonl"}], "model": "gpt-4o"}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"as_of": "2026-02-30"}, "manifest field 'as_of' is not a date"),
        ({"as_of": 20260101}, "manifest field 'as_of' must be a string"),
        ({"files": {"name": "in.jsonl"}}, "manifest field 'files' must be a list"),
        ({"files": 5}, "manifest field 'files' must be a list"),
        ({"files": []}, "the manifest lists no batch files"),
        ({"vendor": ["openai"]}, "manifest field 'vendor' must be a string"),
        ({"vendor": "acme"}, "manifest names an unknown vendor"),
        ({"model": 5}, "manifest field 'model' must be a string"),
        ({"files": [{"name": "in\u0000.jsonl"}]}, "manifest lists a bad file entry"),
        ({"files": [{"name": "../in.jsonl"}]}, "manifest lists a bad file entry"),
        ({"files": [{"name": "missing.jsonl"}]}, "is not beside it"),
        ({"output_assumption": {"mode": "fixed", "value": "x"}}, "output_assumption.value must be a whole number"),
        ({"output_assumption": {"mode": "fixed", "value": 10**30}}, "output_assumption.value must be a whole number"),
        ({"output_assumption": {"mode": "ratio", "value": 1e308}}, "output_assumption.value must be a number"),
        ({"output_assumption": {"mode": "guess"}}, "output_assumption.mode must be"),
        ({"output_assumption": [1]}, "manifest field 'output_assumption' must be a JSON object"),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_a_one_line_error(tmp_path: Path, change: dict[str, Any],
                                                           said: str) -> None:
    manifest = _manifest(tmp_path, {**GOOD, **change})
    error = one_line_error(["reconcile", str(OUTPUT), "--manifest", str(manifest), "--no-store"])
    assert said in error and str(manifest) in error


def test_a_fifo_where_a_batch_file_should_be_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "batch.jsonl")
    manifest = _manifest(tmp_path, {**GOOD, "files": [{"name": "batch.jsonl"}]})
    error = one_line_error(["reconcile", str(OUTPUT), "--manifest", str(manifest), "--no-store"])
    assert "the batch file 'batch.jsonl' the manifest lists is not a regular file" in error


@pytest.mark.parametrize("text", ["[" * 100_000, "{" + '"a": 1, ' * 10 + "}", "\x00", ""])
def test_a_manifest_that_is_not_json_is_a_one_line_error(tmp_path: Path, text: str) -> None:
    error = one_line_error(["reconcile", str(OUTPUT), "--manifest", str(write(tmp_path / "m.json", text)),
                            "--no-store"])
    assert "not a batchplan manifest" in error


def test_a_good_manifest_still_reconciles(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, {**GOOD, "output_assumption": {"mode": "fixed", "value": 200,
                                                                  "description": "200 tokens"}})
    r = reconcile([OUTPUT], ReconcileOptions(manifest=manifest)).report
    assert r.requests.matched == 65 and r.output_tokens.estimated == 65 * 200


# ---------------------------------------------------------------------------------------------
# Property: every token field of every vendor's result shape refuses every impossible value

VENDOR_LINES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "openai": (line({"prompt_tokens": 10, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 0},
                     "completion_tokens_details": {"reasoning_tokens": 0}}), ("response", "body", "usage")),
    "anthropic": ({"custom_id": "a", "result": {"type": "succeeded", "message": {
        "id": "m", "model": "claude-haiku-4-5", "usage": {"input_tokens": 10, "output_tokens": 3,
                                                          "cache_read_input_tokens": 0,
                                                          "cache_creation_input_tokens": 0}}}},
                  ("result", "message", "usage")),
    "gemini": ({"key": "k", "response": {"modelVersion": "gemini-2.5-flash", "usageMetadata": {
        "promptTokenCount": 10, "candidatesTokenCount": 3, "thoughtsTokenCount": 0, "cachedContentTokenCount": 0,
        "toolUsePromptTokenCount": 0}}}, ("response", "usageMetadata")),
    "bedrock": ({"recordId": "r1", "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10,
                                                  "messages": [{"role": "user", "content": "hi"}]},
                 "modelOutput": {"id": "m", "usage": {"inputTokens": 10, "outputTokens": 3}}},
                ("modelOutput", "usage")),
}
REQUIRED = {"prompt_tokens", "completion_tokens", "input_tokens", "output_tokens", "promptTokenCount",
            "inputTokens", "outputTokens"}
IMPOSSIBLE: list[Any] = [-1, 1.5, "7", True, [3], 10**12, 1e300, float("inf"), float("nan"),
                         2**63]  # 2**63: what the reader makes of an integer of 20 digits or more


def _at(obj: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        obj = obj[key]
    return obj


def test_every_token_field_of_every_vendor_refuses_impossible_values() -> None:
    from planner.vendors import parse_result

    checked = 0
    for vendor, (base, path) in VENDOR_LINES.items():
        assert parse_result(base, "f:1").succeeded  # the untouched line is good
        for field in _at(base, path):
            for value in [*IMPOSSIBLE, None, "absent"]:
                obj = json.loads(json.dumps(base))
                usage = _at(obj, path)
                if value == "absent":
                    del usage[field]
                else:
                    usage[field] = value
                lenient = value in (None, "absent") and field not in REQUIRED
                if lenient:
                    assert parse_result(obj, "f:1").succeeded, (vendor, field, value)
                    continue
                with pytest.raises(ValueError, match=field):
                    parse_result(obj, "f:1")
                checked += 1
    assert checked >= 160  # 4 shapes × 16 fields × 10 values, less the lenient ones


def test_a_store_that_cannot_be_written_leaves_the_report_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(outcome: Any) -> Any:
        raise InputError("nothing stored: the history store failed: attempt to write a readonly database",
                         path="/x/history.sqlite3")

    monkeypatch.setattr(history, "record_reconciliation", refuse)
    res = runner.invoke(app, ["reconcile", str(OUTPUT), "--input", str(INPUT)])
    assert res.exit_code == 0 and "input tokens      36,501   36,501" in res.stdout
    assert "batchplan: warning: not stored in your history: /x/history.sqlite3: nothing stored" in res.stderr


@pytest.mark.parametrize(("option", "value"), [("--output-tokens", str(10**30)), ("--output-tokens", "-1"),
                                               ("--output-ratio", "inf"), ("--output-ratio", "nan"),
                                               ("--output-ratio", "1e308")])
def test_output_assumptions_are_bounded(option: str, value: str) -> None:
    error = one_line_error(["reconcile", str(OUTPUT), option, value, "--no-store"])
    assert f"{option} must be" in error


def test_standard_input_named_twice_is_a_usage_error() -> None:
    error = one_line_error(["reconcile", "-", "--input", "-", "--no-store"], input="")
    assert "standard input (-) can be read only once" in error
