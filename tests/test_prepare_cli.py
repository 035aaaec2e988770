"""`batchplan prepare` from the outside: files, manifest JSON, --force, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from planner.cli.main import app

ACME = str(Path(__file__).parent / "fixtures" / "pricing" / "acme" / "2026-01-01.yaml")
COMMON = ["--prices", ACME, "--as-of", "2026-03-01"]
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_prepare_json_manifest_equals_estimate(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("id,text\n" + "".join(f"k{i},text {i}\n" for i in range(5)), encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, err = run("prepare", str(data), "-m", "acme-small", "--vendor", "openai", "-o", str(out),
                            "--text-column", "text", "--output-tokens", "10", "--max-requests", "2",
                            "--body", '{"top_p": 0.5}', "--json", *COMMON)
    assert code == 0, err
    manifest = json.loads(stdout)
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert [f["requests"] for f in manifest["files"]] == [2, 2, 1]
    code, est, _ = run("estimate", str(data), "-m", "acme-small", "--text-column", "text", "--output-tokens", "10",
                       "--json", *COMMON)
    e = json.loads(est)["estimates"][0]
    for key in ("input_tokens", "output_tokens", "realtime_cost_usd", "batch_cost_usd"):
        assert manifest["totals"][key] == e[key]
    line = json.loads((out / "batch-0001.jsonl").read_text().splitlines()[0])
    assert line["custom_id"] == "k0" and line["body"]["top_p"] == 0.5


def test_prepare_refuses_to_overwrite(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    out = tmp_path / "out"
    args = ["prepare", str(data), "-m", "acme-small", "--vendor", "openai", "-o", str(out), *COMMON]
    assert run(*args)[0] == 0
    before = (out / "manifest.json").read_bytes()
    code, _, err = run(*args)
    assert code == 2 and "--force" in err and "Traceback" not in err
    assert (out / "manifest.json").read_bytes() == before
    assert run(*args, "--force")[0] == 0


def test_prepare_errors_are_one_line(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}]}])
    code, _, err = run("prepare", str(data), "-m", "acme-small", "--vendor", "nope", "-o", str(tmp_path / "o"),
                       *COMMON)
    assert code == 2 and "unknown --vendor" in err
    code, _, err = run("prepare", str(data), "-m", "claude-haiku-4-5", "--vendor", "anthropic", "-o",
                       str(tmp_path / "o"), "--output-tokens", "3", *COMMON)
    assert code == 2 and "max_tokens" in err
    # a model the vendor does not serve is refused, naming where it resolves (issue #12)
    code, _, err = run("prepare", str(data), "-m", "acme-small", "--vendor", "anthropic", "-o", str(tmp_path / "o"),
                       "--output-tokens", "3", *COMMON)
    assert code == 2 and "anthropic does not serve model 'acme-small'" in err and "--vendor acme" in err
    assert not list((tmp_path / "o").glob("batch-*.jsonl"))
    code, _, err = run("prepare", str(data), "-m", "acme-small", "--vendor", "groq", "--endpoint", "embeddings",
                       "-o", str(tmp_path / "o"), *COMMON)
    assert code == 2 and "endpoint" in err
    code, _, err = run("prepare", str(data), "-m", "acme-small", "--body", "[1]", "-o", str(tmp_path / "o"), *COMMON)
    assert code == 2 and "--body" in err


def test_prepare_human_output(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    data = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}])
    code, out, _ = run("prepare", str(data), "-m", "claude-haiku-4-5", "--vendor", "anthropic", "-o",
                       str(tmp_path / "o"), *COMMON)
    assert code == 0 and "total" in out and (tmp_path / "o" / "batch-0001.jsonl").exists()
