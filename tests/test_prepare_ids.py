"""`prepare --id-column COL` keeps the user's own ids, checked against each vendor's id rule and for duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.batch.prepare import prepare
from planner.cli.main import app
from planner.core.errors import InputError, UsageError


def write(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("key,body\n" + "".join(f"{i},prompt {n}\n" for n, i in enumerate(ids)), encoding="utf-8")
    return path


@pytest.mark.parametrize(("vendor", "field"), [("openai", "custom_id"), ("anthropic", "custom_id"),
                                              ("gemini", "key"), ("bedrock", "recordId"), ("xai", "batch_request_id")])
def test_the_users_ids_are_written_unchanged(tmp_path: Path, vendor: str, field: str) -> None:
    data = write(tmp_path, ["R00000", "R00001", "R00002"])
    model = {"anthropic": "claude-haiku-4-5", "bedrock": "anthropic.claude-haiku-4-5-20251001-v1:0",
             "gemini": "gemini-2.0-flash", "xai": "grok-3-mini"}.get(vendor, "gpt-4o-mini")
    prepare(data, model, tmp_path / "out", vendor=vendor, text_column="body", id_column="key", max_tokens=5)
    lines = [json.loads(x) for x in (tmp_path / "out" / "batch-0001.jsonl").read_text().splitlines()]
    assert [line[field] for line in lines] == ["R00000", "R00001", "R00002"]


def test_without_id_column_ids_are_made_as_before(tmp_path: Path) -> None:
    data = write(tmp_path, ["R00000", "R00001"])
    manifest = prepare(data, "gpt-4o-mini", tmp_path / "out", vendor="openai", text_column="body", max_tokens=5)
    assert manifest.files[0].first_id == "row-2"


def test_duplicates_and_ids_the_vendor_refuses_are_errors_naming_the_line(tmp_path: Path) -> None:
    data = write(tmp_path, ["R00000", "R00001", "R00000"])
    with pytest.raises(InputError) as info:
        prepare(data, "gpt-4o-mini", tmp_path / "out", vendor="openai", text_column="body", id_column="key")
    assert info.value.line == 4 and "duplicate id \"R00000\" (first on line 2)" in info.value.message
    assert not (tmp_path / "out" / "batch-0001.jsonl").exists()  # nothing half-written
    spaced = write(tmp_path, ["R 1"])
    with pytest.raises(InputError, match=r"does not fit anthropic's custom_id rule"):
        prepare(spaced, "claude-haiku-4-5", tmp_path / "o2", vendor="anthropic", text_column="body",
                id_column="key", max_tokens=5)
    with pytest.raises(UsageError, match="vertex lines carry no id"):
        prepare(data, "gemini-2.0-flash", tmp_path / "o3", vendor="vertex", text_column="body", id_column="key")


def test_cli_flag(tmp_path: Path) -> None:
    data = write(tmp_path, ["R00000", "R00001"])
    argv = ["prepare", str(data), "--text-column", "body", "--id-column", "key", "-m", "gpt-4o-mini",
            "--vendor", "openai", "-o", str(tmp_path / "o"), "--max-tokens", "5", "--json"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["files"][0]["first_id"] == "R00000"
