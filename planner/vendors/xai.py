"""xAI's batch line: `{batch_request_id, batch_request: {chat_get_completion: {...}}}` (providers.md §11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.core.request import Request
from planner.vendors._base import CHAT, LineOptions, Parsed, Vendor
from planner.vendors._chat import chat_body
from planner.vendors._reading import RecordError, check_messages, max_tokens_field, optional_str, record_id
from planner.vendors.plain import chat_line_problems, chat_parsed

WHERE = "batch_request.chat_get_completion"


def read_line(obj: dict[str, Any], number: int) -> Request:
    """`{batch_request_id, batch_request: {chat_get_completion}}` as the chat request it sends."""
    outer = obj.get("batch_request")
    body = outer.get("chat_get_completion") if isinstance(outer, dict) else None
    if not isinstance(body, dict):
        raise RecordError(f"'{WHERE}' must be an object")
    check_messages(body.get("messages"), f"{WHERE}.messages")
    return Request(
        line=number,
        id=record_id(obj, number, "batch_request_id"),
        api="chat",
        body=dict(body),
        model=optional_str(body, "model"),
        max_tokens=max_tokens_field(body, "max_completion_tokens", "max_tokens"),
    )


@dataclass(frozen=True)
class XaiVendor(Vendor):
    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        body = chat_body(req, opts, with_model=True)
        return {"batch_request_id": custom_id, "batch_request": {"chat_get_completion": body}}, []

    def parse_line(self, obj: Any, number: int) -> Parsed:
        if not isinstance(obj, dict):
            return Parsed(None, ["expected a JSON object"])
        problems: list[str] = []
        custom_id = self.read_id(obj, problems)
        outer = obj.get("batch_request")
        body = outer.get("chat_get_completion") if isinstance(outer, dict) else None
        where = "batch_request.chat_get_completion"
        if not isinstance(body, dict):
            return Parsed(None, [*problems, f"'{where}' must be an object"], custom_id)
        problems += chat_line_problems(self, obj, body, where, {"batch_request_id", "batch_request"})
        return chat_parsed(read_line, obj, body, number, custom_id, problems)

    def looks_like(self, obj: dict[str, Any]) -> bool:
        return "batch_request" in obj


VENDORS = (XaiVendor("xai", "batch_request_id", CHAT, format="xai", line_format="xai-batch"),)
