"""Every published text/chat/tools vector from tokens.md §1.6, plus the request shapes tokens.py handles."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from _tok import CLAUDE, GPT_4, GPT_4O, GPT_35_0301, req

from planner.count import encodings
from planner.count.tokens import (
    Pieces,
    band_label,
    calibrate,
    count_requests,
    count_requests_detailed,
    count_text,
    request_pieces,
)
from planner.prices.pricing import Tokenizer

COOKBOOK_MESSAGES: list[dict[str, Any]] = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon "
        "into plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for "
        "increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {
                    "type": "string",
                    "description": "The unit of temperature to return",
                    "enum": ["celsius", "fahrenheit"],
                },
            },
            "required": ["location"],
        },
    },
}
WEATHER_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


@pytest.mark.parametrize(
    ("tok", "expected"),
    [(GPT_4O, 124), (GPT_4, 129), (GPT_35_0301, 127)],
    ids=["gpt-4o/4o-mini", "gpt-3.5-0613/gpt-4", "gpt-3.5-turbo-0301"],
)
def test_cookbook_six_messages(tok: Tokenizer, expected: int) -> None:
    assert count_requests([req({"messages": COOKBOOK_MESSAGES})], tok) == [expected]


@pytest.mark.parametrize(("tok", "expected"), [(GPT_4O, 101), (GPT_4, 105)], ids=["gpt-4o", "gpt-4"])
def test_cookbook_tools_vector(tok: Tokenizer, expected: int) -> None:
    body = {"messages": WEATHER_MESSAGES, "tools": [WEATHER_TOOL]}
    assert count_requests([req(body)], tok) == [expected]


def test_legacy_functions_field_counts_like_tools() -> None:
    body = {"messages": WEATHER_MESSAGES, "functions": [WEATHER_TOOL["function"]]}
    assert count_requests([req(body)], GPT_4O) == [101]


def test_responses_tools_flat_format() -> None:
    flat = {"type": "function", **WEATHER_TOOL["function"]}  # type: ignore[dict-item]
    body = {"instructions": WEATHER_MESSAGES[0]["content"], "input": WEATHER_MESSAGES[1]["content"], "tools": [flat]}
    # instructions become a developer message: same token count as the system message
    assert count_requests([req(body, "responses")], GPT_4O) == [101]


@pytest.mark.parametrize(
    ("text", "cl100k", "o200k"),
    [
        ("tiktoken is great!", 6, 6),
        ("antidisestablishmentarianism", 6, 6),
        ("2 + 2 = 4", 7, 7),
        ("お誕生日おめでとう", 9, 8),
        ("The quick brown fox jumps over the lazy dog.", 10, 10),
    ],
)
def test_string_vectors(text: str, cl100k: int, o200k: int) -> None:
    assert count_text(text, GPT_4) == cl100k
    assert count_text(text, GPT_4O) == o200k


def test_string_vector_token_ids() -> None:
    assert encodings.get_encoding("cl100k_base").encode_ordinary("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert encodings.get_encoding("o200k_base").encode_ordinary("tiktoken is great!") == [83, 8251, 2488, 382, 2212, 0]


def test_special_token_text_is_counted_as_text() -> None:
    assert count_text("<|endoftext|>", GPT_4O) > 1


def test_multipart_text_content_counts_each_part() -> None:
    parts = [{"type": "text", "text": "Hello"}, {"type": "text", "text": " world"}]
    single = count_requests([req({"messages": [{"role": "user", "content": "Hello"}]})], GPT_4O)[0]
    multi = count_requests([req({"messages": [{"role": "user", "content": parts}]})], GPT_4O)[0]
    assert multi == single + count_text(" world", GPT_4O)


def test_name_adds_one_plus_its_tokens() -> None:
    plain = {"messages": [{"role": "user", "content": "hi"}]}
    named = {"messages": [{"role": "user", "name": "bob", "content": "hi"}]}
    base = count_requests([req(plain)], GPT_4O)[0]
    assert count_requests([req(named)], GPT_4O)[0] == base + 1 + count_text("bob", GPT_4O)
    assert count_requests([req(named)], GPT_35_0301)[0] == count_requests([req(plain)], GPT_35_0301)[0] - 1 + 1


def test_tool_calls_and_tool_results() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ]
    }
    pieces = request_pieces(req(body), GPT_4O)
    assert "f" in pieces.texts and "{}" in pieces.texts and "sunny" in pieces.texts


def test_responses_items() -> None:
    body = {
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ]
    }
    pieces = request_pieces(req(body, "responses"), GPT_4O)
    assert {"weather?", "get_weather", '{"city":"Paris"}', "sunny"} <= set(pieces.texts)
    assert pieces.fixed == 3 * 3 + 3


def test_embeddings_and_completions() -> None:
    assert count_requests([req({"input": ["tiktoken is great!", "2 + 2 = 4"]}, "embeddings")], GPT_4) == [13]
    assert count_requests([req({"input": [1, 2, 3]}, "embeddings")], GPT_4) == [3]
    assert count_requests([req({"input": [[1, 2], [3]]}, "embeddings")], GPT_4) == [3]
    assert count_requests([req({"prompt": "tiktoken is great!"}, "completions")], GPT_4) == [6]


def test_anthropic_envelope_and_calibration() -> None:
    body = {"system": "You are a scientist", "messages": [{"role": "user", "content": "Hello, Claude"}]}
    raw = 3 + 4 + 3 + 3 + 1  # overheads + o200k texts
    assert count_requests([req(body, "anthropic")], CLAUDE) == [calibrate(raw, CLAUDE)]
    assert abs(count_requests([req(body, "anthropic")], CLAUDE)[0] - 14) <= 14 * 0.3  # doc vector: 14


def test_anthropic_tools_vector_within_band() -> None:
    body = {
        "tools": [
            {
                "name": "get_weather",
                "description": "Get the current weather in a given location",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}
                    },
                    "required": ["location"],
                },
            }
        ],
        "messages": [{"role": "user", "content": "What's the weather like in San Francisco?"}],
    }
    got = count_requests([req(body, "anthropic")], CLAUDE)[0]
    assert abs(got - 403) <= 403 * 0.15  # doc vector (346-token tool prompt era): 403
    forced = count_requests([req({**body, "tool_choice": {"type": "any"}}, "anthropic")], CLAUDE)[0]
    assert forced == got - 346 + 313


def test_anthropic_previous_thinking_is_not_input() -> None:
    thinking = {"type": "thinking", "thinking": "long chain of thought " * 50, "signature": "x"}
    body = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [thinking, {"type": "text", "text": "a"}]},
            {"role": "user", "content": "q2"},
        ]
    }
    without = {**body, "messages": [body["messages"][0], {"role": "assistant", "content": "a"}, body["messages"][2]]}
    assert count_requests([req(body, "anthropic")], CLAUDE) == count_requests([req(without, "anthropic")], CLAUDE)


def test_anthropic_tool_use_blocks() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "calc", "input": {"x": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "42"}]},
        ]
    }
    texts = request_pieces(req(body, "anthropic"), CLAUDE).texts
    assert texts == ["q", "calc", '{"x": 1}', "42"]


def test_count_requests_detailed_and_plain_agree() -> None:
    requests = [req({"messages": COOKBOOK_MESSAGES}), req({"messages": WEATHER_MESSAGES, "tools": [WEATHER_TOOL]})]
    detailed = count_requests_detailed(requests, GPT_4O, threads=2)
    assert [c.tokens for c in detailed] == count_requests(requests, GPT_4O) == [124, 101]
    assert all(c.assumed_images == 0 for c in detailed)


def test_threads_give_same_counts() -> None:
    requests = [req({"messages": [{"role": "user", "content": f"message number {i} " * (i % 7)}]}) for i in range(600)]
    assert count_requests(requests, GPT_4O, threads=4) == count_requests(requests, GPT_4O, threads=1)


def test_pieces_and_band_label() -> None:
    assert Pieces().fixed == 0
    assert band_label(GPT_4O) == "exact"
    assert band_label(CLAUDE) == "approximate (±15%)"
    assert calibrate(100, CLAUDE) == 116
    assert calibrate(1, CLAUDE) == 2  # rounds up, never undercounts


def test_counting_works_with_sockets_disabled(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(encodings, "_cache", {})
    monkeypatch.setattr(encodings, "_counters", {})
    assert count_requests([req({"messages": COOKBOOK_MESSAGES})], GPT_4O) == [124]
    assert count_requests([req({"messages": COOKBOOK_MESSAGES})], GPT_4) == [129]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", sorted(encodings.EXPECTED_SHA256))
def test_a_bundled_encoding_that_was_changed_fails_loudly(
    name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrupted or swapped .tiktoken file is refused (its sha256 is not the one tiktoken expects),
    never used to miscount; the intact file builds the encoding."""
    data = bytearray((encodings.ENCODINGS_DIR / f"{name}.tiktoken").read_bytes())
    data[100] ^= 0x01
    (tmp_path / f"{name}.tiktoken").write_bytes(bytes(data))
    monkeypatch.setattr(encodings, "ENCODINGS_DIR", tmp_path)
    monkeypatch.setattr(encodings, "_cache", {})
    monkeypatch.setattr(encodings, "_counters", {})
    with pytest.raises(ValueError, match="does not match its sha256"):
        encodings.get_encoding(name)
    monkeypatch.undo()
    assert encodings.get_encoding(name).n_vocab > 100_000


def test_chat_request_for_a_claude_model_is_counted_as_its_messages_body() -> None:
    chat_body = {
        "messages": [
            {"role": "system", "content": "You are a scientist"},
            {"role": "user", "content": "Hello, Claude"},
        ]
    }
    anthropic_body = {"system": "You are a scientist", "messages": [{"role": "user", "content": "Hello, Claude"}]}
    claude_chat = CLAUDE.model_copy(update={"chat_format": "anthropic"})
    as_chat = count_requests([req(chat_body, "chat")], claude_chat)
    as_lines = count_requests([req(anthropic_body, "anthropic")], claude_chat)
    # the same conversation costs the same whichever format it arrives in
    assert as_chat == as_lines
    # and without the flag, chat accounting (with role tokens) would count more
    assert count_requests([req(chat_body, "chat")], CLAUDE)[0] > as_chat[0]
