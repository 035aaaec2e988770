"""OpenAI's batch line and the vendors that share it: Azure OpenAI (`body.model` is the Global-Batch
deployment) and Groq (chat only, `max_tokens`). `{custom_id, method: "POST", url, body}` (providers.md §1.5)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from planner.core.request import Api, Request
from planner.vendors._base import (
    CHAT,
    ENDPOINTS,
    LineOptions,
    MiB,
    Parsed,
    Unconvertible,
    Vendor,
    messages_problems,
    unexpected,
)
from planner.vendors._chat import chat_body, source_max_tokens, split_system, text_of
from planner.vendors._reading import (
    LineShape,
    RecordError,
    check_messages,
    describe,
    max_tokens_field,
    optional_str,
    read_checked,
)
from planner.vendors.results import (
    MAX_TOKENS_PER_BATCH,
    MAX_TOKENS_PER_REQUEST,
    BatchObject,
    Result,
    as_count,
    as_object,
    as_text,
    as_time,
    error_text,
    optional_count,
    required_count,
    succeeded,
    usage_part,
)

URL_API = {ENDPOINTS["chat"]: "chat", ENDPOINTS["responses"]: "responses", ENDPOINTS["embeddings"]: "embeddings"}
#: The request kinds a line is read as, by its `url` (`/v1/completions` too: read, though no batch endpoint).
OPENAI_URL_API: dict[str, Api] = {
    "/v1/chat/completions": "chat",
    "/v1/responses": "responses",
    "/v1/embeddings": "embeddings",
    "/v1/completions": "completions",
}


def embedding_inputs(body: dict[str, Any]) -> int:
    """How many inputs an embeddings body carries: a string or one token array is one, a list of them
    is one each (OpenAI limits their sum over a whole batch)."""
    value = body.get("input")
    if isinstance(value, list) and value and not all(isinstance(v, int) for v in value):
        return len(value)
    return 1


def read_line(obj: dict[str, Any], number: int) -> Request:
    """`{custom_id, url, body}` (the shape OpenAI, Azure, Groq, Mistral, Fireworks and Together share) as the
    Request its endpoint receives; `url` defaults to chat. Raises RecordError on the first part it cannot read."""
    custom_id = optional_str(obj, "custom_id")
    if not custom_id:
        raise RecordError("no 'custom_id'")
    body = obj.get("body")
    if not isinstance(body, dict):
        raise RecordError(f"'body' must be an object, got {describe(body)}")
    url = obj.get("url", "/v1/chat/completions")
    if not isinstance(url, str):
        raise RecordError("'url' must be a string")
    api = OPENAI_URL_API.get(url)
    if api is None:
        raise RecordError(f"unsupported url '{url}'; supported: {', '.join(OPENAI_URL_API)}")
    if api == "chat":
        check_messages(body.get("messages"), "body.messages")
    elif api in ("responses", "embeddings") and not isinstance(body.get("input"), (str, list)):
        raise RecordError("body.input must be a string or a list")
    elif api == "completions" and not isinstance(body.get("prompt"), (str, list)):
        raise RecordError("body.prompt must be a string or a list")
    return Request(
        line=number,
        id=custom_id,
        api=api,
        body=dict(body),
        model=optional_str(body, "model"),
        max_tokens=max_tokens_field(body, "max_completion_tokens", "max_output_tokens", "max_tokens"),
        url=url,
    )


def _is_line(obj: dict[str, Any]) -> bool:
    return "custom_id" in obj and "body" in obj


LINE_SHAPES = (LineShape("openai-batch", _is_line, read_line),)


@dataclass(frozen=True)
class OpenAIVendor(Vendor):
    detect: bool = False  # Azure and Groq share OpenAI's shape: detection names OpenAI

    def _body(self, req: Request, opts: LineOptions) -> dict[str, Any]:
        model = opts.deployment if self.uses_deployment and opts.deployment else opts.model
        if opts.endpoint == ENDPOINTS["chat"]:
            return chat_body(req, opts, with_model=True, model=model)
        if opts.endpoint == ENDPOINTS["responses"]:
            if req.api == "responses":
                body = {"model": model, **{k: v for k, v in req.body.items() if k != "model"}}
            elif req.api == "chat":
                system, rest = split_system(req.body["messages"])
                body = {"model": model}
                if system:
                    body["instructions"] = "\n\n".join(text_of(s, "system") for s in system)
                body["input"] = [{"role": m["role"], "content": m.get("content")} for m in rest]
                for k, v in req.body.items():
                    if k in ("temperature", "top_p"):
                        body[k] = v
            else:
                raise Unconvertible(f"a '{req.api}' request cannot be sent to /v1/responses")
            mt = source_max_tokens(req, opts)
            if mt is not None:
                body["max_output_tokens"] = mt
            if opts.temperature is not None:
                body["temperature"] = opts.temperature
            body.update(opts.extra_body)
            return body
        # embeddings: the text of the request is the input
        if req.api == "embeddings":
            text: Any = req.body.get("input")
        elif req.api == "chat":
            _, rest = split_system(req.body["messages"])
            text = "\n\n".join(text_of(m.get("content"), "message") for m in rest)
        else:
            raise Unconvertible(f"a '{req.api}' request cannot be sent to /v1/embeddings")
        return {"model": model, "input": text, **opts.extra_body}

    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        return {"custom_id": custom_id, "method": "POST", "url": opts.endpoint, "body": self._body(req, opts)}, []

    def parse_line(self, obj: Any, number: int) -> Parsed:
        if not isinstance(obj, dict):
            return Parsed(None, ["expected a JSON object"])
        problems: list[str] = []
        custom_id = self.read_id(obj, problems)
        if obj.get("method") != "POST":
            problems.append(f"'method' must be \"POST\", got {json.dumps(obj.get('method'))}")
        url = obj.get("url")
        body = obj.get("body")
        if not isinstance(url, str):
            problems.append("no 'url' string")
            url = None
        if not isinstance(body, dict):
            return Parsed(None, [*problems, "'body' must be an object"], custom_id)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            problems.append("body.model is required (one model per file)")
            model = None
        kind = URL_API.get(url or "")
        if kind == "chat":
            problems += messages_problems(body.get("messages"), "body.messages")
        elif kind in ("responses", "embeddings") and not isinstance(body.get("input"), (str, list)):
            problems.append("body.input must be a string or a list")
        if body.get("stream") is True:
            problems.append("body.stream is not allowed in a batch")
        problems += unexpected(obj, {"custom_id", "method", "url", "body"})
        if problems or kind is None:
            return Parsed(None, problems, custom_id, model, url)
        return read_checked(read_line, obj, number, custom_id, model, url)

    def looks_like(self, obj: dict[str, Any]) -> bool:
        return self.detect and ("url" in obj or "method" in obj)


VENDORS = (
    OpenAIVendor(
        "openai", "custom_id", tuple(ENDPOINTS.values()), format="openai", line_format="openai-batch",
        url_in_line=True, max_tokens_key="max_completion_tokens", detect=True,
        default_limits={"max_requests": 50_000, "max_bytes": 200 * MiB, "max_embedding_inputs": 50_000},
    ),
    OpenAIVendor(
        "azure", "custom_id", (ENDPOINTS["chat"], ENDPOINTS["responses"]), format="openai",
        line_format="openai-batch", url_in_line=True, max_tokens_key="max_completion_tokens", uses_deployment=True,
        default_limits={"max_requests": 100_000, "max_bytes": 200 * MiB},
    ),
    OpenAIVendor(
        "groq", "custom_id", CHAT, format="openai", line_format="openai-batch", url_in_line=True,
        default_limits={"max_requests": 50_000, "max_bytes": 100 * MiB},
    ),
)


# ---------------------------------------------------------------------------------------------
# Result lines: the output and error files of an OpenAI, Azure or Groq batch


def openai_usage(usage: dict[str, Any], *, generation: bool = True, limit: int = MAX_TOKENS_PER_REQUEST
                 ) -> dict[str, int]:
    """Chat (`prompt_tokens`…), Responses (`input_tokens`…) and embeddings usage, one shape. The prompt count
    is required, and the output count too for a generation (`generation`; embeddings have none)."""
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        names = ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")
    else:
        names = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")
    inp = required_count(usage, names[0], f"usage.{names[0]}", limit=limit)
    out = (required_count if generation else optional_count)(usage, names[1], f"usage.{names[1]}", limit=limit)
    cached = optional_count(usage_part(usage, names[2], f"usage.{names[2]}"), "cached_tokens",
                            f"usage.{names[2]}.cached_tokens", limit=limit)
    reasoning = optional_count(usage_part(usage, names[3], f"usage.{names[3]}"), "reasoning_tokens",
                               f"usage.{names[3]}.reasoning_tokens", limit=limit)
    if cached > inp:
        raise ValueError(f"usage.{names[2]}.cached_tokens ({cached:,}) exceed the prompt ({inp:,}); refused")
    return {"input_tokens": inp, "output_tokens": out, "cached_tokens": cached, "reasoning_tokens": reasoning}


def _batch_object(obj: dict[str, Any], where: str) -> BatchObject:
    """A batch object; one created after 2025-09-07 carries the batch's usage totals."""
    usage = obj.get("usage")
    counts = as_object(obj.get("request_counts"))
    u = openai_usage(usage, limit=MAX_TOKENS_PER_BATCH) if isinstance(usage, dict) else None
    return BatchObject(
        where, "openai", str(obj.get("id") or where), str(obj.get("status") or ""),
        as_time(obj.get("created_at"), "created_at"),
        as_text(obj.get("model")), u["input_tokens"] if u else None, u["cached_tokens"] if u else None,
        u["output_tokens"] if u else None, u["reasoning_tokens"] if u else None,
        as_count(counts.get("total")) if counts else None,
    )


def _is_result_line(obj: dict[str, Any]) -> bool:
    """`{custom_id, response: {status_code, body}, error}`; never with a `request` (a Vertex row carries one)."""
    return "response" in obj and ("custom_id" in obj or "error" in obj) and "request" not in obj and (
        obj.get("response") is None or "status_code" in as_object(obj.get("response")))


def read_result(obj: dict[str, Any], where: str) -> Result | BatchObject | None:
    """An output or error file line, or a batch object; None for another vendor's shape. A request with an
    `error` or a non-2xx status failed and is not billed."""
    if obj.get("object") == "batch":
        return _batch_object(obj, where)
    if not _is_result_line(obj):
        return None
    openai_id = as_text(obj.get("custom_id"))
    response = as_object(obj.get("response"))
    body = as_object(response.get("body"))
    status = response.get("status_code")
    identity = str(obj.get("id") or response.get("request_id") or openai_id or where)
    if obj.get("error") or not isinstance(status, int) or not 200 <= status < 300:
        kind_text, msg = error_text(obj.get("error") or body.get("error"))
        if not obj.get("error") and isinstance(status, int):
            kind_text = f"http {status}"
        return Result(where, "openai", openai_id, False, failure=kind_text, message=msg, identity=identity)
    created = as_time(body.get("created", body.get("created_at")), "response.body.created")
    if not isinstance(body.get("usage"), dict):
        raise ValueError("response.body.usage is missing: a succeeded result must say what it was billed; refused")
    usage = openai_usage(body["usage"], generation=body.get("object") != "list")  # embeddings: a "list"
    return succeeded(where, "openai", openai_id, usage, model=as_text(body.get("model")), created=created,
                     identity=identity, service_tier=as_text(body.get("service_tier")))
