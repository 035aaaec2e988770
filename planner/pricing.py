"""Versioned price tables: one Pydantic schema, loaded from YAML by date, with user tables layered on top.

Prices are data. Each provider has a folder under `pricing/` holding one file per version, named by
the date it takes effect (`pricing/openai/2026-10-14.yaml`). `--as-of DATE` picks, per provider, the
newest version whose date is on or before DATE. Every model entry carries its source and the date it
was verified, so every number the tool prints can be traced back to a page.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from planner.errors import PricingError, UnknownModelError

SCHEMA_VERSION = 1
# libyaml's safe loader when PyYAML was built with it (about 10x faster), else the pure-Python one.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
VERSION_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.ya?ml$")


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

    above_input_tokens: int = Field(gt=0)


class PriceSet(Rates):
    tiers: list[Tier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tiers_ascending(self) -> PriceSet:
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
            return {
                k: (v * factor if isinstance(v, Decimal) else v)
                for k, v in r.model_dump(exclude={"tiers", "above_input_tokens"}).items()
            }

        return PriceSet(
            **scale(self),
            tiers=[Tier(above_input_tokens=t.above_input_tokens, **scale(t)) for t in self.tiers],
        )

    def thresholds(self) -> list[int]:
        return [t.above_input_tokens for t in self.tiers]


class ImageRule(Strict):
    """How a vendor bills an image input; the arithmetic lives in planner.images.

    kind 'tile': fit in max_side, shortest side to short_side, base + tile_tokens per tile_size tile.
    kind 'patch': patch_size patches within patch_budget (and max_side), times multiplier.
    kind 'area': width*height / pixels_per_token after fitting in max_side (Anthropic).
    kind 'fixed': fixed tokens per tile_size tile, or base when both sides <= small_side (Gemini).
    """

    kind: Literal["tile", "patch", "area", "fixed"]
    base_tokens: int = Field(default=0, ge=0)
    tile_tokens: int = Field(default=0, ge=0)
    tile_size: int = Field(default=512, gt=0)
    max_side: int | None = Field(default=None, gt=0)
    short_side: int | None = Field(default=None, gt=0)
    small_side: int | None = Field(default=None, gt=0)
    patch_size: int = Field(default=32, gt=0)
    patch_budget: int | None = Field(default=None, gt=0)
    multiplier: Fraction = Decimal(1)
    pixels_per_token: int | None = Field(default=None, gt=0)
    low_detail_tokens: int | None = Field(default=None, ge=0)
    assumed_size: tuple[int, int] = (1024, 1024)
    # patch rule per `detail`: {detail: (max_side, patch_budget)} overriding the two fields above
    # (None = no limit); `auto` means `auto_detail`. Used by gpt-5.4+ (`original`, `low`).
    detail_limits: dict[str, tuple[int | None, int | None]] = Field(default_factory=dict)
    auto_detail: Literal["low", "high", "original"] = "high"
    source: str | None = None


class ToolRule(Strict):
    """Tokens that tool/function definitions add (openai-cookbook constants, or a vendor's fixed overhead)."""

    func_init: int = 0
    prop_init: int = 0
    prop_key: int = 0
    enum_init: int = 0
    enum_item: int = 0
    func_end: int = 0
    system_prompt_tokens: int = Field(default=0, ge=0)
    # Anthropic's tool-use system prompt when tool_choice is `any`/`tool` (None = system_prompt_tokens)
    forced_system_prompt_tokens: int | None = Field(default=None, ge=0)
    source: str | None = None


class Tokenizer(Strict):
    """How to count a model's tokens offline, and how far the count may be off."""

    encoding: Literal["o200k_base", "cl100k_base"]
    method: Literal["exact", "approximate"]
    factor: Fraction = Decimal(1)
    band: Fraction = Decimal(0)
    message_overhead: int = 3
    name_overhead: int = 1
    reply_priming: int = 3
    chat_format: Literal["openai", "anthropic"] = "openai"
    images: ImageRule | None = None
    tools: ToolRule | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _exact_has_no_band(self) -> Tokenizer:
        if self.method == "exact" and (self.factor != 1 or self.band != 0):
            raise ValueError("an exact tokenizer cannot have a calibration factor or band")
        return self


class RateLimits(Strict):
    """One usage tier's limits. Token limits are per minute; queue limits are what may wait in batch."""

    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)
    itpm: int | None = Field(default=None, ge=0)
    otpm: int | None = Field(default=None, ge=0)
    batch_queue_tokens: int | None = Field(default=None, ge=0)
    batch_queue_requests: int | None = Field(default=None, ge=0)
    batch_rpm: int | None = Field(default=None, ge=0)


class ModelBatch(Strict):
    """A model's batch offer. Without explicit `prices`, the provider's default multiplier applies."""

    supported: bool = True
    reason: str | None = None
    prices: PriceSet | None = None
    endpoints: list[str] | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _unsupported_has_reason(self) -> ModelBatch:
        if not self.supported and not self.reason:
            raise ValueError("a model without batch support needs a reason")
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
    id: str = Field(min_length=1)
    name: str | None = None
    aliases: list[str] = Field(default_factory=list)
    match_prefixes: list[str] = Field(default_factory=list)
    tokenizer: str
    context_window: int | None = Field(default=None, gt=0)
    max_output: int | None = Field(default=None, gt=0)
    released: date | None = None
    retired: date | None = None
    deprecated: bool = False
    fine_tuned: bool = False
    realtime: PriceSet
    batch: ModelBatch = Field(default_factory=ModelBatch)
    rate_limits: dict[str, RateLimits] | None = None
    cache_min_tokens: int | None = Field(default=None, gt=0)
    time_of_day: list[TimeWindow] = Field(default_factory=list)
    price_disagreement: PriceDisagreement | None = None
    notes: str | None = None
    source: str = Field(min_length=1)
    verified: date


class BatchLimits(Strict):
    max_requests: int | None = Field(default=None, gt=0)
    max_bytes: int | None = Field(default=None, gt=0)
    max_line_bytes: int | None = Field(default=None, gt=0)
    min_requests: int | None = Field(default=None, gt=0)
    #: inputs summed over every request of one embeddings batch (OpenAI: 50,000)
    max_embedding_inputs: int | None = Field(default=None, gt=0)
    batches_per_hour: int | None = Field(default=None, gt=0)
    concurrent_batches: int | None = Field(default=None, gt=0)


class Turnaround(Strict):
    """Published turnaround figures, hours. `expiry_hours` None means the vendor never expires a job."""

    completion_window_hours: Decimal
    expiry_hours: Decimal | None
    p50_hours: Decimal
    p90_hours: Decimal
    source: str


class CacheRules(Strict):
    """Prompt caching: the shortest cacheable prefix, and whether cached reads also get the batch discount."""

    min_tokens: int = Field(gt=0)
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
    priority: int = 100
    sources: list[str] = Field(min_length=1)
    generated_by: str | None = None
    notes: str | None = None
    batch: ProviderBatch
    default_tier: str | None = None
    rate_limits: dict[str, RateLimits] = Field(default_factory=dict)
    rate_limits_source: str | None = None
    cache: CacheRules | None = None
    tokenizers: dict[str, Tokenizer]
    models: list[ModelEntry]

    @model_validator(mode="after")
    def _consistent(self) -> PriceTable:
        seen: dict[str, str] = {}
        for m in self.models:
            if m.tokenizer not in self.tokenizers:
                raise ValueError(f"model '{m.id}': tokenizer '{m.tokenizer}' is not defined in tokenizers")
            for name in (m.id, *m.aliases):
                if name in seen:
                    raise ValueError(f"model '{m.id}': name '{name}' is also used by model '{seen[name]}'")
                seen[name] = m.id
            if m.retired and m.released and m.retired < m.released:
                raise ValueError(f"model '{m.id}': retired before it was released")
            if m.verified > self.verified:
                raise ValueError(f"model '{m.id}': verified after the table itself was verified")
        if self.default_tier and self.default_tier not in self.rate_limits:
            raise ValueError(f"default_tier '{self.default_tier}' is not in rate_limits")
        return self

    @property
    def label(self) -> str:
        return f"{self.provider}@{self.version.isoformat()}"

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


def semantic_problems(table: PriceTable) -> list[str]:
    """Checks beyond the schema: batch not dearer than realtime unless a note says the source says so."""
    problems: list[str] = []
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


def shipped_pricing_dir() -> Path:
    """The tables bundled in the wheel, or the repository's `pricing/` in a source checkout."""
    here = Path(__file__).resolve().parent
    bundled = here / "_pricing"
    return bundled if bundled.is_dir() else here.parent / "pricing"


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


def read_table(path: Path) -> PriceTable:
    """Parse and validate one table file with a safe YAML loader; errors name file, model and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PricingError("no such price table", path=path) from None
    except IsADirectoryError:
        raise PricingError("is a directory, not a price table", path=path) from None
    except PermissionError:
        raise PricingError("permission denied", path=path) from None
    except UnicodeDecodeError:
        raise PricingError("not UTF-8 text", path=path) from None
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if not isinstance(raw, dict):
        raise PricingError("a price table must be a YAML mapping", path=path)
    try:
        table = PriceTable.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(path, raw, exc) from None
    match = VERSION_FILE.match(path.name)
    if match and match.group(1) != table.version.isoformat():
        raise PricingError(f"file name says {match.group(1)} but version is {table.version}", path=path)
    problems = semantic_problems(table)
    if problems:
        raise PricingError(problems[0], path=path)
    return table


@dataclass(frozen=True)
class TableVersion:
    provider: str
    version: date
    path: Path


def list_versions(root: Path | None = None) -> dict[str, list[TableVersion]]:
    """All shipped table files by provider, oldest first, without parsing them."""
    root = root or shipped_pricing_dir()
    out: dict[str, list[TableVersion]] = {}
    if not root.is_dir():
        return out
    for provider_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        versions = []
        for f in provider_dir.iterdir():
            m = VERSION_FILE.match(f.name)
            if m:
                versions.append(TableVersion(provider_dir.name, date.fromisoformat(m.group(1)), f))
        if versions:
            out[provider_dir.name] = sorted(versions, key=lambda v: v.version)
    return out


@dataclass(frozen=True)
class ResolvedModel:
    table: PriceTable
    model: ModelEntry
    requested: str

    @property
    def tokenizer(self) -> Tokenizer:
        return self.table.tokenizers[self.model.tokenizer]


@dataclass
class PriceBook:
    """The tables in force on one date, plus any the user layered on top; resolves model names."""

    as_of: date
    tables: dict[str, PriceTable]
    missing: dict[str, str] = field(default_factory=dict)

    def providers(self) -> Iterator[PriceTable]:
        yield from sorted(self.tables.values(), key=lambda t: (t.priority, t.provider))

    def known_names(self) -> list[str]:
        return [n for t in self.providers() for m in t.models for n in (m.id, *m.aliases)]

    def resolve(self, name: str, provider: str | None = None, *, ft_base: bool = False) -> ResolvedModel:
        """Find a model by id, alias, dated snapshot or fine-tuned name; `provider/model` pins the provider.

        With `ft_base`, a fine-tuned name no table lists (`ft:gpt-4.1-mini:org::id`) resolves to its base
        model (for eligibility checks; its prices are the base model's, not the fine-tune's)."""
        try:
            return self._resolve(name, provider)
        except UnknownModelError:
            if ft_base and name.strip().lower().startswith("ft:"):
                base = name.strip()[3:].split(":", 1)[0]
                found = self._resolve(base, provider)
                return ResolvedModel(found.table, found.model, name)
            raise

    def _resolve(self, name: str, provider: str | None = None) -> ResolvedModel:
        wanted = name.strip()
        if provider is None and "/" in wanted:
            head, _, rest = wanted.partition("/")
            if head in self.tables or head in self.missing:
                provider, wanted = head, rest
        if provider is not None and provider not in self.tables:
            if provider in self.missing:
                raise PricingError(self.missing[provider])
            raise PricingError(f"unknown provider '{provider}'; known: {', '.join(sorted(self.tables))}")
        candidates = [self.tables[provider]] if provider else list(self.providers())
        lowered = wanted.lower()
        for table in candidates:
            for m in table.models:
                if lowered == m.id.lower() or lowered in (a.lower() for a in m.aliases):
                    return ResolvedModel(table, m, name)
        best: tuple[int, ResolvedModel] | None = None
        for table in candidates:
            for m in table.models:
                for prefix in m.match_prefixes:
                    if lowered.startswith(prefix.lower()) and (best is None or len(prefix) > best[0]):
                        best = (len(prefix), ResolvedModel(table, m, name))
        if best is not None:
            return best[1]
        pool = [n for t in candidates for m in t.models for n in (m.id, *m.aliases)]
        if not pool and self.missing:
            raise PricingError(next(iter(self.missing.values())))
        suggestions = difflib.get_close_matches(wanted, pool, n=3, cutoff=0.5)
        raise UnknownModelError(name, suggestions, as_of=self.as_of.isoformat())


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
    as_of = as_of or date.today()
    tables: dict[str, PriceTable] = {}
    missing: dict[str, str] = {}
    for provider, versions in list_versions(root).items():
        chosen = _pick(versions, as_of)
        if chosen is None:
            missing[provider] = (
                f"no {provider} price table in force on {as_of}: "
                f"the earliest version starts {versions[0].version}"
            )
            continue
        tables[provider] = read_table(chosen.path)
    if root is None:
        from planner.config import configured_price_tables

        user_tables = [*configured_price_tables(), *user_tables]
    for path in user_tables:
        overlay = read_table(path)
        if overlay.version > as_of:
            raise PricingError(f"this table takes effect on {overlay.version}, after {as_of}", path=path)
        tables[overlay.provider] = merge_tables(tables.get(overlay.provider), overlay)
        missing.pop(overlay.provider, None)
    return PriceBook(as_of=as_of, tables=tables, missing=missing)


def merge_tables(base: PriceTable | None, overlay: PriceTable) -> PriceTable:
    """Layer a user's table over a shipped one: models by id are replaced, new ones added."""
    if base is None:
        return overlay
    models = {m.id: m for m in base.models}
    models.update({m.id: m for m in overlay.models})
    data = base.model_dump()
    data.update(
        models=[m.model_dump() for m in models.values()],
        tokenizers={**base.tokenizers, **overlay.tokenizers},
        sources=[*base.sources, *overlay.sources],
        generated_by=f"{base.label} + user table {overlay.label}",
    )
    return PriceTable.model_validate(data)
