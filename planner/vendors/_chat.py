"""Turning a chat request into other vendors' bodies: system messages apart, text of content parts,
the OpenAI-compatible chat body and the Anthropic Messages body (shared by anthropic and bedrock)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from planner.core.request import Request
from planner.vendors._base import LineOptions, Unconvertible

PORTABLE = {"temperature", "top_p", "stop", "max_tokens", "max_completion_tokens", "max_output_tokens"}


def split_system(messages: Sequence[dict[str, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
    """Leading system/developer messages apart from the conversation."""
    system: list[Any] = []
    rest: list[dict[str, Any]] = []
    for m in messages:
        if m.get("role") in ("system", "developer") and not rest:
            system.append(m.get("content"))
        else:
            rest.append(m)
    return system, rest


def text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") in ("text", "input_text") and "text" in part:
                texts.append(str(part["text"]))
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise Unconvertible(f"{where}: a '{kind}' part cannot be converted to this vendor's format")
        return "\n".join(texts)
    if content is None:
        return ""
    raise Unconvertible(f"{where}: content must be a string or a list of parts")


def source_max_tokens(req: Request, opts: LineOptions) -> int | None:
    return opts.max_tokens if opts.max_tokens is not None else req.max_tokens


def chat_body(req: Request, opts: LineOptions, *, with_model: bool, model: str | None = None) -> dict[str, Any]:
    """An OpenAI-compatible chat body from a chat request (other fields pass through)."""
    if req.api != "chat":
        raise Unconvertible(f"a '{req.api}' request cannot be sent to {opts.vendor.name}'s chat endpoint")
    body: dict[str, Any] = {}
    if with_model:
        body["model"] = model or opts.model
    body["messages"] = req.body["messages"]
    for k, v in req.body.items():
        if k not in ("messages", "model", "max_tokens", "max_completion_tokens"):
            body[k] = v
    mt = source_max_tokens(req, opts)
    if mt is not None:
        body[opts.vendor.max_tokens_key] = mt
    if opts.temperature is not None:
        body["temperature"] = opts.temperature
    body.update(opts.extra_body)
    return body


def messages_body(req: Request, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
    """An Anthropic Messages body (params) from a chat or Anthropic request; also the fields dropped."""
    dropped: list[str] = []
    if req.api == "anthropic":
        body = {k: v for k, v in req.body.items() if k != "model"}
    elif req.api == "chat":
        system, rest = split_system(req.body["messages"])
        body = {}
        if system:
            body["system"] = "\n\n".join(text_of(s, "system message") for s in system)
        messages = []
        for i, m in enumerate(rest):
            role = m.get("role")
            if role not in ("user", "assistant"):
                raise Unconvertible(f"messages[{i}]: role '{role}' has no Anthropic equivalent")
            content = m.get("content")
            text = content if isinstance(content, str) else text_of(content, f"messages[{i}]")
            messages.append({"role": role, "content": text})
        body["messages"] = messages
        for k, v in req.body.items():
            if k in ("temperature", "top_p"):
                body[k] = v
            elif k == "stop":
                body["stop_sequences"] = [v] if isinstance(v, str) else v
            elif k not in PORTABLE and k not in ("messages", "model"):
                dropped.append(k)
    else:
        raise Unconvertible(f"a '{req.api}' request cannot be sent to the Messages API")
    body.pop("max_tokens", None)
    mt = source_max_tokens(req, opts)
    if mt is None:
        raise Unconvertible(f"{opts.vendor.name} requires max_tokens on every request: pass --max-tokens N")
    ordered: dict[str, Any] = {"max_tokens": mt, **body}
    if opts.temperature is not None:
        ordered["temperature"] = opts.temperature
    ordered.update(opts.extra_body)
    return ordered, dropped
