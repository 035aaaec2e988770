"""Model identity: (name, as_of) → (provider, row), with the ids vendors' APIs and SDKs really use.

Each row cites the vendor page (or the vendor's own SDK/catalog) the id comes from. The grammar rule
under test: a first-party name goes to the first-party vendor; a host (Bedrock, Vertex, Azure) only
when the id is in that host's grammar or pinned as `provider/model`; ambiguity is an error.
"""

from __future__ import annotations

from datetime import date

import pytest

from planner.core.errors import AmbiguousModelError, PricingError, UnknownModelError
from planner.prices.matching import AnyOf, Equals, Regex, StartsWith, literals, matches
from planner.prices.pricing import PriceBook, list_versions, load_pricebook, read_table

NOV = date(2026, 11, 20)

#: Anthropic: model-ids page https://platform.claude.com/docs/en/about-claude/models/model-ids-and-versions and
#: Anthropic's catalog github.com/anthropics/skills skills/claude-api/shared/models.md (commit 0da71c3b)
ANTHROPIC_PAGE = "platform.claude.com/docs/en/about-claude/models/model-ids-and-versions; anthropics/skills models.md"
#: Bedrock: https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html (model ids) and
#: https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html (us./eu./apac./global.)
BEDROCK_PAGE = "docs.aws.amazon.com/bedrock/latest/userguide/{models-supported,inference-profiles-support}.html"
#: Gemini API model names `models/…`: https://ai.google.dev/gemini-api/docs/models; Vertex resource names
#: `publishers/google/models/…`: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference
GOOGLE_PAGE = "ai.google.dev/gemini-api/docs/models; cloud.google.com/vertex-ai/.../model-reference/inference"
#: OpenAI snapshots: https://developers.openai.com/api/docs/models (each model page lists its snapshots)
OPENAI_PAGE = "developers.openai.com/api/docs/models"

CASES = [
    # Anthropic's own API: bare aliases and dated snapshots (what the API answers with)
    ("claude-sonnet-4-5-20250929", NOV, "anthropic", "claude-sonnet-4-5", ANTHROPIC_PAGE),
    ("claude-sonnet-4-5", NOV, "anthropic", "claude-sonnet-4-5", ANTHROPIC_PAGE),
    ("claude-haiku-4-5-20251001", NOV, "anthropic", "claude-haiku-4-5", ANTHROPIC_PAGE),
    ("claude-opus-4-5-20251101", NOV, "anthropic", "claude-opus-4-5", ANTHROPIC_PAGE),
    ("claude-opus-4-1-20250805", NOV, "anthropic", "claude-opus-4-1", ANTHROPIC_PAGE),
    ("claude-sonnet-4-20250514", NOV, "anthropic", "claude-sonnet-4-0", ANTHROPIC_PAGE),
    ("claude-opus-4-20250514", NOV, "anthropic", "claude-opus-4-0", ANTHROPIC_PAGE),
    ("claude-3-5-sonnet-20241022", NOV, "anthropic", "claude-3-5-sonnet", ANTHROPIC_PAGE),
    ("claude-3-5-sonnet-20240620", NOV, "anthropic", "claude-3-5-sonnet", ANTHROPIC_PAGE),
    ("claude-3-haiku-20240307", NOV, "anthropic", "claude-3-haiku", ANTHROPIC_PAGE),
    ("claude-3-7-sonnet-20250219", NOV, "anthropic", "claude-3-7-sonnet", ANTHROPIC_PAGE),
    ("claude-3-5-haiku-20241022", NOV, "anthropic", "claude-3-5-haiku", ANTHROPIC_PAGE),
    ("claude-3-opus-20240229", NOV, "anthropic", "claude-3-opus", ANTHROPIC_PAGE),
    ("claude-2.1", NOV, "anthropic", "claude-2", ANTHROPIC_PAGE),
    ("claude-sonnet-4-6", NOV, "anthropic", "claude-sonnet-4-6", ANTHROPIC_PAGE),
    ("claude-fable-5-1", NOV, "anthropic", "claude-fable-5-1", ANTHROPIC_PAGE),  # not swallowed by fable-5
    ("claude-mythos-5-2", NOV, "anthropic", "claude-mythos-5-2", "anthropic SDK types/model_param.py (2.15.0)"),
    ("CLAUDE-SONNET-4-5-20250929", NOV, "anthropic", "claude-sonnet-4-5", "names are case-insensitive"),
    # Bedrock: model ids, cross-region inference profiles and ARNs (global. rows are priced apart)
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", NOV, "bedrock",
     "regional.anthropic.claude-3-5-sonnet-20241022-v2:0", BEDROCK_PAGE),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", NOV, "bedrock",
     "regional.anthropic.claude-sonnet-4-5-20250929-v1:0", ANTHROPIC_PAGE),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", NOV, "bedrock",
     "regional.anthropic.claude-sonnet-4-5-20250929-v1:0", BEDROCK_PAGE),
    ("eu.anthropic.claude-sonnet-4-20250514-v1:0", NOV, "bedrock",
     "regional.anthropic.claude-sonnet-4-20250514-v1:0", BEDROCK_PAGE),
    ("apac.anthropic.claude-sonnet-4-20250514-v1:0", NOV, "bedrock",
     "regional.anthropic.claude-sonnet-4-20250514-v1:0", BEDROCK_PAGE),
    ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", NOV, "bedrock",
     "global.anthropic.claude-sonnet-4-5-20250929-v1:0", BEDROCK_PAGE),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", NOV, "bedrock",
     "regional.anthropic.claude-haiku-4-5-20251001-v1:0", BEDROCK_PAGE),
    ("anthropic.claude-sonnet-4-6", NOV, "bedrock", "regional.anthropic.claude-sonnet-4-6-v1:0", ANTHROPIC_PAGE),
    ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0", NOV, "bedrock",
     "regional.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic-sdk-python README (Bedrock ARN example)"),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0", NOV,
     "bedrock", "regional.anthropic.claude-sonnet-4-20250514-v1:0", BEDROCK_PAGE),
    ("meta.llama3-3-70b-instruct-v1:0", NOV, "bedrock", "meta.llama3-3-70b-instruct-v1:0", BEDROCK_PAGE),
    # Google: Gemini API names, Vertex resource names and Claude on Vertex (`@` snapshots)
    ("gemini-2.5-flash", NOV, "google", "gemini-2.5-flash", GOOGLE_PAGE),
    ("models/gemini-2.5-flash", NOV, "google", "gemini-2.5-flash", GOOGLE_PAGE),
    ("gemini-2.0-flash-001", NOV, "google", "gemini-2.0-flash", GOOGLE_PAGE),
    ("publishers/google/models/gemini-2.5-flash", NOV, "vertex", "gemini-2.5-flash", GOOGLE_PAGE),
    ("projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro", NOV, "vertex",
     "gemini-2.5-pro", GOOGLE_PAGE),
    ("claude-sonnet-4-5@20250929", NOV, "vertex", "claude-sonnet-4-5", ANTHROPIC_PAGE),
    ("publishers/anthropic/models/claude-haiku-4-5@20251001", NOV, "vertex", "claude-haiku-4-5", ANTHROPIC_PAGE),
    ("vertex/claude-fable-5-2", date(2026, 12, 1), "vertex", "claude-fable-5-2", "pinned"),
    # OpenAI: dated snapshots `-YYYY-MM-DD`, and its host Azure only when pinned
    ("gpt-4o-2024-08-06", NOV, "openai", "gpt-4o", OPENAI_PAGE),
    ("gpt-4o-2024-11-20", NOV, "openai", "gpt-4o", OPENAI_PAGE),
    ("gpt-4o-mini-2024-07-18", NOV, "openai", "gpt-4o-mini", OPENAI_PAGE),
    ("gpt-4o-mini-search-preview", NOV, "openai", "gpt-4o-mini-search-preview", OPENAI_PAGE),
    ("gpt-4o-mini-search-preview-2025-03-11", NOV, "openai", "gpt-4o-mini-search-preview", OPENAI_PAGE),
    ("gpt-4.1-mini-2025-04-14", NOV, "openai", "gpt-4.1-mini", OPENAI_PAGE),
    ("o3-2025-04-16", NOV, "openai", "o3", OPENAI_PAGE),
    ("text-embedding-3-small", NOV, "openai", "text-embedding-3-small", OPENAI_PAGE),
    ("azure/gpt-4o", NOV, "azure", "gpt-4o", "pinned"),
    ("azure/gpt-4o-2024-08-06", NOV, "azure", "gpt-4o", "pinned; the deployment's model version"),
    # hosts whose ids are their own
    ("accounts/fireworks/models/kimi-k2p5", NOV, "fireworks", "kimi-k2p5", "fireworks.ai model ids"),
    ("groq/openai/gpt-oss-120b", NOV, "groq", "openai/gpt-oss-120b", "pinned: a Groq model id"),
    ("deepseek-chat", NOV, "deepseek", "deepseek-chat", "api-docs.deepseek.com"),
    ("grok-4.5", NOV, "xai", "grok-4.5", "docs.x.ai"),
]


@pytest.fixture(scope="module")
def books() -> dict[date, PriceBook]:
    return {d: load_pricebook(d) for d in {c[1] for c in CASES}}


@pytest.mark.parametrize(("name", "as_of", "provider", "model", "source"), CASES, ids=[c[0] for c in CASES])
def test_name_resolves_to_the_vendor_that_serves_it(
    books: dict[date, PriceBook], name: str, as_of: date, provider: str, model: str, source: str
) -> None:
    r = books[as_of].resolve(name)
    assert (r.table.provider, r.model.id) == (provider, model), source


def test_snapshots_from_the_vendor_list_resolve_exactly_and_say_where_they_come_from() -> None:
    r = load_pricebook(NOV).resolve("claude-sonnet-4-5-20250929")
    assert r.matched_by == "alias" and not r.notes  # listed, not guessed by a prefix
    assert r.model.ids_source and "anthropics/skills" in r.model.ids_source
    guessed = load_pricebook(NOV).resolve("claude-sonnet-4-5-20991231")  # a snapshot no list has
    assert guessed.model.id == "claude-sonnet-4-5" and "not a listed id" in guessed.notes[0]


@pytest.mark.parametrize(
    ("name", "candidates"),
    [("openai/gpt-oss-120b", ["groq/openai/gpt-oss-120b", "together/openai/gpt-oss-120b"])],
)
def test_ambiguity_is_an_error_listing_the_candidates(name: str, candidates: list[str]) -> None:
    with pytest.raises(AmbiguousModelError) as err:
        load_pricebook(NOV).resolve(name)
    assert err.value.candidates == candidates and err.value.exit_code == 2


def test_a_first_party_name_never_falls_through_to_a_host() -> None:
    """Bedrock lists the bare `claude-opus-5`, but a bare Claude name is Anthropic's; a host row is
    only reachable by its own grammar or a pin, and the error says how."""
    book = load_pricebook(NOV)
    assert book.resolve("claude-opus-5").table.provider == "anthropic"
    assert book.resolve("bedrock/claude-opus-5").table.provider == "bedrock"
    with pytest.raises(UnknownModelError) as err:
        book.resolve("gpt-oss-120b")  # OpenAI's open-weights model, which OpenAI's own API does not serve
    assert err.value.provider == "openai" and "fireworks/gpt-oss-120b" in str(err.value)


def test_unknown_names_name_the_provider_and_suggest_names_that_resolve() -> None:
    book = load_pricebook(NOV)
    with pytest.raises(UnknownModelError) as err:
        book.resolve("gpt-4o-mni")
    assert err.value.provider == "openai" and "unknown openai model 'gpt-4o-mni'" in str(err.value)
    assert err.value.suggestions and len(set(err.value.suggestions)) == len(err.value.suggestions)
    for s in err.value.suggestions:
        book.resolve(s)  # each suggestion resolves
    with pytest.raises(UnknownModelError) as err:
        book.resolve("claude-v1")
    assert "left out of anthropic" in str(err.value) and "no tokenizer" in str(err.value)


def test_a_missing_table_is_blamed_on_the_provider_of_the_name() -> None:
    """Issue #12: `-m gpt-4o-mini --as-of 2025-01-01` blamed "no anthropic price table"."""
    with pytest.raises(PricingError, match="no openai price table in force on 2025-01-01"):
        load_pricebook(date(2025, 1, 1)).resolve("gpt-4o-mini")
    with pytest.raises(PricingError, match="no anthropic price table"):
        load_pricebook(date(2025, 1, 1)).resolve("claude-haiku-4-5")


def test_provider_grammars_never_overlap() -> None:
    """No name any table lists is accepted by two providers' grammars (the cross-table ambiguity check)."""
    book = load_pricebook(NOV)
    grammars = {t.provider: t.model_match for t in book.providers() if t.model_match is not None}
    for t in book.providers():
        for m in t.models:
            for name in [m.id, *(literals(m.match) if m.match is not None else ())]:
                claimed = [p for p, g in grammars.items() if matches(g, name)]
                assert len(claimed) <= 1, (t.provider, m.id, name, claimed)


def test_every_table_passes_the_overlap_check() -> None:
    """Within a table no row's id or literal name is accepted by another row's rule (genai-prices'
    validate_id); the check runs whenever a table file is read."""
    for versions in list_versions().values():
        for v in versions:
            read_table(v.path)


def test_rules_are_strict_and_case_insensitive() -> None:
    rule = AnyOf(any_of=[Equals(equals="gpt-4o"), StartsWith(starts_with="gpt-4o-2024-"), Regex(regex=r"^o\d$")])
    assert matches(rule, "GPT-4O-2024-08-06") and matches(rule, "o3") and not matches(rule, "o33")
    with pytest.raises(ValueError):
        Regex(regex="(unclosed")
    with pytest.raises(ValueError):
        AnyOf.model_validate({"any_of": [{"equal": "x"}]})  # a misspelled clause fails to load


def test_legacy_aliases_and_prefixes_in_user_tables_still_load() -> None:
    from planner.prices.pricing import ModelEntry

    m = ModelEntry.model_validate({
        "id": "mine", "aliases": ["mine-2026"], "match_prefixes": ["mine-"], "tokenizer": "t",
        "realtime": {"input": "1", "output": "2"}, "source": "x", "verified": "2026-01-01",
    })
    assert m.aliases == ["mine-2026"] and matches(m.match, "mine-2099")


def test_pairs_of_shipped_names_resolve_to_distinct_rows() -> None:
    """Every row's id resolves to that row (pinned when it is a host row no grammar claims for it)."""
    book = load_pricebook(NOV)
    for t in book.providers():
        for m in t.models:
            r = book.resolve(f"{t.provider}/{m.id}")
            assert (r.table.provider, r.model.id) == (t.provider, m.id)
