"""Google's Gemini batch lines. Gemini API: `{key, request}` uploaded through the File API; Vertex AI:
`{request}` (camelCase, no id: results come back with their request) read from Cloud Storage (providers.md §3-4).

Claude on Vertex takes another line in the same job kind: `{custom_id, request}` whose request is a Messages
body with `anthropic_version: "vertex-2023-10-16"` and no model (the job names it), as Google's guide shows
(https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude-batch, "Prepare input"). The
vertex vendor writes that shape for a model whose counting rules are Claude's (`for_model`), and reads both.

`key`: the Gemini batch guide says each line "must" hold a user-defined key and a request, yet its own REST
example uploads bare `GenerateContentRequest` lines with neither (https://ai.google.dev/gemini-api/docs/batch-api,
"Input file"). A line without `key` is therefore not an error here; validate says how many lines lack one,
since their results cannot be matched back by key. Vertex accepts `parts` given as one object (the sample
files of meteatamel/genai-beyond-basics ran that way), so it is read as a one-part list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from planner.core.request import Request
from planner.vendors._base import CHAT, LineOptions, MiB, Parsed, Unconvertible, Vendor, unexpected
from planner.vendors._chat import PORTABLE, source_max_tokens, split_system, text_of
from planner.vendors._reading import LineShape, RecordError, describe, max_tokens_field, read_checked, record_id
from planner.vendors.anthropic import WrappedMessagesVendor, anthropic_usage
from planner.vendors.results import (
    Result,
    as_object,
    as_text,
    as_time,
    failed,
    optional_count,
    required_count,
    succeeded,
)

VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"


def gemini_request(request: Any, where: str) -> dict[str, Any]:
    """A `GenerateContentRequest`, checked for what counting needs: `contents[].parts` (a list, or one part
    object as Vertex also accepts), optional `systemInstruction`/`system_instruction`."""
    if not isinstance(request, dict):
        raise RecordError(f"'{where}' must be an object, got {describe(request)}")
    contents = request.get("contents")
    if not isinstance(contents, list) or not contents:
        raise RecordError(f"{where}.contents must be a non-empty list")
    for i, c in enumerate(contents):
        parts = c.get("parts") if isinstance(c, dict) else None
        if not isinstance(parts, (list, dict)) or not parts:
            raise RecordError(f"{where}.contents[{i}].parts must be a non-empty list")
    for key in ("systemInstruction", "system_instruction"):
        system = request.get(key)
        if system is not None and not (isinstance(system, (dict, str))):
            raise RecordError(f"{where}.{key} must be an object with 'parts'")
    return request


def _max_output_tokens(request: dict[str, Any]) -> int | None:
    for key in ("generationConfig", "generation_config", "config"):
        config = request.get(key)
        if isinstance(config, dict):
            return max_tokens_field(config, "maxOutputTokens", "max_output_tokens")
    return None


def _read(number: int, request: Any, where: str, rid: str) -> Request:
    body = gemini_request(request, where)
    model = body.get("model") if isinstance(body.get("model"), str) else None
    return Request(line=number, id=rid, api="gemini", body=body, model=model, max_tokens=_max_output_tokens(body))


def read_batch_line(obj: dict[str, Any], number: int) -> Request:
    """A Gemini API line, `{key, request}`; raises RecordError on the first part it cannot read."""
    return _read(number, obj.get("request"), "request", record_id(obj, number, "key"))


def read_vertex_line(obj: dict[str, Any], number: int) -> Request:
    """A Vertex AI line, `{request}`: a Gemini request, or Claude on Vertex's Messages body."""
    request = obj.get("request")
    if isinstance(request, dict) and "anthropic_version" in request:
        return VERTEX_CLAUDE.read_request(obj, number)
    return _read(number, request, "request", record_id(obj, number, "id", "key"))


def read_bare_line(obj: dict[str, Any], number: int) -> Request:
    """A bare `GenerateContentRequest` line, as the Gemini batch guide's REST example uploads."""
    return _read(number, obj, "record", record_id(obj, number, "id", "key"))


def _has_request(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("request"), dict)


LINE_SHAPES = (
    LineShape("gemini-batch", lambda obj: _has_request(obj) and "key" in obj, read_batch_line),
    LineShape("vertex-batch", lambda obj: _has_request(obj) and "key" not in obj, read_vertex_line),
    LineShape("gemini", lambda obj: isinstance(obj.get("contents"), list), read_bare_line),
)


@dataclass(frozen=True)
class GeminiVendor(Vendor):
    camel: bool = False  # Vertex writes camelCase field names

    def _request(self, req: Request, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        if req.api != "chat":
            raise Unconvertible(f"a '{req.api}' request cannot be converted to a Gemini request")
        camel = self.camel
        system, rest = split_system(req.body["messages"])
        contents = []
        for i, m in enumerate(rest):
            role = m.get("role")
            if role not in ("user", "assistant"):
                raise Unconvertible(f"messages[{i}]: role '{role}' has no Gemini equivalent")
            contents.append(
                {"role": "model" if role == "assistant" else "user",
                 "parts": [{"text": text_of(m.get("content"), f"messages[{i}]")}]}
            )
        out: dict[str, Any] = {"contents": contents}
        if system:
            key = "systemInstruction" if camel else "system_instruction"
            out[key] = {"parts": [{"text": "\n\n".join(text_of(s, "system message") for s in system)}]}
        config: dict[str, Any] = {}
        mt = source_max_tokens(req, opts)
        if mt is not None:
            config["maxOutputTokens" if camel else "max_output_tokens"] = mt
        temperature = opts.temperature if opts.temperature is not None else req.body.get("temperature")
        if temperature is not None:
            config["temperature"] = temperature
        if req.body.get("top_p") is not None:
            config["topP" if camel else "top_p"] = req.body["top_p"]
        dropped = [k for k in req.body if k not in PORTABLE and k not in ("messages", "model")]
        if config:
            out["generationConfig" if camel else "generation_config"] = config
        out.update(opts.extra_body)
        return out, dropped

    def for_model(self, chat_format: str) -> Vendor:
        return VERTEX_CLAUDE if self.camel and chat_format == "anthropic" else self

    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        request, dropped = self._request(req, opts)
        if self.id_field is None:
            return {"request": request}, dropped
        return {self.id_field: custom_id, "request": request}, dropped

    def parse_line(self, obj: Any, number: int) -> Parsed:
        if not isinstance(obj, dict):
            return Parsed(None, ["expected a JSON object"])
        problems: list[str] = []
        custom_id = self.read_id(obj, problems)
        request = obj.get("request")
        if self.camel and isinstance(request, dict) and "anthropic_version" in request:
            return VERTEX_CLAUDE.parse_line(obj, number)  # Claude on Vertex
        bare = request is None and "contents" in obj  # a bare GenerateContentRequest line
        if bare:
            request = obj
        if not isinstance(request, dict):
            return Parsed(None, [*problems, "'request' must be an object"], custom_id)
        problems += request_problems(request, self.camel)
        if self.id_field is not None and not bare:
            problems += unexpected(obj, {self.id_field, "request"})
        if problems:
            return Parsed(None, problems, custom_id)
        model = request.get("model") if isinstance(request.get("model"), str) else None
        read = read_bare_line if bare else read_vertex_line if self.camel else read_batch_line
        return read_checked(read, obj, number, custom_id, model)

    def looks_like(self, obj: dict[str, Any]) -> bool:
        if self.id_field is not None:  # Gemini API: `{key, request}`, or the guide's bare request lines
            return (self.id_field in obj and "request" in obj) or isinstance(obj.get("contents"), list)
        return "request" in obj


def request_problems(request: dict[str, Any], camel: bool) -> list[str]:
    """Shape problems of a `GenerateContentRequest`."""
    problems: list[str] = []
    sys_key = "systemInstruction" if camel else "system_instruction"
    system = request.get(sys_key, request.get("systemInstruction" if not camel else "system_instruction"))
    if system is not None:
        parts = system.get("parts") if isinstance(system, dict) else None
        if not isinstance(parts, (list, dict)):
            problems.append(f"request.{sys_key}.parts must be a list")
    contents = request.get("contents")
    if not isinstance(contents, list) or not contents:
        problems.append("request.contents must be a non-empty list")
    else:
        for i, c in enumerate(contents):
            parts = c.get("parts") if isinstance(c, dict) else None
            if isinstance(parts, dict):
                parts = [parts]
            if not isinstance(parts, list) or not parts:
                problems.append(f"request.contents[{i}].parts must be a non-empty list")
                continue
            role = c.get("role", "user")
            if role not in ("user", "model"):
                problems.append(f"request.contents[{i}].role must be 'user' or 'model', got {json.dumps(role)}")
            for j, p in enumerate(parts):
                if not isinstance(p, dict):
                    problems.append(f"request.contents[{i}].parts[{j}] must be an object")
    config = request.get("generationConfig" if camel else "generation_config")
    other = request.get("generation_config" if camel else "generationConfig")
    config = config if config is not None else other
    if config is not None and not isinstance(config, dict):
        problems.append("request generation config must be an object")
    return problems


@dataclass(frozen=True)
class VertexClaudeVendor(WrappedMessagesVendor):
    """Claude on Vertex AI batch prediction: `{custom_id, request}`, the request a Messages body with
    `anthropic_version` and no model. Reached through the vertex vendor (`for_model`), not registered
    under a name of its own: to the user it is `--vendor vertex`."""

    def looks_like(self, obj: dict[str, Any]) -> bool:
        request = obj.get("request")
        return "custom_id" in obj and isinstance(request, dict) and "anthropic_version" in request


_VERTEX_LIMITS = {"max_requests": 200_000, "max_bytes": 1024 * MiB}
VERTEX_CLAUDE = VertexClaudeVendor(
    "vertex", "custom_id", CHAT, format="vertex", line_format="vertex-claude-batch", model_in_line=False,
    needs_max_tokens=True, body_key="request", anthropic_version=VERTEX_ANTHROPIC_VERSION, forbid_model=True,
    default_limits=_VERTEX_LIMITS,
)

VENDORS = (
    GeminiVendor(
        "gemini", "key", CHAT, format="gemini", line_format="gemini-batch", model_in_line=False, id_required=False,
        max_tokens_key="max_output_tokens", aliases=("google",), provider="google",
        default_limits={"max_bytes": 2048 * MiB},
    ),
    GeminiVendor(
        "vertex", None, CHAT, format="vertex", line_format="vertex-batch", model_in_line=False,
        max_tokens_key="maxOutputTokens", camel=True,
        default_limits=_VERTEX_LIMITS,
    ),
)


# ---------------------------------------------------------------------------------------------
# Result lines: the Gemini API's batch output, and Vertex AI's predictions.jsonl


def _meta_count(meta: dict[str, Any], camel: str, snake: str, *, required: bool = False) -> int:
    key = camel if camel in meta or snake not in meta else snake
    read = required_count if required else optional_count
    return read(meta, key, f"usageMetadata.{key}")


def gemini_usage(meta: dict[str, Any]) -> dict[str, int]:
    """`usageMetadata` (camelCase or snake_case): input `promptTokenCount` (its `cachedContentTokenCount` part
    cached), output `candidatesTokenCount + thoughtsTokenCount`. `toolUsePromptTokenCount` (what the model's
    own tool calls, search grounding, fed back to it) is kept apart: it is not the request's prompt, so an
    estimate of the request cannot be compared with it, and grounding is priced by its own terms."""
    prompt = _meta_count(meta, "promptTokenCount", "prompt_token_count", required=True)
    cached = _meta_count(meta, "cachedContentTokenCount", "cached_content_token_count")
    if cached > prompt:
        raise ValueError(f"usageMetadata.cachedContentTokenCount ({cached:,}) exceeds the prompt ({prompt:,}); "
                         "refused")
    thoughts = _meta_count(meta, "thoughtsTokenCount", "thoughts_token_count")
    return {
        "input_tokens": prompt,
        "cached_tokens": cached,
        "output_tokens": _meta_count(meta, "candidatesTokenCount", "candidates_token_count") + thoughts,
        "reasoning_tokens": thoughts,
        "tool_use_prompt_tokens": _meta_count(meta, "toolUsePromptTokenCount", "tool_use_prompt_token_count"),
    }


def read_result(obj: dict[str, Any], where: str) -> Result | None:
    """A Gemini API output line `{key, response: {usageMetadata, modelVersion}}` (or `{key, error}`; the
    response also as the google-genai SDK dumps it, snake_case), or a Vertex AI prediction `{request, status,
    response}`; None for another vendor's shape."""
    if "key" in obj and ("response" in obj or "error" in obj):
        return _gemini_result(obj, where)
    if "request" in obj and ("response" in obj or "status" in obj):
        return _vertex_result(obj, where)
    return None


def _gemini_result(obj: dict[str, Any], where: str) -> Result:
    key = str(obj["key"])
    response = as_object(obj.get("response"))
    if obj.get("error") or not response:
        return failed(where, "gemini", key, obj.get("error"), identity=key)
    return succeeded(where, "gemini", key, gemini_usage(_usage_metadata(response)),
                     model=as_text(response.get("modelVersion", response.get("model_version"))),
                     identity=str(response.get("responseId") or response.get("response_id") or key))


def _usage_metadata(response: dict[str, Any]) -> dict[str, Any]:
    meta = response.get("usageMetadata", response.get("usage_metadata"))
    if not isinstance(meta, dict):
        raise ValueError("response.usageMetadata is missing: a succeeded result must say what it was billed; refused")
    return meta


def _vertex_result(obj: dict[str, Any], where: str) -> Result:
    """A Vertex row carries its request. Claude on Vertex: `{custom_id, request, status, response}` with
    `response` a Messages reply (an object, or a JSON string as a BigQuery output table holds it), billed as
    Anthropic's usage; a non-empty `status` is an error."""
    claude = "custom_id" in obj or "anthropic_version" in as_object(obj["request"])  # Claude's line shape
    rules = VERTEX_CLAUDE if claude else next(v for v in VENDORS if v.name == "vertex")
    request = rules.parse_line({k: v for k, v in obj.items() if k in ("custom_id", "request")}, 0).request
    raw = obj.get("response")
    if isinstance(raw, str):  # a BigQuery output table's `response` JSON column, exported
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    response = as_object(raw)
    status = obj.get("status")
    row_id = as_text(obj.get("custom_id"))  # Claude lines carry one; Gemini lines do not
    if isinstance(response.get("usage"), dict):  # Claude on Vertex: the response is a Messages reply
        return succeeded(where, "vertex", row_id, anthropic_usage(response["usage"]),
                         model=as_text(response.get("model")), request=request,
                         identity=str(response.get("id") or row_id or where))
    if not response or (row_id is not None and status):
        return Result(where, "vertex", row_id, False, failure="error", message=as_text(status) or None,
                      request=request, identity=row_id or where)
    return succeeded(where, "vertex", None, gemini_usage(_usage_metadata(response)),
                     model=as_text(response.get("modelVersion")),
                     created=as_time(response.get("createTime"), "response.createTime"),
                     request=request, identity=str(response.get("responseId") or where))
