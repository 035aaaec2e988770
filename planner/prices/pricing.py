"""Versioned price tables: one schema (records pydantic validates), loaded from YAML by date, user tables on top.

Prices are data. Each provider has a folder under `pricing/` holding one file per version, named by
the date it takes effect (`pricing/openai/2026-10-14.yaml`). `--as-of DATE` picks, per provider, the
newest version whose date is on or before DATE. Every model entry carries its source and the date it
was verified, so every number the tool prints can be traced back to a page.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from planner.core.clock import today
from planner.core.errors import AmbiguousModelError, PricingError, UnknownModelError
from planner.prices.matching import Rule, accepting_clause, describe, equals_names, literals, matches
from planner.prices.records import Before, Field, Record, after, before
from planner.prices.tablefiles import VERSION_FILE as VERSION_FILE  # (they lived here before)
from planner.prices.tablefiles import TableVersion as TableVersion
from planner.prices.tablefiles import list_versions as list_versions
from planner.prices.tablefiles import shipped_pricing_dir as shipped_pricing_dir

if TYPE_CHECKING:
    import yaml
    from pydantic import ValidationError

SCHEMA_VERSION = 1
#: Bounds of the schema's numbers. Tokens of one request (context windows, outputs, tier thresholds, fixed
#: overheads); image sides in pixels; rate and queue limits; published hours (a year at most).
MAX_TOKENS = 10**9
MAX_PIXELS = 100_000
MAX_RATE = 10**15
MAX_HOURS = 8784
#: The largest table file read (the biggest shipped one is ~45 KB).
MAX_TABLE_BYTES = 4 * 1024 * 1024


def _money(value: Any) -> Any:
    """Prices must be written as strings or integers: a YAML float has already lost its exact value."""
    if isinstance(value, float):
        raise ValueError(f"write the price {value!r} as a quoted string (e.g. \"{value}\") to keep it exact")
    if isinstance(value, bool):
        raise ValueError("a price cannot be a boolean")
    return value


Money = Annotated[Decimal, Before(_money), Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Fraction = Annotated[Decimal, Before(_money), Field(ge=0, le=10, allow_inf_nan=False)]


class Strict(Record):
    """A record of the schema: frozen, no unknown keys; validated by pydantic only when read from a file
    or built from keyword arguments (planner.prices.records), so commands served by the cache never import it."""


class Rates(Strict):
    """USD per 1M tokens for one context band."""

    input: Money
    output: Money
    cached_input: Money | None = None
    cache_write: Money | None = None
    cache_write_1h: Money | None = None


class Tier(Rates):
    """Rates for a whole request once its input tokens exceed `above_input_tokens` (a cliff, not marginal)."""

    above_input_tokens: int = Field(gt=0, le=MAX_TOKENS, strict=True)


class PriceSet(Rates):
    tiers: list[Tier] = Field(default_factory=list)

    @after
    def _tiers_ascending(self) -> None:
        starts = [t.above_input_tokens for t in self.tiers]
        if starts != sorted(set(starts)):
            raise ValueError("tiers must be in strictly ascending order of above_input_tokens")

    def for_request(self, input_tokens: int) -> Rates:
        """The rates that apply to one request: the highest tier its input exceeds, else the base."""
        chosen: Rates = self
        for tier in self.tiers:
            if input_tokens > tier.above_input_tokens:
                chosen = tier
        return chosen

    def scaled(self, factor: Decimal) -> PriceSet:
        """Every price times `factor`: how a default batch discount is applied. Made of validated prices
        and a validated factor, so built without validating again (no schema is built for it)."""

        def scale(r: Rates) -> dict[str, Any]:
            return {k: (v * factor if isinstance(v := getattr(r, k), Decimal) else v) for k in Rates.model_fields}

        return PriceSet.model_construct(
            **scale(self),
            tiers=[Tier.model_construct(above_input_tokens=t.above_input_tokens, **scale(t)) for t in self.tiers],
        )

    def thresholds(self) -> list[int]:
        return [t.above_input_tokens for t in self.tiers]


class ImageRule(Strict):
    """How a vendor bills an image input; the arithmetic lives in planner.count.images.

    kind 'tile': fit in max_side, shortest side to short_side, base + tile_tokens per tile_size tile.
    kind 'patch': patch_size patches within patch_budget (and max_side), times multiplier.
    kind 'area': width*height / pixels_per_token after fitting in max_side (Anthropic).
    kind 'fixed': fixed tokens per tile_size tile, or base when both sides <= small_side (Gemini).
    """

    kind: Literal["tile", "patch", "area", "fixed"]
    base_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS, strict=True)
    tile_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS, strict=True)
    tile_size: int = Field(default=512, gt=0, le=MAX_PIXELS, strict=True)
    max_side: int | None = Field(default=None, gt=0, le=MAX_PIXELS, strict=True)
    short_side: int | None = Field(default=None, gt=0, le=MAX_PIXELS, strict=True)
    small_side: int | None = Field(default=None, gt=0, le=MAX_PIXELS, strict=True)
    patch_size: int = Field(default=32, gt=0, le=MAX_PIXELS, strict=True)
    patch_budget: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    multiplier: Fraction = Decimal(1)
    pixels_per_token: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    low_detail_tokens: int | None = Field(default=None, ge=0, le=MAX_TOKENS, strict=True)
    #: the size billed for an image whose size cannot be known offline (an http(s) URL, a file id)
    assumed_size: tuple[
        Annotated[int, Field(gt=0, le=MAX_PIXELS, strict=True)], Annotated[int, Field(gt=0, le=MAX_PIXELS, strict=True)]
    ] = (1024, 1024)
    # patch rule per `detail`: {detail: (max_side, patch_budget)} overriding the two fields above
    # (None = no limit); `auto` means `auto_detail`. Used by gpt-5.4+ (`original`, `low`).
    detail_limits: dict[str, tuple[
        Annotated[int, Field(gt=0, le=MAX_PIXELS, strict=True)] | None,
        Annotated[int, Field(gt=0, le=MAX_TOKENS, strict=True)] | None,
    ]] = Field(default_factory=dict)
    auto_detail: Literal["low", "high", "original"] = "high"
    source: str | None = None


class ToolRule(Strict):
    """Tokens that tool/function definitions add (openai-cookbook constants, or a vendor's fixed overhead)."""

    # per-definition constants: small, and some negative (the cookbook's enum_init is -3)
    func_init: int = Field(default=0, ge=-100, le=10_000, strict=True)
    prop_init: int = Field(default=0, ge=-100, le=10_000, strict=True)
    prop_key: int = Field(default=0, ge=-100, le=10_000, strict=True)
    enum_init: int = Field(default=0, ge=-100, le=10_000, strict=True)
    enum_item: int = Field(default=0, ge=-100, le=10_000, strict=True)
    func_end: int = Field(default=0, ge=-100, le=10_000, strict=True)
    system_prompt_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS, strict=True)
    # Anthropic's tool-use system prompt when tool_choice is `any`/`tool` (None = system_prompt_tokens)
    forced_system_prompt_tokens: int | None = Field(default=None, ge=0, le=MAX_TOKENS, strict=True)
    source: str | None = None


class ExactRule(Strict):
    """An offline reconstruction of a tokenizer the vendor does not publish (ctok for Claude), and the
    request framing around it, measured against real API usage. Used where the engine is installed;
    the tokenizer's approximation (encoding × factor, band) stays the fallback.

    `version` is the engine's version string (ctok routes "3.0" to its v3 family, "4.7" to v4.7, "4.8"
    to v4.8+); `by_model` overrides it for models that share this tokenizer entry but not its family.
    `turn_tokens` are added per change of speaker, `join_tokens` per extra text block or repeated
    speaker; with `turns_measured` false, multi-turn requests are counted but reported as approximate."""

    engine: Literal["ctok"]
    version: str = Field(pattern=r"^\d+(\.\d+)*$")
    by_model: dict[str, str] = Field(default_factory=dict)
    turn_tokens: int = Field(ge=0, le=10_000, strict=True)
    join_tokens: int = Field(ge=0, le=10_000, strict=True)
    turns_measured: bool = True
    #: relative margin added (rounded up) to the parts of a request the engine does not cover
    #: (tool definitions, images, documents, tool calls): never an undercount on what is measured
    uncovered_band: Fraction = Decimal("0.05")
    #: formatting allowance per tool_use / tool_result block (real usage: median ~+25 per pair)
    tool_block_tokens: int = Field(default=15, ge=0, le=10_000, strict=True)
    source: str | None = None

    def version_for(self, model_id: str) -> str:
        return self.by_model.get(model_id, self.version)


class Tokenizer(Strict):
    """How to count a model's tokens offline, and how far the count may be off."""

    encoding: Literal["o200k_base", "cl100k_base"]
    method: Literal["exact", "approximate"]
    factor: Fraction = Decimal(1)
    band: Fraction = Decimal(0)
    message_overhead: int = Field(default=3, ge=0, le=10_000, strict=True)
    name_overhead: int = Field(default=1, ge=-100, le=10_000, strict=True)  # -1 for gpt-3.5's cookbook rule
    reply_priming: int = Field(default=3, ge=0, le=10_000, strict=True)
    #: formatting tokens of a system prompt (None: the same as message_overhead)
    system_overhead: int | None = Field(default=None, ge=0, le=10_000, strict=True)
    #: how a chat request is billed: openai (the cookbook: role strings and per-message overheads),
    #: anthropic (as a Messages body: system apart, no role strings), gemini (contents' text only: no
    #: role strings; overheads as the table gives them)
    chat_format: Literal["openai", "anthropic", "gemini"] = "openai"
    images: ImageRule | None = None
    tools: ToolRule | None = None
    exact: ExactRule | None = None
    source: str | None = None

    @after
    def _exact_has_no_band(self) -> None:
        if self.method == "exact" and (self.factor != 1 or self.band != 0):
            raise ValueError("an exact tokenizer cannot have a calibration factor or band")


class RateLimits(Strict):
    """One usage tier's limits. Token limits are per minute; queue limits are what may wait in batch."""

    rpm: int | None = Field(default=None, ge=0, le=MAX_RATE, strict=True)
    tpm: int | None = Field(default=None, ge=0, le=MAX_RATE, strict=True)
    itpm: int | None = Field(default=None, ge=0, le=MAX_RATE, strict=True)
    otpm: int | None = Field(default=None, ge=0, le=MAX_RATE, strict=True)
    batch_queue_tokens: int | None = Field(default=None, ge=0, le=MAX_RATE, strict=True)
    batch_queue_requests: int | None = Field(default=None, ge=0, le=MAX_RATE, strict=True)
    batch_rpm: int | None = Field(default=None, ge=0, le=MAX_RATE, strict=True)


class ModelBatch(Strict):
    """A model's batch offer. Without explicit `prices`, the provider's default multiplier applies."""

    supported: bool = True
    reason: str | None = None
    prices: PriceSet | None = None
    endpoints: list[str] | None = None
    source: str | None = None

    @after
    def _unsupported_has_reason(self) -> None:
        if not self.supported and not self.reason:
            raise ValueError("a model without batch support needs a reason")


class PriceDisagreement(Strict):
    """Our price differs from genai-prices' on purpose: the vendor source that says otherwise."""

    source: str = Field(min_length=1)
    note: str = Field(min_length=1)


class TimeWindow(Strict):
    """Time-of-day pricing (DeepSeek): these rates apply to requests started in [start_utc, end_utc)."""

    start_utc: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end_utc: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    label: str
    prices: Rates
    source: str | None = None


class ModelEntry(Strict):
    """One model row. `match` lists every other name the vendor's API uses for it (dated snapshots,
    aliases, resource names); `ids_source` says which vendor page those names come from."""

    id: str = Field(min_length=1)
    name: str | None = None
    match: Rule | None = None
    ids_source: str | None = None
    tokenizer: str
    context_window: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    max_output: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    released: date | None = None
    retired: date | None = None
    deprecated: bool = False
    fine_tuned: bool = False
    realtime: PriceSet
    batch: ModelBatch = Field(default_factory=ModelBatch)
    rate_limits: dict[str, RateLimits] | None = None
    cache_min_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    time_of_day: list[TimeWindow] = Field(default_factory=list)
    price_disagreement: PriceDisagreement | None = None
    notes: str | None = None
    source: str = Field(min_length=1)
    verified: date

    @classmethod
    @before
    def _legacy_names(cls, data: Any) -> Any:
        """Tables written before match rules (and users' own tables) may still say `aliases` and
        `match_prefixes`: they become `equals` and `starts_with` clauses of `match`."""
        if not isinstance(data, dict) or not ("aliases" in data or "match_prefixes" in data):
            return data
        data = dict(data)
        rules: list[Any] = [data["match"]] if data.get("match") is not None else []
        rules += [{"equals": a} for a in data.pop("aliases", None) or []]
        rules += [{"starts_with": p} for p in data.pop("match_prefixes", None) or []]
        if rules:
            data["match"] = rules[0] if len(rules) == 1 else {"any_of": rules}
        return data

    @property
    def aliases(self) -> list[str]:
        """The exact other names of this model (the `equals` clauses of `match`)."""
        return equals_names(self.match) if self.match is not None else []

    def names(self) -> list[str]:
        return [self.id, *self.aliases]

    def is_named(self, name: str) -> bool:
        """Whether `name` is this model's id or one of its exact names (case-insensitive)."""
        lowered = name.lower()
        return lowered == self.id.lower() or any(lowered == a.lower() for a in self.aliases)


class Exclusion(Strict):
    """Models the vendor sells that this table leaves out on purpose, and why (printed by `check`)."""

    match: Rule
    reason: str = Field(min_length=1)


class BatchLimits(Strict):
    max_requests: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    max_bytes: int | None = Field(default=None, gt=0, le=MAX_RATE, strict=True)
    max_line_bytes: int | None = Field(default=None, gt=0, le=MAX_RATE, strict=True)
    min_requests: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    #: inputs summed over every request of one embeddings batch (OpenAI: 50,000)
    max_embedding_inputs: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    batches_per_hour: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    concurrent_batches: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)


class Turnaround(Strict):
    """Published turnaround figures, hours. `expiry_hours` None means the vendor never expires a job."""

    completion_window_hours: Decimal = Field(gt=0, le=MAX_HOURS, allow_inf_nan=False)
    expiry_hours: Decimal | None = Field(gt=0, le=MAX_HOURS, allow_inf_nan=False)
    p50_hours: Decimal = Field(ge=0, le=MAX_HOURS, allow_inf_nan=False)
    p90_hours: Decimal = Field(ge=0, le=MAX_HOURS, allow_inf_nan=False)
    source: str

    @after
    def _p50_first(self) -> None:
        if self.p90_hours < self.p50_hours:
            raise ValueError("p90_hours must not be below p50_hours")


class CacheRules(Strict):
    """Prompt caching: the shortest cacheable prefix, and whether cached reads also get the batch discount."""

    min_tokens: int = Field(gt=0, le=MAX_TOKENS, strict=True)
    stacks_with_batch: bool = True
    source: str | None = None


class ProviderBatch(Strict):
    supported: bool
    reason: str | None = None
    default_multiplier: Fraction | None = None
    multiplier_source: str | None = None
    stacks_with_cache: bool | None = None
    format: str | None = None
    endpoints: list[str] = Field(default_factory=list)
    one_model_per_file: bool = True
    limits: BatchLimits = Field(default_factory=BatchLimits)
    turnaround: Turnaround | None = None
    expired_requests_billed: bool = False
    fine_tuned_supported: bool = True
    fine_tuned_source: str | None = None
    source: str | None = None


class PriceTable(Strict):
    """One provider's prices, limits and support lists as in force from `version` on."""

    schema_version: Literal[1] = 1
    provider: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    name: str
    version: date
    verified: date
    currency: Literal["USD"] = "USD"
    priority: int = Field(default=100, ge=-1_000_000, le=1_000_000, strict=True)
    sources: list[str] = Field(min_length=1)
    generated_by: str | None = None
    notes: str | None = None
    batch: ProviderBatch
    default_tier: str | None = None
    rate_limits: dict[str, RateLimits] = Field(default_factory=dict)
    rate_limits_source: str | None = None
    cache: CacheRules | None = None
    tokenizers: dict[str, Tokenizer]
    #: The names this vendor's own API uses (an origin vendor's `claude-…`, a host's resource names):
    #: a bare name goes to the first table by priority whose `model_match` accepts it.
    model_match: Rule | None = None
    #: Regexes for resource-name wrappers the API accepts around an id (`models/`, `publishers/…/models/`,
    #: Bedrock ARNs), removed before the rows are searched.
    id_wrappers: list[str] = Field(default_factory=list)
    #: A host that resells another vendor's models: names it has no row for are priced from that
    #: provider's table (one step, never chained), and say so.
    fallback_provider: str | None = None
    excluded: list[Exclusion] = Field(default_factory=list)
    models: list[ModelEntry]

    @after
    def _consistent(self) -> None:
        seen: dict[str, str] = {}
        for m in self.models:
            if m.tokenizer not in self.tokenizers:
                raise ValueError(f"model '{m.id}': tokenizer '{m.tokenizer}' is not defined in tokenizers")
            for name in m.names():
                key = name.lower()
                if key in seen and seen[key] != m.id:
                    raise ValueError(f"model '{m.id}': name '{name}' is also used by model '{seen[key]}'")
                seen[key] = m.id
            if m.retired and m.released and m.retired < m.released:
                raise ValueError(f"model '{m.id}': retired before it was released")
            if m.verified > self.verified:
                raise ValueError(f"model '{m.id}': verified after the table itself was verified")
        if self.default_tier and self.default_tier not in self.rate_limits:
            raise ValueError(f"default_tier '{self.default_tier}' is not in rate_limits")
        for pattern in self.id_wrappers:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"id_wrappers: '{pattern}' is not a valid regular expression: {exc}") from None

    #: set on tables that hold the user's own entries (`--prices`, the config): how every output names them
    __slots__ = ("_user_label",)

    @property
    def label(self) -> str:
        """`openai@2026-11-17` for a shipped table; with the user's file in it when the user's table is
        this table (`acme@2026-01-01 (your table mine.yaml)`) or is layered over it (`… + your table …`)."""
        return getattr(self, "_user_label", None) or f"{self.provider}@{self.version.isoformat()}"

    @property
    def is_users(self) -> bool:
        """Whether any entry of this table comes from the user's own files."""
        return getattr(self, "_user_label", None) is not None

    def batch_prices(self, model: ModelEntry) -> tuple[PriceSet | None, str]:
        """The batch prices for a model and where they come from: 'explicit', 'default multiplier', or why none."""
        if not self.batch.supported:
            return None, self.batch.reason or f"{self.name} has no batch API"
        if not model.batch.supported:
            return None, model.batch.reason or "not supported"
        if model.batch.prices is not None:
            return model.batch.prices, "explicit"
        if self.batch.default_multiplier is not None:
            return model.realtime.scaled(self.batch.default_multiplier), "default multiplier"
        return None, "no batch price published"


def _overlap(models: list[ModelEntry]) -> str | None:
    """genai-prices' ambiguity check: no model's id or literal name may be accepted by another's rule."""
    for m in models:
        own = [m.id, *(literals(m.match) if m.match is not None else ())]
        for other in models:
            if other is m or other.match is None:
                continue
            for name in own:
                if matches(other.match, name) and not other.is_named(name):
                    return f"model '{m.id}': its name '{name}' is also matched by model '{other.id}''s rule"
    return None


class TableHead(Strict):
    """What resolution needs of a table before reading its rows: who it is, its grammar, its priority."""

    provider: str
    name: str
    version: date
    priority: int = 100
    model_match: Rule | None = None
    fallback_provider: str | None = None

    @classmethod
    def of(cls, table: PriceTable) -> TableHead:
        """The head of a validated table (so not validated again)."""
        return cls.model_construct(provider=table.provider, name=table.name, version=table.version,
                                   priority=table.priority, model_match=table.model_match,
                                   fallback_provider=table.fallback_provider)


def semantic_problems(table: PriceTable) -> list[str]:
    """Checks beyond the schema: no two rows answer to one name; batch not dearer than realtime unless
    a note says the source says so. (Run when a table file is read, not on every cached load.)"""
    problems: list[str] = []
    overlap = _overlap(table.models)
    if overlap:
        problems.append(overlap)
    for m in table.models:
        bp, basis = table.batch_prices(m)
        if bp is None or basis != "explicit":
            continue
        for key in ("input", "output", "cached_input", "cache_write", "cache_write_1h"):
            rt, bt = getattr(m.realtime, key), getattr(bp, key)
            if rt is not None and bt is not None and bt > rt and not (m.batch.source and "above" in m.batch.source):
                problems.append(f"model '{m.id}': batch {key} {bt} is above realtime {rt}")
    return problems


# ---------------------------------------------------------------------------------------------
# Loading


def _yaml_error(path: Path, exc: yaml.YAMLError) -> PricingError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return PricingError(f"not valid YAML: {problem}", path=path, line=mark.line + 1 if mark else None)


def _validation_error(path: Path, raw: Any, exc: ValidationError) -> PricingError:
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
        try:
            where = f"model '{raw['models'][loc[1]]['id']}': "
        except (KeyError, IndexError, TypeError):
            where = f"models[{loc[1]}]: "
        loc = loc[2:]
    field_path = ".".join(str(p) for p in loc)
    msg = err["msg"].removeprefix("Value error, ")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return PricingError(f"{where}{field_path + ': ' if field_path else ''}{msg}{more}", path=path)


def _table_bytes(path: Path) -> bytes:
    """The file's bytes, reading at most MAX_TABLE_BYTES (a table is tens of KB; `/dev/zero` is not one)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_TABLE_BYTES + 1)
    if len(data) > MAX_TABLE_BYTES:
        raise PricingError(f"over {MAX_TABLE_BYTES // (1024 * 1024)} MiB: not a price table", path=path)
    return data


def read_table(path: Path) -> PriceTable:
    """Parse and validate one table file with a safe YAML loader; errors name file, model and field.

    A file read before is loaded from the compiled-table cache (planner.prices.tablecache), keyed by the
    hash of its bytes and of this schema: the same validated table, without the YAML parse."""
    from planner.prices import tablecache

    try:
        data = _table_bytes(path)
    except FileNotFoundError:
        raise PricingError("no such price table", path=path) from None
    except IsADirectoryError:
        raise PricingError("is a directory, not a price table", path=path) from None
    except PermissionError:
        raise PricingError("permission denied", path=path) from None
    except OSError as exc:
        raise PricingError(f"cannot read: {exc.strerror or exc}", path=path) from None
    key = tablecache.key(data)
    cached = tablecache.load(key)
    if cached is not None:
        _check_file_name(path, cached)
        return cached
    table = _parse_table(path, data)
    tablecache.store(key, table)
    return table


def read_head(path: Path) -> TableHead:
    """The head of one table file (planner.prices.tablecache keeps it apart, so a lookup reads one table)."""
    from planner.prices import tablecache

    try:
        key = tablecache.key(_table_bytes(path))
    except (OSError, PricingError):
        return TableHead.of(read_table(path))  # the same one-line error as reading it
    head = tablecache.load_head(key)
    if head is not None:
        return head
    head = TableHead.of(read_table(path))
    tablecache.store_head(key, head)
    return head


class LazyTables(Mapping[str, "PriceTable"]):
    """The tables of a PriceBook, read when first asked for: `check MODEL` reads the heads (grammar,
    priority) of every table in force and the rows of the one table the name belongs to."""

    def __init__(self) -> None:
        self._paths: dict[str, Path] = {}
        self._heads: dict[str, TableHead] = {}
        self._loaded: dict[str, PriceTable] = {}

    def add_file(self, provider: str, path: Path) -> None:
        self._paths[provider] = path
        self._heads[provider] = read_head(path)
        self._loaded.pop(provider, None)

    def put(self, table: PriceTable) -> None:
        self._loaded[table.provider] = table
        self._heads[table.provider] = TableHead.of(table)

    def head(self, provider: str) -> TableHead:
        return self._heads[provider]

    def heads(self) -> list[TableHead]:
        return sorted(self._heads.values(), key=lambda h: (h.priority, h.provider))

    def __getitem__(self, provider: str) -> PriceTable:
        if provider not in self._loaded:
            if provider not in self._paths:
                raise KeyError(provider)
            self._loaded[provider] = read_table(self._paths[provider])
        return self._loaded[provider]

    def __contains__(self, provider: object) -> bool:
        return provider in self._heads

    def __iter__(self) -> Iterator[str]:
        return iter(self._heads)

    def __len__(self) -> int:
        return len(self._heads)


def _check_file_name(path: Path, table: PriceTable) -> None:
    match = VERSION_FILE.match(path.name)
    if match and match.group(1) != table.version.isoformat():
        raise PricingError(f"file name says {match.group(1)} but version is {table.version}", path=path)


def _parse_table(path: Path, data: bytes) -> PriceTable:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PricingError("not UTF-8 text", path=path) from None
    except OSError as exc:
        raise PricingError(f"cannot read: {exc.strerror or exc}", path=path) from None
    import yaml

    from planner.io.safeyaml import load_yaml

    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if not isinstance(raw, dict):
        raise PricingError("a price table must be a YAML mapping", path=path)
    from pydantic import ValidationError

    try:
        table = PriceTable.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(path, raw, exc) from None
    except RecursionError:
        raise PricingError("nested too deeply", path=path) from None
    _check_file_name(path, table)
    problems = semantic_problems(table)
    if problems:
        raise PricingError(problems[0], path=path)
    return table


@dataclass(frozen=True)
class ResolvedModel:
    """A name resolved to one row of one table. `matched_by` says how (`id`, `alias`, a rule clause,
    `fallback from …`), `notes` what the user should know about it (printed by `check`)."""

    table: PriceTable
    model: ModelEntry
    requested: str
    matched_by: str = "id"
    notes: tuple[str, ...] = ()

    @property
    def tokenizer(self) -> Tokenizer:
        return self.table.tokenizers[self.model.tokenizer]

    @property
    def label(self) -> str:
        return f"{self.table.provider}/{self.model.id}"


@dataclass
class PriceBook:
    """The tables in force on one date, plus any the user layered on top; resolves model names.

    `grammars` holds the `model_match` of providers that have no table in force on `as_of`, so that
    a name in their grammar fails with *their* missing-table message, not another provider's.
    """

    as_of: date
    tables: Mapping[str, PriceTable]
    missing: dict[str, str] = field(default_factory=dict)
    grammars: dict[str, Any] = field(default_factory=dict)
    _suggesting: bool = field(default=False, init=False, repr=False)

    def providers(self) -> Iterator[PriceTable]:
        """Every table, by priority (reads them all)."""
        for head in self._heads():
            yield self.tables[head.provider]

    def _heads(self) -> list[TableHead]:
        if isinstance(self.tables, LazyTables):
            return self.tables.heads()
        return sorted((TableHead.of(t) for t in self.tables.values()), key=lambda h: (h.priority, h.provider))

    def known_names(self) -> list[str]:
        return [n for t in self.providers() for m in t.models for n in m.names()]

    def resolve(self, name: str, provider: str | None = None, *, ft_base: bool = False) -> ResolvedModel:
        """Find the row that serves `name`, by the vendor's own id grammar.

        Order: a `provider/model` pin (or `provider=`); else the first table by priority whose
        `model_match` accepts the name (origin vendors such as `claude-…`, hosts' own grammars such as
        Bedrock ids and Vertex resource names); else a name that exactly one table lists. Inside a
        table: exact id or name, then the rows' match rules, then one `fallback_provider` step.
        With `ft_base`, a fine-tuned name no table lists (`ft:gpt-4.1-mini:org::id`) resolves to its
        base model (for eligibility checks; its prices are the base model's).

        Raises UnknownModelError (naming the provider searched), AmbiguousModelError, or PricingError
        when the provider has no table in force on `as_of`.

        >>> load_pricebook(date(2026, 11, 20)).resolve("claude-sonnet-4-5-20250929").label
        'anthropic/claude-sonnet-4-5'
        """
        try:
            return self._resolve(name, provider)
        except UnknownModelError:
            if ft_base and name.strip().lower().startswith("ft:"):
                base = name.strip()[3:].split(":", 1)[0]
                found = self._resolve(base, provider)
                return ResolvedModel(found.table, found.model, name, f"fine-tuned from {base}", found.notes)
            raise

    # -- resolution ------------------------------------------------------------------------------

    def _resolve(self, name: str, provider: str | None = None) -> ResolvedModel:
        wanted = name.strip()
        if not wanted:
            raise UnknownModelError(name, [], as_of=self.as_of.isoformat())
        if provider is not None:
            return self._in_provider(provider, wanted, name)
        head, sep, rest = wanted.partition("/")
        if sep and (head in self.tables or head in self.missing):
            try:
                return self._in_provider(head, rest, name)
            except UnknownModelError:
                listed = self._listed(wanted)  # e.g. Groq's row `openai/gpt-oss-120b`
                if not listed:
                    raise
                return self._one_of(listed, wanted, name)
        accepting = [
            self.tables[h.provider]
            for h in self._heads()
            if h.model_match is not None and matches(h.model_match, wanted)
        ]
        missing = [p for p, rule in self.grammars.items() if matches(rule, wanted)]
        if accepting:
            errors: list[UnknownModelError] = []
            found: list[ResolvedModel] = []
            for table in accepting:
                try:
                    found.append(self._in_table(table, wanted, name))
                except UnknownModelError as exc:
                    errors.append(exc)
            if len(found) == 1:
                return found[0]
            if found:
                raise AmbiguousModelError(name, [f.label for f in found], as_of=self.as_of.isoformat())
            first = errors[0]
            listed = [r for r in self._listed(wanted) if r.table.provider not in {t.provider for t in accepting}]
            if listed:
                pins = ", ".join(f"{r.table.provider}/{r.model.id}" for r in listed)
                raise UnknownModelError(
                    name, first.suggestions, as_of=self.as_of.isoformat(), provider=first.provider,
                    why=f"not in {first.provider}'s table, though {pins} lists it: pin it to use that row",
                )
            raise first
        if missing:
            raise PricingError(self.missing[missing[0]])
        listed = self._listed(wanted)
        if listed:
            return self._one_of(listed, wanted, name)
        ruled = self._ruled(wanted, name)
        if ruled is not None:
            return ruled
        pool = [t for t in self.providers()]
        if not pool and self.missing:
            raise PricingError(next(iter(self.missing.values())))
        raise UnknownModelError(name, self._suggest(wanted, pool), as_of=self.as_of.isoformat())

    def _in_provider(self, provider: str, wanted: str, requested: str) -> ResolvedModel:
        if provider not in self.tables:
            if provider in self.missing:
                raise PricingError(self.missing[provider])
            close = difflib.get_close_matches(provider, list(self.tables), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise PricingError(f"unknown provider '{provider}'{hint}; known: {', '.join(sorted(self.tables))}")
        return self._in_table(self.tables[provider], wanted, requested)

    def _listed(self, wanted: str) -> list[ResolvedModel]:
        """Rows in any table whose id or exact name is `wanted` (hosts deferring to their origin)."""
        out = [
            ResolvedModel(t, m, wanted, "id" if m.id.lower() == wanted.lower() else "alias")
            for t in self.providers()
            for m in t.models
            if m.is_named(_unwrap(t, wanted))
        ]
        providers = {r.table.provider for r in out}
        return [r for r in out if r.table.fallback_provider not in providers]

    def _ruled(self, wanted: str, requested: str) -> ResolvedModel | None:
        """A name no grammar claims and no table lists exactly, accepted by the rules of one table's rows
        (e.g. a user's table with `starts_with` prefixes); rows of several tables are ambiguous."""
        found: list[ResolvedModel] = []
        for table in self.providers():
            bare = _unwrap(table, wanted)
            hits = [(m, accepting_clause(m.match, bare)) for m in table.models if m.match is not None]
            if any(c is not None for _, c in hits):
                found.append(self._in_table(table, wanted, requested, fallback=False))
        if len(found) > 1:
            raise AmbiguousModelError(requested, [f.label for f in found], as_of=self.as_of.isoformat())
        return found[0] if found else None

    def _one_of(self, listed: list[ResolvedModel], wanted: str, requested: str) -> ResolvedModel:
        if len(listed) > 1:
            raise AmbiguousModelError(requested, [f"{r.table.provider}/{r.model.id}" for r in listed],
                                      as_of=self.as_of.isoformat())
        r = listed[0]
        return ResolvedModel(r.table, r.model, requested, r.matched_by, r.notes)

    def _in_table(self, table: PriceTable, wanted: str, requested: str, *, fallback: bool = True) -> ResolvedModel:
        bare = _unwrap(table, wanted)
        for m in table.models:
            if m.id.lower() == bare.lower():
                return ResolvedModel(table, m, requested, "id")
        for m in table.models:
            if m.is_named(bare):
                return ResolvedModel(table, m, requested, "alias")
        hits = [(m, accepting_clause(m.match, bare)) for m in table.models if m.match is not None]
        hits = [(m, c) for m, c in hits if c is not None]
        if hits:
            best = _most_specific(hits)
            if best is None:
                ids = ", ".join(f"{table.provider}/{m.id}" for m, _ in hits)
                raise AmbiguousModelError(requested, ids.split(", "), as_of=self.as_of.isoformat())
            m, clause = best
            note = (f"'{requested}' is not a listed id; it resolves to {table.provider}/{m.id}, "
                    f"whose rule {describe(clause)}")
            return ResolvedModel(table, m, requested, describe(clause), (note,))
        if fallback and table.fallback_provider and table.fallback_provider in self.tables:
            origin = self.tables[table.fallback_provider]
            try:
                found = self._in_table(origin, bare, requested, fallback=False)
            except UnknownModelError:
                pass
            else:
                note = (f"{table.name}'s table has no row for '{bare}': priced and checked with "
                        f"{origin.label}'s row {found.model.id} (fallback); {table.name}'s own terms may differ")
                return ResolvedModel(found.table, found.model, requested, f"fallback from {table.provider}",
                                     (*found.notes, note))
        for ex in table.excluded:
            if matches(ex.match, bare):
                raise UnknownModelError(requested, [], as_of=self.as_of.isoformat(), provider=table.provider,
                                        why=f"left out of {table.label} on purpose: {ex.reason}")
        raise UnknownModelError(requested, self._suggest(bare, [table]), as_of=self.as_of.isoformat(),
                                provider=table.provider)

    def _suggest(self, wanted: str, tables: list[PriceTable]) -> list[str]:
        """Up to three distinct nearest names, each written so that it resolves to the row meant."""
        if self._suggesting:
            return []
        self._suggesting = True
        try:
            return self._nearest(wanted, tables)
        finally:
            self._suggesting = False

    def _nearest(self, wanted: str, tables: list[PriceTable]) -> list[str]:
        pool: dict[str, tuple[PriceTable, ModelEntry]] = {}
        for t in tables:
            for m in t.models:
                for n in m.names():
                    pool.setdefault(n.lower(), (t, m))
        out: list[str] = []
        for close in difflib.get_close_matches(wanted.lower(), list(pool), n=8, cutoff=0.5):
            t, m = pool[close]
            for spelling in (m.id, f"{t.provider}/{m.id}"):
                try:
                    r = self._resolve(spelling)
                except (UnknownModelError, AmbiguousModelError, PricingError):
                    continue
                if r.table.provider == t.provider and r.model.id == m.id:
                    if spelling not in out:
                        out.append(spelling)
                    break
            if len(out) == 3:
                break
        return out


def _unwrap(table: PriceTable, name: str) -> str:
    """`name` without the resource-name wrapper this table's API accepts around an id."""
    for pattern in table.id_wrappers:
        stripped = re.sub(pattern, "", name, count=1, flags=re.IGNORECASE)
        if stripped != name and stripped:
            return stripped
    return name


def _most_specific(hits: list[tuple[ModelEntry, Any]]) -> tuple[ModelEntry, Any] | None:
    """Among rows whose rules accept a name, the one whose accepting literal is longest (tiktoken's
    longest-prefix rule, inside one table only); None when two are equally specific."""
    if len(hits) == 1:
        return hits[0]

    def weight(clause: Any) -> int:
        return max((len(x) for x in literals(clause)), default=0)

    ranked = sorted(hits, key=lambda h: weight(h[1]), reverse=True)
    if weight(ranked[0][1]) == weight(ranked[1][1]):
        return None
    return ranked[0]


def _pick(versions: list[TableVersion], as_of: date) -> TableVersion | None:
    in_force = [v for v in versions if v.version <= as_of]
    return in_force[-1] if in_force else None


def load_pricebook(
    as_of: date | None = None,
    *,
    root: Path | None = None,
    user_tables: Iterable[Path] = (),
) -> PriceBook:
    """The tables in force on `as_of` (default today). User tables replace or extend shipped models."""
    as_of = as_of or today()
    tables = LazyTables()
    missing: dict[str, str] = {}
    grammars: dict[str, Any] = {}
    for provider, versions in list_versions(root).items():
        chosen = _pick(versions, as_of)
        if chosen is None:
            missing[provider] = (
                f"no {provider} price table in force on {as_of}: "
                f"the earliest version starts {versions[0].version}"
            )
            earliest = read_head(versions[0].path)
            if earliest.model_match is not None:
                grammars[provider] = earliest.model_match
            continue
        tables.add_file(provider, chosen.path)
    if root is None:
        from planner.store.config import configured_price_tables

        user_tables = [*configured_price_tables(), *user_tables]
    for path in user_tables:
        overlay = read_table(path)
        if overlay.version > as_of:
            raise PricingError(f"this table takes effect on {overlay.version}, after {as_of}", path=path)
        tables.put(merge_tables(tables.get(overlay.provider), overlay, source=str(path)))
        missing.pop(overlay.provider, None)
        grammars.pop(overlay.provider, None)
    return PriceBook(as_of=as_of, tables=tables, missing=missing, grammars=grammars)


def merge_tables(base: PriceTable | None, overlay: PriceTable, *, source: str | None = None) -> PriceTable:
    """Layer a user's table over a shipped one, applying every field the user set: models by id are
    replaced and new ones added, tokenizers by name, sources added, and the table's own settings (batch
    offer, `batch.limits`, `batch.turnaround`, `rate_limits` tiers, `default_tier`, cache rules, …)
    merged field by field over the shipped ones. The result is labelled as the user's (`source`, their
    file) in every output that names the table."""
    mine = source or overlay.label
    if base is None:
        table = overlay.model_copy()
        table._user_label = f"{overlay.label} (your table {mine})"
        return table
    models = {m.id: m for m in base.models}
    models.update({m.id: m for m in overlay.models})
    for name, tok in overlay.tokenizers.items():
        users = [m.id for m in models.values() if m.tokenizer == name and m.id not in {o.id for o in overlay.models}]
        if name in base.tokenizers and base.tokenizers[name] != tok and users:
            raise PricingError(
                f"tokenizer '{name}' differs from the shipped {base.label} one that {len(users)} model(s) count "
                f"with (e.g. {users[0]}); give yours another name so that only your models use it", path=mine)
    data = _deep_merge(base.model_dump(), overlay.model_dump(exclude_unset=True))
    if "model_match" in overlay.model_fields_set:  # a rule is one thing: replaced, never merged clause by clause
        data["model_match"] = overlay.model_dump()["model_match"]
    data.update(
        version=base.version,
        verified=max(base.verified, overlay.verified),
        models=[m.model_dump() for m in models.values()],
        tokenizers={**base.model_dump()["tokenizers"], **overlay.model_dump()["tokenizers"]},
        sources=list(dict.fromkeys([*base.sources, *overlay.sources])),
        generated_by=f"{base.label} + user table {mine}",
    )
    from pydantic import ValidationError

    try:
        table = PriceTable.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(Path(mine), data, exc) from None
    problems = semantic_problems(table)
    if problems:
        raise PricingError(f"{problems[0]} (after layering it over {base.label})", path=mine)
    table._user_label = f"{base.label} + your table {mine}"
    return table


def _deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` over `base`: mappings merged key by key, anything else (lists, values) replaced."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
