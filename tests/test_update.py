"""`batchplan prices update`: genai-prices' published data file, served by a real local HTTP server.

The data file is genai-prices' own (tests/fixtures/genai_prices/README.md says where it comes from); the
altered copies add a model, change a price, or break the file the ways a download breaks.
"""

from __future__ import annotations

import copy
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from planner.prices.update import UpdateError, update

pytest.importorskip("genai_prices")
DATA = Path(__file__).parent / "fixtures" / "genai_prices" / "data-v2.json"
ON = date(2026, 12, 6)
#: the providers this August data still builds against our December facts (mistral has since renamed models)
SOME = ("openai", "anthropic", "google")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on loopback serving the files put in the folder it returns, and its base URL."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _data() -> list[dict[str, Any]]:
    return json.loads(DATA.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _openai_model(raw: list[dict[str, Any]], model_id: str) -> dict[str, Any]:
    provider = next(p for p in raw if p["id"] == "openai")
    return next(m for m in provider["models"] if m["id"] == model_id)  # type: ignore[no-any-return]


def _serve(folder: Path, raw: Any, name: str = "data.json") -> str:
    (folder / name).write_text(json.dumps(raw), encoding="utf-8")
    return name


def test_a_new_model_and_a_changed_price_show_in_the_diff_and_are_written(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, folder = served
    raw = _data()
    new = copy.deepcopy(_openai_model(raw, "gpt-4o-mini"))
    new.update(id="gpt-4o-nano-test", name="gpt 4o nano test", match={"equals": "gpt-4o-nano-test"})
    next(p for p in raw if p["id"] == "openai")["models"].append(new)
    _openai_model(raw, "gpt-4o-mini")["prices"]["input_mtok"] = 0.2
    name = _serve(folder, raw)
    out = tmp_path / "data" / "prices"

    result = update(f"{base_url}/{name}", version=ON, only=SOME, updated=out)

    openai = next(u for u in result.updates if u.provider == "openai")
    assert "+ gpt-4o-nano-test" in openai.changes
    assert "~ gpt-4o-mini realtime.input: 0.15 -> 0.2" in openai.changes
    written = out / "openai" / "2026-12-06.yaml"
    assert written in result.written
    text = written.read_text(encoding="utf-8")
    assert "gpt-4o-nano-test" in text and f"{base_url}/{name}" in text


def test_the_update_is_compared_with_the_previous_update_of_the_day(served: tuple[str, Path], tmp_path: Path) -> None:
    """Run twice on the same data: the second run finds nothing new (the day's update is the table in force)."""
    base_url, folder = served
    name = _serve(folder, _data())
    out = tmp_path / "prices"
    first = update(f"{base_url}/{name}", version=ON, only=SOME, updated=out)
    assert first.updates
    second = update(f"{base_url}/{name}", version=ON, only=SOME, updated=out)
    assert second.updates == [], [u.changes[:3] for u in second.updates]


def test_dry_run_writes_nothing(served: tuple[str, Path], tmp_path: Path) -> None:
    base_url, folder = served
    name = _serve(folder, _data())
    result = update(f"{base_url}/{name}", version=ON, only=SOME, updated=tmp_path / "prices", dry_run=True)
    assert result.updates and not (tmp_path / "prices").exists()


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: "<html>503 Service Unavailable</html>", id="not-json"),
        pytest.param(lambda text: json.dumps({"providers": []}), id="not-a-list"),
        pytest.param(lambda text: json.dumps([{"id": "openai"}]), id="provider-without-models"),
        pytest.param(lambda text: "[]", id="empty"),
    ],
)
def test_a_broken_download_changes_nothing(
    served: tuple[str, Path], tmp_path: Path, broken: Any
) -> None:
    base_url, folder = served
    (folder / "data.json").write_text(broken(DATA.read_text(encoding="utf-8")), encoding="utf-8")
    out = tmp_path / "prices"
    with pytest.raises(UpdateError) as err:
        update(f"{base_url}/data.json", version=ON, only=SOME, updated=out)
    assert "\n" not in str(err.value) and base_url in str(err.value)
    assert not out.exists()


def test_prices_the_schema_refuses_change_nothing(served: tuple[str, Path], tmp_path: Path) -> None:
    """A hostile file that parses (a negative price) is refused whole: not one provider's table is written."""
    base_url, folder = served
    raw = _data()
    _openai_model(raw, "gpt-4o-mini")["prices"]["input_mtok"] = -5
    name = _serve(folder, raw)
    out = tmp_path / "prices"
    with pytest.raises(UpdateError):
        update(f"{base_url}/{name}", version=ON, only=SOME, updated=out)
    assert not out.exists()


def test_a_server_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(UpdateError) as err:
        update(f"http://127.0.0.1:{port}/data.json", version=ON, only=SOME, updated=tmp_path / "prices")
    assert "could not read prices" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "prices").exists()


def test_a_local_copy_of_the_data_file_works_offline(tmp_path: Path) -> None:
    result = update(str(DATA), version=ON, only=SOME, updated=tmp_path / "prices", dry_run=True)
    assert any(u.provider == "openai" for u in result.updates)


def _cli(args: list[str], home: Path) -> Any:
    from typer.testing import CliRunner

    from planner.cli.main import app

    return CliRunner().invoke(app, args, env={"BATCHPLAN_HOME": str(home)})


def _estimate(home: Path, *more: str) -> dict[str, Any]:
    """The gpt-4o-mini row of an estimate's --json on the bundled example."""
    args = ["estimate", str(DATA.parents[2].parent / "examples" / "tickets.jsonl"), "-m", "gpt-4o-mini",
            "--output-tokens", "10", "--json", *more]
    out = json.loads(_cli(args, home).stdout)
    return out["estimates"][0]  # type: ignore[no-any-return]


def test_estimates_use_the_update_from_its_date_and_say_so(served: tuple[str, Path], tmp_path: Path) -> None:
    base_url, folder = served
    raw = _data()
    _openai_model(raw, "gpt-4o-mini")["prices"]["input_mtok"] = 0.2
    url = f"{base_url}/{_serve(folder, raw)}"
    home = tmp_path / "home"

    done = _cli(["prices", "update", "--url", url, "-p", "openai"], home)
    assert done.exit_code == 0, done.output
    assert "~ gpt-4o-mini realtime.input: 0.15 -> 0.2" in done.stdout

    now = _estimate(home)
    assert now["price_table"] == "openai@2026-12-06 (from prices update)"
    assert now["price_table_verified"] == "2026-12-06"
    assert json.loads(_cli(["check", "gpt-4o-mini", "--json"], home).stdout)["realtime"]["input"] == "0.2"
    before = _estimate(home, "--as-of", "2026-12-01")
    assert before["price_table"] == "openai@2026-11-17"


def test_a_failed_update_is_one_line_and_keeps_the_tables(tmp_path: Path) -> None:
    home = tmp_path / "home"
    missing = tmp_path / "nowhere.json"
    failed = _cli(["prices", "update", "--url", str(missing)], home)
    assert failed.exit_code != 0
    assert failed.stderr.count("\n") == 1 and "could not read prices" in failed.stderr
    assert "Traceback" not in failed.output and not (home / "prices").exists()
    assert _estimate(home)["price_table"] == "openai@2026-11-17"


def test_outdated_lists_what_the_shipped_tables_lack_and_exits_1(tmp_path: Path) -> None:
    raw = _data()
    _openai_model(raw, "gpt-4o-mini")["prices"]["input_mtok"] = 0.2
    data = tmp_path / "data.json"
    data.write_text(json.dumps(raw), encoding="utf-8")
    result = _cli(["prices", "outdated", "--url", str(data), "-p", "openai", "--json"], tmp_path / "home")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert "~ gpt-4o-mini realtime.input: 0.15 -> 0.2" in report["changed"]["openai"]["changes"]
    assert report["written"] == [] and not (tmp_path / "home" / "prices").exists()


@pytest.mark.parametrize(("days", "noted"), [(29, False), (30, False), (31, True)])
def test_prices_older_than_30_days_say_how_to_update(days: int, noted: bool, tmp_path: Path) -> None:
    """check and estimate (JSON and terminal) carry one note naming `prices update` past 30 days, none before."""
    from datetime import timedelta

    from planner.prices.pricing import load_pricebook

    verified = load_pricebook(ON).resolve("gpt-4o-mini").model.verified
    when = (verified + timedelta(days=days)).isoformat()
    home = tmp_path / "home"
    check = json.loads(_cli(["check", "gpt-4o-mini", "--json", "--as-of", when], home).stdout)
    estimate_args = ["estimate", str(DATA.parents[2].parent / "examples" / "tickets.jsonl"), "-m", "gpt-4o-mini",
                     "--output-tokens", "10", "--as-of", when]
    estimate = json.loads(_cli([*estimate_args, "--json"], home).stdout)
    terminal = _cli(estimate_args, home).stderr
    for notes in (check["notes"], estimate["notes"], terminal.splitlines()):
        stale = [n for n in notes if "`batchplan prices update` fetches newer ones" in n]
        assert len(stale) == (1 if noted else 0), notes
    if noted:
        assert f"verified on {verified}, {days} days before {when}" in check["notes"][-1]


@pytest.mark.parametrize(
    ("name", "as_of", "says"),
    [
        ("llama-3.1-8b-instant", "2025-03-20", "no groq price table in force on 2025-03-20"),
        ("llama-3.1-8b-instant", "2026-03-01", "no groq price table in force on 2026-03-01"),
        ("claude-sonnet-4-5", "2025-03-20", "no anthropic price table in force on 2025-03-20"),
        ("no-such-model", "2025-03-20", "no price table is in force on 2025-03-20"),
    ],
)
def test_a_date_before_a_vendors_first_table_names_that_vendor(name: str, as_of: str, says: str,
                                                               tmp_path: Path) -> None:
    """An old job's date names the vendor whose table is missing (a Groq id is not 'no anthropic table')."""
    result = _cli(["check", name, "--as-of", as_of], tmp_path / "home")
    assert result.exit_code == 2 and says in result.stderr, result.stderr


def test_an_estimate_dated_before_the_tables_is_priced_as_reconcile_prices_an_old_batch(tmp_path: Path) -> None:
    """Both use the earliest tables that list the model and say so (reconcile: tests/test_reconcile.py)."""
    args = ["estimate", str(DATA.parents[2].parent / "examples" / "tickets.jsonl"), "-m", "gpt-4o-mini",
            "--output-tokens", "10", "--as-of", "2025-03-20"]
    out = json.loads(_cli([*args, "--json"], tmp_path / "home").stdout)
    note = "no price table is in force on 2025-03-20 (--as-of); priced with openai@2026-07-09, the earliest that lists"
    assert out["notes"][0].startswith(note)
    assert out["estimates"][0]["price_table"] == "openai@2026-07-09"
    terminal = _cli(args, tmp_path / "home")
    assert terminal.exit_code == 0 and f"batchplan: warning: {note}" in terminal.stderr
