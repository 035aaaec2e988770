"""AWS Bedrock batch inference records: `{recordId, modelInput}` with an Anthropic-on-Bedrock Messages body
(`anthropic_version`). `recordId` is optional (providers.md §6); a job needs at least 100 records."""

from __future__ import annotations

from typing import Any

from planner.vendors._base import CHAT, MiB
from planner.vendors.anthropic import WrappedMessagesVendor, anthropic_usage
from planner.vendors.results import Result, as_count, as_object, as_text, failed, succeeded

ANTHROPIC_VERSION = "bedrock-2023-05-31"

VENDORS = (
    WrappedMessagesVendor(
        "bedrock", "recordId", CHAT, format="bedrock", line_format="bedrock-batch", model_in_line=False,
        id_required=False, needs_max_tokens=True, body_key="modelInput", anthropic_version=ANTHROPIC_VERSION,
        default_limits={"max_requests": 50_000, "max_bytes": 1024 * MiB, "min_requests": 100},
    ),
)


# ---------------------------------------------------------------------------------------------
# Result lines: the `.jsonl.out` records of a batch inference job


def bedrock_usage(output: dict[str, Any]) -> dict[str, int]:
    """The usage of a `modelOutput`: Anthropic's Messages usage, Nova/Converse's `inputTokens`, or the
    InvokeModel counts of Llama and Mistral."""
    usage = as_object(output.get("usage"))
    if "input_tokens" in usage or "cache_read_input_tokens" in usage:  # Anthropic on Bedrock
        return anthropic_usage(usage)
    if "inputTokens" in usage:  # Nova / Converse
        inp = as_count(usage.get("inputTokens"))
        cached = as_count(usage.get("cacheReadInputTokenCount", usage.get("cacheReadInputTokens")))
        return {"input_tokens": inp + cached, "cached_tokens": cached,
                "output_tokens": as_count(usage.get("outputTokens"))}
    return {  # Llama / Mistral on InvokeModel
        "input_tokens": as_count(output.get("prompt_token_count")),
        "output_tokens": as_count(output.get("generation_token_count")),
    }


def read_result(obj: dict[str, Any], where: str) -> Result | None:
    """A record `{recordId, modelInput, modelOutput: {usage}}` (or with an `error`), carrying its request;
    None for another vendor's shape."""
    if "modelInput" not in obj or ("modelOutput" not in obj and "error" not in obj):
        return None
    rid = as_text(obj.get("recordId"))
    request = VENDORS[0].parse_line({k: v for k, v in obj.items() if k in ("recordId", "modelInput")}, 0).request
    output = obj.get("modelOutput")
    if obj.get("error") or not isinstance(output, dict):
        return failed(where, "bedrock", rid, obj.get("error"), request=request, identity=rid or where)
    return succeeded(where, "bedrock", rid, bedrock_usage(output), model=as_text(output.get("model")),
                     request=request, identity=str(output.get("id") or rid or where))
