"""What a vendor returns after a batch, in one shape for every vendor: `Result` (one request's outcome and
billed usage) and `BatchObject` (a batch's own record). Each vendor module reads its own result lines with a
module-level `read_result(obj, where)`; these are the types and the small readers they share.

Billing data is input, not truth: what reconcile reports and history learns from is only as good as these
counts, so a token count is strict (`token_count`: a non-negative JSON integer of at most
MAX_TOKENS_PER_REQUEST; a negative, float, string, null or absurd one is a ValueError naming the field, which
the reader turns into an error with the file and line). A count the vendor leaves out because it does not
apply (no cache reads, no thinking) is 0 (`optional_count`); the counts every bill has (the prompt, and the
output of a generation) must be there. Text fields stay lenient (`as_text`): a missing model name is no
wrong number."""

from __future__ import annotations

import math
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
    #: the processing tier the vendor says it served the request in (OpenAI `service_tier`, Anthropic
    #: `usage.service_tier`), as written; None when the line does not say
    service_tier: str | None = None
    #: prompt tokens of the vendor's own tool calls (Gemini `toolUsePromptTokenCount`: search grounding
    #: results fed back to the model); not part of `input_tokens`, which is the request's own prompt
    tool_use_prompt_tokens: int = 0


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


#: The most tokens one request can plausibly be billed for (no context window is near it): a larger count
#: is a corrupt or forged line, refused rather than learned from.
MAX_TOKENS_PER_REQUEST = 10**9
#: The most a batch object's usage totals can plausibly reach (a million requests at the cap above).
MAX_TOKENS_PER_BATCH = 10**15


def _shown(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63 - 1:
        return "an integer of over 19 digits"  # the JSON reader marks longer ones just past 64 bits
    text = "null" if value is None else repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 24 else text[:20] + "…"


def token_count(value: Any, name: str, *, limit: int = MAX_TOKENS_PER_REQUEST) -> int:
    """A billed token count: a JSON integer from 0 to `limit`; anything else is a ValueError naming `name`."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > limit:
        raise ValueError(f"{name} is {_shown(value)}: more tokens than any request can be billed for "
                         f"(the limit is {limit:,}); refused")
    return _not_a_count(value, name)


def _not_a_count(value: Any, name: str) -> int:
    what = ("negative" if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0
            else "not a number" if isinstance(value, float) and math.isnan(value)
            else "a fraction" if isinstance(value, float)
            else "null" if value is None
            else f"{_TYPE_NAMES.get(type(value), type(value).__name__)}, not a number")
    raise ValueError(f"{name} is {_shown(value)} ({what}): usage must be whole token counts; refused")


_TYPE_NAMES = {str: "a string", bool: "a boolean", list: "a list", dict: "an object"}


def optional_count(obj: dict[str, Any], key: str, name: str, *, limit: int = MAX_TOKENS_PER_REQUEST) -> int:
    """A count the vendor leaves out when it does not apply (absent or null: 0); present, it is strict."""
    value = obj.get(key)
    return 0 if value is None else token_count(value, name, limit=limit)


def required_count(obj: dict[str, Any], key: str, name: str, *, limit: int = MAX_TOKENS_PER_REQUEST) -> int:
    """A count every bill of this kind has: absent is an error, as is any value `token_count` refuses."""
    if key not in obj:
        raise ValueError(f"{name} is missing: a succeeded result must say what it was billed; refused")
    return token_count(obj[key], name, limit=limit)


def as_count(value: Any) -> int:
    """A count of requests in a batch object (shown, never priced or learned from), or 0 for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS_PER_BATCH else 0


def usage_part(obj: dict[str, Any], key: str, name: str) -> dict[str, Any]:
    """A sub-object of a usage (`prompt_tokens_details`, `cache_creation`): absent or null is empty, an
    object is itself, anything else is a ValueError (a scalar there is no usage a vendor writes)."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} is {_shown(value)}: an object of token counts was expected; refused")
    return value


def as_object(value: Any) -> dict[str, Any]:
    """The value when it is an object, else an empty one (a missing part of a result reads as empty)."""
    return value if isinstance(value, dict) else {}


def as_text(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


#: Plausible dates of a batch (a result dated 1970 or 1e300 is corrupt): they pick the price table.
MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(3000, 1, 1, tzinfo=UTC)


def as_time(value: Any, name: str = "created") -> datetime | None:
    """Unix seconds or an ISO 8601 string (UTC when it names no zone), from 2000 to 2999; None when absent.
    Any other value is a ValueError naming `name` (a date picks the price table, so it is not guessed)."""
    if value is None:
        return None
    parsed: datetime | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and MIN_TIME.timestamp() <= value < MAX_TIME.timestamp():
            parsed = datetime.fromtimestamp(value, tz=UTC)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            found = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            found = None
        if found is not None:
            found = found if found.tzinfo else found.replace(tzinfo=UTC)
            parsed = found if MIN_TIME <= found < MAX_TIME else None
    if parsed is None:
        raise ValueError(f"{name} is {_shown(value)}: not a date from 2000 to 2999 (unix seconds or ISO 8601)")
    return parsed


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
              created: datetime | None = None, request: Request | None = None, identity: str = "",
              service_tier: str | None = None) -> Result:
    """A succeeded result with its billed usage (keys as Result's token fields; a missing one is 0)."""
    return Result(
        where, kind, cid, True, input_tokens=usage.get("input_tokens", 0), cached_tokens=usage.get("cached_tokens", 0),
        cache_write_tokens=usage.get("cache_write_tokens", 0),
        cache_write_1h_tokens=usage.get("cache_write_1h_tokens", 0), output_tokens=usage.get("output_tokens", 0),
        reasoning_tokens=usage.get("reasoning_tokens", 0), model=model, created=created, request=request,
        identity=identity, service_tier=service_tier,
        tool_use_prompt_tokens=usage.get("tool_use_prompt_tokens", 0),
    )


def failed(where: str, kind: str, cid: str | None, error: Any, *, request: Request | None = None,
           identity: str = "") -> Result:
    """A failed result (billed nothing), typed and described from the vendor's error object."""
    failure, message = error_text(error)
    return Result(where, kind, cid, False, failure=failure, message=message, request=request, identity=identity)
