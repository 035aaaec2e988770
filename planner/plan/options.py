"""The estimate's options as one validated, typed object (what `batchplan estimate`/`report` parse into).

Each group is a frozen Pydantic model with `extra="forbid"`, so a misspelt or out-of-range option is a
`UsageError` naming the CLI flag before any file is opened, and the API, the CLI and `report` share one
definition instead of passing two dozen keywords through three layers (simonw/llm's `Options`).

    >>> EstimateOptions.of(output_tokens=150, rows=1_000_000).output.tokens
    150

`EstimateOptions.of(**flat)` takes the flat keyword names the API has always accepted (`output_tokens`,
`rows`, `cache_prefix`, …) and sorts them into their groups; unknown names are an error. `PrepareOptions`
does the same for `batchplan prepare` (line fields, split limits, output assumption), and `validate`
checks its output assumption with `OutputOptions` before the file is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from planner.core.errors import UsageError
from planner.core.jsonsafe import number_problem
from planner.plan.deadline import Deadline, parse_budget, parse_deadline
from planner.prices.schema import MODES
from planner.read.datasets import ReadOptions

#: The largest count any option may name (10^15 requests or tokens is far past any real job, and keeps
#: every later product inside exact float and int64 range).
MAX_COUNT = 10**15


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @classmethod
    def make(cls, **fields: Any) -> Self:
        """Validate `fields` into this group; a bad value is a UsageError naming its flag."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise usage_error(exc, group=_GROUP_OF.get(cls.__name__, "")) from None


class OutputOptions(_Options):
    """Where output-token counts come from: a fixed number, a ratio of input, or a column of real outputs.
    With none of them, each request's own `max_tokens` is used as an upper bound."""

    tokens: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    ratio: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    column: str | None = None

    @model_validator(mode="after")
    def _at_most_one(self) -> OutputOptions:
        if sum(x is not None for x in (self.tokens, self.ratio, self.column)) > 1:
            raise ValueError("use only one of --output-tokens, --output-ratio and --output-column")
        return self


class SamplingOptions(_Options):
    """How the counted requests relate to the job: `rows` scales them to a job of that size; `sample`
    counts a seeded random sample of the file."""

    rows: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    sample: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)


class CacheOptions(_Options):
    """A cached prompt prefix: `auto` (a system prompt every request shares), `none`, or N tokens."""

    prefix: str | None = None
    hit_rate: float = Field(default=1.0, ge=0, le=1, allow_inf_nan=False)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is None or value in ("auto", "none"):
            return value
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_COUNT:
            raise ValueError(f"--cache-prefix '{value}' must be auto, none, or a number of tokens")
        return str(int(text))


#: The share of flex requests assumed refused at peak when the caller gives none: a stated assumption
#: (no vendor publishes a refusal rate), printed with every flex figure and overridable (`--flex-refused`).
DEFAULT_FLEX_REFUSED = 0.2


def parse_modes(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """`--mode standard,flex` (or repeated): the modes asked about, in the canonical order; all when none."""
    if value is None:
        return MODES
    items = [value] if isinstance(value, str) else list(value)
    asked = {part.strip().lower() for item in items for part in item.split(",") if part.strip()}
    asked = {"standard" if a in ("realtime", "default") else a for a in asked}
    unknown = sorted(asked - set(MODES))
    if unknown:
        raise UsageError(f"--mode: unknown mode '{unknown[0]}'; known: {', '.join(MODES)}")
    return tuple(m for m in MODES if m in asked) or MODES



class TimingOptions(_Options):
    """Turnaround and plan inputs: usage tier(s), client-side concurrency and latency, deadline, budget."""

    tier: tuple[str, ...] = ()
    concurrency: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    latency_s: float | None = Field(default=None, gt=0, le=86_400, allow_inf_nan=False)
    deadline: Deadline | None = None
    budget: Decimal | None = None
    use_history: bool = True
    #: the processing modes asked about (`--mode standard,flex`); every mode when empty
    mode: tuple[str, ...] = ()
    #: whether the job tolerates refused requests (flex); `--no-sheddable` leaves flex out of every plan
    sheddable: bool = True
    #: the share of flex requests assumed refused at peak, and sent again at the standard price
    flex_refused: float = Field(default=DEFAULT_FLEX_REFUSED, ge=0, le=1, allow_inf_nan=False)

    @field_validator("mode", mode="before")
    @classmethod
    def _modes(cls, value: Any) -> Any:
        return () if value is None or value == () or value == [] else parse_modes(value)

    @field_validator("tier", mode="before")
    @classmethod
    def _tiers(cls, value: Any) -> Any:
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline(cls, value: Any) -> Any:
        return parse_deadline(value) if isinstance(value, str) else value

    @field_validator("budget", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> Any:
        return parse_budget(value)


class PrepareOptions(_Options):
    """Everything `prepare()` needs besides the dataset, the model and the output directory: what goes
    into every line (bounded, finite: a vendor rejects `NaN` or a 25-digit `max_tokens`), how files are
    split, and the output assumption of the manifest's costs."""

    vendor: str | None = None
    endpoint: str | None = None
    deployment: str | None = None
    system: str | None = None
    template: str | None = None
    #: where the template text came from (never replaced by the files written)
    template_path: Path | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    #: every vendor's range is within 0..2 (OpenAI, Gemini: 0..2; Anthropic: 0..1)
    temperature: float | None = Field(default=None, ge=0, le=2, allow_inf_nan=False)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    format: str | None = None
    text_column: str | None = None
    output: OutputOptions = OutputOptions()
    max_requests: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    max_bytes: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    tier: str | None = None
    as_of: date | None = None
    prices: tuple[Path, ...] = ()
    skip_bad: bool = False
    force: bool = False
    #: the dataset column whose values become the lines' custom ids (checked against the vendor's id rule)
    id_column: str | None = None

    @field_validator("extra_body", mode="before")
    @classmethod
    def _body(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("--body must be a JSON object of extra request-body fields")
        problem = number_problem(value)
        if problem is not None:
            raise ValueError(f"--body: {problem}; vendors reject such numbers")
        return value

    @field_validator("prices", mode="before")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        return () if value is None else tuple(Path(p) for p in value)

    @classmethod
    def of(cls, **flat: Any) -> PrepareOptions:
        """Build from the flat keywords `prepare()` has always taken (`max_tokens=100, output_tokens=50, …`)."""
        output = {name: flat.pop(key) for key, name in (("output_tokens", "tokens"), ("output_ratio", "ratio"))
                  if key in flat}
        unknown = sorted(set(flat) - set(cls.model_fields) - {"output"})
        if unknown:
            raise UsageError(f"unknown prepare option(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted({*cls.model_fields, 'output_tokens', 'output_ratio'}))}")
        try:
            return cls.model_validate({**flat, "output": OutputOptions.make(**output)})
        except ValidationError as exc:
            raise usage_error(exc) from None


class EstimateOptions(_Options):
    """Everything `estimate()` needs besides the dataset and the models."""

    output: OutputOptions = OutputOptions()
    sampling: SamplingOptions = SamplingOptions()
    cache: CacheOptions = CacheOptions()
    timing: TimingOptions = TimingOptions()
    read: ReadOptions = ReadOptions()
    as_of: date | None = None
    prices: tuple[Path, ...] = ()
    skip_bad: bool = False
    #: count every request with the exact engine where one exists (ctok for Claude), not a sample
    exact_tokens: bool = False

    @field_validator("prices", mode="before")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        return () if value is None else tuple(Path(p) for p in value)

    @property
    def reader(self) -> ReadOptions:
        """The read options, keeping the text of the output column when outputs come from one."""
        return dataclasses.replace(self.read, output_column=self.output.column)

    @classmethod
    def of(cls, **flat: Any) -> EstimateOptions:
        """Build from the flat keyword names (`output_tokens=150, rows=10_000, tier="tier-3", …`).

        Raises UsageError naming the flag for an unknown name or a value out of range."""
        groups: dict[str, dict[str, Any]] = {"output": {}, "sampling": {}, "cache": {}, "timing": {}, "read": {}}
        top: dict[str, Any] = {}
        for key, value in flat.items():
            if key not in FLAT:
                raise UsageError(f"unknown estimate option '{key}'; known: {', '.join(sorted(FLAT))}")
            group, name = FLAT[key]
            if group:
                groups[group][name] = value
            else:
                top[name] = value
        read = ReadOptions(**groups.pop("read"))
        try:
            return cls.model_validate({**{k: v for k, v in groups.items() if v}, "read": read, **top})
        except ValidationError as exc:
            raise usage_error(exc) from None


#: The groups whose fields' flat keywords carry the group's name (`output_tokens`, `cache_prefix`); the
#: other groups' keywords are their fields' own names (`rows`, `tier`, `text_column`).
_PREFIXED = ("output", "cache")
#: Read options that no keyword sets: the output column is `output_column`, kept with the rows (`reader`).
_NOT_KEYWORDS = {("read", "output_column")}


def _keywords() -> dict[str, tuple[str, str]]:
    """Flat keyword → (group, field), from EstimateOptions' own fields: one declaration of the options,
    whatever their groups; a top-level field's group is ''."""
    keywords: dict[str, tuple[str, str]] = {}
    for group, info in EstimateOptions.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names = list(kind.model_fields)
        elif isinstance(kind, type) and dataclasses.is_dataclass(kind):
            names = [f.name for f in dataclasses.fields(kind)]
        else:
            keywords[group] = ("", group)
            continue
        prefix = f"{group}_" if group in _PREFIXED else ""
        keywords.update({prefix + name: (group, name) for name in names if (group, name) not in _NOT_KEYWORDS})
    return keywords


#: flat keyword → (group, field); the CLI flag is the keyword with dashes (`--output-tokens`).
FLAT = _keywords()
_FLAG = {(group, name): "--" + key.replace("_", "-") for key, (group, name) in FLAT.items()}
_FLAG[("timing", "use_history")] = "--history/--no-history"
_FLAG[("timing", "sheddable")] = "--sheddable/--no-sheddable"
_FLAG.update({("", name): "--" + name.replace("_", "-") for name in (
    "vendor", "endpoint", "deployment", "template", "max_tokens", "temperature", "max_requests", "max_bytes", "tier",
    "force", "id_column")})
_FLAG[("", "extra_body")] = "--body"
_FLAG[("timing", "latency_s")] = "latency_s"


_GROUP_OF = {
    "OutputOptions": "output", "SamplingOptions": "sampling", "CacheOptions": "cache", "TimingOptions": "timing"
}


def usage_error(exc: ValidationError, group: str = "") -> UsageError:
    """The first problem of a ValidationError as one line naming the flag (`--rows must be 1 or more`)."""
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    if group:
        loc = (group, *loc)
    flag = _FLAG.get((loc[0], loc[1])) if len(loc) >= 2 else _FLAG.get(("", loc[0])) if loc else None
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "value_error":
        message = str(ctx.get("error", err["msg"]))
        return UsageError(message if message.startswith("-") or flag is None else f"{flag}: {message}")
    if kind == "greater_than_equal":
        text = f"must be {ctx['ge']} or more"
    elif kind == "greater_than":
        text = f"must be more than {ctx['gt']}"
    elif kind in ("less_than_equal", "less_than"):
        text = f"must be at most {ctx.get('le', ctx.get('lt')):,}"
    elif kind in ("finite_number",):
        text = "must be a finite number"
    else:
        text = err["msg"][0].lower() + err["msg"][1:]
    return UsageError(f"{flag or '.'.join(loc)} {text}")
