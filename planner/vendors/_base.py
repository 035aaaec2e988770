"""What every vendor module shares: the `Vendor` base (attributes read by prepare/validate instead of asking
which vendor it is), the line options, the parse result and the small shape checks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from planner.core.request import Request

ENDPOINTS = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "embeddings": "/v1/embeddings"}
CHAT = (ENDPOINTS["chat"],)
SAFE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MiB = 1024 * 1024


class Unconvertible(Exception):
    """A request that cannot be written in a vendor's format (an image part for a text-only conversion, …)."""


@dataclass
class Parsed:
    """One line read back: the Request `estimate()` would count (None when malformed) and its problems."""

    request: Request | None
    problems: list[str]
    custom_id: str | None = None
    model: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Vendor:
    """One vendor's batch line rules. Subclasses (one module per line format) write and read the lines."""

    name: str
    id_field: str | None  # None: the vendor has no id field (Vertex): lines are matched by position
    endpoints: tuple[str, ...]  # allowed `url`s (when the line has one) or the request kinds allowed
    format: str = ""  # the price table's `batch.format` (openai for azure and groq)
    line_format: str = ""  # the manifest's name for the line shape
    url_in_line: bool = False
    model_in_line: bool = True
    one_model_per_file: bool = True
    id_pattern: re.Pattern[str] | None = None
    id_required: bool = True
    max_tokens_key: str = "max_tokens"
    needs_max_tokens: bool = False  # every request must carry max_tokens (Messages API bodies)
    body_overhead: int = 0  # bytes the upload adds around the lines (Anthropic's `{"requests":[…]}`)
    uses_deployment: bool = False  # `body.model` is the user's deployment name (Azure)
    #: Defaults from providers.md, used only where the price table has no `batch.limits` value.
    default_limits: dict[str, int] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    provider: str = ""  # the price table's provider id, when it is not the vendor's name (gemini: google)

    def __post_init__(self) -> None:
        if not self.provider:
            object.__setattr__(self, "provider", self.name)

    def build_line(self, req: Request, custom_id: str, opts: LineOptions) -> tuple[dict[str, Any], list[str]]:
        """One line for one request, and the source fields that could not be carried over."""
        raise NotImplementedError

    def parse_line(self, obj: Any, number: int) -> Parsed:
        """Shape checks of one line, and the Request to count when it is well formed."""
        raise NotImplementedError

    def looks_like(self, obj: dict[str, Any]) -> bool:
        """Whether a line has this vendor's shape (for detection; vendors sharing a shape say no)."""
        return False

    def notes(self, opts: LineOptions) -> list[str]:
        """What prepare tells the user about this vendor's files."""
        return []

    def for_model(self, chat_format: str) -> Vendor:
        """The line rules for a model whose requests have this chat format (the tokenizer's
        `chat_format`): itself, except where one vendor takes two line shapes (Vertex: Gemini, Claude)."""
        return self

    def read_id(self, obj: dict[str, Any], problems: list[str]) -> str | None:
        """The line's id, with a problem when it is missing (and required), not a string, or off the rule."""
        if self.id_field is None:
            return None
        raw_id = obj.get(self.id_field)
        if raw_id is None:
            if self.id_required:
                problems.append(f"no '{self.id_field}'")
            return None
        if not isinstance(raw_id, str) or not raw_id:
            problems.append(f"'{self.id_field}' must be a non-empty string")
            return None
        if self.id_pattern is not None and not self.id_pattern.match(raw_id):
            problems.append(f"{self.id_field} {json.dumps(raw_id)} does not match {self.id_pattern.pattern}")
        return raw_id


@dataclass(frozen=True)
class LineOptions:
    vendor: Vendor
    model: str
    endpoint: str = ENDPOINTS["chat"]
    deployment: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)


def messages_problems(messages: Any, where: str) -> list[str]:
    if not isinstance(messages, list) or not messages:
        return [f"{where} must be a non-empty list"]
    problems = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            problems.append(f"{where}[{i}] needs a 'role' string")
        elif "content" in m and not isinstance(m["content"], (str, list, type(None))):
            problems.append(f"{where}[{i}].content must be a string or a list of parts")
    return problems


def positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def max_tokens_of(body: dict[str, Any], *keys: str) -> int | None:
    for k in keys:
        value = body.get(k)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def unexpected(obj: dict[str, Any], allowed: set[str]) -> list[str]:
    return [f"unexpected top-level field '{k}'" for k in obj if k not in allowed]
