"""planner.batch (prepare, validate, lines, manifest): vendor line formats (checked against the official SDK
types), stable ids, splitting at the exact limits, and totals equal to `estimate()`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from planner.batch.lines import encode_line, fill_template
from planner.batch.manifest import IdMaker
from planner.batch.prepare import prepare
from planner.batch.validate import validate
from planner.core.errors import InputError, UsageError
from planner.plan.estimate import estimate
from planner.prices.pricing import PriceBook, load_pricebook
from planner.vendors import list_vendors

FIXTURES = Path(__file__).parent / "fixtures" / "pricing"
AS_OF = date(2026, 3, 1)

TABLE = """
provider: {provider}
name: Test {provider}
version: 2026-01-01
verified: 2026-01-01
sources: [https://example.test/{provider}]
batch:
  supported: true
  default_multiplier: "0.5"
  endpoints: [/v1/chat/completions, /v1/responses, /v1/embeddings]
  limits: {limits}
tokenizers:
  o200k: {{encoding: o200k_base, method: exact}}
models:
  - id: {model}
    tokenizer: o200k
    context_window: 100000
    realtime: {{input: "2", output: "8"}}
    source: https://example.test/{provider}/m
    verified: 2026-01-01
"""


def make_book(tmp_path: Path, provider: str, model: str, limits: str = "{}") -> PriceBook:
    root = tmp_path / "pricing"
    (root / provider).mkdir(parents=True, exist_ok=True)
    (root / provider / "2026-01-01.yaml").write_text(
        TABLE.format(provider=provider, model=model, limits=limits), encoding="utf-8"
    )
    return load_pricebook(AS_OF, root=root)


@pytest.fixture
def acme() -> PriceBook:
    return load_pricebook(AS_OF, root=FIXTURES)


def rows(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "messages": [{"role": "user", "content": f"Classify item {i}: great"}], **extra}
            for i in range(1, n + 1)]


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------------------------------------
# SDK proof


def test_openai_chat_lines_match_the_sdk_type(
    tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook
) -> None:
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

    data = write_jsonl(rows(3))
    prepare(data, "acme-small", tmp_path / "out", vendor="openai", system="Be brief", max_tokens=16,
            temperature=0.2, extra_body={"top_p": 0.9}, pricebook=acme)
    adapter = TypeAdapter(CompletionCreateParamsNonStreaming)
    lines = read_lines(tmp_path / "out" / "batch-0001.jsonl")
    for line in lines:
        assert set(line) == {"custom_id", "method", "url", "body"}
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        adapter.validate_python(line["body"])
        assert line["body"]["messages"][0] == {"role": "system", "content": "Be brief"}
        assert line["body"]["max_completion_tokens"] == 16 and line["body"]["top_p"] == 0.9
    assert [x["custom_id"] for x in lines] == ["r1", "r2", "r3"]


def test_openai_responses_and_embeddings_lines_match_the_sdk_types(
    tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook
) -> None:
    from openai.types.embedding_create_params import EmbeddingCreateParams
    from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming

    data = write_jsonl(rows(2))
    prepare(data, "acme-small", tmp_path / "r", vendor="openai", endpoint="responses", system="Sys",
            max_tokens=10, pricebook=acme)
    for line in read_lines(tmp_path / "r" / "batch-0001.jsonl"):
        assert line["url"] == "/v1/responses"
        TypeAdapter(ResponseCreateParamsNonStreaming).validate_python(line["body"])
        assert line["body"]["instructions"] == "Sys" and line["body"]["max_output_tokens"] == 10
    prepare(data, "acme-small", tmp_path / "e", vendor="openai", endpoint="embeddings", output_tokens=0,
            pricebook=acme)
    for line in read_lines(tmp_path / "e" / "batch-0001.jsonl"):
        assert line["url"] == "/v1/embeddings"
        TypeAdapter(EmbeddingCreateParams).validate_python(line["body"])


def test_anthropic_and_bedrock_lines_match_the_sdk_type(
    tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook
) -> None:
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming

    data = write_jsonl(rows(3))
    adapter = TypeAdapter(MessageCreateParamsNonStreaming)
    prepare(data, "acme-small", tmp_path / "a", vendor="anthropic", system="Be brief", max_tokens=32, pricebook=acme)
    for line in read_lines(tmp_path / "a" / "batch-0001.jsonl"):
        assert set(line) == {"custom_id", "params"}
        adapter.validate_python(line["params"])
        assert line["params"]["system"] == "Be brief"
        assert all(m["role"] != "system" for m in line["params"]["messages"])
    prepare(data, "acme-small", tmp_path / "b", vendor="bedrock", max_tokens=32, pricebook=acme)
    for line in read_lines(tmp_path / "b" / "batch-0001.jsonl"):
        body = dict(line["modelInput"])
        assert body.pop("anthropic_version") == "bedrock-2023-05-31"
        adapter.validate_python({**body, "model": "x"})


def test_anthropic_needs_max_tokens(tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook) -> None:
    with pytest.raises(InputError, match="max_tokens"):
        prepare(write_jsonl(rows(2)), "acme-small", tmp_path / "a", vendor="anthropic", pricebook=acme,
                output_tokens=5)
    assert not (tmp_path / "a" / "manifest.json").exists()
    assert not (tmp_path / "a").exists()  # nothing written, and the directory it made is gone again


@pytest.mark.parametrize(
    ("vendor", "shape"),
    [
        ("gemini", {"key", "request"}),
        ("vertex", {"request"}),
        ("mistral", {"custom_id", "body"}),
        ("fireworks", {"custom_id", "body"}),
        ("together", {"custom_id", "body"}),
        ("xai", {"batch_request_id", "batch_request"}),
        ("azure", {"custom_id", "method", "url", "body"}),
        ("groq", {"custom_id", "method", "url", "body"}),
    ],
)
def test_other_vendor_shapes(
    vendor: str, shape: set[str], tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook
) -> None:
    prepare(write_jsonl(rows(2)), "acme-small", tmp_path / vendor, vendor=vendor, system="S", max_tokens=8,
            temperature=0, deployment="my-deploy" if vendor == "azure" else None, pricebook=acme)
    line = read_lines(tmp_path / vendor / "batch-0001.jsonl")[0]
    assert set(line) == shape
    if vendor == "gemini":
        assert line["request"]["system_instruction"] == {"parts": [{"text": "S"}]}
        assert line["request"]["generation_config"] == {"max_output_tokens": 8, "temperature": 0}
        assert line["request"]["contents"] == [{"role": "user", "parts": [{"text": "Classify item 1: great"}]}]
    if vendor == "vertex":
        assert line["request"]["generationConfig"] == {"maxOutputTokens": 8, "temperature": 0}
        assert "systemInstruction" in line["request"]
    if vendor in ("mistral", "fireworks"):
        assert "model" not in line["body"]
    if vendor == "together":
        assert line["body"]["model"] == "acme-small"
    if vendor == "xai":
        assert line["batch_request"]["chat_get_completion"]["model"] == "acme-small"
    if vendor == "azure":
        assert line["body"]["model"] == "my-deploy"
    report = validate(tmp_path / vendor / "batch-0001.jsonl", vendor=vendor, model="acme-small", pricebook=acme)
    assert report.problems == [] and report.valid_requests == 2


def test_every_vendor_is_covered() -> None:
    assert len(list_vendors()) == 11


# ---------------------------------------------------------------------------------------------
# Ids and templates


def test_ids_are_sanitized_stable_and_deduplicated() -> None:
    maker = IdMaker()
    made = [maker.make(raw, n) for n, raw in enumerate(["a b", "a b", "a_b-2", "", "é" * 3, "x" * 100, "x" * 100], 1)]
    assert made[0] == "a_b" and made[1] == "a_b-2" and made[2] == "a_b-2-2"
    assert made[3] == "row-4"
    assert made[4] == "row-5"
    assert len(made[5]) == 64 and made[6] != made[5] and len(made[6]) <= 64
    import re

    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", m) for m in made)
    again = IdMaker()
    assert [again.make(raw, n) for n, raw in enumerate(["a b", "a b", "a_b-2", "", "é" * 3, "x" * 100,
                                                         "x" * 100], 1)] == made


def test_template_fills_columns(tmp_path: Path, acme: PriceBook) -> None:
    data = tmp_path / "d.csv"
    data.write_text("id,name,review\nx1,Bob,\"Great, thanks\"\nx2,Ann,meh\n", encoding="utf-8")
    tpl = "Review by {name}: {review} {{literal}}"
    m = prepare(data, "acme-small", tmp_path / "o", vendor="openai", template=tpl, max_tokens=5, pricebook=acme)
    lines = read_lines(tmp_path / "o" / "batch-0001.jsonl")
    assert lines[0]["custom_id"] == "x1"
    assert lines[0]["body"]["messages"][-1]["content"] == "Review by Bob: Great, thanks {literal}"
    assert m.source["template"] is True
    with pytest.raises(InputError, match="placeholder"):
        fill_template("{missing}", {"a": 1}, path="f", line=2)


# ---------------------------------------------------------------------------------------------
# Splitting


def test_split_at_exact_request_limit(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    book = make_book(tmp_path, "openai", "m1", "{max_requests: 3}")
    m = prepare(write_jsonl(rows(6)), "m1", tmp_path / "six", vendor="openai", max_tokens=4, pricebook=book)
    assert [f.requests for f in m.files] == [3, 3]
    m = prepare(write_jsonl(rows(7)), "m1", tmp_path / "seven", vendor="openai", max_tokens=4, pricebook=book)
    assert [f.requests for f in m.files] == [3, 3, 1]
    assert [f.name for f in m.files] == ["batch-0001.jsonl", "batch-0002.jsonl", "batch-0003.jsonl"]
    assert m.limits.sources["max_requests"] == "table"


def test_split_at_exact_byte_limit(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    data = write_jsonl(rows(4))
    probe = make_book(tmp_path / "p", "openai", "m1")
    first = prepare(data, "m1", tmp_path / "probe", vendor="openai", max_tokens=4, pricebook=probe)
    sizes = [len(line) for line in (tmp_path / "probe" / "batch-0001.jsonl").read_bytes().splitlines(keepends=True)]
    assert first.files[0].bytes == sum(sizes)
    exact = sizes[0] + sizes[1]
    book = make_book(tmp_path / "x", "openai", "m1", f"{{max_bytes: {exact}}}")
    m = prepare(data, "m1", tmp_path / "exact", vendor="openai", max_tokens=4, pricebook=book)
    assert m.files[0].requests == 2 and m.files[0].bytes == exact
    book = make_book(tmp_path / "y", "openai", "m1", f"{{max_bytes: {exact - 1}}}")
    m = prepare(data, "m1", tmp_path / "under", vendor="openai", max_tokens=4, pricebook=book)
    assert m.files[0].requests == 1
    for f in m.files:
        assert (tmp_path / "under" / f.name).stat().st_size == f.bytes <= exact - 1


def test_a_line_over_the_limit_names_the_row(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    data = write_jsonl([*rows(1), {"id": "huge", "messages": [{"role": "user", "content": "x" * 5000}]}])
    book = make_book(tmp_path, "openai", "m1", "{max_line_bytes: 1000}")
    with pytest.raises(InputError, match="row 'huge'") as err:
        prepare(data, "m1", tmp_path / "o", vendor="openai", max_tokens=4, pricebook=book)
    assert err.value.line == 2
    assert not (tmp_path / "o" / "batch-0001.jsonl").exists()


def embedding_rows(*sizes: int) -> list[dict[str, Any]]:
    """OpenAI embeddings batch lines with `sizes[i]` inputs each (0: one input given as a token array)."""
    return [{"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings",
             "body": {"model": "m1", "input": [f"text {j}" for j in range(n)] if n else [101, 102, 103]}}
            for i, n in enumerate(sizes, 1)]


def test_embeddings_split_by_inputs_summed_over_the_file(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    """OpenAI caps an embeddings batch at 50,000 inputs across its requests, not just 50,000 requests."""
    book = make_book(tmp_path, "openai", "m1", "{max_embedding_inputs: 5}")
    data = write_jsonl(embedding_rows(3, 2, 4, 1, 0))
    m = prepare(data, "m1", tmp_path / "e", vendor="openai", endpoint="embeddings", output_tokens=0, pricebook=book)
    assert [f.requests for f in m.files] == [2, 2, 1]  # 3+2 | 4+1 | one token array
    assert m.limits.max_embedding_inputs == 5 and m.limits.sources["max_embedding_inputs"] == "table"
    with pytest.raises(InputError, match="row 'e2' holds 6 embedding inputs") as err:
        prepare(write_jsonl(embedding_rows(1, 6)), "m1", tmp_path / "x", vendor="openai", endpoint="embeddings",
                output_tokens=0, pricebook=book)
    assert err.value.line == 2
    # chat files are not limited by it, and the documented default applies where the table is silent
    chat = prepare(write_jsonl(rows(7)), "m1", tmp_path / "c", vendor="openai", max_tokens=4, pricebook=book)
    assert [f.requests for f in chat.files] == [7]
    plain = make_book(tmp_path / "d", "openai", "m1")
    m = prepare(data, "m1", tmp_path / "d", vendor="openai", endpoint="embeddings", output_tokens=0, pricebook=plain)
    assert m.limits.max_embedding_inputs == 50_000
    assert m.limits.sources["max_embedding_inputs"] == "providers.md default"


def test_validate_counts_embedding_inputs(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    book = make_book(tmp_path, "openai", "m1", "{max_embedding_inputs: 5}")
    over = validate(write_jsonl(embedding_rows(3, 2, 1), "over.jsonl"), vendor="openai", pricebook=book)
    assert [p.message for p in over.problems] == [
        "6 embedding inputs, over openai's limit of 5 per batch: split it (batchplan prepare does)"
    ]
    fits = validate(write_jsonl(embedding_rows(2, 2, 0), "fits.jsonl"), vendor="openai", pricebook=book)  # 2+2+1
    assert fits.problems == []


def test_option_cannot_exceed_vendor_limit(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    book = make_book(tmp_path, "openai", "m1", "{max_requests: 3}")
    with pytest.raises(UsageError, match="above"):
        prepare(write_jsonl(rows(2)), "m1", tmp_path / "o", vendor="openai", max_requests=4, pricebook=book)


def test_limits_fall_back_to_documented_defaults(tmp_path: Path, write_jsonl: Callable[..., Path],
                                                 acme: PriceBook) -> None:
    # no anthropic table is loaded: the limits are Anthropic's documented ones, never those of the table
    # the name resolved in (acme's 50,000), because limits come from the vendor the lines are sent to
    m = prepare(write_jsonl(rows(1)), "acme-small", tmp_path / "o", vendor="anthropic", max_tokens=3, pricebook=acme)
    assert m.limits.max_requests == 100_000 and m.limits.sources["max_requests"] == "providers.md default"
    m = prepare(write_jsonl(rows(1)), "acme-small", tmp_path / "a", vendor="openai", max_tokens=3, pricebook=acme)
    assert m.limits.max_requests == 50_000 and m.limits.sources["max_requests"] == "providers.md default"
    m = prepare(write_jsonl(rows(1)), "claudeco-1", tmp_path / "c", vendor="anthropic", max_tokens=3, pricebook=acme)
    assert m.limits.max_requests == 100_000 and m.limits.sources["max_requests"] == "providers.md default"


# ---------------------------------------------------------------------------------------------
# Totals equal estimate()


def test_totals_equal_estimate_on_the_same_data(tmp_path: Path, acme: PriceBook) -> None:
    data = tmp_path / "d.csv"
    data.write_text("id,text\n" + "".join(f"q{i},prompt number {i} {'word ' * i}\n" for i in range(40)),
                    encoding="utf-8")
    m = prepare(data, "acme-long", tmp_path / "o", vendor="openai", text_column="text", system="Be terse",
                output_tokens=50, max_requests=7, pricebook=acme)
    e = estimate(data, ["acme-long"], text_column="text", system="Be terse", output_tokens=50, pricebook=acme)
    one = e.estimates[0]
    assert m.totals.input_tokens == one.input_tokens
    assert m.totals.output_tokens == one.output_tokens
    assert m.totals.realtime_cost_usd == f"{one.realtime_cost_usd.quantize(__import__('decimal').Decimal('0.000001'))}"
    from planner.core.money import usd

    assert m.totals.realtime_cost_usd == usd(one.realtime_cost_usd)
    assert one.batch_cost_usd is not None and m.totals.batch_cost_usd == usd(one.batch_cost_usd)
    assert len(m.files) == 6 and sum(f.requests for f in m.files) == 40
    assert sum(f.input_tokens for f in m.files) == m.totals.input_tokens
    from decimal import Decimal

    assert abs(sum(Decimal(f.realtime_cost_usd) for f in m.files) - one.realtime_cost_usd) < Decimal("0.00001")


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_round_trip_prepare_validate_estimate(
    vendor: str, tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook
) -> None:
    data = write_jsonl(rows(5))
    m = prepare(data, "acme-small", tmp_path / "o", vendor=vendor, system="S", max_tokens=12, pricebook=acme)
    path = tmp_path / "o" / "batch-0001.jsonl"
    report = validate(path, vendor=vendor, pricebook=acme)
    assert report.ok and report.estimate is not None
    e = estimate(path, ["acme-small"], pricebook=acme).estimates[0]
    from planner.core.money import usd

    assert report.estimate["input_tokens"] == m.totals.input_tokens == e.input_tokens
    assert report.estimate["output_tokens"] == m.totals.output_tokens == e.output_tokens == 60
    assert report.estimate["realtime_cost_usd"] == m.totals.realtime_cost_usd == usd(e.realtime_cost_usd)
    assert e.batch_cost_usd is not None
    assert report.estimate["batch_cost_usd"] == m.totals.batch_cost_usd == usd(e.batch_cost_usd)


def test_manifest_is_stable_across_runs(tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook) -> None:
    data = write_jsonl(rows(4))
    prepare(data, "acme-small", tmp_path / "a", vendor="openai", max_tokens=3, pricebook=acme)
    prepare(data, "acme-small", tmp_path / "b", vendor="openai", max_tokens=3, pricebook=acme)
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    assert (tmp_path / "a" / "batch-0001.jsonl").read_bytes() == (tmp_path / "b" / "batch-0001.jsonl").read_bytes()
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert list(manifest)[:3] == ["manifest_version", "vendor", "line_format"]
    assert manifest["files"][0]["sha256"]
    assert {"p50_hours", "p90_hours", "worst_hours"} <= set(manifest["files"][0]["eta"] or {"p50_hours": 0,
                                                                                          "p90_hours": 0,
                                                                                          "worst_hours": 0})


def test_no_overwrite_without_force_and_stale_files_removed(
    tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook
) -> None:
    out = tmp_path / "o"
    prepare(write_jsonl(rows(4)), "acme-small", out, vendor="openai", max_tokens=3, max_requests=1, pricebook=acme)
    assert len(list(out.glob("batch-*.jsonl"))) == 4
    with pytest.raises(UsageError, match="--force"):
        prepare(write_jsonl(rows(2)), "acme-small", out, vendor="openai", max_tokens=3, pricebook=acme)
    prepare(write_jsonl(rows(2)), "acme-small", out, vendor="openai", max_tokens=3, pricebook=acme, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["batch-0001.jsonl", "manifest.json"]


def test_interrupt_leaves_no_partial_files(
    tmp_path: Path, write_jsonl: Callable[..., Path], acme: PriceBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.batch.prepare as writer

    calls = {"n": 0}
    real = writer.encode_line

    def boom(obj: dict[str, Any]) -> bytes:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(obj)

    monkeypatch.setattr(writer, "encode_line", boom)
    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        prepare(write_jsonl(rows(5)), "acme-small", out, vendor="openai", max_tokens=3, max_requests=1,
                pricebook=acme)
    assert not out.exists()  # no partial file, and the directory it made is gone again


def test_encode_line_is_compact_utf8() -> None:
    assert encode_line({"a": "é"}) == '{"a":"é"}\n'.encode()
