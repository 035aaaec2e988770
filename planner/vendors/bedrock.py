"""AWS Bedrock batch inference records: `{recordId, modelInput}` with an Anthropic-on-Bedrock Messages body
(`anthropic_version`). `recordId` is optional (providers.md §6); a job needs at least 100 records.

The dataset reader also reads the records of Bedrock's other models (`bedrock-batch`): Amazon Nova's
messages (Converse content blocks, `inferenceConfig`) and the bare prompts of Llama, Mistral and Titan text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.core.request import Request
from planner.vendors._base import CHAT, MiB
from planner.vendors._reading import LineShape, RecordError, describe, max_tokens_field, record_id
from planner.vendors.anthropic import WrappedMessagesVendor, anthropic_usage
from planner.vendors.results import Result, as_object, as_text, failed, optional_count, required_count, succeeded

ANTHROPIC_VERSION = "bedrock-2023-05-31"


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


def _messages_request(body: dict[str, Any], number: int, rid: str) -> Request:
    """Claude (`anthropic_version`) or Nova/Converse (`inferenceConfig`) messages as a Messages request."""
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
            raise RecordError(f"modelInput.messages[{i}] has no 'role' string")
    config = body.get("inferenceConfig")
    max_tokens = max_tokens_field(body, "max_tokens")
    if max_tokens is None and isinstance(config, dict):
        max_tokens = max_tokens_field(config, "maxTokens", "max_new_tokens")
    return Request(line=number, id=rid, api="anthropic", body=params, max_tokens=max_tokens)


def read_line(obj: dict[str, Any], number: int) -> Request:
    """One record as the request its model receives; raises RecordError on the first part it cannot read."""
    body = obj.get("modelInput")
    if not isinstance(body, dict):
        raise RecordError(f"'modelInput' must be an object, got {describe(body)}")
    rid = record_id(obj, number, "recordId")
    if isinstance(body.get("messages"), list):
        return _messages_request(body, number, rid)
    for key in ("prompt", "inputText"):  # Llama, Mistral, Titan text: a bare prompt
        if isinstance(body.get(key), str):
            config = body.get("textGenerationConfig")
            max_tokens = max_tokens_field(body, "max_gen_len", "max_tokens")
            if max_tokens is None and isinstance(config, dict):
                max_tokens = max_tokens_field(config, "maxTokenCount")
            return Request(line=number, id=rid, api="completions", body={"prompt": body[key]}, max_tokens=max_tokens)
    raise RecordError("modelInput has neither 'messages' nor a 'prompt'/'inputText' string")


def _is_line(obj: dict[str, Any]) -> bool:
    return "modelInput" in obj


LINE_SHAPES = (LineShape("bedrock-batch", _is_line, read_line),)


@dataclass(frozen=True)
class BedrockVendor(WrappedMessagesVendor):
    """Bedrock's Claude lines, read back by the same reader as the dataset reader's `bedrock-batch`."""

    def read_request(self, obj: dict[str, Any], number: int) -> Request:
        return read_line(obj, number)


VENDORS = (
    BedrockVendor(
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
    if "inputTokens" in usage or "outputTokens" in usage:  # Nova / Converse
        inp = required_count(usage, "inputTokens", "modelOutput.usage.inputTokens")
        key = "cacheReadInputTokenCount" if "cacheReadInputTokenCount" in usage else "cacheReadInputTokens"
        cached = optional_count(usage, key, f"modelOutput.usage.{key}")
        return {"input_tokens": inp + cached, "cached_tokens": cached,
                "output_tokens": required_count(usage, "outputTokens", "modelOutput.usage.outputTokens")}
    return {  # Llama / Mistral on InvokeModel
        "input_tokens": required_count(output, "prompt_token_count", "modelOutput.prompt_token_count"),
        "output_tokens": required_count(output, "generation_token_count", "modelOutput.generation_token_count"),
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
