"""Build dated price tables from the `genai-prices` package, carrying our own facts over.

genai-prices (https://github.com/pydantic/genai-prices) is an independently maintained list of model
prices, with batch prices as price variants `when: {processing: batch}` and the synchronous modes' prices
as variants `when: {service_tier: flex|priority}` (OpenAI, Google) or `{speed: fast}` (Anthropic). It
knows prices, aliases and context windows; it does not know batch limits, support lists, tokenizers, max
output or retirement dates. Those come from a hand-reviewed *base* (`pricing/_base/<provider>.yaml`)
and, once a table exists, from the previous version of our own table, which always wins for the facts
it holds.

Artifact handling: genai-prices added its batch variants on 2026-10-14 and stamped them with that
start date, although the vendors' discounts are much older. A batch variant whose start date is on or
before `ARTIFACT_CUTOFF` is therefore read as "valid for the standard price it was recorded against":
it applies on any date whose standard price is the one in force on the artifact date, before or after
it. For an earlier standard price (e.g. before a price cut) the variant does not apply and the table
falls back to the provider's default discount, which the output labels as such. Variants with later
start dates (e.g. a scheduled 2027-01-01 change) are real and honoured as dated.

Mode variants (flex, priority) are read as genai-prices itself reads them: a dated variant applies from
its start date, the first one in force wins per price key, and keys it does not give keep the standard
price. They become a model's `modes` only where the table has terms for the mode (the base's or the
previous table's `modes`): a host that reuses another vendor's genai data (Azure, Vertex) does not
inherit that vendor's flex prices by accident.

Everything here is a pure function over data; writing files is `write_version`, which never
overwrites a version and refuses to add a version older than the newest one unless asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.core.errors import PricingError, UsageError
from planner.io.safeyaml import load_yaml
from planner.prices.pricing import (
    ModelEntry,
    PriceSet,
    PriceTable,
    list_versions,
    read_table,
    semantic_problems,
    shipped_pricing_dir,
)

#: The genai-prices release the shipped tables were last synced from. The test extra pins it, so that the
#: tests comparing our tables with genai-prices compare them with the data they came from; a newer release
#: is news for the maintainers (sync the tables to it), not a failure of the code.
SYNCED_FROM = "0.2.5"
ARTIFACT_CUTOFF = date(2026, 10, 15)
ARTIFACT_DATE = date(2026, 10, 14)
PRICE_KEYS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cached_input": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
    "cache_write_1h": "cache_write_1h_mtok",
}
_DATED = re.compile(r"(20\d\d)-?(\d\d)-?(\d\d)$")
#: genai-prices' variant conditions that are one of our synchronous modes. Left out on purpose:
#: `service_tier: default` (standard, our `realtime`), OpenAI's `service_tier: fast` (its July-2026 new name
#: for priority: genai-prices carries both, at the same prices) and `ultrafast` (a dearer, faster tier
#: beside priority that no plan here chooses, with a dated 2027-03-01 price change of its own).
MODE_VARIANTS: dict[tuple[str, str], str] = {
    ("service_tier", "flex"): "flex",
    ("service_tier", "priority"): "priority",
    ("speed", "fast"): "priority",  # Anthropic's fast mode: a premium for speed, our priority mode
}


# ---------------------------------------------------------------------------------------------
# The hand-reviewed base


class TokenizerRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: str
    tokenizer: str


class BatchRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: str
    batch: dict[str, Any]


class Base(BaseModel):
    """Non-price facts for one provider, reviewed by hand; the input to the first sync."""

    model_config = ConfigDict(extra="forbid")
    provider: str
    genai_provider: str | None = None
    table: dict[str, Any]
    include: list[str] = Field(default_factory=lambda: [".*"])
    #: genai-prices models left out, as `pattern` or `{pattern: reason}`; the reason goes into the
    #: table's `excluded` list, which `check` prints for a name it matches.
    exclude: list[str | dict[str, str]] = Field(default_factory=list)
    tokenizer_rules: list[TokenizerRule] = Field(default_factory=list)
    #: batch facts for genai models without a batch variant whose id matches (first rule wins),
    #: consulted before `batch_without_variant`
    batch_rules: list[BatchRule] = Field(default_factory=list)
    # batch facts for a genai model that has no batch variant (None: the provider default applies)
    batch_without_variant: dict[str, Any] | None = None
    batch_without_variant_from: date | None = None  # ...for versions from this date on (None: all)
    # models whose release date is unknown appear from this version on
    undated_models_since: date | None = None
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    extra_models: list[dict[str, Any]] = Field(default_factory=list)


def base_path(provider: str, root: Path | None = None) -> Path:
    return (root or shipped_pricing_dir()) / "_base" / f"{provider}.yaml"


def load_base(provider: str, root: Path | None = None) -> Base:
    path = base_path(provider, root)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))  # strict: a duplicate key is an error, as in tables
    except FileNotFoundError:
        raise PricingError(f"no sync base for provider '{provider}'", path=path) from None
    except yaml.YAMLError as exc:
        raise PricingError(f"not valid YAML: {exc}", path=path) from None
    try:
        return Base.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise PricingError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}", path=path) from None


# ---------------------------------------------------------------------------------------------
# Reading genai-prices


def genai_providers() -> list[Any]:
    try:
        from genai_prices import data
    except ImportError:
        raise UsageError("prices sync needs the optional genai-prices package: pip install 'batchplan[sync]'") from None
    return list(data.providers)


def genai_version() -> str:
    try:
        from importlib.metadata import version

        return version("genai-prices")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


def rule_from_clause(clause: Any) -> dict[str, Any] | None:
    """A genai-prices match clause as our match rule (planner.prices.matching), clause for clause.

    Nothing is dropped or shortened: a regex stays a regex (reducing `^claude-fable-5-\\d{8}$` to the
    prefix `claude-fable-5-` would swallow `claude-fable-5-1`), `contains`/`ends_with` become searched
    regexes, and a prefix equal to the model id is kept (it is what catches the dated snapshots)."""
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return {"equals": clause.equals}
    if kind == "ClauseStartsWith":
        return {"starts_with": clause.starts_with}
    if kind == "ClauseRegex":
        return {"regex": clause.regex}
    if kind == "ClauseContains":
        return {"regex": re.escape(clause.contains)}
    if kind == "ClauseEndsWith":
        return {"regex": re.escape(clause.ends_with) + "$"}
    if kind in ("ClauseOr", "ClauseAnd"):
        parts = [r for r in (rule_from_clause(c) for c in (clause.or_ if kind == "ClauseOr" else clause.and_)) if r]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return {"any_of": parts} if kind == "ClauseOr" else {"all_of": parts}
    return None


def merge_rules(
    *rules: dict[str, Any] | None, drop_equals: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any] | None:
    """Several rules as one `any_of` (flattened, duplicates and `equals` names in `drop_equals` removed)."""
    flat: list[dict[str, Any]] = []
    for rule in rules:
        if not rule:
            continue
        for part in rule.get("any_of", [rule]):
            if "equals" in part and part["equals"].lower() in drop_equals:
                continue
            if part not in flat:
                flat.append(part)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else {"any_of": flat}


def _equals_of(rule: dict[str, Any] | None) -> list[str]:
    if not rule:
        return []
    if "equals" in rule:
        return [rule["equals"]]
    return [n for part in rule.get("any_of", []) for n in _equals_of(part)]


def _standard_index(prices: Any, when: date) -> int:
    """Which genai ConditionalPrice is in force on `when` (genai semantics: last active, else the first)."""
    if not isinstance(prices, list):
        return 0
    for i in range(len(prices) - 1, -1, -1):
        c = prices[i].constraint
        # a time-of-day price (DeepSeek's standard hours) is the list price; the others go to time_of_day
        if c is None or hasattr(c, "start_time") or (hasattr(c, "start_date") and c.start_date <= when):
            return i
    return 0


def _standard(model: Any, when: date) -> Any:
    prices = model.prices
    return prices[_standard_index(prices, when)].prices if isinstance(prices, list) else prices


def _start_dates(model: Any) -> list[date]:
    if not isinstance(model.prices, list):
        return []
    return [c.constraint.start_date for c in model.prices if hasattr(c.constraint, "start_date")]


def batch_overrides(model: Any, when: date) -> dict[str, Any] | None:
    """genai-prices' batch prices (by price key) in force on `when`, artifact-corrected; None when none apply."""
    variants = [v for v in (model.price_variants or ()) if v.when.get("processing") == "batch"]
    if not variants:
        return None
    here = _standard_index(model.prices, when)
    at_artifact = _standard_index(model.prices, ARTIFACT_DATE)
    overrides: dict[str, Any] = {}
    applied = False
    for v in variants:
        start = getattr(v.constraint, "start_date", None)
        if start is not None and start <= ARTIFACT_CUTOFF:
            if here < at_artifact:  # recorded against a later standard price than the one in force then
                continue
        elif start is not None and start > when:
            continue
        applied = True
        for key, price in v.prices.__dict__.items():
            if price is not None:
                overrides.setdefault(key, price)
    return overrides if applied else None


def mode_overrides(model: Any, when: date) -> dict[str, dict[str, Any]]:
    """genai-prices' prices per mode (flex, priority) in force on `when`, by price key: a dated variant
    from its start date on, the first one in force winning per key (genai-prices' own reading)."""
    out: dict[str, dict[str, Any]] = {}
    for v in model.price_variants or ():
        if len(v.when) != 1:
            continue
        mode = MODE_VARIANTS.get(next(iter(v.when.items())))
        start = getattr(v.constraint, "start_date", None)
        if mode is None or (start is not None and start > when):
            continue
        keys = out.setdefault(mode, {})
        for key, price in v.prices.__dict__.items():
            if price is not None:
                keys.setdefault(key, price)
    return {mode: keys for mode, keys in out.items() if keys}


def _price_at(value: Any, threshold: int | None) -> Decimal | None:
    if value is None:
        return None
    if hasattr(value, "tiers"):
        chosen = value.base
        if threshold is not None:
            for tier in value.tiers:
                if tier.start <= threshold:
                    chosen = tier.price
        return Decimal(chosen)
    return Decimal(value)


def price_set(prices: dict[str, Any]) -> PriceSet | None:
    """genai price keys (TieredPrices per key) → our PriceSet (whole-request tiers with every rate)."""
    if prices.get("input_mtok") is None:
        return None
    thresholds = sorted({t.start for v in prices.values() if hasattr(v, "tiers") for t in v.tiers})

    def rates(threshold: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ours, theirs in PRICE_KEYS.items():
            value = _price_at(prices.get(theirs), threshold)
            if value is not None:
                out[ours] = _fmt(value)
        out.setdefault("output", "0")
        return out

    return PriceSet.model_validate(
        {**rates(None), "tiers": [{"above_input_tokens": t, **rates(t)} for t in thresholds]}
    )


def _time_windows(model: Any, source: str) -> list[dict[str, Any]]:
    """DeepSeek-style pricing: the unconstrained genai price applies outside the standard-hours window."""
    if not isinstance(model.prices, list):
        return []
    timed = [c for c in model.prices if hasattr(c.constraint, "start_time")]
    other = [c for c in model.prices if c.constraint is None]
    if not timed or not other:
        return []
    std = timed[-1].constraint
    off = price_set(dict(other[0].prices.__dict__))
    if off is None:
        return []
    return [
        {
            "start_utc": std.end_time.strftime("%H:%M"),
            "end_utc": std.start_time.strftime("%H:%M"),
            "label": "off-peak",
            "prices": off.model_dump(mode="json", exclude_none=True, exclude={"tiers"}),
            "source": source,
        }
    ]


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _released(names: list[str]) -> date | None:
    found: list[date] = []
    for n in names:
        m = _DATED.search(n)
        if m:
            try:
                found.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
            except ValueError:
                continue
    return min(found) if found else None


# ---------------------------------------------------------------------------------------------
# Building a table


@dataclass
class SyncResult:
    table: PriceTable
    previous: PriceTable | None
    warnings: list[str]


CARRY_FIELDS = (
    "name", "match", "ids_source", "tokenizer", "context_window", "max_output", "released", "retired",
    "deprecated", "fine_tuned", "rate_limits", "cache_min_tokens", "notes", "price_disagreement", "time_of_day",
)  # fmt: skip


def _exclusions(base: Base) -> list[tuple[str, str]]:
    out = []
    for item in base.exclude:
        if isinstance(item, str):
            out.append((item, "left out of this table"))
        else:
            out += list(item.items())
    return out


def _tokenizer_for(model_id: str, base: Base) -> str | None:
    for rule in base.tokenizer_rules:
        if re.search(rule.match, model_id):
            return rule.tokenizer
    return None


def build_table(
    base: Base,
    version: date,
    *,
    previous: PriceTable | None = None,
    providers: list[Any] | None = None,
    verified: date | None = None,
    via: str | None = None,
) -> SyncResult:
    """The table in force from `version`: genai prices on that date, our facts carried over. `providers`
    and `via` (how notes name them) come from a downloaded data file; by default, the installed package."""
    gp = _genai_provider(base, providers)
    build = _Build(base, version, verified or date.today(), previous, gp, via)
    models, excluded = build.genai_rows()
    build.add_extra_rows(models)
    warnings = build.keep_dropped_rows(models) + build.mode_warnings()
    for entry in models:
        if entry.get("tokenizer") is None:
            raise PricingError(f"model '{entry['id']}': no tokenizer rule matches; add one to the base")
    return SyncResult(build.table(models, excluded), previous, warnings)


def _genai_provider(base: Base, providers: list[Any] | None) -> Any | None:
    """genai-prices' provider that the base names (None for a base without one)."""
    if not base.genai_provider:
        return None
    providers = providers if providers is not None else genai_providers()
    gp = next((p for p in providers if p.id == base.genai_provider), None)
    if gp is None:
        raise PricingError(f"genai-prices has no provider '{base.genai_provider}'")
    return gp


class _Build:
    """One table being built: the base, the date, the previous version's rows, and the names that
    already have a row (a later row must not claim them)."""

    def __init__(
        self, base: Base, version: date, verified: date, previous: PriceTable | None, gp: Any, via: str | None = None
    ) -> None:
        self.base, self.version, self.verified, self.previous, self.gp = base, version, verified, previous, gp
        self.source_url: str = (gp.pricing_urls or [""])[0] if gp is not None else ""
        self.via = via or f"genai-prices {genai_version()}"
        self.prev_models = {m.id: m for m in previous.models} if previous else {}
        self.used = {str(e["id"]).lower() for e in base.extra_models}  # names the base gives rows of their own
        #: the modes this table has terms for (only those are carried from genai-prices), and the genai
        #: models whose prices for a mode without terms were left out, for one warning per mode
        self.terms = set(_carried_table_fields(base, previous).get("modes") or {})
        self.skipped_modes: dict[str, list[str]] = {}
        self.kept_modes: list[str] = []

    def genai_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows of genai-prices' models the base includes, and the exclusions the base asks for."""
        models: list[dict[str, Any]] = []
        excluded: list[dict[str, Any]] = []
        exclusions = _exclusions(self.base)
        for gm in self.gp.models if self.gp is not None else []:
            if not any(re.fullmatch(p, gm.id) for p in self.base.include):
                continue
            why = next((reason for pattern, reason in exclusions if re.fullmatch(pattern, gm.id)), None)
            if why is not None:
                excluded.append({"match": merge_rules({"equals": gm.id}, rule_from_clause(gm.match)), "reason": why})
                continue
            entry = self._row(gm)
            if entry is not None:
                models.append(entry)
        return models, excluded

    def _row(self, gm: Any) -> dict[str, Any] | None:
        """One genai model's row: its prices on the date, the base's facts, the previous row's facts
        (which win); None when it has no price or is not released by the date."""
        std = _standard(gm, self.version)
        realtime = price_set(dict(std.__dict__))
        if realtime is None:
            return None
        facts = dict(self.base.models.get(gm.id, {}))
        model_id = facts.pop("id", gm.id)
        genai_rule = rule_from_clause(gm.match)
        released = facts.get("released") or _released([gm.id, *_equals_of(genai_rule)])
        since = facts.pop("since", None) or released or self.base.undated_models_since
        if since is not None and date.fromisoformat(str(since)) > self.version:
            return None
        fact_rule = merge_rules(
            *({"equals": a} for a in facts.pop("aliases", [])),
            *({"starts_with": p} for p in facts.pop("match_prefixes", [])),
            facts.pop("match", None),
        )
        if model_id.lower() != gm.id.lower():
            genai_rule = merge_rules({"equals": gm.id}, genai_rule)
        entry: dict[str, Any] = {
            "id": model_id,
            "name": gm.name,
            "match": merge_rules(genai_rule, fact_rule, drop_equals={model_id.lower(), *self.used}),
            "tokenizer": _tokenizer_for(model_id, self.base),
            "context_window": gm.context_window,
            "released": released,
            "deprecated": bool(gm.deprecated),
            "realtime": realtime.model_dump(mode="json", exclude_none=True),
            "source": self.source_url,
            "verified": self.verified,
            "time_of_day": _time_windows(gm, self.source_url) or None,
        }
        overrides = batch_overrides(gm, self.version)
        batch = self._batch_offer(gm, std, model_id, overrides)
        entry.update((k, v) for k, v in facts.items() if k not in ("batch", "modes"))
        batch = {**batch, **facts.get("batch", {})}
        prev = self.prev_models.get(model_id)
        if prev is not None:  # our reviewed facts win over genai's and the base's
            batch = _carry(entry, batch, prev, explicit_prices=overrides is not None)
        entry["batch"] = batch or None
        entry["modes"] = self._modes(gm, std, facts.get("modes") or {}, prev) or None
        entry = {k: v for k, v in entry.items() if v is not None}
        self.used.update([model_id.lower(), *(n.lower() for n in _equals_of(entry.get("match")))])
        return entry

    def _batch_offer(self, gm: Any, std: Any, model_id: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
        """The batch offer of one model: genai's batch prices on the date, else the base's rules."""
        if overrides is not None:
            resolved = {**{k: v for k, v in std.__dict__.items() if v is not None}, **overrides}
            bp = price_set(resolved)
            if bp is None:
                return {}
            prices = bp.model_dump(mode="json", exclude_none=True)
            return {"supported": True, "prices": prices, "source": self.source_url}
        if any(v.when.get("processing") == "batch" for v in gm.price_variants or ()):
            return {"supported": True}  # batchable, but genai's batch price is for a later standard price
        rule = next((r for r in self.base.batch_rules if re.search(r.match, model_id)), None)
        if rule is not None:
            return dict(rule.batch)
        without = self.base.batch_without_variant
        if without is not None and (self.base.batch_without_variant_from is None
                                    or self.version >= self.base.batch_without_variant_from):
            return dict(without)
        return {}

    def _modes(self, gm: Any, std: Any, facts: dict[str, Any], prev: ModelEntry | None) -> dict[str, Any]:
        """One model's flex and priority offers: genai's prices on the date (for the modes the table has
        terms for), the base's facts over them, and the previous row's reviewed entries winning."""
        modes: dict[str, Any] = {}
        standard = {k: v for k, v in std.__dict__.items() if v is not None}
        for mode, overrides in mode_overrides(gm, self.version).items():
            if mode not in self.terms:
                self.skipped_modes.setdefault(mode, []).append(gm.id)
                continue
            ps = price_set({**standard, **overrides})
            if ps is not None:
                modes[mode] = {"prices": ps.model_dump(mode="json", exclude_none=True), "source": self.source_url}
        for mode, fact in facts.items():
            if mode not in self.terms:
                continue
            modes[mode] = {**modes.get(mode, {}), **fact}
            if not modes[mode].get("supported", True):
                modes[mode].pop("prices", None)
        for mode, old in (prev.modes.items() if prev is not None else ()):
            if mode not in modes and old.supported:
                self.kept_modes.append(f"{gm.id} {mode}")
            modes[mode] = _carry_mode(modes.get(mode), old)
        return modes

    def mode_warnings(self) -> list[str]:
        """Mode prices genai-prices has that the table cannot hold, and reviewed offers it no longer lists."""
        out = [
            f"{self.via} has {mode} prices for {len(ids)} model(s) ({', '.join(ids[:3])}"
            f"{', ...' if len(ids) > 3 else ''}) but the table has no {mode} terms: left out"
            for mode, ids in sorted(self.skipped_modes.items())
        ]
        where = self.previous.label if self.previous else "previous"
        return out + [f"{what}: not in {self.via}; kept from {where}" for what in self.kept_modes]

    def add_extra_rows(self, models: list[dict[str, Any]]) -> None:
        """The base's own rows (models genai-prices does not list), released by the date."""
        for extra in self.base.extra_models:
            extra = dict(extra)
            since = extra.pop("since", None) or extra.get("released")
            if since is not None and date.fromisoformat(str(since)) > self.version:
                continue
            if extra["id"].lower() in {m["id"].lower() for m in models}:
                continue
            extra.setdefault("verified", self.verified)
            self.used.add(extra["id"].lower())
            models.append(extra)

    def keep_dropped_rows(self, models: list[dict[str, Any]]) -> list[str]:
        """Models we priced before that genai-prices no longer lists are kept, never silently dropped."""
        warnings = []
        for old in self.prev_models.values():
            if old.id.lower() not in self.used:
                where = self.previous.label if self.previous else "previous"
                warnings.append(f"{old.id}: not in {self.via}; kept from {where}")
                models.append(old.model_dump(mode="json", exclude_none=True))
        return warnings

    def table(self, models: list[dict[str, Any]], excluded: list[dict[str, Any]]) -> PriceTable:
        """The table's own fields (the base's, the previous version's winning) around the rows, validated."""
        gp = self.gp
        fields = _carried_table_fields(self.base, self.previous)
        sources = list(dict.fromkeys([*fields.get("sources", []), *(gp.pricing_urls or [] if gp else [])]))
        fields.update(
            provider=self.base.provider,
            version=self.version,
            verified=self.verified,
            sources=sources,
            generated_by="batchplan prices sync " + (f"from {self.via}" if gp is not None else "(base only)"),
            models=models,
        )
        if excluded:
            fields["excluded"] = excluded
        try:
            table = PriceTable.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise PricingError(f"generated table is invalid: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
        problems = semantic_problems(table)
        if problems:
            raise PricingError(f"generated table fails a check: {problems[0]}")
        return table


def _carried_table_fields(base: Base, previous: PriceTable | None) -> dict[str, Any]:
    """The table's own fields: the base's, with the previous version's winning."""
    fields = dict(base.table)
    if previous is not None:
        carried = previous.model_dump(mode="json", exclude={"models", "version", "verified", "generated_by"})
        # tokenizers the base adds (for models new to this table) join the previous table's, which win
        carried["tokenizers"] = {**dict(base.table.get("tokenizers") or {}), **carried["tokenizers"]}
        # so do mode terms the base adds (a vendor's new flex tier): the previous table's win per mode
        carried["modes"] = {**dict(base.table.get("modes") or {}), **carried.get("modes", {})}
        fields.update(carried)
    return fields


def _carry(entry: dict[str, Any], batch: dict[str, Any], prev: ModelEntry, *, explicit_prices: bool) -> dict[str, Any]:
    """The previous row's reviewed facts written over `entry`; the batch offer with the previous one's
    support and endpoints (only its endpoints when genai-prices gives batch prices)."""
    for key in CARRY_FIELDS:
        value = getattr(prev, key, None)
        if value not in (None, [], False):
            entry[key] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    pb = prev.batch.model_dump(mode="json", exclude_none=True, exclude={"prices"})
    keep = ("endpoints",) if explicit_prices else ("supported", "reason", "endpoints", "source")
    batch = {**batch, **{k: v for k, v in pb.items() if k in keep}}
    if not batch.get("supported", True):
        batch.pop("prices", None)
    return batch


def _carry_mode(new: dict[str, Any] | None, old: Any) -> dict[str, Any]:
    """A mode offer with the previous table's reviewed one winning: a withdrawn mode stays withdrawn, an
    offer genai-prices no longer lists is kept, and the hand-cited source stays while the prices are the same."""
    kept: dict[str, Any] = old.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    if new is None or not old.supported:
        return kept
    same = old.prices is not None and "prices" in new and PriceSet.model_validate(new["prices"]) == old.prices
    return {**new, "source": old.source} if same and old.source else new


# ---------------------------------------------------------------------------------------------
# Diff and write


def _flat_prices(ps: PriceSet | None) -> dict[str, str]:
    if ps is None:
        return {}
    out = {k: _fmt(v) for k, v in ps.model_dump(exclude={"tiers"}).items() if v is not None}
    for t in ps.tiers:
        for k, v in t.model_dump(exclude={"above_input_tokens"}).items():
            if v is not None:
                out[f"{k}>{t.above_input_tokens}"] = _fmt(v)
    return out


def diff_tables(old: PriceTable | None, new: PriceTable) -> list[str]:
    """Human-readable changes from `old` to `new`: models added/removed, prices and facts changed."""
    if old is None:
        return [f"+ new table {new.label} with {len(new.models)} models"]
    lines: list[str] = []
    before = {m.id: m for m in old.models}
    after = {m.id: m for m in new.models}
    for mid in sorted(after.keys() - before.keys()):
        lines.append(f"+ {mid}")
    for mid in sorted(before.keys() - after.keys()):
        lines.append(f"- {mid}")
    for mid in sorted(before.keys() & after.keys()):
        a, b = before[mid], after[mid]
        for label, pa, pb in (
            ("realtime", _flat_prices(a.realtime), _flat_prices(b.realtime)),
            ("batch", _flat_prices(old.batch_prices(a)[0]), _flat_prices(new.batch_prices(b)[0])),
        ):
            for key in sorted(pa.keys() | pb.keys()):
                if pa.get(key) != pb.get(key):
                    lines.append(f"~ {mid} {label}.{key}: {pa.get(key, '-')} -> {pb.get(key, '-')}")
        lines += _mode_changes(mid, old, a, new, b)
        for key in ("context_window", "max_output", "retired", "tokenizer"):
            if getattr(a, key) != getattr(b, key):
                lines.append(f"~ {mid} {key}: {getattr(a, key)} -> {getattr(b, key)}")
        if a.batch.supported != b.batch.supported:
            lines.append(f"~ {mid} batch.supported: {a.batch.supported} -> {b.batch.supported}")
    if old.batch.model_dump() != new.batch.model_dump():
        lines.append("~ provider batch terms changed")
    for mode in sorted(old.modes.keys() | new.modes.keys()):
        ta, tb = old.modes.get(mode), new.modes.get(mode)  # type: ignore[call-overload]
        if ta != tb:
            how = "added" if ta is None else "removed" if tb is None else "changed"
            lines.append(f"~ provider {mode} terms {how}")
    if old.rate_limits != new.rate_limits:
        lines.append("~ rate-limit tiers changed")
    return lines


def _brief(ps: PriceSet) -> str:
    return f"{_fmt(ps.input)} in / {_fmt(ps.output)} out"


def _mode_changes(mid: str, old: PriceTable, a: ModelEntry, new: PriceTable, b: ModelEntry) -> list[str]:
    """How one model's flex and priority offers changed: offered or withdrawn (with the prices and their
    basis, or why not), or which prices moved."""
    lines: list[str] = []
    for mode in ("flex", "priority"):
        (pa, why_a), (pb, why_b) = old.mode_prices(a, mode), new.mode_prices(b, mode)
        if pa is None and pb is None:
            continue
        if pa is None or pb is None:
            before = f"{_brief(pa)} ({why_a})" if pa is not None else "none"
            after = f"{_brief(pb)} ({why_b})" if pb is not None else f"none ({why_b})"
            lines.append(f"~ {mid} {mode}: {before} -> {after}")
            continue
        fa, fb = _flat_prices(pa), _flat_prices(pb)
        for key in sorted(fa.keys() | fb.keys()):
            if fa.get(key) != fb.get(key):
                lines.append(f"~ {mid} {mode}.{key}: {fa.get(key, '-')} -> {fb.get(key, '-')}")
    return lines


def previous_version(provider: str, version: date, root: Path | None = None) -> PriceTable | None:
    versions = [v for v in list_versions(root).get(provider, []) if v.version < version]
    return read_table(versions[-1].path) if versions else None


def dump_table(table: PriceTable) -> str:
    data = table.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data = {"schema_version": 1, "provider": table.provider, **data}
    if table.batch.turnaround is not None and table.batch.turnaround.expiry_hours is None:
        data["batch"]["turnaround"]["expiry_hours"] = None  # null = the vendor never expires a job
    header = (
        f"# {table.name} price table in force from {table.version}.\n"
        f"# Generated by `batchplan prices sync {table.provider} --date {table.version}` and reviewed;\n"
        "# edit the facts here (limits, support lists, tokenizers): the next sync carries them over.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def write_version(table: PriceTable, root: Path | None = None, *, allow_older: bool = False) -> Path:
    """Write `<root>/<provider>/<version>.yaml`; never overwrite, never add an older version silently."""
    from planner.io.atomic import write_text

    root = root or shipped_pricing_dir()
    existing = list_versions(root).get(table.provider, [])
    path = root / table.provider / f"{table.version.isoformat()}.yaml"
    if path.exists():
        raise PricingError("this version already exists; versions are never overwritten", path=path)
    newer = [v for v in existing if v.version > table.version]
    if newer and not allow_older:
        raise PricingError(
            f"a newer version ({newer[-1].version}) exists; adding an older one needs --allow-older", path=path
        )
    text = dump_table(table)
    PriceTable.model_validate(load_yaml(text))  # what we write must load, by the loader that will read it
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    return path
