"""The record shapes people bring besides chat requests and vendors' batch lines, each read into the
`Request` the vendor would receive, with the sample answer the record carries (if any).

One function per shape, plus `detect`, which names the shape of one JSON record from its keys.
`records.parse_record` dispatches here for every format in `SHAPES`, so JSONL files, Parquet rows and
Spark/Dask executors all read a record the same way. A vendor's batch line (OpenAI's, Anthropic's, Gemini's,
Vertex's, Bedrock's) is its vendor module's to read (`planner.vendors.line_shapes`), not this module's.

* `sharegpt`: `{"conversations": [{"from": "human"|"gpt"|"system"|"function_call"|"observation", "value"}]}`
  or the same list with `role`/`content` (optional top-level `system` and `tools`). The trailing assistant turn
  is the answer, not part of the request.
* `alpaca`: `{"instruction", "input"?, "output"?, "system"?}`; the prompt is the instruction followed by the
  input; `--output-column output` counts the sample answers.
* `openai-finetune`: an OpenAI chat fine-tuning example (`messages` ending with the assistant's answer, optional
  `tools`/`functions`/`parallel_tool_calls`, no request fields such as `model`).
* `embeddings` / `responses`: bare request bodies of `/v1/embeddings` and `/v1/responses`.

For the conversation shapes, `--output-column conversations` (ShareGPT) or `--output-column messages`
(fine-tuning files) counts the trailing assistant turn as the sample output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from planner.core.request import Request
from planner.vendors._reading import RecordError, describe, max_tokens_field, record_id

SHAPES = ("sharegpt", "alpaca", "openai-finetune", "embeddings", "responses")
#: Per shape, the key of the conversation whose trailing answer `--output-column KEY` counts.
ANSWER_COLUMNS = {"sharegpt": "conversations", "openai-finetune": "messages"}

#: ShareGPT speaker names (lower-cased) → chat roles; `function_call`/`observation` are LLaMA-Factory's tool turns.
SPEAKERS = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
    "bard": "assistant", "bing": "assistant", "model": "assistant", "system": "system", "function_call": "tool_call",
    "observation": "tool", "tool": "tool", "function": "tool", "ipython": "tool",
}
#: Keys that only a request (never a fine-tuning example) carries.
REQUEST_KEYS = frozenset({
    "model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "n", "stream", "response_format",
    "seed", "reasoning_effort", "tool_choice", "logprobs", "presence_penalty", "frequency_penalty", "user",
})
RESPONSES_KEYS = frozenset({
    "instructions", "max_output_tokens", "previous_response_id", "reasoning", "text", "truncation", "include",
    "background", "store", "conversation", "prompt",
})
EMBEDDINGS_KEYS = frozenset({"encoding_format", "dimensions"})


# ---------------------------------------------------------------------------------------------
# Detection


def detect(obj: dict[str, Any]) -> str | None:
    """The shape of one record, or None when it is none of `SHAPES` (a chat request; a vendor's batch line
    is the vendor's to detect, first)."""
    if isinstance(obj.get("conversations"), list):
        return "sharegpt"
    if isinstance(obj.get("instruction"), str):
        return "alpaca"
    messages = obj.get("messages")
    if isinstance(messages, list):
        last = messages[-1] if messages else None
        if isinstance(last, dict) and last.get("role") == "assistant" and not REQUEST_KEYS & obj.keys():
            return "openai-finetune"
        return None
    if "input" in obj or "instructions" in obj:
        return "embeddings" if _looks_like_embeddings(obj) else "responses"
    return None


def _looks_like_embeddings(obj: dict[str, Any]) -> bool:
    if RESPONSES_KEYS & obj.keys() or "tools" in obj:
        return False
    if EMBEDDINGS_KEYS & obj.keys():
        return True
    value = obj.get("input")
    if isinstance(value, list) and value:
        # texts or token arrays; Responses items are objects
        return all(isinstance(v, (str, int)) for v in value) or all(isinstance(v, list) for v in value)
    model = obj.get("model")
    return isinstance(model, str) and "embed" in model.lower()


# ---------------------------------------------------------------------------------------------
# One function per shape: (record, line number) -> (request, the sample answer or None)

Parsed = tuple[Request, str | None]


def _answer_text(message: dict[str, Any]) -> str:
    """The text an assistant turn produced: its content, plus the name and arguments of its tool calls."""
    parts: list[str] = []
    content = message.get("content")
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
    for call in message.get("tool_calls") or []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            parts += [str(fn.get("name", "")), str(fn.get("arguments", ""))]
    fn = message.get("function_call")
    if isinstance(fn, dict):
        parts += [str(fn.get("name", "")), str(fn.get("arguments", ""))]
    return "\n".join(p for p in parts if p)


def _split_answer(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The prompt (every turn before the trailing assistant turn) and that turn's text."""
    if len(messages) > 1 and messages[-1].get("role") == "assistant":
        return messages[:-1], _answer_text(messages[-1])
    return messages, None


def _tools(value: Any) -> list[dict[str, Any]] | None:
    """Tool definitions in OpenAI's form: LLaMA-Factory keeps them as a JSON string of bare function schemas."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise RecordError("'tools' is a string but not JSON") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RecordError(f"'tools' must be a list of tool definitions, got {describe(value)}")
    return [t if "type" in t else {"type": "function", "function": t} for t in value]


def _tool_call(value: Any) -> dict[str, Any]:
    """A ShareGPT `function_call` turn (`{"name", "arguments"}` as JSON text) as an assistant tool call."""
    call = value
    if isinstance(value, str):
        try:
            call = json.loads(value)
        except ValueError:
            call = None
    if isinstance(call, dict) and "name" in call:
        args = call.get("arguments", "")
        arguments = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        return {"role": "assistant", "tool_calls": [{"function": {"name": str(call["name"]), "arguments": arguments}}]}
    return {"role": "assistant", "content": value if isinstance(value, str) else json.dumps(value)}


def from_sharegpt(obj: dict[str, Any], number: int) -> Parsed:
    turns = obj.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise RecordError("'conversations' must be a non-empty list of turns")
    messages: list[dict[str, Any]] = []
    system = obj.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise RecordError(f"conversations[{i}] must be an object, got {describe(turn)}")
        speaker = turn.get("from", turn.get("role"))
        text = turn.get("value", turn.get("content"))
        if not isinstance(speaker, str):
            raise RecordError(f"conversations[{i}] has no 'from' (or 'role') string")
        role = SPEAKERS.get(speaker.lower())
        if role is None:
            raise RecordError(f"conversations[{i}]: unknown speaker '{speaker}' (known: {', '.join(SPEAKERS)})")
        if text is not None and not isinstance(text, (str, list)):
            raise RecordError(f"conversations[{i}].value must be a string, got {describe(text)}")
        if role == "tool_call":
            messages.append(_tool_call(text))
        else:
            messages.append({"role": role, "content": text})
    prompt, answer = _split_answer(messages)
    body: dict[str, Any] = {"messages": prompt}
    tools = _tools(obj.get("tools"))
    if tools:
        body["tools"] = tools
    return Request(line=number, id=record_id(obj, number, "id"), api="chat", body=body), answer


def from_alpaca(obj: dict[str, Any], number: int) -> Parsed:
    instruction = obj.get("instruction")
    if not isinstance(instruction, str):
        raise RecordError("no 'instruction' string (expected an Alpaca record: instruction, input, output)")
    given = obj.get("input")
    if given is not None and not isinstance(given, str):
        raise RecordError(f"'input' must be a string, got {describe(given)}")
    text = f"{instruction}\n\n{given}" if given else instruction
    messages: list[dict[str, Any]] = []
    if isinstance(obj.get("system"), str) and obj["system"]:
        messages.append({"role": "system", "content": obj["system"]})
    for i, pair in enumerate(obj.get("history") or []):  # earlier turns: [[question, answer], ...]
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
            raise RecordError(f"history[{i}] must be a [question, answer] pair of strings")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    messages.append({"role": "user", "content": text})
    output = obj.get("output")
    return (
        Request(line=number, id=record_id(obj, number, "id"), api="chat", body={"messages": messages}),
        output if isinstance(output, str) else None,
    )


def from_finetune(obj: dict[str, Any], number: int) -> Parsed:
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise RecordError("'messages' must be a non-empty list of message objects")
    for i, m in enumerate(messages):
        if not isinstance(m.get("role"), str):
            raise RecordError(f"messages[{i}] has no 'role' string")
    cleaned = [{k: v for k, v in m.items() if k != "weight"} for m in messages]
    prompt, answer = _split_answer(cleaned)
    body: dict[str, Any] = {"messages": prompt}
    for key in ("tools", "functions"):
        if isinstance(obj.get(key), list) and obj[key]:
            body[key] = obj[key]
    return Request(line=number, id=record_id(obj, number, "id"), api="chat", body=body), answer


def from_embeddings(obj: dict[str, Any], number: int) -> Parsed:
    if not isinstance(obj.get("input"), (str, list)):
        raise RecordError("'input' must be a string or a list (an /v1/embeddings body)")
    meta = obj.get("metadata")
    rid = record_id(meta, number, "row_id", "id") if isinstance(meta, dict) else f"line-{number}"
    rid = record_id(obj, number, "id", "custom_id") if rid == f"line-{number}" else rid
    body = {k: v for k, v in obj.items() if k not in ("metadata", "id", "custom_id")}
    model = obj.get("model") if isinstance(obj.get("model"), str) else None
    return Request(line=number, id=rid, api="embeddings", body=body, model=model, url="/v1/embeddings"), None


def from_responses(obj: dict[str, Any], number: int) -> Parsed:
    given = obj.get("input")
    if given is not None and not isinstance(given, (str, list)):
        raise RecordError("'input' must be a string or a list of items (a /v1/responses body)")
    if given is None and not isinstance(obj.get("instructions"), str):
        raise RecordError("a /v1/responses body needs 'input' (or 'instructions')")
    body = {k: v for k, v in obj.items() if k not in ("id", "custom_id", "metadata")}
    model = obj.get("model") if isinstance(obj.get("model"), str) else None
    return (
        Request(
            line=number, id=record_id(obj, number, "id", "custom_id"), api="responses", body=body, model=model,
            max_tokens=max_tokens_field(obj, "max_output_tokens"), url="/v1/responses",
        ),
        None,
    )


PARSERS: dict[str, Callable[[dict[str, Any], int], Parsed]] = {
    "sharegpt": from_sharegpt,
    "alpaca": from_alpaca,
    "openai-finetune": from_finetune,
    "embeddings": from_embeddings,
    "responses": from_responses,
}


def parse(fmt: str, obj: dict[str, Any], number: int) -> Parsed:
    """The request (and sample answer) of one record of shape `fmt`; raises RecordError."""
    return PARSERS[fmt](obj, number)
