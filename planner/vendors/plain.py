"""`{custom_id, body}` lines with an OpenAI-compatible chat body: Mistral and Fireworks set the model on the
job (no `model` in the line); Together puts it in each body (providers.md §7, §9, §10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.core.request import Request
from planner.vendors._base import CHAT, LineOptions, MiB, Parsed, Vendor, max_tokens_of, messages_problems, unexpected
from planner.vendors._chat import chat_body


def chat_line_problems(vendor: Vendor, obj: dict[str, Any], body: Any, where: str, allowed: set[str]) -> list[str]:
    """Checks of a line whose payload is a chat body (shared with xAI)."""
    problems: list[str] = []
    model = body.get("model")
    if vendor.model_in_line and (not isinstance(model, str) or not model):
        problems.append(f"{where}.model is required")
    if not vendor.model_in_line and model is not None:
        problems.append(f"{where}.model must not be set: {vendor.name} sets the model on the job")
    problems += messages_problems(body.get("messages"), f"{where}.messages")
    if body.get("stream") is True:
        problems.append(f"{where}.stream is not allowed in a batch")
    problems += unexpected(obj, allowed)
    return problems


def chat_parsed(body: dict[str, Any], number: int, custom_id: str | None, problems: list[str]) -> Parsed:
    model = body.get("model")
    model = model if isinstance(model, str) and model else None
    if problems:
        return Parsed(None, problems, custom_id, model)
    max_tokens = max_tokens_of(body, "max_completion_tokens", "max_tokens")
    rid = custom_id or f"line-{number}"
    return Parsed(Request(number, rid, "chat", dict(body), model=model, max_tokens=max_tokens), [], custom_id, model)


@dataclass(frozen=True)
class PlainVendor(Vendor):
    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        return {"custom_id": custom_id, "body": chat_body(req, opts, with_model=self.model_in_line)}, []

    def parse_line(self, obj: Any, number: int) -> Parsed:
        if not isinstance(obj, dict):
            return Parsed(None, ["expected a JSON object"])
        problems: list[str] = []
        custom_id = self.read_id(obj, problems)
        body = obj.get("body")
        if not isinstance(body, dict):
            return Parsed(None, [*problems, "'body' must be an object"], custom_id)
        problems += chat_line_problems(self, obj, body, "body", {"custom_id", "body"})
        return chat_parsed(body, number, custom_id, problems)

    def looks_like(self, obj: dict[str, Any]) -> bool:
        body = obj.get("body")
        if "body" not in obj or self.name == "fireworks":  # Fireworks' lines are Mistral's: detection says mistral
            return False
        has_model = isinstance(body, dict) and "model" in body
        return has_model == self.model_in_line


VENDORS = (
    PlainVendor(
        "mistral", "custom_id", CHAT, format="mistral", line_format="custom-id-body", model_in_line=False,
        default_limits={"max_requests": 100_000, "max_bytes": 512 * MiB},
    ),
    PlainVendor(
        "fireworks", "custom_id", CHAT, format="fireworks", line_format="custom-id-body", model_in_line=False,
        default_limits={"max_bytes": 500 * MiB - 1},
    ),
    PlainVendor(
        "together", "custom_id", CHAT, format="together", line_format="openai-batch",
        default_limits={"max_requests": 50_000, "max_bytes": 100 * MiB, "max_line_bytes": 10 * MiB},
    ),
)
