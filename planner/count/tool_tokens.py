"""Tokens added by tool/function definitions.

OpenAI: the openai-cookbook recipe `num_tokens_for_tools` ("How to count tokens with tiktoken", section 7),
with the per-model constants of `ToolRule` (gpt-4o family: func_init 7, prop_init 3, prop_key 3,
enum_init -3, enum_item 3, func_end 12; gpt-3.5/gpt-4: func_init 10). The recipe is exact on its
published vector; `required`, defaults and nested schemas are not modeled by it (nested object
properties are counted here with the same per-property rule, an approximation).

Anthropic: a fixed tool-use system prompt (`system_prompt_tokens`, or `forced_system_prompt_tokens` for
tool_choice any/tool) plus the JSON text of each tool definition.

Functions here return `(fixed, texts)`: tokens that need no encoding and texts to encode, so the caller
can batch-encode texts of many requests at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.prices.pricing import ToolRule


def _strip_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # JSON-schema type unions: ["string", "null"]
        return "|".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False) if value is not None else ""


def openai_function_of(tool: Any) -> dict[str, Any] | None:
    """The function definition inside a chat tool ({"type": "function", "function": {...}}), a Responses
    tool ({"type": "function", "name": ...}) or a legacy `functions` entry; None for hosted tools."""
    if not isinstance(tool, dict):
        return None
    inner = tool.get("function")
    if isinstance(inner, dict):
        return inner
    if "name" in tool and tool.get("type", "function") == "function":
        return tool
    return None


def _properties(schema: Any, rule: ToolRule, fixed: list[int], texts: list[str]) -> None:
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or not props:
        return
    fixed[0] += rule.prop_init
    for key, prop in props.items():
        fixed[0] += rule.prop_key
        p = prop if isinstance(prop, dict) else {}
        enum = p.get("enum")
        if isinstance(enum, list):
            fixed[0] += rule.enum_init
            for item in enum:
                fixed[0] += rule.enum_item
                texts.append(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
        desc = _strip_period(_as_text(p.get("description", "")))
        texts.append(f"{key}:{_as_text(p.get('type', ''))}:{desc}")
        # Not in the cookbook recipe: nested objects / arrays of objects, counted the same way.
        if isinstance(p.get("properties"), dict):
            _properties(p, rule, fixed, texts)
        elif isinstance(p.get("items"), dict):
            _properties(p["items"], rule, fixed, texts)


def openai_tools(tools: Sequence[Any], rule: ToolRule) -> tuple[int, list[str]]:
    """The cookbook's `num_tokens_for_tools` minus the messages: (fixed tokens, texts to encode).

    Hosted tools (web_search, file_search, ...) have no published cost; their JSON is counted as text so
    they are never free."""
    fixed = [0]
    texts: list[str] = []
    counted = 0
    for tool in tools:
        fn = openai_function_of(tool)
        if fn is None:
            texts.append(json.dumps(tool, ensure_ascii=False, sort_keys=True))
            continue
        counted += 1
        fixed[0] += rule.func_init
        texts.append(f"{_as_text(fn.get('name', ''))}:{_strip_period(_as_text(fn.get('description', '')))}")
        _properties(fn.get("parameters"), rule, fixed, texts)
    if counted:
        fixed[0] += rule.func_end
    return fixed[0], texts


def tools_json(tools: Sequence[Any]) -> list[str]:
    """Tool definitions as the JSON text a model sees (used when no rule is known, and for Anthropic)."""
    return [json.dumps(t, ensure_ascii=False, separators=(",", ":")) for t in tools]


def anthropic_system_prompt(tool_choice: Any, rule: ToolRule | None) -> int:
    """Anthropic's tool-use system prompt for a request that has at least one tool."""
    if rule is None:
        return 0
    kind = tool_choice.get("type") if isinstance(tool_choice, dict) else tool_choice
    if kind in ("any", "tool") and rule.forced_system_prompt_tokens is not None:
        return rule.forced_system_prompt_tokens
    return rule.system_prompt_tokens
