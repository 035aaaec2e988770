"""`batchplan estimate` from the outside: the JSON contract, exit codes, one-line errors, --skip-bad."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.main import app

ACME = str(Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml")
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def chat(content: str, **extra: object) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": content}], **extra}


def test_json_contract(write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl([chat("hello", max_tokens=20, id="r1"), chat("bye", max_tokens=20, id="r2")])
    code, out, err = run(
        "estimate",
        str(path),
        "-m",
        "acme-small",
        "-m",
        "acme-live",
        "--prices",
        ACME,
        "--as-of",
        "2026-03-01",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["dataset"] == doc["dataset"] | {"path": str(path), "format": "chat", "requests": 2}
    first, second = doc["estimates"]
    for key in (
        "model",
        "provider",
        "price_table",
        "input_tokens",
        "output_tokens",
        "token_method",
        "realtime_cost_usd",
        "batch_cost_usd",
        "savings_usd",
        "batch_eligible",
        "reasons",
    ):
        assert key in first
    assert first["model"] == "acme-small" and first["provider"] == "acme"
    assert first["price_table"] == f"acme@2026-01-01 (your table {ACME})"  # --prices: labelled as the user's
    assert first["token_method"] == "exact" and first["output_tokens"] == 40
    # money is a decimal string, never a float
    assert isinstance(first["realtime_cost_usd"], str) and "." in first["realtime_cost_usd"]
    assert first["batch_eligible"] is True and first["reasons"] == []
    assert second["batch_eligible"] is False and second["batch_cost_usd"] is None
    assert len(second["reasons"]) == 1 and "realtime-only model" in second["reasons"][0]
    assert doc["output_assumption"]["mode"] == "max_tokens"


def test_human_table_names_assumptions(write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl([chat("hello")])
    code, out, _ = run("estimate", str(path), "-m", "acme-small", "--output-tokens", "150", "--prices", ACME)
    assert code == 0
    assert "acme/acme-small" in out
    assert "150 output tokens per request (assumed, --output-tokens)" in out
    assert "acme@2026-01-01" in out
    assert "vendor targets, not guarantees" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["MISSING.jsonl", "-m", "acme-small"], "MISSING.jsonl: no such file"),
        (["{data}", "-m", "acme-smal"], "unknown model 'acme-smal'"),
        (["{data}", "-m", "acme-small", "--as-of", "2026-13-45"], "--as-of '2026-13-45' is not a date"),
        (["{data}", "-m", "acme-small", "--as-of", "1999-01-01"], "takes effect on 2026-01-01, after 1999-01-01"),
        (["{bad}", "-m", "acme-small"], ":2: malformed JSON"),
        (["{data}", "-m", "acme-small", "--format", "xml"], "unknown --format 'xml'"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    write_jsonl: Callable[..., Path], tmp_path: Path, args: list[str], message: str
) -> None:
    data = write_jsonl([chat("x", max_tokens=3)])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(chat("x", max_tokens=3)) + "\n{not json\n")
    argv = [a.format(data=data, bad=bad) for a in args]
    if "--as-of" not in argv:
        argv += ["--as-of", "2026-03-01"]
    code, out, err = run("estimate", *argv, "--prices", ACME)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_unknown_model_suggests(write_jsonl: Callable[..., Path]) -> None:
    code, _, err = run(
        "estimate", str(write_jsonl([chat("x")])), "-m", "acme-smal", "--output-tokens", "1", "--prices", ACME
    )
    assert code == 2 and "did you mean acme-small" in err


def test_skip_bad_continues_and_reports(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    good = json.dumps(chat("x"))
    p.write_text("\n".join([good, "{bad", good, "[1]", good]) + "\n")
    code, out, err = run(
        "estimate", str(p), "-m", "acme-small", "--output-tokens", "5", "--prices", ACME, "--skip-bad", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["dataset"]["requests"] == 3
    assert doc["dataset"]["skipped"]["count"] == 2 and doc["dataset"]["skipped"]["first_lines"] == [2, 4]
    assert "skipped 2 bad line(s) (first: 2, 4)" in err


def test_python_module_entry_point() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "planner", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "estimate" in proc.stdout
