"""`{custom_id, body}` lines with an OpenAI-compatible chat body: Mistral and Fireworks set the model on the
job (no `model` in the line); Together puts it in each body (providers.md §7, §9, §10)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from planner.core.request import Request
from planner.vendors._base import CHAT, LineOptions, MiB, Parsed, Vendor, messages_problems, unexpected
from planner.vendors._chat import chat_body
from planner.vendors._reading import read_checked
from planner.vendors.openai import read_line


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


def chat_parsed(
    read: Callable[[dict[str, Any], int], Request],
    obj: dict[str, Any],
    body: dict[str, Any],
    number: int,
    custom_id: str | None,
    problems: list[str],
) -> Parsed:
    """`validate`'s result for a line with a chat body: its problems, or the Request `read` reads from it."""
    model = body.get("model")
    model = model if isinstance(model, str) and model else None
    if problems:
        return Parsed(None, problems, custom_id, model)
    return read_checked(read, obj, number, custom_id, model)


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
        return chat_parsed(read_line, obj, body, number, custom_id, problems)  # OpenAI's line shape

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
