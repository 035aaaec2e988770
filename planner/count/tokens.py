"""Count a request's input tokens the way the vendor bills them.

A request becomes a fixed number of formatting tokens plus a list of texts to encode (`Pieces`), so
that many requests can be encoded in one batched tiktoken call. OpenAI models are exact: the encoding
of their family and the chat accounting of the openai-cookbook recipe ("How to count tokens with
tiktoken": per-message overhead, `name`, reply priming), tool definitions by the cookbook's
`num_tokens_for_tools` (planner.count.tool_tokens) and images by the published formulas (planner.count.images).
Vendors without a public tokenizer are counted with the encoding their table names, times the table's
calibration factor, with its band; image tokens and published fixed overheads (Anthropic's tool-use
system prompt) are added after calibration, since they are vendor numbers, not tiktoken counts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from planner.core.request import Request
from planner.count.encodings import token_counter
from planner.count.images import count_base64_image, count_image
from planner.count.tool_tokens import anthropic_system_prompt, openai_function_of, openai_tools, tools_json

if TYPE_CHECKING:
    from planner.prices.pricing import ImageRule, Tokenizer


@dataclass(slots=True)
class Pieces:
    """Formatting tokens that need no encoding, plus the texts whose encodings are counted.

    `exact` holds vendor-formula tokens (images, published overheads) that are not calibrated;
    `images` / `assumed_images` count the images seen and those billed at an assumed size.

    `messages`, `names`, `primed` and `systems` count where the tokenizer's per-message, per-name,
    reply-priming and system-prompt overheads apply (`requests`: its per-request template tokens; `bare`:
    a request without a system message, where a template adds its default one), so that tokenizers
    differing only in those numbers share one `Pieces` (see `request_shape`); `ruled` says the request
    holds an image or tools, whose tokens depend on the tokenizer's image and tool rules."""

    fixed: int = 0
    texts: list[str] = field(default_factory=list)
    exact: int = 0
    images: int = 0
    assumed_images: int = 0
    image_tokens: int = 0
    messages: int = 0
    names: int = 0
    primed: int = 0
    systems: int = 0
    requests: int = 0
    bare: int = 0
    ruled: bool = False


@dataclass(frozen=True, slots=True)
class Count:
    """One request's input tokens, with what the estimate should state about its images."""

    tokens: int
    images: int = 0
    assumed_images: int = 0
    image_tokens: int = 0


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _add_image(pieces: Pieces, rule: ImageRule, url: Any, detail: Any) -> None:
    found = count_image(url if isinstance(url, str) else None, rule, detail if isinstance(detail, str) else None)
    pieces.exact += found.tokens
    pieces.image_tokens += found.tokens
    pieces.images += 1
    pieces.assumed_images += found.assumed


def _image_part(part: dict[str, Any], kind: Any, pieces: Pieces, rule: ImageRule) -> bool:
    """Bill an image part by the model's rule; False if the part is not an image this knows."""
    if kind == "image_url":  # chat: {"image_url": {"url": ..., "detail": ...}} (or a bare string)
        spec = part.get("image_url")
        if isinstance(spec, dict):
            _add_image(pieces, rule, spec.get("url"), spec.get("detail"))
        else:
            _add_image(pieces, rule, spec, part.get("detail"))
        return True
    if kind == "input_image":  # responses: {"image_url": "...", "detail": ...} or {"file_id": ...}
        _add_image(pieces, rule, part.get("image_url"), part.get("detail"))
        return True
    if kind == "image":  # anthropic: {"source": {"type": "base64"|"url"|"file", ...}}
        source = part.get("source")
        source = source if isinstance(source, dict) else {}
        if source.get("type") == "base64" and isinstance(source.get("data"), str):
            found = count_base64_image(source["data"], rule)
            pieces.exact += found.tokens
            pieces.image_tokens += found.tokens
            pieces.images += 1
            pieces.assumed_images += found.assumed
        else:
            _add_image(pieces, rule, source.get("url"), None)
        return True
    return False


_IMAGE_KINDS = frozenset(("image_url", "input_image", "image"))


def _text_of_part(part: Any, pieces: Pieces, tok: Tokenizer | None = None) -> None:
    """One element of a multi-part `content` list. Text parts are counted, images by the model's image
    rule when it has one; other parts by their JSON, so nothing is silently free."""
    if isinstance(part, str):
        pieces.texts.append(part)
        return
    if not isinstance(part, dict):
        pieces.texts.append(_dumps(part))
        return
    kind = part.get("type")
    if kind in _IMAGE_KINDS:
        pieces.ruled = True
        if tok is not None and tok.images is None:  # no rule to bill it by: counted as its JSON, and reported
            pieces.assumed_images += 1
    if kind in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
        pieces.texts.append(part["text"])
    elif kind == "refusal" and isinstance(part.get("refusal"), str):
        pieces.texts.append(part["refusal"])
    elif tok is not None and tok.images is not None and _image_part(part, kind, pieces, tok.images):
        return
    elif kind == "tool_use":  # anthropic assistant tool call: name + input JSON
        pieces.texts.append(str(part.get("name", "")))
        pieces.texts.append(json.dumps(part.get("input", {}), ensure_ascii=False))
    elif kind == "tool_result":  # anthropic tool output: its content, string or blocks
        _content(part.get("content"), pieces, tok)
    else:
        pieces.texts.append(_dumps(part))


def _content(content: Any, pieces: Pieces, tok: Tokenizer | None = None) -> None:
    if content is None:
        return
    if isinstance(content, str):
        pieces.texts.append(content)
        return
    if isinstance(content, list):
        for part in content:
            _text_of_part(part, pieces, tok)
        return
    pieces.texts.append(_dumps(content))


def chat_pieces(messages: Sequence[dict[str, Any]], tok: Tokenizer) -> Pieces:
    """The cookbook accounting: per message overhead + role + content (+ name and its overhead), + priming."""
    return with_overheads(_chat_shape(messages, tok), tok)


def _chat_shape(messages: Sequence[dict[str, Any]], tok: Tokenizer) -> Pieces:
    pieces = Pieces(messages=len(messages), primed=1, requests=1)
    append = pieces.texts.append
    # Gemini bills the contents' text, not the role names; a chat template's role is in its header overhead
    roles = tok.chat_format not in ("gemini", "template")
    for message in messages:
        for key, value in message.items():
            if type(value) is str and key != "name":  # role, string content: the common case
                if roles or key != "role":
                    append(value)
            elif key == "content":
                _content(value, pieces, tok)
            elif key == "tool_calls" and isinstance(value, list):
                for call in value:
                    fn = call.get("function", {}) if isinstance(call, dict) else {}
                    fn = fn if isinstance(fn, dict) else {}
                    pieces.texts.append(str(fn.get("name", "")))
                    pieces.texts.append(str(fn.get("arguments", "")))
            elif key == "function_call" and isinstance(value, dict):  # legacy functions API
                pieces.texts.append(str(value.get("name", "")))
                pieces.texts.append(str(value.get("arguments", "")))
            elif isinstance(value, str):
                append(value)
                if key == "name":
                    pieces.names += 1
    if tok.chat_format == "template":
        _template_systems(messages, pieces)
    return pieces


def _template_systems(messages: Sequence[dict[str, Any]], pieces: Pieces) -> None:
    """A chat template renders system (and developer) messages in its own system block: they cost the
    table's `system_overhead`, not a message header; a request without one gets the template's default
    system block (`no_system_overhead`)."""
    systems = sum(1 for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer"))
    pieces.messages -= systems
    pieces.systems += systems
    pieces.bare = 0 if systems else 1


def _openai_tool_pieces(tools: Any, tok: Tokenizer, pieces: Pieces) -> None:
    if not isinstance(tools, list) or not tools:
        return
    pieces.ruled = True
    if tok.tools is None:
        pieces.texts.extend(tools_json(tools))
        return
    fixed, texts = openai_tools(tools, tok.tools)
    pieces.fixed += fixed
    pieces.texts.extend(texts)


def anthropic_pieces(body: dict[str, Any], tok: Tokenizer) -> Pieces:
    """Messages API body: system prompt, then messages with the table's per-message overhead; with
    tools, the tool-use system prompt plus each tool's JSON. Thinking blocks of earlier turns are not
    input (Anthropic's token-counting doc)."""
    return with_overheads(_anthropic_shape(body, tok), tok)


def _anthropic_shape(body: dict[str, Any], tok: Tokenizer) -> Pieces:
    pieces = Pieces(primed=1, requests=1)
    system = body.get("system")
    if system is not None:
        pieces.systems += 1
        _content(system, pieces, tok)
    messages = body.get("messages", [])
    last = len(messages) - 1
    pieces.messages += len(messages)
    for i, message in enumerate(messages):
        content = message.get("content")
        if i < last and isinstance(content, list):
            content = [
                p for p in content if not (isinstance(p, dict) and p.get("type") in ("thinking", "redacted_thinking"))
            ]
        _content(content, pieces, tok)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        pieces.ruled = True
        pieces.exact += anthropic_system_prompt(body.get("tool_choice"), tok.tools)
        pieces.texts.extend(tools_json(tools))
    return pieces


def _responses_item(item: Any) -> dict[str, Any]:
    """A Responses `input` item as a chat-style message."""
    if isinstance(item, str):
        return {"role": "user", "content": item}
    if not isinstance(item, dict):
        return {"role": "user", "content": [item]}
    if "role" in item:
        return {"role": item["role"], "content": item.get("content")}
    kind = item.get("type")
    if kind in ("function_call", "custom_tool_call"):
        args = item.get("arguments", item.get("input", ""))
        return {
            "role": "assistant",
            "tool_calls": [{"function": {"name": item.get("name", ""), "arguments": args}}],
        }
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output")
        return {"role": "tool", "content": output if isinstance(output, (str, list)) else _dumps(output)}
    if kind == "reasoning":  # encrypted reasoning cannot be counted offline; its summary text can
        summary = item.get("summary")
        return {"role": "assistant", "content": summary if isinstance(summary, list) else None}
    return {"role": "user", "content": [item]}


def responses_pieces(body: dict[str, Any], tok: Tokenizer) -> Pieces:
    """Responses API: `instructions` act as a system message; `input` is a string or a list of items."""
    return with_overheads(_responses_shape(body, tok), tok)


def _responses_shape(body: dict[str, Any], tok: Tokenizer) -> Pieces:
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "developer", "content": body["instructions"]})
    given = body.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    elif isinstance(given, list):
        messages.extend(_responses_item(item) for item in given)
    pieces = _chat_shape(messages, tok)
    _openai_tool_pieces(body.get("tools"), tok, pieces)
    return pieces


def plain_pieces(value: Any) -> Pieces:
    """Embeddings `input` / completions `prompt`: the text alone, no formatting tokens."""
    pieces = Pieces()
    items = value if isinstance(value, list) else [value]
    if items and all(isinstance(t, int) for t in items):
        pieces.fixed += len(items)  # one pre-tokenized prompt: each integer is a token
        return pieces
    for item in items:
        if isinstance(item, str):
            pieces.texts.append(item)
        elif isinstance(item, list):
            pieces.fixed += sum(1 for t in item if isinstance(t, int))
    return pieces


def chat_as_anthropic(body: dict[str, Any]) -> dict[str, Any]:
    """A chat-completions body as the Messages API body it becomes for a Claude model: system and
    developer messages move to `system`, the other turns keep their role and content."""
    system: list[Any] = []
    messages: list[dict[str, Any]] = []
    for m in body.get("messages", []):
        if m.get("role") in ("system", "developer"):
            content = m.get("content")
            system.extend(content if isinstance(content, list) else [{"type": "text", "text": content or ""}])
        else:
            messages.append({"role": m.get("role"), "content": m.get("content")})
    out: dict[str, Any] = {"messages": messages}
    if system:
        out["system"] = system
    if body.get("tools"):
        out["tools"] = body["tools"]
    return out


def _gemini_part(part: Any) -> Any:
    """One Gemini `Part` as a chat content part: text, an image (inline or by URI) for the image rules,
    a function call/response by its JSON; anything else (video, audio, PDF) by its JSON."""
    if not isinstance(part, dict):
        return part
    if isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"]}
    inline = part.get("inlineData", part.get("inline_data"))
    if isinstance(inline, dict):
        mime = inline.get("mimeType", inline.get("mime_type"))
        if isinstance(mime, str) and mime.startswith("image/") and isinstance(inline.get("data"), str):
            return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{inline['data']}"}}
    file = part.get("fileData", part.get("file_data"))
    if isinstance(file, dict):
        mime = file.get("mimeType", file.get("mime_type"))
        uri = file.get("fileUri", file.get("file_uri"))
        if isinstance(mime, str) and mime.startswith("image/") and isinstance(uri, str):
            return {"type": "image_url", "image_url": {"url": uri}}
    call = part.get("functionCall", part.get("function_call"))
    if isinstance(call, dict):
        return {"type": "text", "text": f"{call.get('name', '')}{_dumps(call.get('args', {}))}"}
    return part


def _gemini_content(parts: Any) -> Any:
    items = parts if isinstance(parts, list) else [parts]
    converted = [_gemini_part(p) for p in items]
    if len(converted) == 1 and isinstance(converted[0], dict) and converted[0].get("type") == "text":
        return converted[0]["text"]  # one text part counts like a string content
    return converted


def gemini_as_chat(request: dict[str, Any]) -> dict[str, Any]:
    """A Gemini `GenerateContentRequest` as a chat body: `systemInstruction` (either spelling) as a system
    message, each of `contents` as one turn (`model` → assistant) with its parts, `functionDeclarations`
    as tools. Each turn then costs what a chat message costs, so a chat request and its Gemini form count
    the same."""
    messages: list[dict[str, Any]] = []
    system = request.get("systemInstruction", request.get("system_instruction"))
    if isinstance(system, str):
        messages.append({"role": "system", "content": system})
    elif isinstance(system, dict) and system.get("parts") is not None:
        messages.append({"role": "system", "content": _gemini_content(system["parts"])})
    for content in request.get("contents") or []:
        if not isinstance(content, dict):
            continue
        role = "assistant" if content.get("role") == "model" else "user"
        messages.append({"role": role, "content": _gemini_content(content.get("parts"))})
    body: dict[str, Any] = {"messages": messages}
    tools = [
        {"type": "function", "function": decl}
        for tool in request.get("tools") or []
        if isinstance(tool, dict)
        for decl in tool.get("functionDeclarations", tool.get("function_declarations")) or []
        if isinstance(decl, dict)
    ]
    if tools:
        body["tools"] = tools
    return body


def request_pieces(req: Request, tok: Tokenizer) -> Pieces:
    """What `tok` bills for the request: formatting tokens (overheads included) and texts to encode."""
    return with_overheads(request_shape(req, tok), tok)


def request_shape(req: Request, tok: Tokenizer) -> Pieces:
    """The request's pieces before the tokenizer's per-message, per-name and priming overheads (counted
    in `messages`, `names`, `primed`). They depend only on `shape_key(tok)`: tokenizers that share it
    share the pieces, and the pieces of a request that is not `ruled` are the same for every tokenizer
    of one `chat_format`."""
    pieces = _shape(req, tok)
    schema = structured_text(req)
    if schema is not None:
        pieces.texts.append(schema)
    return pieces


def _shape(req: Request, tok: Tokenizer) -> Pieces:
    if req.api == "gemini":
        req = Request(req.line, req.id, "chat", gemini_as_chat(req.body))
    if req.api == "chat" and tok.chat_format == "anthropic":
        return _anthropic_shape(chat_as_anthropic(req.body), tok)
    if req.api == "chat":
        pieces = _chat_shape(req.body["messages"], tok)
        _openai_tool_pieces(req.body.get("tools") or req.body.get("functions"), tok, pieces)
        return pieces
    if req.api == "anthropic":
        return _anthropic_shape(req.body, tok)
    if req.api == "responses":
        return _responses_shape(req.body, tok)
    if req.api == "embeddings":
        return plain_pieces(req.body.get("input"))
    return plain_pieces(req.body.get("prompt"))


# ---------------------------------------------------------------------------------------------
# Structured outputs: the response schema a request asks for is prompt text the vendor bills.

#: Relative band on the structured-output part of a request. OpenAI publishes no rule; the rendering
#: counted here (openai/harmony docs/format.md "# Response Formats" section; the schema without
#: `required`, `additionalProperties` and `$schema`, as measured in openai-cookbook issue #2140) equalled
#: the bill on a strict schema and slightly overcounted a non-strict one (tests/test_accuracy_structured.py).
STRUCTURED_BAND = Decimal("0.1")

_SCHEMA_MAPS = frozenset(("properties", "$defs", "definitions", "patternProperties"))
_IMPLIED = frozenset(("required", "additionalProperties", "$schema"))


def _rendered_schema(value: Any, in_map: bool = False) -> Any:
    """The schema as OpenAI's prompt shows it: keywords a strict schema implies are left out (a property
    that happens to be named like one is kept)."""
    if isinstance(value, dict):
        return {
            k: _rendered_schema(v, k in _SCHEMA_MAPS and not in_map)
            for k, v in value.items()
            if in_map or k not in _IMPLIED
        }
    if isinstance(value, list):
        return [_rendered_schema(v) for v in value]
    return value


def _openai_format(spec: Any) -> str | None:
    """`{name, description, schema}` as the developer-message section OpenAI renders for it."""
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        return None
    name = spec.get("name") if isinstance(spec.get("name"), str) else "response"
    description = spec.get("description")
    head = f"# Response Formats\n\n## {name}\n\n" + (f"// {description}\n" if isinstance(description, str) else "")
    return head + json.dumps(_rendered_schema(spec["schema"]), ensure_ascii=False, separators=(",", ":"))


def _json_schema_of(fmt: Any) -> str | None:
    """A schema another vendor is given (Claude `output_format`, Gemini `responseSchema`), as compact JSON."""
    if isinstance(fmt, dict) and isinstance(fmt.get("schema"), dict):
        fmt = fmt["schema"]
    return json.dumps(fmt, ensure_ascii=False, separators=(",", ":")) if isinstance(fmt, dict) else None


def structured_text(req: Request) -> str | None:
    """The text a request's structured-output schema adds to its prompt, or None: chat `response_format`
    and Responses `text.format` of type json_schema, Claude `output_format` / `output_config.format`,
    Gemini `generationConfig.responseSchema` / `responseJsonSchema` (either spelling)."""
    body = req.body
    if req.api == "chat":
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            return _openai_format(fmt.get("json_schema"))
    elif req.api == "responses":
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            return _openai_format(fmt)
    elif req.api == "anthropic":
        config = body.get("output_config")
        fmt = config.get("format") if isinstance(config, dict) else body.get("output_format")
        return _json_schema_of(fmt)
    elif req.api == "gemini":
        return _gemini_schema(body)
    return None


def _gemini_schema(body: dict[str, Any]) -> str | None:
    config = body.get("generationConfig", body.get("generation_config"))
    if not isinstance(config, dict):
        return None
    for key in ("responseJsonSchema", "response_json_schema", "responseSchema", "response_schema"):
        if isinstance(config.get(key), dict):
            return _json_schema_of(config[key])
    return None


SCHEMAS = "structured-output schemas"
HOSTED_TOOLS = "hosted tools"
FILES = "files, audio and video"
#: Parts of a request that no published rule counts, and the relative band on each part's tokens:
#: schemas by the measured rendering above; hosted tools and files by their JSON, a placeholder for
#: instructions and content the vendor adds unseen (their real size can be far larger: check such jobs
#: with the vendor's free counting endpoint).
UNRULED_BANDS: dict[str, Decimal] = {SCHEMAS: STRUCTURED_BAND, HOSTED_TOOLS: Decimal(1), FILES: Decimal(1)}

_FILE_KINDS = frozenset(("input_file", "file", "input_audio", "audio", "document", "video"))


def _file_parts(content: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") in _FILE_KINDS:
                out.append((FILES, _dumps(part)))


def _gemini_files(body: dict[str, Any], out: list[tuple[str, str]]) -> None:
    """Gemini parts that are not text or an image: inline or referenced audio, video, PDFs."""
    contents = body.get("contents")
    for content in contents if isinstance(contents, list) else []:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else [parts]:
            if not isinstance(part, dict):
                continue
            data = part.get("inlineData", part.get("inline_data", part.get("fileData", part.get("file_data"))))
            mime = data.get("mimeType", data.get("mime_type")) if isinstance(data, dict) else None
            if isinstance(mime, str) and not mime.startswith("image/"):
                out.append((FILES, _dumps(part)))


def unruled_parts(req: Request) -> list[tuple[str, str]]:
    """The parts of a request counted without a published rule, each as (what, the text counted)."""
    out: list[tuple[str, str]] = []
    schema = structured_text(req)
    if schema is not None:
        out.append((SCHEMAS, schema))
    body = req.body
    if req.api == "gemini":
        _gemini_files(body, out)
        return out
    tools = body.get("tools")
    if req.api in ("chat", "responses") and isinstance(tools, list):
        out.extend((HOSTED_TOOLS, _dumps(t)) for t in tools if isinstance(t, dict) and openai_function_of(t) is None)
    items = body.get("messages") if req.api != "responses" else body.get("input")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            _file_parts(item.get("content"), out)
    return out


_PART_TOKENS: dict[str, int] = {}


def approximated_tokens(requests: Sequence[Request]) -> dict[str, int]:
    """o200k tokens of the parts of `requests` no published rule counts, by part: what the estimate's
    label names and its band widens for (schemas repeat across a job, so each distinct one is encoded once)."""
    count = None
    found: dict[str, int] = {}
    for req in requests:
        for what, text in unruled_parts(req):
            n = _PART_TOKENS.get(text)
            if n is None:
                count = count or token_counter("o200k_base")
                n = count(text)
                if len(_PART_TOKENS) < 1024:
                    _PART_TOKENS[text] = n
            found[what] = found.get(what, 0) + n
    return found


def with_approximated(
    method: str, label: str, band: Decimal, parts: Mapping[str, int], total: int
) -> tuple[str, str, Decimal]:
    """How an estimate states its counts when some requests hold parts no published rule counts: an
    exact count becomes approximate in those parts (named), and the band widens by each part's share of
    the tokens times its UNRULED_BANDS entry."""
    parts = {k: v for k, v in parts.items() if v > 0}
    if not parts or total <= 0:
        return method, label, band
    extra = sum((Decimal(n) / Decimal(total) * UNRULED_BANDS.get(k, Decimal(1)) for k, n in parts.items()), Decimal(0))
    wider = band + extra.quantize(Decimal("0.0001"), rounding=ROUND_CEILING)
    pct = f"{float(wider) * 100:.2g}%"
    names = ", ".join(k for k in UNRULED_BANDS if k in parts)
    if method == "exact":
        return "approximate", f"exact except {names} (±{pct})", wider
    return method, f"{label}; {names} approximated (±{pct})", wider


def overheads(pieces: Pieces, tok: Tokenizer) -> int:
    """The tokenizer's formatting tokens for a shape: per message, per name, reply priming, and per
    system prompt (Anthropic's; the message overhead unless the table gives its own)."""
    system = tok.message_overhead if tok.system_overhead is None else tok.system_overhead
    return (
        tok.message_overhead * pieces.messages + tok.name_overhead * pieces.names + tok.reply_priming * pieces.primed
        + system * pieces.systems + template_overheads(pieces, tok)
    )


def template_overheads(pieces: Pieces, tok: Tokenizer) -> int:
    """A chat template's tokens outside any message: once per request, and its default system prompt
    when the request brings none."""
    return tok.request_overhead * pieces.requests + tok.no_system_overhead * pieces.bare


def with_overheads(pieces: Pieces, tok: Tokenizer) -> Pieces:
    pieces.fixed += overheads(pieces, tok)
    return pieces


def shape_key(tok: Tokenizer) -> tuple[str, str, str]:
    """What `request_shape` reads of a tokenizer: its chat format and its image and tool rules."""
    return tok.chat_format, _rule_key(tok.images), _rule_key(tok.tools)


def _rule_key(rule: Any) -> str:
    """A rule's field values as text."""
    return "" if rule is None else repr(sorted(vars(rule).items()))


def calibrate(raw: int, tok: Tokenizer) -> int:
    """Apply an approximate tokenizer's calibration factor, rounding up (never undercount)."""
    if tok.factor == 1:
        return raw
    return int((Decimal(raw) * tok.factor).to_integral_value(rounding=ROUND_CEILING))


def encode_lengths(
    texts: Sequence[str], tok: Tokenizer, *, threads: int = 1, memo: dict[str, int] | None = None
) -> list[int]:
    """Token count of each text under the tokenizer's encoding (special-token strings count as text).

    With `threads > 1` the texts are split into one contiguous slice per thread (tiktoken releases the
    GIL while encoding). Measured: ~1.35x on 2 cores, where tiktoken's own `encode_ordinary_batch` was
    slower than a plain loop. For whole datasets prefer `planner.count.counting.count_stream` (processes).
    `memo` (text -> tokens under this encoding) is read and filled: several tokenizers that share an
    encoding (a GPT and a Claude model, both counted with o200k_base) then encode each text once."""
    count = token_counter(tok.encoding)
    if memo is not None:
        out: list[int] = []
        for t in texts:
            n = memo.get(t)
            if n is None:
                n = memo[t] = count(t)
            out.append(n)
        return out
    if threads <= 1 or len(texts) < 256:
        return [count(t) for t in texts]
    from concurrent.futures import ThreadPoolExecutor

    step = -(-len(texts) // threads)
    slices = [texts[i : i + step] for i in range(0, len(texts), step)]
    with ThreadPoolExecutor(len(slices)) as pool:
        parts = pool.map(lambda part: [count(t) for t in part], slices)
        return [n for part in parts for n in part]


def total(pieces: Pieces, lengths: Sequence[int], tok: Tokenizer) -> int:
    """A request's tokens from its pieces and the encoded lengths of its texts."""
    return calibrate(pieces.fixed + sum(lengths), tok) + pieces.exact


def count_pieces(
    all_pieces: Sequence[Pieces], tok: Tokenizer, *, threads: int = 1, memo: dict[str, int] | None = None
) -> list[Count]:
    flat = [t for p in all_pieces for t in p.texts]
    lengths = encode_lengths(flat, tok, threads=threads, memo=memo)
    out: list[Count] = []
    at = 0
    for p in all_pieces:
        n = len(p.texts)
        out.append(Count(total(p, lengths[at : at + n], tok), p.images, p.assumed_images, p.image_tokens))
        at += n
    return out


def count_requests_detailed(requests: Sequence[Request], tok: Tokenizer, *, threads: int = 1) -> list[Count]:
    """Each request's `Count`: tokens, images, and images whose size was assumed (to state in reports)."""
    return count_pieces([request_pieces(r, tok) for r in requests], tok, threads=threads)


def count_requests(requests: Sequence[Request], tok: Tokenizer, *, threads: int = 1) -> list[int]:
    """Input tokens of each request. Texts of all requests are encoded in one batch call."""
    return [c.tokens for c in count_requests_detailed(requests, tok, threads=threads)]


def count_text(text: str, tok: Tokenizer) -> int:
    """Tokens of a bare text (e.g. a sample output), calibrated like the request counts."""
    return calibrate(token_counter(tok.encoding)(text), tok)


def band_label(tok: Tokenizer) -> str:
    if tok.method == "exact":
        return "exact"
    return f"approximate (±{math.ceil(tok.band * 100)}%)"
