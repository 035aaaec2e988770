"""The record shapes people bring (planner.read.shapes), read from real files (tests/fixtures/shapes/README.md names
each one's repository, path and commit) and counted the way the same request would be counted as chat."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app
from planner.core.errors import InputError
from planner.count.tokens import count_requests, count_text
from planner.plan.estimate import estimate
from planner.prices.pricing import load_pricebook
from planner.read.datasets import ReadOptions, read_requests

SHAPES = Path(__file__).parent / "fixtures" / "shapes"
BOOK = load_pricebook()
GPT = BOOK.resolve("gpt-4o-mini").tokenizer


def read(path: Path, **kw: object) -> tuple[str, list]:  # type: ignore[type-arg]
    fmt, stream = read_requests(str(path), ReadOptions(**kw))  # type: ignore[arg-type]
    return fmt, list(stream)


def tokens(path: Path, model: str = "gpt-4o-mini", **kw: object) -> int:
    result = estimate(path, [model], output_tokens=1, **kw)
    return result.estimates[0].input_tokens


@pytest.mark.parametrize(
    ("name", "fmt", "n"),
    [
        ("sharegpt_glaive.jsonl", "sharegpt", 8),
        ("alpaca.jsonl", "alpaca", 12),
        ("finetune_drone.jsonl", "openai-finetune", 1),
        ("embeddings_cookbook.jsonl", "embeddings", 20),
        ("responses_bodies.jsonl", "responses", 3),
        ("gemini_batch_doc.jsonl", "gemini-batch", 2),
        ("gemini_bare_doc.jsonl", "gemini", 2),
        ("vertex_text.jsonl", "vertex-batch", 10),
        ("vertex_multimodal.jsonl", "vertex-batch", 3),
        ("bedrock_claude.jsonl", "bedrock-batch", 6),
    ],
)
def test_each_real_file_is_detected_from_its_content(name: str, fmt: str, n: int) -> None:
    found, reqs = read(SHAPES / name)
    assert found == fmt
    assert len(reqs) == n
    assert estimate(SHAPES / name, ["gpt-4o-mini"], output_tokens=1).dataset.format == fmt


def test_sharegpt_request_is_the_conversation_before_the_last_answer(tmp_path: Path) -> None:
    _, reqs = read(SHAPES / "sharegpt_glaive.jsonl")
    first = reqs[0]
    roles = [m["role"] for m in first.body["messages"]]
    assert roles[-1] != "assistant"  # the trailing gpt turn is the answer, not input
    assert any("tool_calls" in m for m in first.body["messages"])  # function_call turns are tool calls
    assert "tool" in roles  # observation turns are tool results
    assert first.body["tools"][0]["type"] == "function"  # LLaMA-Factory's JSON-string tools, in OpenAI's form
    # The same turns written as a chat request (what prepare would send) count the same.
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({**r.body, "model": "gpt-4o-mini"}) + "\n" for r in reqs))
    assert tokens(SHAPES / "sharegpt_glaive.jsonl") == tokens(chat)


def test_sharegpt_role_content_dialect_counts_the_same(tmp_path: Path) -> None:
    rename = {"human": "user", "gpt": "assistant"}
    rows = [json.loads(line) for line in (SHAPES / "sharegpt_glaive.jsonl").read_text().splitlines()]
    for row in rows:
        row["conversations"] = [
            {"role": rename.get(t["from"], t["from"]), "content": t["value"]} for t in row["conversations"]
        ]
    other = tmp_path / "roles.jsonl"
    other.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read(other)[0] == "sharegpt"
    assert tokens(other) == tokens(SHAPES / "sharegpt_glaive.jsonl")


def test_sharegpt_output_column_counts_the_final_answer() -> None:
    rows = [json.loads(line) for line in (SHAPES / "sharegpt_glaive.jsonl").read_text().splitlines()]
    answers = [r["conversations"][-1]["value"] for r in rows]
    assert all(r["conversations"][-1]["from"] == "gpt" for r in rows)
    result = estimate(SHAPES / "sharegpt_glaive.jsonl", ["gpt-4o-mini"], output_column="conversations")
    assert result.estimates[0].output_tokens == sum(count_text(a, GPT) for a in answers)


def test_alpaca_prompt_is_instruction_then_input_and_output_column_counts_answers() -> None:
    rows = [json.loads(line) for line in (SHAPES / "alpaca.jsonl").read_text().splitlines()]
    _, reqs = read(SHAPES / "alpaca.jsonl", output_column="output")
    with_input = next(i for i, r in enumerate(rows) if r["input"])
    row = rows[with_input]
    assert reqs[with_input].body["messages"][-1]["content"] == f"{row['instruction']}\n\n{row['input']}"
    assert reqs[0].body["messages"] == [{"role": "user", "content": rows[0]["instruction"]}]
    result = estimate(SHAPES / "alpaca.jsonl", ["gpt-4o-mini"], output_column="output")
    assert result.output_assumption.mode == "column"
    assert result.estimates[0].output_tokens == sum(count_text(r["output"], GPT) for r in rows)


def test_finetune_file_with_tools_counts_prompt_and_tool_definitions(tmp_path: Path) -> None:
    row = json.loads((SHAPES / "finetune_drone.jsonl").read_text())
    fmt, reqs = read(SHAPES / "finetune_drone.jsonl", output_column="messages")
    assert fmt == "openai-finetune"
    assert [m["role"] for m in reqs[0].body["messages"]] == ["system", "user"]
    assert len(reqs[0].body["tools"]) == 16
    assert reqs[0].output_text == 'takeoff_drone\n{"altitude": 100}'
    # Equal to the chat request a distillation job would send: the prompt turns plus the tools.
    request = {"model": "gpt-4o-mini", "messages": row["messages"][:-1], "tools": row["tools"]}
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps(request) + "\n")
    assert tokens(SHAPES / "finetune_drone.jsonl") == tokens(chat)
    without_tools = tmp_path / "bare.jsonl"
    without_tools.write_text(json.dumps({**request, "tools": []}) + "\n")
    assert tokens(chat) > tokens(without_tools) + 300  # 16 function definitions are not free


def test_bare_embeddings_bodies_count_their_inputs_only() -> None:
    _, reqs = read(SHAPES / "embeddings_cookbook.jsonl")
    assert reqs[0].api == "embeddings" and reqs[0].id == "1"  # metadata.row_id
    assert reqs[1].id == "line-2"
    cl100k = BOOK.resolve("text-embedding-3-small").tokenizer
    assert count_requests(reqs, cl100k) == [count_text(str(r.body["input"]), cl100k) for r in reqs]


def test_bare_responses_bodies_count_as_their_batch_lines(tmp_path: Path) -> None:
    bodies = [json.loads(line) for line in (SHAPES / "responses_bodies.jsonl").read_text().splitlines()]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(
        json.dumps({"custom_id": f"task-{i}", "method": "POST", "url": "/v1/responses", "body": b}) + "\n"
        for i, b in enumerate(bodies)
    ))
    assert read(SHAPES / "responses_bodies.jsonl")[1][0].api == "responses"
    assert tokens(SHAPES / "responses_bodies.jsonl") == tokens(batch)


def _as_chat(path: Path, tmp_path: Path) -> Path:
    """The Gemini/Vertex requests of `path` written as chat requests with the same texts."""
    out = tmp_path / f"{path.stem}.chat.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        request = obj.get("request", obj)
        messages = []
        for content in request["contents"]:
            parts = content["parts"] if isinstance(content["parts"], list) else [content["parts"]]
            role = "assistant" if content.get("role") == "model" else "user"
            messages.append({"role": role, "content": "".join(p["text"] for p in parts)})
        lines.append(json.dumps({"messages": messages}) + "\n")
    out.write_text("".join(lines))
    return out


@pytest.mark.parametrize("name", ["gemini_batch_doc.jsonl", "gemini_bare_doc.jsonl", "vertex_text.jsonl"])
def test_gemini_and_vertex_requests_count_contents_and_parts_like_chat(name: str, tmp_path: Path) -> None:
    assert tokens(SHAPES / name) == tokens(_as_chat(SHAPES / name, tmp_path))
    gemini = BOOK.resolve("gemini-2.0-flash").tokenizer
    assert gemini.method == "approximate"
    assert tokens(SHAPES / name, "gemini-2.0-flash") == tokens(_as_chat(SHAPES / name, tmp_path), "gemini-2.0-flash")


def test_gemini_system_instruction_and_ids(tmp_path: Path) -> None:
    _, reqs = read(SHAPES / "gemini_batch_doc.jsonl")
    assert [r.id for r in reqs] == ["request-1", "request-2"] and reqs[0].api == "gemini"
    rows = [json.loads(line) for line in (SHAPES / "gemini_batch_doc.jsonl").read_text().splitlines()]
    for key in ("systemInstruction", "system_instruction"):
        with_system = tmp_path / f"{key}.jsonl"
        with_system.write_text("".join(
            json.dumps({**r, "request": {**r["request"], key: {"parts": [{"text": "Answer in French."}]}}}) + "\n"
            for r in rows
        ))
        # a system turn: the chat accounting of {"role": "system", "content": "Answer in French."}
        system_tokens = count_requests([read(with_system)[1][0]], GPT)[0] - count_requests([reqs[0]], GPT)[0]
        assert system_tokens == GPT.message_overhead + count_text("system", GPT) + count_text("Answer in French.", GPT)


def test_vertex_counts_never_undercount_what_vertex_billed() -> None:
    """The Vertex output of the same requests (gemini-1.5-flash) reports promptTokenCount; the approximation
    rounds up and adds chat turn overheads, so it is never below the bill."""
    billed = {
        "banana bread": 8, "chocolate cake": 8, "carrot cake": 8, "vanilla cake": 8, "red velvet cake": 9,
        "lemon cake": 8, "coconut cake": 8, "strawberry shortcake": 9, "cheesecake": 7, "pound cake": 8,
    }
    _, reqs = read(SHAPES / "vertex_text.jsonl")
    gemini = BOOK.resolve("gemini-2.0-flash").tokenizer
    for req, count in zip(reqs, count_requests(reqs, gemini), strict=True):
        text = req.body["contents"][0]["parts"]["text"]
        dish = text.removeprefix("Give me a recipe for ").rstrip(".")
        assert count >= billed[dish]
        # and not far above it: Gemini bills the text alone, no chat framing (before: 15-17 for a bill of 7-9)
        assert count <= billed[dish] + 2, (dish, count, billed[dish])


def test_vertex_multimodal_file_parts_are_images_by_the_model_rule() -> None:
    _, reqs = read(SHAPES / "vertex_multimodal.jsonl")
    claude = BOOK.resolve("claude-haiku-4-5")
    result = estimate(SHAPES / "vertex_multimodal.jsonl", ["claude-haiku-4-5"], output_tokens=1)
    assert claude.tokenizer.images is not None
    # two single-image requests and one image + video: images billed at the rule's assumed size, stated
    per_request = result.estimates[0].input_tokens_histogram
    assert per_request is not None and result.estimates[0].input_tokens > 3 * 1000
    assert len(reqs) == 3


def test_bedrock_records_are_claude_messages_within_the_band_of_the_bill() -> None:
    billed = json.loads((SHAPES / "bedrock_claude_usage.json").read_text())
    _, reqs = read(SHAPES / "bedrock_claude.jsonl")
    assert [r.id for r in reqs] == list(billed)  # recordId kept
    assert all(r.api == "anthropic" and r.max_tokens == 1024 for r in reqs)
    tok = BOOK.resolve("claude-haiku-4-5").tokenizer  # the ≤4.6 Claude tokenizer rule (the bill is claude-3-haiku)
    for req, count in zip(reqs, count_requests(reqs, tok), strict=True):
        assert abs(count - billed[req.id]) <= billed[req.id] * tok.band


def test_a_bad_record_of_a_shape_is_one_line_naming_file_and_line(write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl([
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]},
        {"conversations": [{"from": "narrator", "value": "hi"}]},
    ])
    with pytest.raises(InputError) as info:
        read(path)
    assert info.value.line == 2 and "unknown speaker 'narrator'" in info.value.message
    result = CliRunner().invoke(app, ["estimate", str(path), "-m", "gpt-4o-mini", "--output-tokens", "5"])
    assert result.exit_code != 0
    assert f"{path}:2: " in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "record",
    [
        {"key": "a", "request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                                 "generationConfig": {"maxOutputTokens": 10**30}}},
        {"recordId": "a", "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10**30,
                                         "messages": [{"role": "user", "content": "hi"}]}},
        {"custom_id": "a", "method": "POST", "url": "/v1/responses",
         "body": {"model": "gpt-4o-mini", "input": "hi", "max_output_tokens": 10**30}},
    ],
    ids=["gemini", "bedrock", "responses"],
)
def test_a_max_output_no_model_can_produce_is_an_error_in_every_shape(
    record: dict, write_jsonl: Callable[..., Path]  # type: ignore[type-arg]
) -> None:
    """The same bound as a chat line's max_tokens (1e15): a 30-digit maximum would price an absurd
    output (and overflow 64-bit sums) instead of being reported with its line."""
    path = write_jsonl([record])
    with pytest.raises(InputError, match="more than any model can produce") as info:
        read(path)
    assert info.value.line == 1


def test_output_column_on_a_conversation_without_an_answer_is_an_error(write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl([{"conversations": [{"from": "human", "value": "hi"}]}])
    with pytest.raises(InputError, match="no trailing assistant turn"):
        read(path, output_column="conversations")


def test_format_chat_still_counts_a_finetune_file_whole() -> None:
    fmt, reqs = read(SHAPES / "finetune_drone.jsonl", format="chat")
    assert fmt == "chat" and reqs[0].body["messages"][-1]["role"] == "assistant"
