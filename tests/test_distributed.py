"""Counting where the data lives (planner.count.distributed) on real engines: a local Spark session (`local[2]`) and a
Dask distributed LocalCluster, each started once for this module. Totals equal `estimate` on the same file, and
the counts they write price exactly like counting here.

Without pyspark/dask these tests skip, except in CI (`$CI` set), which installs the `spark` and `dask` extras:
there a missing engine is a failure.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from planner.count.counts import input_column
from planner.count.distributed import count_dask, count_spark, counter
from planner.plan.estimate import estimate
from planner.prices.pricing import load_pricebook

ROOT = Path(__file__).resolve().parents[1]
TICKETS = ROOT / "examples" / "tickets.jsonl"
SHAREGPT = ROOT / "tests" / "fixtures" / "shapes" / "sharegpt_glaive.jsonl"
MODELS = ["gpt-4o-mini", "claude-haiku-4-5"]
BOOK = load_pricebook()
COLUMNS = [input_column(BOOK.resolve(m).tokenizer) for m in MODELS]


@pytest.fixture(autouse=True)
def _tables_rules_for_claude(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests here compare the tables' rules on both sides, so ctok is hidden from the driver: the
    counter then asks for no ctok counts and `estimate` does no exact recount. The `_with_ctok` tests see it."""
    if "_with_ctok" not in request.node.name:
        monkeypatch.setattr("planner.count.claude_tokens.available", lambda: False)


def need_ctok() -> None:
    from planner.count import claude_tokens

    if not claude_tokens.available():
        if os.environ.get("BATCHPLAN_REQUIRE_CTOK"):
            pytest.fail("ctok is required here (BATCHPLAN_REQUIRE_CTOK)", pytrace=False)
        pytest.skip("ctok is not installed")


def need(module: str) -> Any:
    if os.environ.get("CI"):
        return __import__(module)  # CI installs the extras: a missing engine fails the run
    return pytest.importorskip(module)


def inputs(path: Path, **kw: Any) -> list[int]:
    return [e.input_tokens for e in estimate(path, MODELS, output_tokens=1, **kw).estimates]


def comparable(path: Path, **kw: Any) -> list[dict[str, Any]]:
    """Every field of each model's estimate but `assumptions`, whose words name where the counts came from
    (a counts file without ctok columns, against no ctok here)."""
    return [e.model_dump(mode="json", exclude={"assumptions"}) for e in estimate(path, MODELS, **kw).estimates]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    need("pyspark")
    need("pandas")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI"):
            pytest.fail("Spark needs Java (17+) in CI", pytrace=False)
        pytest.skip("no Java for Spark")
    from pyspark.sql import SparkSession

    # Executors start "python3" from PATH unless told: without an activated venv that Python has
    # neither planner nor pyarrow. A reader's cluster sets this for itself (docs/scale.md).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]").appName("batchplan-tests")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    need("dask")
    need("distributed")
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def spark_sums(df: Any) -> list[int]:
    row = df.groupBy().sum(*COLUMNS).collect()[0]
    return [int(row[f"sum({c})"]) for c in COLUMNS]


def test_spark_raw_lines_total_what_estimate_counts(spark: Any) -> None:
    lines = spark.read.text(str(TICKETS)).repartition(3)
    assert spark_sums(count_spark(lines, MODELS)) == inputs(TICKETS)
    sharegpt = spark.read.text(str(SHAREGPT))
    assert spark_sums(count_spark(sharegpt, MODELS)) == inputs(SHAREGPT)


def test_spark_prompt_column_of_a_parquet_table_equals_the_csv(spark: Any, tmp_path: Path) -> None:
    frame = spark.read.option("header", True).option("multiLine", True).option("escape", '"').csv(
        str(ROOT / "examples" / "tickets.csv")
    )
    frame.write.parquet(str(tmp_path / "tickets"))
    table = spark.read.parquet(str(tmp_path / "tickets"))
    counts = count_spark(table, MODELS, text_column="body", system="Categorize this ticket.")
    csv_inputs = inputs(ROOT / "examples" / "tickets.csv", text_column="body", system="Categorize this ticket.")
    assert spark_sums(counts) == csv_inputs
    # batchplan reads the Spark-written directory of part files too
    assert inputs(tmp_path / "tickets", text_column="body", system="Categorize this ticket.") == csv_inputs


def test_spark_counts_written_as_parquet_price_like_estimate(spark: Any, tmp_path: Path) -> None:
    counts = count_spark(spark.read.text(str(TICKETS)), MODELS)
    counts.write.parquet(str(tmp_path / "counts"))
    kw: dict[str, Any] = {"output_tokens": 150, "rows": 1_000_000, "tier": "tier-3"}
    got = comparable(tmp_path / "counts", **kw)
    want = comparable(TICKETS, **kw)
    for g, w in zip(got, want, strict=True):  # Spark writes part files in any order: ids may be reordered
        g.pop("input_tokens_histogram"), w.pop("input_tokens_histogram")
        g.pop("over_context_window"), w.pop("over_context_window")
        g.pop("over_max_output"), w.pop("over_max_output")
    assert got == want


def test_spark_marks_unreadable_records_instead_of_failing_the_job(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "dirty.jsonl"
    path.write_text(TICKETS.read_text(encoding="utf-8").splitlines()[0] + "\n{not json\n", encoding="utf-8")
    rows = count_spark(spark.read.text(str(path)), MODELS).collect()
    assert [r["error"] is None for r in rows] == [True, False] and "malformed JSON" in rows[1]["error"]


def test_dask_bag_and_dataframe_total_what_estimate_counts(dask_client: Any, tmp_path: Path) -> None:
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    bag = db.read_text(str(TICKETS), blocksize="64KiB")
    assert bag.npartitions > 1
    sums = count_dask(bag, MODELS)[COLUMNS].sum().compute()
    assert [int(sums[c]) for c in COLUMNS] == inputs(TICKETS)

    frame = dd.from_pandas(pd.read_csv(ROOT / "examples" / "tickets.csv"), npartitions=3)
    counted = count_dask(frame, MODELS, text_column="body")
    sums = counted[COLUMNS].sum().compute()
    assert [int(sums[c]) for c in COLUMNS] == inputs(ROOT / "examples" / "tickets.csv", text_column="body")

    # rows that are records (nested chat messages in a real Hugging Face Parquet export)
    hf = ROOT / "tests" / "fixtures" / "columnar" / "llamafactory_mllm_train.parquet"
    sums = count_dask(dd.read_parquet(str(hf)), MODELS)[COLUMNS].sum().compute()
    assert [int(sums[c]) for c in COLUMNS] == inputs(hf)


def test_dask_counts_written_as_csv_price_like_estimate(dask_client: Any, tmp_path: Path) -> None:
    import dask.bag as db

    counted = count_dask(db.read_text(str(TICKETS), blocksize="64KiB"), counter(MODELS)).compute()
    path = tmp_path / "counts.csv"
    counted.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    kw: dict[str, Any] = {"output_tokens": 150, "tier": "tier-1"}
    assert comparable(path, **kw) == comparable(TICKETS, **kw)  # read_text keeps line order: ids match too


def test_docs_scale_md_runs_as_written(spark: Any, dask_client: Any) -> None:
    """Every Python block and `batchplan` command of docs/scale.md, in order (the Spark block reuses this module's
    session through getOrCreate; the Dask block starts its own cluster, as a reader's script would)."""
    import re
    import subprocess
    import sys

    text = (ROOT / "docs" / "scale.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(python|bash)\n(.*?)```", text, flags=re.S)
    assert sum(kind == "python" for kind, _ in blocks) >= 3
    exe = Path(sys.executable).parent / "batchplan"
    for kind, code in blocks:
        if kind == "python":
            exec(compile(code, "docs/scale.md", "exec"), {"__name__": "__main__"})
            continue
        for line in code.splitlines():
            if line.startswith("batchplan "):
                argv = line.split()
                proc = subprocess.run([str(exe), *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
                assert proc.returncode == 0, (line, proc.stderr[-800:])


# ---------------------------------------------------------------------------------------------
# Claude, exactly: ctok on the executors

CLAUDE = ["claude-haiku-4-5", "claude-sonnet-5-5", "claude-opus-4-7", "gpt-4o-mini"]  # ctok 3.0, 4.8, 4.7


def _same_as_counting_here(counts: Path) -> None:
    """The counts price exactly as counting the file here, where ctok counts this small file exactly."""
    kw: dict[str, Any] = {"output_tokens": 150}
    got, want = estimate(counts, CLAUDE, **kw), estimate(TICKETS, CLAUDE, **kw)
    for g, w in zip(got.estimates, want.estimates, strict=True):
        assert (g.token_method, g.tokenizer) == (w.token_method, w.tokenizer) and g.token_method == "exact", g.model
        assert g.input_tokens == w.input_tokens and g.batch_cost_usd == w.batch_cost_usd, g.model
    assert sum("counted exactly with ctok" in n and "in the counts file" in n for n in got.notes) == 3


def test_dask_counts_claude_exactly_with_ctok_on_the_workers(dask_client: Any, tmp_path: Path) -> None:
    """Before, a counts file priced Claude on the table's approximation (x1.25 / x1.65, ±15%) however it
    was counted; now the workers count it with ctok, as `estimate` does here, and it prices the same."""
    import dask.bag as db

    need_ctok()
    counted = count_dask(db.read_text(str(TICKETS), blocksize="64KiB"), counter(CLAUDE, claude_sample=1)).compute()
    for family in ("ctok3.0_", "ctok4.8_", "ctok4.7_"):  # each family's counts, and what ctok could not cover
        assert [c.split(family)[0] for c in counted.columns if family in c] == ["input_tokens_", "uncovered_tokens_"]
    path = tmp_path / "counts.csv"
    counted.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    _same_as_counting_here(path)


def test_spark_counts_claude_exactly_with_ctok_on_the_executors(spark: Any, tmp_path: Path) -> None:
    need_ctok()
    lines = spark.read.text(str(TICKETS)).repartition(3)
    count_spark(lines, CLAUDE, claude_sample=1).write.parquet(str(tmp_path / "counts"))
    _same_as_counting_here(tmp_path / "counts")


def test_by_default_with_ctok_a_sample_is_counted_and_the_rest_calibrated_within_its_band(
    spark: Any, dask_client: Any, tmp_path: Path
) -> None:
    """ctok is ~50x slower than tiktoken: by default it counts ~2% of the records (chosen by a hash of their
    text, so Spark and Dask pick the same ones) and the estimate calibrates the rest, with a stated band that
    holds the exact count."""
    import dask.bag as db

    need_ctok()
    spark_counts = count_spark(spark.read.text(str(TICKETS)).repartition(3), CLAUDE, claude_sample=0.2)
    spark_counts.write.parquet(str(tmp_path / "spark"))
    dask_counts = count_dask(db.read_text(str(TICKETS), blocksize="64KiB"), counter(CLAUDE, claude_sample=0.2))
    dask_counts.compute().to_csv(tmp_path / "dask.csv", index=False)
    exact = {e.model: e for e in estimate(TICKETS, CLAUDE, output_tokens=150).estimates}
    results = [estimate(p, CLAUDE, output_tokens=150) for p in (tmp_path / "spark", tmp_path / "dask.csv")]
    for got in results:
        for e in got.estimates[:3]:
            want = exact[e.model].input_tokens
            assert e.token_method == "calibrated" and 0 < e.token_band < Decimal("0.1"), e.model
            assert abs(e.input_tokens - want) <= e.token_band * want, (e.model, e.input_tokens, want, e.token_band)
        assert sum("calibrated: ctok" in n and "in the counts file" in n for n in got.notes) == 3
    assert [e.input_tokens for e in results[0].estimates] == [e.input_tokens for e in results[1].estimates]
    # the default share (2%) of 300 tickets is a handful of requests: still calibrated, with a wider band
    default = count_dask(db.read_text(str(TICKETS)), counter(CLAUDE)).compute()
    column = next(c for c in default.columns if c.startswith("input_tokens_ctok4.8_"))
    assert 0 < default[column].notna().sum() < 30


def test_counts_without_ctok_columns_price_claude_approximately_and_say_why(dask_client: Any, tmp_path: Path) -> None:
    import dask.bag as db

    counted = count_dask(db.read_text(str(TICKETS)), counter(MODELS)).compute()  # ctok hidden: no ctok columns
    path = tmp_path / "counts.csv"
    counted.to_csv(path, index=False)
    result = estimate(path, MODELS, output_tokens=1)
    claude = result.estimates[1]
    assert claude.token_method == "approximate" and claude.token_band > 0
    assert any(n.startswith("claude-haiku-4-5: the counts file has no ctok counts") for n in result.notes)
