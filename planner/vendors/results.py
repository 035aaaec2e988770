"""What a vendor returns after a batch, in one shape for every vendor: `Result` (one request's outcome and
billed usage) and `BatchObject` (a batch's own record). Each vendor module reads its own result lines with a
module-level `read_result(obj, where)`; these are the types and the small lenient readers they share, since
result files are the vendor's output and a missing or odd field must read as zero, not fail the batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from planner.core.request import Request


@dataclass(frozen=True, slots=True)
class Result:
    """One request's outcome as the vendor reported it. Token counts are what was billed (0 when failed).

    `kind` names the vendor whose result shape the line has (`openai` for OpenAI, Azure and Groq alike)."""

    where: str
    kind: str
    custom_id: str | None
    succeeded: bool
    failure: str | None = None
    message: str | None = None
    input_tokens: int = 0  # the whole prompt: uncached + cache reads + cache writes
    cached_tokens: int = 0
    cache_write_tokens: int = 0  # 5-minute (default) cache writes
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0  # visible output + reasoning/thinking
    reasoning_tokens: int = 0
    model: str | None = None
    created: datetime | None = None
    request: Request | None = None  # the request the line carries (Vertex, Bedrock)
    identity: str = ""  # the vendor's id for this result (stable across downloads), for idempotent storage


@dataclass(frozen=True, slots=True)
class BatchObject:
    """A vendor batch object given among the results: its id, date, status and (OpenAI) usage totals."""

    where: str
    provider: str
    id: str
    status: str
    created: datetime | None
    model: str | None
    input_tokens: int | None
    cached_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    requests: int | None


def as_count(value: Any) -> int:
    """A token count, or 0 for anything that is not a non-negative integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def as_object(value: Any) -> dict[str, Any]:
    """The value when it is an object, else an empty one (a missing part of a result reads as empty)."""
    return value if isinstance(value, dict) else {}


def as_text(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def as_time(value: Any) -> datetime | None:
    """Unix seconds or an ISO 8601 string (UTC when it names no zone); None for anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def error_text(error: Any) -> tuple[str, str | None]:
    """(short type, message) of a vendor error object, whichever vendor's field names it uses."""
    err = as_object(error)
    inner = as_object(err.get("error"))
    code = err.get("code") if isinstance(err.get("code"), str) else None
    kind = str(inner.get("type") or code or err.get("status") or err.get("errorCode") or err.get("type")
               or err.get("code") or "error")
    message = inner.get("message") or err.get("message") or err.get("errorMessage")
    return kind, str(message) if message is not None else None


def succeeded(where: str, kind: str, cid: str | None, usage: dict[str, int], *, model: str | None = None,
              created: datetime | None = None, request: Request | None = None, identity: str = "") -> Result:
    """A succeeded result with its billed usage (keys as Result's token fields; a missing one is 0)."""
    return Result(
        where, kind, cid, True, input_tokens=usage.get("input_tokens", 0), cached_tokens=usage.get("cached_tokens", 0),
        cache_write_tokens=usage.get("cache_write_tokens", 0),
        cache_write_1h_tokens=usage.get("cache_write_1h_tokens", 0), output_tokens=usage.get("output_tokens", 0),
        reasoning_tokens=usage.get("reasoning_tokens", 0), model=model, created=created, request=request,
        identity=identity,
    )


def failed(where: str, kind: str, cid: str | None, error: Any, *, request: Request | None = None,
           identity: str = "") -> Result:
    """A failed result (billed nothing), typed and described from the vendor's error object."""
    failure, message = error_text(error)
    return Result(where, kind, cid, False, failure=failure, message=message, request=request, identity=identity)
