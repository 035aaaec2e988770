"""The price tables' schema: pydantic models, frozen, that refuse keys they do not know.

A table file is YAML checked against these models (planner.prices.pricing reads the files): a price is a
Decimal written as a string or an integer (a YAML float has already lost its exact value), every number
has bounds, and the rules that span fields (tiers ascending, an exact tokenizer has no band, a model
without batch support says why, names unique in a table) are model validators, so a bad table fails
with pydantic's location of the problem and the file is never half-read.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from planner.prices.matching import Rule, equals_names

SCHEMA_VERSION = 1
#: Bounds of the schema's numbers. Tokens of one request (context windows, outputs, tier thresholds, fixed
#: overheads); image sides in pixels; rate and queue limits; published hours (a year at most).
MAX_TOKENS = 10**9
MAX_PIXELS = 100_000
MAX_RATE = 10**15
MAX_HOURS = 8784


def _money(value: Any) -> Any:
    """Prices must be written as strings or integers: a YAML float has already lost its exact value."""
    if isinstance(value, float):
        raise ValueError(f"write the price {value!r} as a quoted string (e.g. \"{value}\") to keep it exact")
    if isinstance(value, bool):
        raise ValueError("a price cannot be a boolean")
    return value


Money = Annotated[Decimal, BeforeValidator(_money), Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Fraction = Annotated[Decimal, BeforeValidator(_money), Field(ge=0, le=10, allow_inf_nan=False)]


class Strict(BaseModel):
    """A class of the schema: frozen, and a key it does not know is an error (a misspelled field fails
    to load instead of being ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

    @model_validator(mode="after")
    def _tiers_ascending(self) -> Self:
        starts = [t.above_input_tokens for t in self.tiers]
        if starts != sorted(set(starts)):
            raise ValueError("tiers must be in strictly ascending order of above_input_tokens")
        return self

    def for_request(self, input_tokens: int) -> Rates:
        """The rates that apply to one request: the highest tier its input exceeds, else the base."""
        chosen: Rates = self
        for tier in self.tiers:
            if input_tokens > tier.above_input_tokens:
                chosen = tier
        return chosen

    def scaled(self, factor: Decimal) -> PriceSet:
        """Every price times `factor`: how a default batch discount is applied."""

        def scale(r: Rates) -> dict[str, Any]:
            return {k: (v * factor if isinstance(v := getattr(r, k), Decimal) else v) for k in Rates.model_fields}

        tiers = [Tier(above_input_tokens=t.above_input_tokens, **scale(t)) for t in self.tiers]
        return PriceSet(**scale(self), tiers=tiers)

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
    #: tokens a chat template adds once per request (BOS, a fixed system preamble such as Llama 3.1's dates)
    request_overhead: int = Field(default=0, ge=0, le=10_000, strict=True)
    #: tokens a chat template adds when the request has no system message (Qwen 2.5's default system prompt)
    no_system_overhead: int = Field(default=0, ge=0, le=10_000, strict=True)
    #: how a chat request is billed: openai (the cookbook: role strings and per-message overheads),
    #: anthropic (as a Messages body: system apart, no role strings), gemini (contents' text only: no
    #: role strings; overheads as the table gives them), template (an open model's chat template: each
    #: message's header tokens, role included, in the overheads; system messages by `system_overhead`)
    chat_format: Literal["openai", "anthropic", "gemini", "template"] = "openai"
    images: ImageRule | None = None
    tools: ToolRule | None = None
    exact: ExactRule | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _exact_has_no_band(self) -> Self:
        if self.method == "exact" and (self.factor != 1 or self.band != 0):
            raise ValueError("an exact tokenizer cannot have a calibration factor or band")
        return self


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

    @model_validator(mode="after")
    def _unsupported_has_reason(self) -> Self:
        if not self.supported and not self.reason:
            raise ValueError("a model without batch support needs a reason")
        return self


#: The synchronous processing modes a table may offer beside standard (the `realtime` prices) and batch.
ModeName = Literal["flex", "priority"]
#: Every processing mode, in the order every output lists them: cheapest-and-slowest last is not a rule,
#: the vendors' own order is (standard, then the discounted synchronous tier, the premium one, batch).
MODES: tuple[str, ...] = ("standard", "flex", "priority", "batch")


class ModeTerms(Strict):
    """A provider's terms for one synchronous processing mode beside standard (flex, priority).

    A mode is the normal API with a request field (`service_tier: "flex"`, `speed: "fast"`) at other
    prices. `listed_only` (the default) means only models whose row has an entry for the mode offer it;
    otherwise every model does, at its explicit prices or the `default_multiplier` of standard (a price
    derived from the vendor's stated discount or premium, and labelled so). `sheddable` modes may refuse
    requests at peak (they must be retried); the latency figures are the vendor's stated targets per
    request, never measurements of ours."""

    supported: bool = True
    reason: str | None = None
    #: the vendor's own name of the mode ("Flex processing", "fast mode")
    label: str | None = None
    #: how a request asks for it, as written in the request body
    request_field: str | None = None
    listed_only: bool = True
    default_multiplier: Fraction | None = None
    multiplier_source: str | None = None
    sheddable: bool = False
    #: what a refused request looks like ("HTTP 429 resource unavailable")
    refusal: str | None = None
    #: the mode's rate limits relative to the tier's standard ones (Groq's flex: higher)
    rate_limit_multiplier: Annotated[Decimal, BeforeValidator(_money), Field(gt=0, le=1000, allow_inf_nan=False)] = (
        Decimal(1))
    #: the vendor's stated target time per request, seconds (None: the standard latency applies)
    latency_p50_s: Decimal | None = Field(default=None, gt=0, le=MAX_HOURS * 3600, allow_inf_nan=False)
    latency_p90_s: Decimal | None = Field(default=None, gt=0, le=MAX_HOURS * 3600, allow_inf_nan=False)
    #: output tokens per second relative to standard (a premium mode's stated speed-up)
    output_speedup: Decimal | None = Field(default=None, gt=0, le=100, allow_inf_nan=False)
    latency_source: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.supported and not self.reason:
            raise ValueError("a mode that is not supported needs a reason")
        p50, p90 = self.latency_p50_s, self.latency_p90_s
        if p50 is not None and p90 is not None and p90 < p50:
            raise ValueError("latency_p90_s must not be below latency_p50_s")
        if (self.latency_p50_s or self.latency_p90_s or self.output_speedup) and not self.latency_source:
            raise ValueError("latency figures need a latency_source")
        if self.default_multiplier is not None and not self.multiplier_source:
            raise ValueError("a default_multiplier needs a multiplier_source")
        return self


class ModelMode(Strict):
    """One model's offer of a mode: its own prices (explicit), or the provider's multiplier; or why not."""

    supported: bool = True
    reason: str | None = None
    prices: PriceSet | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _unsupported_has_reason(self) -> Self:
        if not self.supported and not self.reason:
            raise ValueError("a model without this mode needs a reason")
        return self


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
    #: the synchronous modes beside standard this model offers (see ModeTerms); batch is `batch`
    modes: dict[ModeName, ModelMode] = Field(default_factory=dict)
    rate_limits: dict[str, RateLimits] | None = None
    cache_min_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS, strict=True)
    time_of_day: list[TimeWindow] = Field(default_factory=list)
    price_disagreement: PriceDisagreement | None = None
    notes: str | None = None
    source: str = Field(min_length=1)
    verified: date

    @model_validator(mode="before")
    @classmethod
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

    @model_validator(mode="after")
    def _p50_first(self) -> Self:
        if self.p90_hours < self.p50_hours:
            raise ValueError("p90_hours must not be below p50_hours")
        return self


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
    #: the provider's terms for flex and priority (a mode absent here is not offered by the vendor)
    modes: dict[ModeName, ModeTerms] = Field(default_factory=dict)
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

    @model_validator(mode="after")
    def _consistent(self) -> Self:
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
            for mode in m.modes:
                if mode not in self.modes:
                    raise ValueError(f"model '{m.id}': modes.{mode} is given, but the table has no {mode} terms")
        if self.default_tier and self.default_tier not in self.rate_limits:
            raise ValueError(f"default_tier '{self.default_tier}' is not in rate_limits")
        for pattern in self.id_wrappers:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"id_wrappers: '{pattern}' is not a valid regular expression: {exc}") from None
        return self

    #: set on tables that hold the user's own entries (`--prices`, the config): how every output names them
    _user_label: str | None = PrivateAttr(default=None)

    @property
    def label(self) -> str:
        """`openai@2026-11-17` for a shipped table; with the user's file in it when the user's table is
        this table (`acme@2026-01-01 (your table mine.yaml)`) or is layered over it (`… + your table …`)."""
        return self._user_label or f"{self.provider}@{self.version.isoformat()}"

    @property
    def is_users(self) -> bool:
        """Whether any entry of this table comes from the user's own files."""
        return self._user_label is not None

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

    def mode_prices(self, model: ModelEntry, mode: str) -> tuple[PriceSet | None, str]:
        """The prices of `model` in `mode` and their basis, or None and why the model has no such mode.

        standard is the `realtime` row; batch is `batch_prices`; flex and priority come from the model's
        own entry ('explicit') or the provider's stated multiplier ('derived: …'), and only where the
        provider offers the mode (a `listed_only` mode only for the models listing it)."""
        if mode == "standard":
            return model.realtime, "explicit"
        if mode == "batch":
            return self.batch_prices(model)
        terms = self.modes.get(mode)  # type: ignore[call-overload]
        name = f"{self.name} {mode}"
        if terms is None:
            return None, f"{self.name} offers no {mode} mode in this table"
        if not terms.supported:
            return None, terms.reason or f"{name} is not offered"
        offer = model.modes.get(mode)  # type: ignore[call-overload]
        if offer is not None and not offer.supported:
            return None, offer.reason or f"not offered in {name}"
        if offer is not None and offer.prices is not None:
            return offer.prices, "explicit"
        if offer is None and terms.listed_only:
            return None, f"not in the {name} list"
        if terms.default_multiplier is not None:
            pct = (terms.default_multiplier - 1) * 100
            how = f"{abs(pct):.0f}% {'off' if pct < 0 else 'over'} standard" if pct else "the standard price"
            return model.realtime.scaled(terms.default_multiplier), f"derived: {how}"
        return None, f"no {mode} price published"
