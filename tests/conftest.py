from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from planner.prices.pricing import PriceBook, load_pricebook

# The compiled-table cache (planner.prices.tablecache) of a test run lives in a temp dir, not the user's cache;
# CLI subprocesses inherit it. Tests of the cache itself point it elsewhere.
_UID = os.getuid() if hasattr(os, "getuid") else 0
os.environ.setdefault("BATCHPLAN_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"batchplan-test-cache-{_UID}"))

# Every answer depends on the date (price tables are versioned by it): the suite answers for one fixed day,
# whatever day it runs on; CLI subprocesses inherit it. Tests of other dates pass --as-of.
os.environ["BATCHPLAN_AS_OF"] = "2026-12-06"

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_PRICING = FIXTURES / "pricing"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def book() -> PriceBook:
    """Fictional tables with round prices (tests/fixtures/pricing) in force on 2026-03-01."""
    return load_pricebook(date(2026, 3, 1), root=FIXTURE_PRICING)


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    def write(rows: list[object], name: str = "data.jsonl") -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _own_history_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets an empty `$BATCHPLAN_HOME`: estimates learn from the history store, and a test must not
    read (or write) the developer's own (tests that need a store set their own, after this)."""
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path_factory.mktemp("home")))
