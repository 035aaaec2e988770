"""`prices sync`: genai-prices → our tables; agreement with genai-prices; never overwrite; diff printed."""

from __future__ import annotations

import importlib.metadata
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app
from planner.core.errors import PricingError, UnknownModelError
from planner.prices.pricing import list_versions, read_table, shipped_pricing_dir
from planner.prices.sync import ARTIFACT_DATE, SYNCED_FROM, _standard_index, build_table, load_base, write_version

gp = pytest.importorskip("genai_prices")
runner = CliRunner()
#: Tests that compare the shipped tables with genai-prices' data compare them with the release they were synced
#: from; with another release installed they skip (the pinned test extra installs that one, so CI runs them).
synced_data = pytest.mark.skipif(
    importlib.metadata.version("genai-prices") != SYNCED_FROM,
    reason=f"the tables were synced from genai-prices {SYNCED_FROM}; sync them to a newer one (prices sync)",
)
GENAI_ID = {"openai": "openai", "anthropic": "anthropic", "google": "google", "vertex": "google",
            "azure": "openai", "bedrock": "aws", "mistral": "mistral", "groq": "groq", "together": "together",
            "fireworks": "fireworks", "xai": "x-ai", "deepseek": "deepseek"}


def _genai(provider: str) -> object:
    from genai_prices import data

    return next(p for p in data.providers if p.id == GENAI_ID[provider])


def _at(price: object, tokens: int) -> Decimal | None:
    if price is None:
        return None
    if hasattr(price, "tiers"):
        chosen = price.base
        for t in price.tiers:
            if tokens > t.start:
                chosen = t.price
        return Decimal(chosen)
    return Decimal(price)  # type: ignore[arg-type]


@synced_data
def test_our_prices_equal_genai_prices_on_the_same_date() -> None:
    """Realtime and batch input/output equal genai-prices' on each version's date, or a disagreement is recorded.

    Batch is compared where genai-prices has a batch variant recorded against the standard price in force
    that day (its 2026-10-14 stamp is an artifact: see planner.prices.sync)."""
    checked = 0
    for provider, versions in list_versions().items():
        gprov = _genai(provider)
        for v in versions:
            table = read_table(v.path)
            ts = datetime(v.version.year, v.version.month, v.version.day, 12)
            for m in table.models:
                find = gprov.find_model  # type: ignore[attr-defined]
                gm = find(m.id) or next((find(a) for a in m.aliases if find(a)), None)
                if gm is None or m.price_disagreement is not None or m.time_of_day:
                    continue
                std = gm.get_prices(ts)
                batch_applies = any(x.when.get("processing") == "batch" for x in gm.price_variants or ()) and (
                    _standard_index(gm.prices, v.version) >= _standard_index(gm.prices, ARTIFACT_DATE)
                )
                bts = max(ts, datetime(2026, 10, 15, 12)) if batch_applies else ts
                bat = gm.get_prices(bts, {"processing": "batch"})
                ours_batch, basis = table.batch_prices(m)
                for tokens in (1000, *[t + 1 for t in m.realtime.thresholds()]):
                    rates = m.realtime.for_request(tokens)
                    assert rates.input == _at(std.input_mtok, tokens), (table.label, m.id, "input", tokens)
                    if std.output_mtok is not None:
                        assert rates.output == _at(std.output_mtok, tokens), (table.label, m.id, "output", tokens)
                    if batch_applies and basis == "explicit" and ours_batch is not None and bat.input_mtok is not None:
                        b = ours_batch.for_request(tokens)
                        assert b.input == _at(bat.input_mtok, tokens), (table.label, m.id, "batch input", tokens)
                        if bat.output_mtok is not None:
                            assert b.output == _at(bat.output_mtok, tokens), (table.label, m.id, "batch out", tokens)
                checked += 1
    assert checked > 300


@synced_data
def test_every_openai_and_anthropic_batch_model_of_genai_prices_is_priced() -> None:
    from planner.prices.pricing import load_pricebook

    book = load_pricebook(date(2026, 11, 25))
    for provider in ("openai", "anthropic"):
        for gm in _genai(provider).models:  # type: ignore[attr-defined]
            batch = any(x.when.get("processing") == "batch" for x in gm.price_variants or ())
            if batch and gm.id != "claude-mythos-5-2":
                name = gm.id + "x" if gm.id.endswith(("-", ".ft-")) else gm.id  # prefix entries: a name they match
                r = book.resolve(name, provider=provider)
                assert r.table.batch_prices(r.model)[1] == "explicit", gm.id


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(shipped_pricing_dir() / "_base", tmp_path / "_base")
    shutil.copytree(shipped_pricing_dir() / "openai", tmp_path / "openai")
    return tmp_path


def test_sync_prints_diff_and_writes_a_new_version(root: Path) -> None:
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-11-20", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert "openai@2026-11-20 (from openai@2026-11-17)" in result.stdout and "wrote" in result.stdout
    assert read_table(root / "openai" / "2026-11-20.yaml").version == date(2026, 11, 20)


def test_sync_never_overwrites(root: Path) -> None:
    before = (root / "openai" / "2026-10-14.yaml").read_text()
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-10-14", "--root", str(root)])
    assert result.exit_code == 2 and "never overwritten" in result.stderr
    assert (root / "openai" / "2026-10-14.yaml").read_text() == before


def test_sync_refuses_older_than_newest_unless_asked(root: Path) -> None:
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-09-01", "--root", str(root)])
    assert result.exit_code == 2 and "--allow-older" in result.stderr
    ok = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-09-01", "--root", str(root), "--allow-older"])
    assert ok.exit_code == 0, ok.output


def test_sync_carries_reviewed_facts_over(root: Path) -> None:
    path = root / "openai" / "2026-11-17.yaml"
    path.write_text(path.read_text().replace("max_output: 16384", "max_output: 12345", 1))
    prev = read_table(path)
    new = build_table(load_base("openai", root), date(2026, 11, 20), previous=prev, verified=date(2026, 11, 25)).table
    assert next(m for m in new.models if m.id == "gpt-4o").max_output == 12345
    assert new.batch.limits == prev.batch.limits and new.tokenizers == prev.tokenizers


def test_write_version_refuses_existing(root: Path) -> None:
    table = read_table(root / "openai" / "2026-11-17.yaml")
    with pytest.raises(PricingError, match="never overwritten"):
        write_version(table, root)


def test_dry_run_writes_nothing(root: Path) -> None:
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-12-24", "--root", str(root), "--dry-run"])
    assert result.exit_code == 0 and "dry run" in result.stdout
    assert not (root / "openai" / "2026-12-24.yaml").exists()


@synced_data
def test_every_batch_priced_genai_model_is_in_our_tables_or_excluded_with_a_reason() -> None:
    """Issue #12: each model genai-prices gives a batch price, for the providers we sync, is a row of one
    of our newest tables (by id or match rule) or an `excluded` entry whose reason `check` prints."""
    from genai_prices import data

    from planner.prices.pricing import load_pricebook
    from planner.prices.sync import load_base

    book = load_pricebook(date(2027, 1, 1))
    ours: dict[str, list[str]] = {}
    for provider in book.tables:
        ours.setdefault(str(load_base(provider).genai_provider), []).append(provider)
    missing = []
    for gprov in data.providers:
        for gm in gprov.models if gprov.id in ours else []:
            if not any(v.when.get("processing") == "batch" for v in gm.price_variants or ()):
                continue
            covered = False
            for provider in ours[gprov.id]:
                try:
                    covered = book.resolve(gm.id, provider=provider).table.provider == provider
                except UnknownModelError as exc:
                    covered = "on purpose" in str(exc)
                if covered:
                    break
            if not covered:
                missing.append(f"{gprov.id}/{gm.id}")
    assert missing == []


def test_check_prints_why_a_model_is_left_out() -> None:
    result = runner.invoke(app, ["check", "groq/whisper-large-v3", "--as-of", "2026-11-25"])
    assert result.exit_code == 2 and "left out of groq@2026-10-14 on purpose" in result.stderr
    assert "billed per text token" in result.stderr


def test_sync_keeps_a_prefix_equal_to_the_id_and_regexes_whole() -> None:
    """Issue #12 / style §2(b): the dated-snapshot prefix equal to the id survives, a regex stays a regex."""
    base = load_base("anthropic")
    previous = read_table(list_versions()["anthropic"][-2].path)
    table = build_table(base, date(2026, 11, 9), previous=None, verified=date(2026, 12, 1)).table
    by_id = {m.id: m for m in table.models}
    from planner.prices.matching import matches

    assert matches(by_id["claude-sonnet-4-5"].match, "claude-sonnet-4-5-20250929")
    assert not matches(by_id["claude-fable-5"].match, "claude-fable-5-1")
    assert matches(by_id["claude-fable-5"].match, "claude-fable-5-20260101")
    assert previous.provider == "anthropic"


def test_a_sync_base_with_a_key_written_twice_is_refused(root: Path) -> None:
    """The sync base is read like the tables (planner.io.safeyaml): a second key no longer wins silently."""
    base = root / "_base" / "openai.yaml"
    text = base.read_text(encoding="utf-8")
    top_level = [line for line in text.splitlines() if line and not line.startswith(("#", " ", "-"))]
    base.write_text(text + "\n" + top_level[0] + "\n", encoding="utf-8")  # the first key again, at the end
    result = runner.invoke(app, ["prices", "sync", "openai", "--date", "2026-11-20", "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert "duplicate key" in result.stderr and "openai.yaml" in result.stderr
    assert not (root / "openai" / "2026-11-20.yaml").exists()


def test_the_test_extra_pins_the_release_the_tables_came_from() -> None:
    """pyproject's test extra installs the genai-prices the tables were synced from, or CI compares with another."""
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"genai-prices=={SYNCED_FROM}"' in text


def test_mode_variants_are_honoured_on_their_dates() -> None:
    """genai-prices dates Gemini 4 Argon's flex and priority prices: the introductory ones from 2026-10-14, the
    2026-12-01 ones (twice as dear, like standard) from then; before the first date there is no flex price."""
    from planner.prices.sync import mode_overrides

    argon = _genai("google").find_model("gemini-4-argon")  # type: ignore[attr-defined]
    assert mode_overrides(argon, date(2026, 10, 13)) == {}
    before, after = mode_overrides(argon, date(2026, 11, 30)), mode_overrides(argon, date(2026, 12, 1))
    assert (before["flex"]["input_mtok"], before["priority"]["output_mtok"]) == (Decimal("1"), Decimal("18"))
    assert (after["flex"]["input_mtok"], after["priority"]["output_mtok"]) == (Decimal("2"), Decimal("36"))
    # Anthropic's `speed: fast` is our priority mode
    assert set(mode_overrides(_genai("anthropic").find_model("claude-opus-5-5"), date(2026, 12, 6))) == {"priority"}
