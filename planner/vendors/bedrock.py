"""AWS Bedrock batch inference records: `{recordId, modelInput}` with an Anthropic-on-Bedrock Messages body
(`anthropic_version`). `recordId` is optional (providers.md §6); a job needs at least 100 records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.datasets import Request
from planner.vendors._base import CHAT, LineOptions, MiB, Parsed, Vendor, unexpected
from planner.vendors._chat import messages_body
from planner.vendors.anthropic import messages_params_problems

ANTHROPIC_VERSION = "bedrock-2023-05-31"


@dataclass(frozen=True)
class BedrockVendor(Vendor):
    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        params, dropped = messages_body(req, opts)
        return {"recordId": custom_id, "modelInput": {"anthropic_version": ANTHROPIC_VERSION, **params}}, dropped

    def parse_line(self, obj: Any, number: int) -> Parsed:
        if not isinstance(obj, dict):
            return Parsed(None, ["expected a JSON object"])
        problems: list[str] = []
        custom_id = self.read_id(obj, problems)
        params = obj.get("modelInput")
        if not isinstance(params, dict):
            return Parsed(None, [*problems, "'modelInput' must be an object"], custom_id)
        if params.get("anthropic_version") != ANTHROPIC_VERSION:
            problems.append(f"modelInput.anthropic_version must be \"{ANTHROPIC_VERSION}\"")
        problems += messages_params_problems(params, "modelInput")
        problems += unexpected(obj, {"recordId", "modelInput"})
        if problems:
            return Parsed(None, problems, custom_id)
        body = {k: v for k, v in params.items() if k != "anthropic_version"}
        req = Request(number, custom_id or f"line-{number}", "anthropic", body, max_tokens=params["max_tokens"])
        return Parsed(req, [], custom_id)

    def looks_like(self, obj: dict[str, Any]) -> bool:
        return "modelInput" in obj


VENDORS = (
    BedrockVendor(
        "bedrock", "recordId", CHAT, format="bedrock", line_format="bedrock-batch", model_in_line=False,
        id_required=False, needs_max_tokens=True,
        default_limits={"max_requests": 50_000, "max_bytes": 1024 * MiB, "min_requests": 100},
    ),
)
