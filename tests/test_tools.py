"""Tool/function definition accounting (openai-cookbook `num_tokens_for_tools`, Anthropic tool prompt)."""

from __future__ import annotations

from typing import Any

from _tok import GPT_4, GPT_4O, TOOLS_4O, req

from planner.count.tokens import count_requests, count_text
from planner.count.tool_tokens import anthropic_system_prompt, openai_function_of, openai_tools, tools_json
from planner.prices.pricing import Tokenizer, ToolRule


def fn(name: str, description: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"type": "object", "properties": properties or {}}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": params}}


def raw(tools: list[Any], rule: ToolRule, tok: Tokenizer = GPT_4O) -> int:
    fixed, texts = openai_tools(tools, rule)
    return fixed + sum(count_text(t, tok) for t in texts)


def test_recipe_by_hand() -> None:
    tool = fn(
        "get_current_weather",
        "Get the current weather in a given location.",  # one trailing period is dropped
        {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {
                "type": "string",
                "description": "The unit of temperature to return",
                "enum": ["celsius", "fahrenheit"],
            },
        },
    )
    expected = (
        7
        + count_text("get_current_weather:Get the current weather in a given location", GPT_4O)
        + 3
        + 3
        + count_text("location:string:The city and state, e.g. San Francisco, CA", GPT_4O)
        + 3
        - 3
        + 3
        + count_text("celsius", GPT_4O)
        + 3
        + count_text("fahrenheit", GPT_4O)
        + count_text("unit:string:The unit of temperature to return", GPT_4O)
        + 12
    )
    assert raw([tool], TOOLS_4O) == expected


def test_func_end_once_per_request_and_init_per_function() -> None:
    one = raw([fn("a", "x")], TOOLS_4O)
    two = raw([fn("a", "x"), fn("a", "x")], TOOLS_4O)
    assert two - one == one - 12  # second function adds func_init + its text, not another func_end


def test_parameterless_function_has_no_prop_init() -> None:
    assert raw([fn("ping", "Ping")], TOOLS_4O) == 7 + count_text("ping:Ping", GPT_4O) + 12


def test_formats_chat_responses_legacy() -> None:
    inner = {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}
    assert openai_function_of({"type": "function", "function": inner}) == inner
    assert openai_function_of({"type": "function", **inner}) == {"type": "function", **inner}
    assert openai_function_of(inner) == inner
    assert openai_function_of({"type": "web_search"}) is None


def test_hosted_tools_counted_as_json_not_free() -> None:
    fixed, texts = openai_tools([{"type": "web_search"}], TOOLS_4O)
    assert fixed == 0 and texts == ['{"type": "web_search"}']


def test_nested_and_unusual_schemas_do_not_crash() -> None:
    tool = fn(
        "book",
        "Book a trip",
        {
            "when": {"type": ["string", "null"], "description": "ISO date"},
            "party": {
                "type": "object",
                "description": "Who travels",
                "properties": {"adults": {"type": "integer"}, "kids": {"type": "integer", "enum": [0, 1, 2]}},
            },
            "stops": {"type": "array", "items": {"type": "object", "properties": {"city": {"type": "string"}}}},
        },
    )
    flat = fn("book", "Book a trip", {"when": {"type": "string", "description": "ISO date"}})
    assert raw([tool], TOOLS_4O) > raw([flat], TOOLS_4O)


def test_gpt4_constants_differ_by_func_init_only() -> None:
    tools = [fn("a", "b", {"x": {"type": "string", "description": "y"}})]
    body = {"messages": [{"role": "user", "content": "hi"}], "tools": tools}
    four_o = count_requests([req(body)], GPT_4O)[0]
    four = count_requests([req(body)], GPT_4)[0]
    assert four - four_o == 3  # 10 vs 7; same text counts on this English text


def test_without_tool_rule_definitions_are_counted_as_json() -> None:
    tok = Tokenizer(encoding="o200k_base", method="exact")
    tools = [fn("a", "b")]
    body = {"messages": [{"role": "user", "content": "hi"}], "tools": tools}
    plain = count_requests([req({"messages": body["messages"]})], tok)[0]
    assert count_requests([req(body)], tok)[0] == plain + count_text(tools_json(tools)[0], tok)


def test_anthropic_system_prompt_choice() -> None:
    rule = ToolRule(system_prompt_tokens=346, forced_system_prompt_tokens=313)
    assert anthropic_system_prompt(None, rule) == 346
    assert anthropic_system_prompt({"type": "auto"}, rule) == 346
    assert anthropic_system_prompt({"type": "none"}, rule) == 346
    assert anthropic_system_prompt({"type": "any"}, rule) == 313
    assert anthropic_system_prompt({"type": "tool", "name": "x"}, rule) == 313
    assert anthropic_system_prompt({"type": "any"}, ToolRule(system_prompt_tokens=290)) == 290
    assert anthropic_system_prompt({"type": "any"}, None) == 0
