"""A request: one API call as a vendor would receive it. Every layer passes these along (read makes them,
vendors write and parse their lines, count counts them), so the type lives at the bottom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Api = Literal["chat", "responses", "embeddings", "completions", "anthropic", "gemini"]


@dataclass(slots=True)
class Request:
    """One API call as the vendor would receive it: which API, its body, and where it came from."""

    line: int
    id: str
    api: Api
    body: dict[str, Any]
    model: str | None = None
    max_tokens: int | None = None
    url: str | None = None
    output_text: str | None = None
