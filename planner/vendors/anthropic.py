"""Anthropic's Message Batches line: `{custom_id, params}`, one element of the `requests` array of
`POST /v1/messages/batches` (providers.md §2). The byte limit is the whole HTTP body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from planner.core.request import Request
from planner.vendors._base import (
    CHAT,
    SAFE_ID,
    LineOptions,
    MiB,
    Parsed,
    Vendor,
    messages_problems,
    positive_int,
    unexpected,
)
from planner.vendors._chat import messages_body
from planner.vendors._reading import (
    LineShape,
    RecordError,
    check_messages,
    describe,
    max_tokens_field,
    optional_str,
    read_checked,
    record_id,
)
from planner.vendors.results import (
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

#: Anthropic sends the lines as one JSON body `{"requests": [l1,l2,…]}`: that many bytes beyond the lines.
BODY_OVERHEAD = 16


def messages_params_problems(params: dict[str, Any], key: str) -> list[str]:
    """Checks of a Messages API body that Anthropic and Bedrock share."""
    problems: list[str] = []
    if not positive_int(params.get("max_tokens")):
        problems.append(f"{key}.max_tokens is required (an integer of 1 or more)")
    problems += messages_problems(params.get("messages"), f"{key}.messages")
    system = params.get("system")
    if system is not None and not isinstance(system, (str, list)):
        problems.append(f"{key}.system must be a string or a list of blocks")
    if isinstance(params.get("messages"), list):
        for i, m in enumerate(params["messages"]):
            if isinstance(m, dict) and m.get("role") not in ("user", "assistant", None):
                problems.append(f"{key}.messages[{i}].role must be 'user' or 'assistant' (system goes in "
                                f"{key}.system)")
    for banned in ("stream", "speed"):
        if params.get(banned) not in (None, False):
            problems.append(f"{key}.{banned} is not supported in a batch")
    return problems


def read_messages_params(params: Any, key: str) -> dict[str, Any]:
    """A Messages API body as the reader needs it: an object with `messages` and an optional `system`."""
    if not isinstance(params, dict):
        raise RecordError(f"'{key}' must be an object, got {describe(params)}")
    check_messages(params.get("messages"), f"{key}.messages")
    system = params.get("system")
    if system is not None and not isinstance(system, (str, list)):
        raise RecordError(f"{key}.system must be a string or a list of blocks")
    return params


def read_line(obj: dict[str, Any], number: int) -> Request:
    """`{custom_id, params}` as the Messages request it sends. Raises RecordError on the first part it cannot
    read (the upload rules, such as a required max_tokens, are `parse_line`'s)."""
    custom_id = optional_str(obj, "custom_id")
    if not custom_id:
        raise RecordError("no 'custom_id'")
    params = read_messages_params(obj.get("params"), "params")
    return Request(
        line=number,
        id=custom_id,
        api="anthropic",
        body=dict(params),
        model=optional_str(params, "model"),
        max_tokens=max_tokens_field(params, "max_tokens"),
    )


def _is_line(obj: dict[str, Any]) -> bool:
    return "custom_id" in obj and "params" in obj


LINE_SHAPES = (LineShape("anthropic-batch", _is_line, read_line),)


@dataclass(frozen=True)
class AnthropicVendor(Vendor):
    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        params, dropped = messages_body(req, opts)
        return {"custom_id": custom_id, "params": {"model": opts.model, **params}}, dropped

    def parse_line(self, obj: Any, number: int) -> Parsed:
        if not isinstance(obj, dict):
            return Parsed(None, ["expected a JSON object"])
        problems: list[str] = []
        custom_id = self.read_id(obj, problems)
        params = obj.get("params")
        if not isinstance(params, dict):
            return Parsed(None, [*problems, "'params' must be an object"], custom_id)
        model = params.get("model")
        if not isinstance(model, str) or not model:
            problems.append("params.model is required")
            model = None
        problems += messages_params_problems(params, "params")
        problems += unexpected(obj, {"custom_id", "params"})
        if problems:
            return Parsed(None, problems, custom_id, model)
        return read_checked(read_line, obj, number, custom_id, model)

    def looks_like(self, obj: dict[str, Any]) -> bool:
        return "params" in obj and "custom_id" in obj

    def notes(self, opts: LineOptions) -> list[str]:
        return ["Anthropic's batch is an API body, not an uploaded file: send these lines as the "
                "`requests` list of POST /v1/messages/batches (see docs/batchfiles.md)"]


@dataclass(frozen=True)
class WrappedMessagesVendor(Vendor):
    """A Messages body inside another vendor's envelope, carrying a fixed `anthropic_version` and no
    model (the job names it): Bedrock's `{recordId, modelInput}`, Claude on Vertex's `{custom_id, request}`."""

    body_key: str = ""
    anthropic_version: str = ""
    forbid_model: bool = False  # a `model` in the body is a problem (Vertex takes it from the job)

    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        params, dropped = messages_body(req, opts)
        envelope = {"anthropic_version": self.anthropic_version, **params}
        return {str(self.id_field): custom_id, self.body_key: envelope}, dropped

    def parse_line(self, obj: Any, number: int) -> Parsed:
        if not isinstance(obj, dict):
            return Parsed(None, ["expected a JSON object"])
        problems: list[str] = []
        custom_id = self.read_id(obj, problems)
        params = obj.get(self.body_key)
        if not isinstance(params, dict):
            return Parsed(None, [*problems, f"'{self.body_key}' must be an object"], custom_id)
        if params.get("anthropic_version") != self.anthropic_version:
            problems.append(f"{self.body_key}.anthropic_version must be \"{self.anthropic_version}\"")
        problems += messages_params_problems(params, self.body_key)
        if self.forbid_model and "model" in params:
            problems.append(f"{self.body_key}.model is not allowed: {self.name} takes the model from the batch job")
        problems += unexpected(obj, {str(self.id_field), self.body_key})
        if problems:
            return Parsed(None, problems, custom_id)
        return read_checked(self.read_request, obj, number, custom_id)

    def read_request(self, obj: dict[str, Any], number: int) -> Request:
        """The Messages request inside the envelope (without its `anthropic_version`), as the reader reads it."""
        params = read_messages_params(obj.get(self.body_key), self.body_key)
        body = {k: v for k, v in params.items() if k != "anthropic_version"}
        rid = record_id(obj, number, str(self.id_field))
        return Request(number, rid, "anthropic", body, max_tokens=max_tokens_field(params, "max_tokens"))

    def looks_like(self, obj: dict[str, Any]) -> bool:
        return self.body_key in obj


VENDORS = (
    AnthropicVendor(
        "anthropic", "custom_id", CHAT, format="anthropic", line_format="anthropic-batch", id_pattern=SAFE_ID,
        needs_max_tokens=True, body_overhead=BODY_OVERHEAD,
        default_limits={"max_requests": 100_000, "max_bytes": 256 * MiB},
    ),
)


# ---------------------------------------------------------------------------------------------
# Result lines: what a Message Batch returns


def anthropic_usage(usage: dict[str, Any]) -> dict[str, int]:
    """A Messages reply's usage (Anthropic, and Claude on Bedrock and Vertex): the whole prompt is
    `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`, its 1-hour writes split out."""
    uncached = required_count(usage, "input_tokens", "usage.input_tokens")
    reads = optional_count(usage, "cache_read_input_tokens", "usage.cache_read_input_tokens")
    writes = optional_count(usage, "cache_creation_input_tokens", "usage.cache_creation_input_tokens")
    split = usage_part(usage, "cache_creation", "usage.cache_creation")
    one_hour = optional_count(split, "ephemeral_1h_input_tokens", "usage.cache_creation.ephemeral_1h_input_tokens")
    if one_hour > writes:
        raise ValueError(f"usage.cache_creation.ephemeral_1h_input_tokens ({one_hour:,}) exceed "
                         f"cache_creation_input_tokens ({writes:,}); refused")
    return {
        "input_tokens": uncached + reads + writes,
        "cached_tokens": reads,
        "cache_write_tokens": writes - one_hour,
        "cache_write_1h_tokens": one_hour,
        "output_tokens": required_count(usage, "output_tokens", "usage.output_tokens"),
    }


def read_result(obj: dict[str, Any], where: str) -> Result | BatchObject | None:
    """A Message Batches result `{custom_id, result: {type, message: {model, usage}}}`, or the batch object;
    None for another vendor's shape. `errored`, `canceled` and `expired` results are not billed."""
    if obj.get("type") == "message_batch":
        counts = as_object(obj.get("request_counts"))
        total = sum(as_count(v) for v in counts.values()) if counts else None
        return BatchObject(where, "anthropic", str(obj.get("id") or where), str(obj.get("processing_status") or ""),
                           as_time(obj.get("created_at"), "created_at"), None, None, None, None, None, total)
    if "result" not in obj or "custom_id" not in obj:
        return None
    result = as_object(obj.get("result"))
    kind = result.get("type")
    cid = str(obj["custom_id"])
    if kind == "succeeded":
        message = as_object(result.get("message"))
        usage = message.get("usage")
        if not isinstance(usage, dict):
            raise ValueError("result.message.usage is missing: a succeeded result must say what it was billed; "
                             "refused")
        return succeeded(where, "anthropic", cid, anthropic_usage(usage), model=as_text(message.get("model")),
                         identity=str(message.get("id") or cid), service_tier=as_text(usage.get("service_tier")))
    if kind in ("errored", "canceled", "expired"):
        _, msg = error_text(result.get("error"))
        return Result(where, "anthropic", cid, False, failure=str(kind), message=msg, identity=cid)
    raise ValueError(f"Anthropic result of unknown type {json.dumps(kind)}")
