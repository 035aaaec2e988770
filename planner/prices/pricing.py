"""Versioned price tables: read from YAML by date and validated by the schema, user tables layered on top.

Prices are data. Each provider has a folder under `pricing/` holding one file per version, named by
the date it takes effect (`pricing/openai/2026-10-14.yaml`). `--as-of DATE` picks, per provider, the
newest version whose date is on or before DATE. Every model entry carries its source and the date it
was verified, so every number the tool prints can be traced back to a page.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from planner.core.clock import today
from planner.core.errors import (
    AmbiguousModelError,
    BatchplanError,
    PricingError,
    UnknownModelError,
    UsageError,
)
from planner.prices import tablecache
from planner.prices.matching import accepting_clause, describe, literals, matches
from planner.prices.schema import BatchLimits as BatchLimits  # (re-exported: other modules import them from here)
from planner.prices.schema import ExactRule as ExactRule
from planner.prices.schema import ImageRule as ImageRule
from planner.prices.schema import ModelEntry as ModelEntry
from planner.prices.schema import PriceSet as PriceSet
from planner.prices.schema import PriceTable as PriceTable
from planner.prices.schema import RateLimits as RateLimits
from planner.prices.schema import Rates as Rates
from planner.prices.schema import Tier as Tier
from planner.prices.schema import Tokenizer as Tokenizer
from planner.prices.schema import ToolRule as ToolRule
from planner.prices.schema import Turnaround as Turnaround
from planner.prices.tablefiles import VERSION_FILE as VERSION_FILE
from planner.prices.tablefiles import TableVersion as TableVersion
from planner.prices.tablefiles import list_versions as list_versions
from planner.prices.tablefiles import shipped_pricing_dir as shipped_pricing_dir

if TYPE_CHECKING:
    import yaml

#: Tables verified more than this many days before the answer's date earn a note naming `prices update`.
STALE_DAYS = 30
#: The largest table file read (the biggest shipped one is ~45 KB).
MAX_TABLE_BYTES = 4 * 1024 * 1024


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


def read_table(path: Path, *, user: bool = False, stream: bool = False) -> PriceTable:
    """Parse and validate one table file with a safe YAML loader; errors name file, model and field.

    A file read before comes from planner.prices.tablecache: the same table, validated from its JSON
    instead of parsed from its YAML. `user`: the user's own table (the config lists it, or `--prices`),
    which no output of the same command may replace (planner.io.atomic); shipped and updated tables are
    ours (`prices update` rewrites its own). `stream`: named on the command line, so it may be `<(cmd)`
    or a FIFO (read once, bounded); any other table must be a regular file, and a FIFO or a device
    there is refused without waiting on it."""
    data = _read_bytes(path, user=user, stream=stream)
    cached = tablecache.load(data)
    if cached is not None:
        _check_file_name(path, cached)
        return cached
    table = _parse_table(path, data)
    tablecache.store(data, table)
    return table


def _read_bytes(path: Path, *, user: bool, stream: bool) -> bytes:
    """The bytes of a table file (at most MAX_TABLE_BYTES: a table is tens of KB, `/dev/zero` is not
    one), or a one-line PricingError saying why they cannot be read."""
    from planner.io.inputs import read_small

    return read_small(path, "price table", limit=MAX_TABLE_BYTES, regular=not stream, error=PricingError,
                      ours=not user)


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
        """The table row (`bedrock/regional.anthropic.claude-opus-5`): what the tables and history key on."""
        return f"{self.table.provider}/{self.model.id}"

    @property
    def api_id(self) -> str:
        """The id the vendor's API takes for this model, to show people: the row's id when the vendor's
        id grammar accepts it (or the table has none); else the name asked for when it is a real id
        of this row (`claude-opus-4-1@20250805` on Vertex, `us.anthropic.…-v1:0` on Bedrock); else
        the row's first name the grammar accepts (`anthropic.claude-opus-5` for Bedrock's
        `regional.anthropic.claude-opus-5`); else the row's id."""
        table, model = self.table, self.model
        grammar = table.model_match
        if grammar is None or (matches(grammar, model.id) and not _not_an_api_id(model.id)):
            return model.id
        asked = self.requested.strip()
        asked = asked[len(table.provider) + 1:] if asked.lower().startswith(f"{table.provider}/") else asked
        bare = _unwrap(table, asked)
        if matches(grammar, asked) and not _not_an_api_id(bare) and _names_row(model, bare):
            return bare
        unprefixed = [model.id.split(".", 1)[1]] if _not_an_api_id(model.id) else []
        for name in [*unprefixed, *model.aliases]:
            if matches(grammar, name) and not _not_an_api_id(name) and _names_row(model, name):
                return name
        return model.id

    @property
    def shown(self) -> str:
        """`provider/api id`: the name every answer shows for this model."""
        return f"{self.table.provider}/{self.api_id}"


@dataclass
class PriceBook:
    """The tables in force on one date, plus any the user layered on top; resolves model names.

    `grammars` holds the `model_match` of providers that have no table in force on `as_of`, and `earliest`
    their first tables, so that a name of theirs fails with *their* missing-table message, not another
    provider's or "unknown model".
    """

    as_of: date
    tables: Mapping[str, PriceTable]
    missing: dict[str, str] = field(default_factory=dict)
    grammars: dict[str, Any] = field(default_factory=dict)
    earliest: dict[str, PriceTable] = field(default_factory=dict)
    #: the user's own names (`--alias my-gpt4o-prod=azure/gpt-4o`), lower-cased, each to the name it stands for
    aliases: Mapping[str, str] = field(default_factory=dict)
    _suggesting: bool = field(default=False, init=False, repr=False)

    def providers(self) -> list[PriceTable]:
        """Every table, by priority."""
        return sorted(self.tables.values(), key=lambda t: (t.priority, t.provider))

    def known_names(self) -> list[str]:
        return [n for t in self.providers() for m in t.models for n in m.names()]

    def resolve(self, name: str, provider: str | None = None, *, ft_base: bool = False) -> ResolvedModel:
        """Find the row that serves `name`, by the vendor's own id grammar.

        Order: the user's `--alias` names (`aliases`); a `provider/model` pin (or `provider=`); else the
        first table by priority whose `model_match` accepts the name (origin vendors such as `claude-…`,
        hosts' own grammars such as Bedrock ids and Vertex resource names); else a name that exactly one
        table lists. Inside a table: exact id or name, then the rows' match rules, then one
        `fallback_provider` step.
        With `ft_base`, a fine-tuned name no table lists (`ft:gpt-4.1-mini:org::id`) resolves to its
        base model (for eligibility checks; its prices are the base model's).

        Raises UnknownModelError (naming the provider searched), AmbiguousModelError, or PricingError
        when the provider has no table in force on `as_of`.

        >>> load_pricebook(date(2026, 11, 20)).resolve("claude-sonnet-4-5-20250929").label
        'anthropic/claude-sonnet-4-5'
        """
        target = self.aliases.get(name.strip().lower())  # its own provider pin decides, whatever `provider` says
        if target is not None:  # one step: an alias of an alias is the second name as written, not a chain
            found = self._by_name(target, None, ft_base)
            note = f"'{name.strip()}' is your --alias for {target}"
            return ResolvedModel(found.table, found.model, name, f"--alias {target}", (note, *found.notes))
        return self._by_name(name, provider, ft_base)

    def _by_name(self, name: str, provider: str | None, ft_base: bool) -> ResolvedModel:
        try:
            return self._resolve(name, provider)
        except UnknownModelError as exc:
            if ft_base and name.strip().lower().startswith("ft:"):
                base = name.strip()[3:].split(":", 1)[0]
                found = self._resolve(base, provider)
                return ResolvedModel(found.table, found.model, name, f"fine-tuned from {base}", found.notes)
            raise self._perhaps_newer(exc) from None

    def staleness(self, resolved: Iterable[ResolvedModel]) -> str | None:
        """The note an answer about `resolved` carries when its oldest prices are stale (`stale_prices_note`)."""
        oldest = min(resolved, key=lambda r: r.model.verified, default=None)
        return None if oldest is None else stale_prices_note(oldest.table.label, oldest.model.verified, self.as_of)

    def _perhaps_newer(self, exc: UnknownModelError) -> UnknownModelError:
        """An unknown name asked about after the tables were verified may be a model newer than they are:
        say how to get newer data (a name left out on purpose is not that). A name that looks like an
        Azure deployment (a name the user chose) gets the way to map it instead of far-off suggestions."""
        deployment = _deployment_hint(exc.name, self) if exc.provider in (None, "azure") else None
        if deployment is not None:  # only a near miss is still suggested (a typo of a real id), no far-off names
            near = [n for n in exc.suggestions
                    if difflib.SequenceMatcher(None, exc.name.lower(), n.lower()).ratio() >= NEAR_MISS]
            return UnknownModelError(exc.name, near, as_of=exc.as_of, provider=exc.provider, why=deployment)
        own = self.tables.get(exc.provider or "")
        searched = [own] if own is not None else list(self.tables.values())
        if exc.why is not None or not searched:
            return exc
        verified = max(t.verified for t in searched)
        if self.as_of < verified:
            return exc
        newer = f"the tables were verified on {verified}; if it is a newer model, `batchplan prices update` may know it"
        return UnknownModelError(exc.name, exc.suggestions, as_of=exc.as_of, provider=exc.provider, newer=newer)

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
        accepting = [t for t in self.providers() if t.model_match is not None and matches(t.model_match, wanted)]
        missing = [p for p, rule in self.grammars.items() if matches(rule, wanted)]
        if accepting:
            return self._in_grammar(accepting, wanted, name)
        if missing:
            raise PricingError(self.missing[missing[0]])
        listed = self._listed(wanted)
        if listed:
            return self._one_of(listed, wanted, name)
        ruled = self._ruled(wanted, name)
        if ruled is not None:
            return ruled
        owner = self._owner_without_table(wanted)
        if owner is not None:
            raise PricingError(self.missing[owner])
        pool = self.providers()
        if not pool and self.earliest:
            first = min(t.version for t in self.earliest.values())
            raise PricingError(f"no price table is in force on {self.as_of}: the earliest starts {first}")
        if not pool and self.missing:
            raise PricingError(next(iter(self.missing.values())))
        raise UnknownModelError(name, self._suggest(wanted, pool), as_of=self.as_of.isoformat())

    def _owner_without_table(self, wanted: str) -> str | None:
        """The provider with no table in force whose first table lists the name (a Groq id before Groq's
        first table is Groq's missing table, not another vendor's)."""
        for provider, table in self.earliest.items():
            try:
                self._in_table(table, wanted, wanted, fallback=False)
            except (UnknownModelError, AmbiguousModelError):
                continue
            return provider
        return None

    def _in_grammar(self, accepting: list[PriceTable], wanted: str, name: str) -> ResolvedModel:
        """The one row among the tables whose id grammar accepts the name; else why there is none."""
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


#: How alike a suggestion must be to a deployment-looking name to be offered beside the --alias hint.
NEAR_MISS = 0.85
#: Words people put in the names of their own deployments (Azure OpenAI names a deployment as they like).
_DEPLOYMENT_WORDS = re.compile(r"(^|[-_.])(prod|production|dev|test|staging|stage|deploy|deployment|eastus\w*|"
                               r"westus\w*|westeurope|swedencentral|my|our|team)([-_.]|$)")


def _deployment_hint(name: str, book: PriceBook) -> str | None:
    """For a name no table knows that reads like a deployment someone named (`my-gpt4o-prod`,
    `gpt4o_eastus`), or any name pinned to Azure that its table lacks: how to say which model it runs.
    None for other names."""
    wanted = name.strip()
    pinned = wanted.lower().startswith("azure/")  # a name in Azure's table is a deployment's, whatever it says
    wanted = wanted[len("azure/"):] if pinned else wanted
    if not wanted or "/" in wanted or ":" in wanted or "azure" not in book.tables:
        return None
    squashed = re.sub(r"[^a-z0-9]", "", wanted.lower())
    families = [m.id for m in book.tables["azure"].models
                if len(m.id) >= 5 and re.sub(r"[^a-z0-9]", "", m.id.lower()) in squashed]
    family = max(families, key=len, default=None)
    if family is None and not pinned and not _DEPLOYMENT_WORDS.search(wanted.lower()):
        return None
    target = f"azure/{family}" if family else "azure/MODEL"
    return (f"if '{wanted}' is an Azure deployment name, say which model it runs: "
            f"--alias {wanted}={target} (or pin a model: -m azure/MODEL, `batchplan models --provider azure`)")


#: Row-id prefixes no vendor API uses: genai-prices writes Bedrock's in-region rows (served under
#: `us.`, `eu.`, `apac.`… profiles and the bare `anthropic.` id) as `regional.<id>`.
NOT_API_PREFIXES = ("regional.",)


def _not_an_api_id(name: str) -> bool:
    return name.lower().startswith(NOT_API_PREFIXES)


def _names_row(model: ModelEntry, name: str) -> bool:
    """Whether `name` is this row's id, one of its exact names, or accepted by its rules."""
    return model.is_named(name) or (model.match is not None and accepting_clause(model.match, name) is not None)


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


def in_force(versions: Iterable[TableVersion], as_of: date, shipped: Path) -> TableVersion | None:
    """The version in force on `as_of`: the newest that starts on or before it; on the same date a table
    outside the `shipped` folder (one `prices update` wrote) wins over the shipped one."""
    found = [v for v in versions if v.version <= as_of]
    return max(found, key=lambda v: (v.version, not v.path.is_relative_to(shipped)), default=None)


T = TypeVar("T")
#: how an answer priced with a later table than its date begins its note (the terminal shows it as a warning)
EARLIEST_NOTE = "no price table is in force on"


def earliest_pricing(as_of: date, answer: Callable[[PriceBook], T], *, user_tables: Iterable[Path] = ()
                     ) -> tuple[PriceBook, T]:
    """For a job dated before the shipped tables (an old batch, an old `--as-of`): the first table version
    after `as_of` whose book can `answer`. estimate and reconcile both price such jobs this way, and say so
    (`earliest_note`)."""
    starts = sorted({vs[0].version for vs in list_versions().values() if vs and vs[0].version > as_of})
    last: BatchplanError = PricingError(f"{EARLIEST_NOTE} {as_of} or after it")
    user_tables = list(user_tables)
    for start in starts:
        book = load_pricebook(start, user_tables=user_tables)
        try:
            found = answer(book)
        except BatchplanError as exc:
            last = exc
            continue
        return book, found
    raise last


def earliest_note(as_of: date, labels: Sequence[str], dated_by: str) -> str:
    """What an answer priced by `earliest_pricing` says, in estimate and reconcile alike."""
    which = "lists the model" if len(labels) == 1 else "list the models"
    return f"{EARLIEST_NOTE} {as_of} ({dated_by}); priced with {', '.join(labels)}, the earliest that {which}"


def stale_prices_note(label: str, verified: date, as_of: date) -> str | None:
    """A note when prices were verified more than STALE_DAYS before the answer's date: prices change between
    releases, and an answer for today from old tables should say so and say what to do."""
    days = (as_of - verified).days
    if days <= STALE_DAYS:
        return None
    return (f"{label}'s prices were verified on {verified}, {days} days before {as_of}: "
            "`batchplan prices update` fetches newer ones")


def _updated_versions() -> dict[str, list[TableVersion]]:
    """The tables `batchplan prices update` wrote (none when there is no data directory to read)."""
    from planner.store.config import updated_prices_dir

    try:
        folder = updated_prices_dir()
    except UsageError:  # no home directory at all: nothing was ever updated
        return {}
    return list_versions(folder) if folder.is_dir() else {}


def load_pricebook(
    as_of: date | None = None,
    *,
    root: Path | None = None,
    user_tables: Iterable[Path] = (),
    aliases: Mapping[str, str] | None = None,
) -> PriceBook:
    """The tables in force on `as_of` (default today). User tables replace or extend shipped models.
    `aliases` (default: those of `using_aliases`, i.e. the command's `--alias`) name models the user's way."""
    as_of = as_of or today()
    tables: dict[str, PriceTable] = {}
    missing: dict[str, str] = {}
    grammars: dict[str, Any] = {}
    earliest: dict[str, PriceTable] = {}
    updated = _updated_versions() if root is None else {}
    for provider, versions in list_versions(root).items():
        chosen = in_force([*versions, *updated.get(provider, [])], as_of, root or shipped_pricing_dir())
        if chosen is None:
            missing[provider] = (
                f"no {provider} price table in force on {as_of}: "
                f"the earliest version starts {versions[0].version}"
            )
            earliest[provider] = read_table(versions[0].path)
            if earliest[provider].model_match is not None:
                grammars[provider] = earliest[provider].model_match
            continue
        tables[provider] = read_table(chosen.path)
        if chosen in updated.get(provider, []):
            tables[provider]._user_label = f"{provider}@{chosen.version.isoformat()} (from prices update)"
    # the config's tables must be regular files; a --prices FILE may be `<(cmd)` (read once, bounded)
    layers = [(path, True) for path in user_tables]
    if root is None:
        from planner.store.config import configured_price_tables

        layers = [*((path, False) for path in configured_price_tables()), *layers]
    for path, given in layers:
        overlay = read_table(path, user=True, stream=given)
        if overlay.version > as_of:
            raise PricingError(f"this table takes effect on {overlay.version}, after {as_of}", path=path)
        tables[overlay.provider] = merge_tables(tables.get(overlay.provider), overlay, source=str(path))
        missing.pop(overlay.provider, None)
        grammars.pop(overlay.provider, None)
        earliest.pop(overlay.provider, None)
    own = dict(_ALIASES.get() if aliases is None else aliases)
    return PriceBook(as_of=as_of, tables=tables, missing=missing, grammars=grammars, earliest=earliest,
                     aliases={k.strip().lower(): v.strip() for k, v in own.items()})


_ALIASES: ContextVar[Mapping[str, str]] = ContextVar("batchplan_aliases", default={})  # noqa: B039 - never mutated


@contextlib.contextmanager
def using_aliases(aliases: Mapping[str, str]) -> Iterator[None]:
    """Every price book loaded inside resolves these names first (a command's `--alias NAME=PROVIDER/MODEL`:
    the estimate, prepare and validate code below the CLI loads its books itself)."""
    token = _ALIASES.set(dict(aliases))
    try:
        yield
    finally:
        _ALIASES.reset(token)


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
