"""The record shapes people bring besides chat requests and OpenAI/Anthropic batch lines, each read into the
`Request` the vendor would receive, with the sample answer the record carries (if any).

One function per shape, plus `detect`, which names the shape of one JSON record from its keys.
`datasets.parse_line` dispatches here for every format in `SHAPES`, so JSONL files, Parquet rows and
Spark/Dask executors all read a record the same way.

* `sharegpt`: `{"conversations": [{"from": "human"|"gpt"|"system"|"function_call"|"observation", "value"}]}`
  or the same list with `role`/`content` (optional top-level `system` and `tools`). The trailing assistant turn
  is the answer, not part of the request.
* `alpaca`: `{"instruction", "input"?, "output"?, "system"?}`; the prompt is the instruction followed by the
  input; `--output-column output` counts the sample answers.
* `openai-finetune`: an OpenAI chat fine-tuning example (`messages` ending with the assistant's answer, optional
  `tools`/`functions`/`parallel_tool_calls`, no request fields such as `model`).
* `embeddings` / `responses`: bare request bodies of `/v1/embeddings` and `/v1/responses`.
* `gemini-batch` (`{"key", "request"}`), `vertex-batch` (`{"request"}`) and `gemini` (a bare
  `GenerateContentRequest`): counted as `contents`/`parts` with `systemInstruction` (api `gemini`).
* `bedrock-batch`: `{"recordId"?, "modelInput"}`: Claude's Messages body, Amazon Nova's messages, or a
  text prompt (`prompt`, `inputText`).

For the conversation shapes, `--output-column conversations` (ShareGPT) or `--output-column messages`
(fine-tuning files) counts the trailing assistant turn as the sample output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from planner.core.request import Request
from planner.read.datasets import SHAPE_FORMATS, max_tokens_field

SHAPES = SHAPE_FORMATS
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


class ShapeError(ValueError):
    """A record that is JSON but not the shape its file's format needs (reported with file and line)."""


# ---------------------------------------------------------------------------------------------
# Detection


def detect(obj: dict[str, Any]) -> str | None:
    """The shape of one record, or None when it is none of `SHAPES` (a chat request, a batch line)."""
    if "modelInput" in obj:
        return "bedrock-batch"
    if isinstance(obj.get("request"), dict):
        return "gemini-batch" if "key" in obj else "vertex-batch"
    if isinstance(obj.get("contents"), list):
        return "gemini"
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


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _record_id(obj: dict[str, Any], number: int, *keys: str) -> str:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    return f"line-{number}"


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
            raise ShapeError("'tools' is a string but not JSON") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ShapeError(f"'tools' must be a list of tool definitions, got {_kind(value)}")
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
        raise ShapeError("'conversations' must be a non-empty list of turns")
    messages: list[dict[str, Any]] = []
    system = obj.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise ShapeError(f"conversations[{i}] must be an object, got {_kind(turn)}")
        speaker = turn.get("from", turn.get("role"))
        text = turn.get("value", turn.get("content"))
        if not isinstance(speaker, str):
            raise ShapeError(f"conversations[{i}] has no 'from' (or 'role') string")
        role = SPEAKERS.get(speaker.lower())
        if role is None:
            raise ShapeError(f"conversations[{i}]: unknown speaker '{speaker}' (known: {', '.join(SPEAKERS)})")
        if text is not None and not isinstance(text, (str, list)):
            raise ShapeError(f"conversations[{i}].value must be a string, got {_kind(text)}")
        if role == "tool_call":
            messages.append(_tool_call(text))
        else:
            messages.append({"role": role, "content": text})
    prompt, answer = _split_answer(messages)
    body: dict[str, Any] = {"messages": prompt}
    tools = _tools(obj.get("tools"))
    if tools:
        body["tools"] = tools
    return Request(line=number, id=_record_id(obj, number, "id"), api="chat", body=body), answer


def from_alpaca(obj: dict[str, Any], number: int) -> Parsed:
    instruction = obj.get("instruction")
    if not isinstance(instruction, str):
        raise ShapeError("no 'instruction' string (expected an Alpaca record: instruction, input, output)")
    given = obj.get("input")
    if given is not None and not isinstance(given, str):
        raise ShapeError(f"'input' must be a string, got {_kind(given)}")
    text = f"{instruction}\n\n{given}" if given else instruction
    messages: list[dict[str, Any]] = []
    if isinstance(obj.get("system"), str) and obj["system"]:
        messages.append({"role": "system", "content": obj["system"]})
    for i, pair in enumerate(obj.get("history") or []):  # earlier turns: [[question, answer], ...]
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
            raise ShapeError(f"history[{i}] must be a [question, answer] pair of strings")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    messages.append({"role": "user", "content": text})
    output = obj.get("output")
    return (
        Request(line=number, id=_record_id(obj, number, "id"), api="chat", body={"messages": messages}),
        output if isinstance(output, str) else None,
    )


def from_finetune(obj: dict[str, Any], number: int) -> Parsed:
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise ShapeError("'messages' must be a non-empty list of message objects")
    for i, m in enumerate(messages):
        if not isinstance(m.get("role"), str):
            raise ShapeError(f"messages[{i}] has no 'role' string")
    cleaned = [{k: v for k, v in m.items() if k != "weight"} for m in messages]
    prompt, answer = _split_answer(cleaned)
    body: dict[str, Any] = {"messages": prompt}
    for key in ("tools", "functions"):
        if isinstance(obj.get(key), list) and obj[key]:
            body[key] = obj[key]
    return Request(line=number, id=_record_id(obj, number, "id"), api="chat", body=body), answer


def from_embeddings(obj: dict[str, Any], number: int) -> Parsed:
    if not isinstance(obj.get("input"), (str, list)):
        raise ShapeError("'input' must be a string or a list (an /v1/embeddings body)")
    meta = obj.get("metadata")
    rid = _record_id(meta, number, "row_id", "id") if isinstance(meta, dict) else f"line-{number}"
    rid = _record_id(obj, number, "id", "custom_id") if rid == f"line-{number}" else rid
    body = {k: v for k, v in obj.items() if k not in ("metadata", "id", "custom_id")}
    model = obj.get("model") if isinstance(obj.get("model"), str) else None
    return Request(line=number, id=rid, api="embeddings", body=body, model=model, url="/v1/embeddings"), None


def from_responses(obj: dict[str, Any], number: int) -> Parsed:
    given = obj.get("input")
    if given is not None and not isinstance(given, (str, list)):
        raise ShapeError("'input' must be a string or a list of items (a /v1/responses body)")
    if given is None and not isinstance(obj.get("instructions"), str):
        raise ShapeError("a /v1/responses body needs 'input' (or 'instructions')")
    body = {k: v for k, v in obj.items() if k not in ("id", "custom_id", "metadata")}
    model = obj.get("model") if isinstance(obj.get("model"), str) else None
    return (
        Request(
            line=number, id=_record_id(obj, number, "id", "custom_id"), api="responses", body=body, model=model,
            max_tokens=max_tokens_field(obj, "max_output_tokens"), url="/v1/responses",
        ),
        None,
    )


def gemini_request(request: Any, where: str) -> dict[str, Any]:
    """A `GenerateContentRequest`, checked for what counting needs: `contents[].parts` (a list, or one part
    object as Vertex also accepts), optional `systemInstruction`/`system_instruction`."""
    if not isinstance(request, dict):
        raise ShapeError(f"'{where}' must be an object, got {_kind(request)}")
    contents = request.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ShapeError(f"{where}.contents must be a non-empty list")
    for i, c in enumerate(contents):
        parts = c.get("parts") if isinstance(c, dict) else None
        if not isinstance(parts, (list, dict)) or not parts:
            raise ShapeError(f"{where}.contents[{i}].parts must be a non-empty list")
    for key in ("systemInstruction", "system_instruction"):
        system = request.get(key)
        if system is not None and not (isinstance(system, (dict, str))):
            raise ShapeError(f"{where}.{key} must be an object with 'parts'")
    return request


def _gemini_max_tokens(request: dict[str, Any]) -> int | None:
    for key in ("generationConfig", "generation_config", "config"):
        config = request.get(key)
        if isinstance(config, dict):
            return max_tokens_field(config, "maxOutputTokens", "max_output_tokens")
    return None


def _gemini(obj: dict[str, Any], number: int, request: Any, where: str, rid: str) -> Parsed:
    body = gemini_request(request, where)
    model = body.get("model") if isinstance(body.get("model"), str) else None
    return Request(
        line=number, id=rid, api="gemini", body=body, model=model, max_tokens=_gemini_max_tokens(body)
    ), None


def from_gemini_batch(obj: dict[str, Any], number: int) -> Parsed:
    return _gemini(obj, number, obj.get("request"), "request", _record_id(obj, number, "key"))


def from_vertex_batch(obj: dict[str, Any], number: int) -> Parsed:
    return _gemini(obj, number, obj.get("request"), "request", _record_id(obj, number, "id", "key"))


def from_gemini(obj: dict[str, Any], number: int) -> Parsed:
    return _gemini(obj, number, obj, "record", _record_id(obj, number, "id", "key"))


def _nova_content(content: Any) -> Any:
    """Amazon Nova / Converse content blocks (`{"text"}`, `{"image"}`) as Messages API blocks."""
    if not isinstance(content, list):
        return content
    out: list[Any] = []
    for block in content:
        if isinstance(block, dict) and "type" not in block and isinstance(block.get("text"), str):
            out.append({"type": "text", "text": block["text"]})
        else:
            out.append(block)
    return out


def from_bedrock_batch(obj: dict[str, Any], number: int) -> Parsed:
    body = obj.get("modelInput")
    if not isinstance(body, dict):
        raise ShapeError(f"'modelInput' must be an object, got {_kind(body)}")
    rid = _record_id(obj, number, "recordId")
    if isinstance(body.get("messages"), list):  # Claude (anthropic_version) or Nova/Converse (inferenceConfig)
        params: dict[str, Any] = {
            k: v for k, v in body.items() if k not in ("anthropic_version", "schemaVersion", "inferenceConfig")
        }
        params["messages"] = [
            {**m, "content": _nova_content(m.get("content"))} if isinstance(m, dict) else m for m in body["messages"]
        ]
        if "system" in params:
            params["system"] = _nova_content(params["system"])
        for i, m in enumerate(params["messages"]):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise ShapeError(f"modelInput.messages[{i}] has no 'role' string")
        config = body.get("inferenceConfig")
        max_tokens = max_tokens_field(body, "max_tokens")
        if max_tokens is None and isinstance(config, dict):
            max_tokens = max_tokens_field(config, "maxTokens", "max_new_tokens")
        return Request(line=number, id=rid, api="anthropic", body=params, max_tokens=max_tokens), None
    for key in ("prompt", "inputText"):  # Llama, Mistral, Titan text: a bare prompt
        if isinstance(body.get(key), str):
            config = body.get("textGenerationConfig")
            max_tokens = max_tokens_field(body, "max_gen_len", "max_tokens")
            if max_tokens is None and isinstance(config, dict):
                max_tokens = max_tokens_field(config, "maxTokenCount")
            return Request(
                line=number, id=rid, api="completions", body={"prompt": body[key]}, max_tokens=max_tokens
            ), None
    raise ShapeError("modelInput has neither 'messages' nor a 'prompt'/'inputText' string")


PARSERS: dict[str, Callable[[dict[str, Any], int], Parsed]] = {
    "sharegpt": from_sharegpt,
    "alpaca": from_alpaca,
    "openai-finetune": from_finetune,
    "embeddings": from_embeddings,
    "responses": from_responses,
    "gemini-batch": from_gemini_batch,
    "vertex-batch": from_vertex_batch,
    "gemini": from_gemini,
    "bedrock-batch": from_bedrock_batch,
}


def parse(fmt: str, obj: dict[str, Any], number: int) -> Parsed:
    """The request (and sample answer) of one record of shape `fmt`; raises ShapeError."""
    return PARSERS[fmt](obj, number)
