"""Columnar datasets (planner.read.columnar): Parquet, Arrow IPC and saved Hugging Face datasets read through pyarrow
give the same requests, and the same totals, as the same data in CSV or JSONL."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

if os.environ.get("CI"):
    import pyarrow as pa  # CI installs the parquet extra: a missing pyarrow is a failure there
else:
    pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq

from planner.cli.main import app
from planner.core.errors import InputError, UsageError
from planner.plan.estimate import estimate
from planner.read.datasets import ReadOptions, read_requests, sample_requests

FIXTURES = Path(__file__).parent / "fixtures"
ALPACA = FIXTURES / "shapes" / "alpaca.jsonl"
MODELS = ["gpt-4o-mini", "claude-haiku-4-5"]


def read(path: Path | str, **kw: Any) -> tuple[str, list[Any]]:
    fmt, stream = read_requests(str(path), ReadOptions(**kw))
    return fmt, list(stream)


def alpaca_rows() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in ALPACA.read_text(encoding="utf-8").splitlines()]
    return [{"id": f"A{i:05d}", **r} for i, r in enumerate(rows, 1)]


def as_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def totals(path: Path, **kw: Any) -> list[tuple[int, int, str]]:
    result = estimate(path, MODELS, **kw)
    return [(e.input_tokens, e.output_tokens, str(e.batch_cost_usd)) for e in result.estimates]


def test_parquet_text_column_equals_the_same_data_as_csv(tmp_path: Path) -> None:
    rows = alpaca_rows()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet", row_group_size=5)  # 3 row groups
    assert pq.ParquetFile(tmp_path / "a.parquet").metadata.num_row_groups == 3
    csv_path = as_csv(rows, tmp_path / "a.csv")
    kw = {"text_column": "instruction", "output_column": "output", "system": "Answer briefly."}
    assert totals(tmp_path / "a.parquet", **kw) == totals(csv_path, **kw)
    fmt, reqs = read(tmp_path / "a.parquet", text_column="instruction")
    assert fmt == "parquet" and [r.id for r in reqs][:2] == ["A00001", "A00002"]  # the id column, as in CSV


def test_arrow_ipc_file_and_stream_and_a_parquet_directory(tmp_path: Path) -> None:
    table = pa.Table.from_pylist(alpaca_rows())
    with pa.OSFile(str(tmp_path / "a.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=4)
    with pa.OSFile(str(tmp_path / "s.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=4)
    (tmp_path / "parts").mkdir()
    pq.write_table(table.slice(0, 5), tmp_path / "parts" / "part-00000.parquet")
    pq.write_table(table.slice(5), tmp_path / "parts" / "part-00001.parquet")
    kw = {"text_column": "instruction"}
    expected = totals(as_csv(alpaca_rows(), tmp_path / "a.csv"), output_tokens=1, **kw)
    for path in (tmp_path / "a.arrow", tmp_path / "s.arrow", tmp_path / "parts"):
        assert totals(path, output_tokens=1, **kw) == expected, path


def test_rows_without_a_text_column_are_records_of_any_jsonl_shape(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(alpaca_rows()), tmp_path / "a.parquet")
    fmt, reqs = read(tmp_path / "a.parquet")
    assert fmt == "parquet+alpaca" and reqs[0].id == "A00001"
    assert totals(tmp_path / "a.parquet", output_column="output") == totals(ALPACA, output_column="output")


def test_real_hugging_face_parquet_export_reads_its_chat_messages() -> None:
    """LLaMA-Factory's mllm_example_dataset (a `datasets` Parquet export: messages with text/image parts)."""
    path = FIXTURES / "columnar" / "llamafactory_mllm_train.parquet"
    fmt, reqs = read(path)
    assert fmt == "parquet+openai-finetune" and len(reqs) == 3
    first = reqs[0].body["messages"]
    assert first[0]["content"][0] == {"text": "Who are they?", "type": "text"}  # null struct fields dropped
    assert first[-1]["role"] == "user"  # the trailing answer is not input
    result = estimate(path, ["gpt-4o-mini"], output_column="messages")
    assert result.estimates[0].input_tokens > 0 and result.estimates[0].output_tokens > 0


def test_saved_hugging_face_dataset_directory() -> None:
    """`datasets.Dataset.save_to_disk` output (Arrow stream files + state.json), made from the Alpaca sample."""
    path = FIXTURES / "columnar" / "alpaca_hf_dataset"
    fmt, reqs = read(path)
    assert fmt == "arrow+alpaca" and len(reqs) == 12
    assert totals(path, output_column="output") == totals(ALPACA, output_column="output")


def test_sampling_reads_only_the_chosen_rows(tmp_path: Path) -> None:
    rows = [{"id": f"r{i}", "text": f"prompt number {i}"} for i in range(1, 2001)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "big.parquet", row_group_size=500)
    options = ReadOptions(text_column="text")
    _, total, stream = sample_requests(str(tmp_path / "big.parquet"), 7, seed=3, options=options)
    got = list(stream)
    assert total == 2000 and len(got) == 7
    assert all(r.body["messages"][0]["content"] == f"prompt number {r.line}" for r in got)
    result = estimate(tmp_path / "big.parquet", ["gpt-4o-mini"], text_column="text", sample=7, seed=3, output_tokens=1)
    assert result.dataset.requests == 2000 and result.dataset.counted_requests == 7


def test_bad_rows_name_file_and_row_and_missing_columns_list_the_columns(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "x"}, {"id": "b", "text": None}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet")
    with pytest.raises(InputError) as info:
        read(tmp_path / "t.parquet", text_column="text")
    assert info.value.line == 2 and "null" in info.value.message
    with pytest.raises(InputError, match="columns are: id, text"):
        read(tmp_path / "t.parquet", text_column="body")
    with pytest.raises(UsageError, match="--text-column"):
        read(tmp_path / "t.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    result = CliRunner().invoke(app, ["estimate", str(tmp_path / "junk.parquet"), "-m", "gpt-4o-mini"])
    assert result.exit_code != 0 and "not a readable Parquet file" in result.output and "Traceback" not in result.output


def test_id_column_keeps_the_users_ids(tmp_path: Path) -> None:
    rows = alpaca_rows()
    csv_path = as_csv([{"key": r["id"].replace("A", "R"), **r} for r in rows], tmp_path / "k.csv")
    _, reqs = read(csv_path, text_column="instruction", id_column="key")
    assert [r.id for r in reqs][:2] == ["R00001", "R00002"]
    _, reqs = read(ALPACA, id_column="instruction")
    assert reqs[0].id == json.loads(ALPACA.read_text().splitlines()[0])["instruction"]
    with pytest.raises(InputError, match="no 'nope' id"):
        read(ALPACA, id_column="nope")
