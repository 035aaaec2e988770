"""`batchplan history`: importing vendor batch objects, transaction semantics, show --json, observed ETAs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_turnaround import make_table
from typer.testing import CliRunner

from planner.cli.main import app
from planner.store import history

runner = CliRunner()
T0 = 1_780_000_000


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATCHPLAN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def openai_batch(i: int, hours: float, *, status: str = "completed", model: str | None = "acme-small",
                 total: int = 100) -> dict[str, Any]:
    end = T0 + int(hours * 3600)
    obj: dict[str, Any] = {
        "id": f"batch_{i}", "object": "batch", "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "input_file_id": "file-x", "status": status, "created_at": T0, "in_progress_at": T0 + 10,
        "request_counts": {"total": total, "completed": total if status == "completed" else total // 2,
                           "failed": 0},
    }
    if model:
        obj["model"] = model
    if status == "completed":
        obj["completed_at"] = end
    elif status == "expired":
        obj["expired_at"] = end
    return obj


def anthropic_batch(i: int, created: str, ended: str | None, *, expired: int = 0) -> dict[str, Any]:
    return {
        "id": f"msgbatch_{i}", "type": "message_batch", "processing_status": "ended" if ended else "in_progress",
        "created_at": created, "ended_at": ended, "expires_at": "2026-11-02T00:00:00Z",
        "request_counts": {"processing": 0, "succeeded": 50 - expired, "errored": 0, "canceled": 0,
                           "expired": expired},
    }


def write(path: Path, objs: list[Any], *, jsonl: bool = False) -> Path:
    if jsonl:
        path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    else:
        path.write_text(json.dumps(objs), encoding="utf-8")
    return path


def test_objects_are_valid_per_the_vendor_sdks() -> None:
    openai_types = pytest.importorskip("openai.types")
    anthropic_types = pytest.importorskip("anthropic.types.messages")
    openai_types.Batch.model_validate(openai_batch(1, 1.0))
    anthropic_types.MessageBatch.model_validate(anthropic_batch(1, "2026-11-01T00:00:00Z", "2026-11-01T02:00:00Z"))


def test_import_openai_jsonl_good_bad_foreign(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "batches.jsonl"
    lines = [json.dumps(openai_batch(1, 1.0)), "{not json", json.dumps({"object": "file", "id": "file-1"}),
             json.dumps({**openai_batch(2, 2.0), "created_at": "yesterday"}), json.dumps(openai_batch(3, 3.0))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["history", "import", str(path)])
    assert res.exit_code == 1
    assert "2 imported, 0 already known, 3 skipped" in res.stdout
    assert f"{path}:2: not JSON" in res.stderr
    assert "not an OpenAI batch or Anthropic message batch object (object/type 'file')" in res.stderr
    assert "bad OpenAI batch object: created_at" in res.stderr
    assert (home / "history.sqlite3").exists()
    assert [r.id for r in history.records()] == ["batch_1", "batch_3"]


def test_reimport_is_idempotent(tmp_path: Path) -> None:
    path = write(tmp_path / "b.json", [openai_batch(i, 1.0 + i) for i in range(3)])
    assert runner.invoke(app, ["history", "import", str(path)]).exit_code == 0
    res = runner.invoke(app, ["history", "import", str(path), "--json"])
    assert res.exit_code == 0
    report = json.loads(res.stdout)["files"][0]
    assert (report["added"], report["duplicates"], report["skipped"]) == (0, 3, [])
    assert len(history.records()) == 3


def test_list_page_and_anthropic_objects(tmp_path: Path) -> None:
    page = {"data": [anthropic_batch(1, "2026-11-01T00:00:00Z", "2026-11-01T02:00:00Z"),
                     anthropic_batch(2, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", expired=5),
                     anthropic_batch(3, "2026-11-01T00:00:00Z", None)],
            "has_more": False, "first_id": "msgbatch_1", "last_id": "msgbatch_3"}
    path = tmp_path / "anthropic.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    res = runner.invoke(app, ["history", "import", str(path), "--model", "claude-x"])
    assert res.exit_code == 0, res.stderr
    recs = {r.id: r for r in history.records()}
    assert recs["msgbatch_1"].hours == pytest.approx(2.0) and recs["msgbatch_1"].completed
    assert recs["msgbatch_2"].status == "expired" and not recs["msgbatch_2"].completed
    assert recs["msgbatch_3"].hours is None and recs["msgbatch_1"].provider == "anthropic"
    assert recs["msgbatch_1"].model == "claude-x"


def test_nothing_half_imported_when_the_store_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = write(tmp_path / "b.json", [openai_batch(i, 1.0) for i in range(5)])
    calls = {"n": 0}
    original = history._open_writer

    def flaky(on_wait: Any = None) -> Any:
        conn = original(on_wait)

        class Wrapped:
            def __getattr__(self, name: str) -> Any:
                return getattr(conn, name)

            def __enter__(self) -> Any:
                return conn.__enter__()

            def __exit__(self, *exc: Any) -> Any:
                return conn.__exit__(*exc)

            def execute(self, sql: str, params: Any = ()) -> Any:
                if sql.startswith("INSERT"):
                    calls["n"] += 1
                    if calls["n"] == 3:
                        raise history.sqlite3.OperationalError("disk I/O error")
                return conn.execute(sql, params)

        return Wrapped()

    monkeypatch.setattr(history, "_open_writer", flaky)
    res = runner.invoke(app, ["history", "import", str(good)])
    assert res.exit_code == 2 and "nothing imported" in res.stderr
    monkeypatch.setattr(history, "_open_writer", original)
    assert history.records() == []


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["history", "import", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "no such file" in res.stderr and res.stderr.count("\n") == 1


def test_show_json_and_table(tmp_path: Path) -> None:
    empty = runner.invoke(app, ["history", "show"])
    assert empty.exit_code == 0 and "No batches imported or reconciled yet" in empty.stdout
    objs = [openai_batch(i, h) for i, h in enumerate([1.0, 2.0, 3.0, 4.0])]
    objs.append(openai_batch(9, 24.0, status="expired"))
    write(tmp_path / "b.json", objs)
    assert runner.invoke(app, ["history", "import", str(tmp_path / "b.json")]).exit_code == 0
    res = runner.invoke(app, ["history", "show", "--json"])
    assert res.exit_code == 0
    (group,) = json.loads(res.stdout)["groups"]
    assert group["provider"] == "openai" and group["model"] == "acme-small"
    assert (group["batches"], group["completed"], group["expired"]) == (5, 4, 1)
    assert group["p50_hours"] == pytest.approx(2.5) and group["p90_hours"] == pytest.approx(3.7)
    table = runner.invoke(app, ["history", "show"], env={"COLUMNS": "200"})
    assert "acme-small" in table.stdout and "2.5 h" in table.stdout


def test_observed_for_matches_vendor_model_and_size(tmp_path: Path) -> None:
    objs = [openai_batch(i, 0.5 * (i + 1), total=100) for i in range(4)]
    objs += [openai_batch(10 + i, 20.0, total=50_000) for i in range(3)]
    write(tmp_path / "b.json", objs)
    history.import_file(tmp_path / "b.json", provider="acme")
    small = history.observed_for("acme", ["acme-small"], 120)
    assert small is not None and small.batches == 4 and small.p50_hours == pytest.approx(1.25)
    big = history.observed_for("acme", ["acme-small"], 40_000)
    assert big is not None and big.p50_hours == pytest.approx(20.0)
    assert history.observed_for("other", ["acme-small"], 120) is None
    assert history.observed_for("acme", ["acme-large"], 120) is None


def test_estimate_says_it_used_observed_figures(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    data = make_table("acme").model_dump(mode="json", exclude_none=True)
    data["models"][0]["id"] = "acme-small"
    table = tmp_path / "acme.yaml"
    table.write_text(yaml.safe_dump(data), encoding="utf-8")
    write(tmp_path / "b.json", [openai_batch(i, 0.2 * (i + 1), total=100) for i in range(3)])
    imported = runner.invoke(app, ["history", "import", str(tmp_path / "b.json"), "--provider", "acme",
                                   "--prices", str(table)])
    assert imported.exit_code == 0, imported.stderr
    dataset = write_jsonl([{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}] * 5)
    args = ["estimate", str(dataset), "-m", "acme-small", "--prices", str(table), "--as-of", "2026-03-01",
            "--rows", "100", "--tier", "tier-3"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.stderr
    batch = json.loads(res.stdout)["estimates"][0]["turnaround"]["batch"]
    assert batch["observed"] is True and batch["p50_hours"] == pytest.approx(0.4, abs=0.01)
    assert "your history" in batch["figures_source"]
    human = runner.invoke(app, args)
    assert "observed in your history" in human.stdout
    off = runner.invoke(app, [*args, "--no-history", "--json"])
    assert json.loads(off.stdout)["estimates"][0]["turnaround"]["batch"]["observed"] is False


def _import_in_a_process(args: tuple[str, list[str], Any]) -> str:
    """One importer process: waits at the barrier so that all of them start together, then imports its
    files one by one (one transaction each, as `batchplan history import *.json` does)."""
    home, paths, barrier = args
    import os as _os

    _os.environ["BATCHPLAN_HOME"] = home
    barrier.wait(timeout=60)
    added = known = 0
    for path in paths:
        try:
            report = history.import_file(path)
        except Exception as exc:  # the test reports whatever went wrong in the child
            return f"error: {exc}"
        added, known = added + report.added, known + report.duplicates
    return f"{added} added, {known} duplicates"


def test_several_importer_processes_on_one_store_all_succeed(tmp_path: Path, home: Path) -> None:
    """Six processes import 20 files each into one store at the same time (concurrent imports failed
    with "database is locked" before): each waits for the write lock, every object lands once, and an
    object in several files is stored once and known the other times."""
    import multiprocessing

    jobs = []
    for k in range(6):
        paths = []
        for f in range(20):
            objs = [openai_batch(100_000 * k + 100 * f + i, 1.0) for i in range(15)]
            objs += [openai_batch(99_000_000 + f, 1.0)]  # in the same file of every process
            paths.append(str(write(tmp_path / f"p{k}-{f}.jsonl", objs, jsonl=True)))
        jobs.append(paths)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Manager().Barrier(len(jobs))
    with ctx.Pool(len(jobs)) as pool:
        results = pool.map(_import_in_a_process, [(str(home), paths, barrier) for paths in jobs])
    assert not [r for r in results if r.startswith("error")], results
    assert sum(int(r.split()[0]) for r in results) == 6 * 20 * 15 + 20
    assert sum(int(r.split()[2]) for r in results) == 5 * 20
    assert len(history.records()) == 6 * 20 * 15 + 20


def test_an_import_waits_for_another_writer_and_says_so(tmp_path: Path, home: Path) -> None:
    """Another writer holds the store: the import says it waits (the observable event this test waits
    for, never a fixed time), then finishes once the lock is released, instead of "database is locked"."""
    import os
    import select
    import sqlite3
    import subprocess
    import sys

    first = write(tmp_path / "first.json", [openai_batch(1, 1.0)])
    assert runner.invoke(app, ["history", "import", str(first)]).exit_code == 0
    second = write(tmp_path / "second.json", [openai_batch(2, 1.0), openai_batch(3, 2.0)])
    blocker = sqlite3.connect(home / "history.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another batchplan writing
    exe = Path(sys.executable).parent / "batchplan"
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "planner"]
    proc = subprocess.Popen([*cli, "history", "import", str(second)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "BATCHPLAN_HOME": str(home)})
    try:
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 120)
        line = proc.stderr.readline().decode() if ready else "(nothing within 120 s)"
        assert "waiting for it" in line, line
        assert proc.poll() is None
        blocker.execute("COMMIT")
        out, err = proc.communicate(timeout=120)
    finally:
        blocker.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "2 imported" in out.decode()
    assert sorted(r.id for r in history.records()) == ["batch_1", "batch_2", "batch_3"]


# ---------------------------------------------------------------------------------------------
# The store's schema version: stores written by earlier releases open unchanged


FIXTURES = Path(__file__).parent / "fixtures" / "history"


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted: what a user stored, compared before and after an upgrade."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: sorted(conn.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def _user_version(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("name", ["store-0.1.0-imports.sqlite3", "store-0.1.0-full.sqlite3"])
def test_a_store_written_by_release_0_1_0_is_read_as_it_is_and_stamped_by_a_writer(name: str, home: Path,
                                                                                      tmp_path: Path) -> None:
    """A reader reads an old store read-only (no CREATE TABLE, no stamp: it may not be ours to write);
    the next writer brings it to the current schema, keeping every row."""
    import shutil

    home.mkdir()
    store = home / "history.sqlite3"
    shutil.copyfile(FIXTURES / name, store)
    before = _tables(store)
    assert _user_version(store) == 0
    res = runner.invoke(app, ["history", "show", "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {(g["provider"], g["model"], g["batches"], g["completed"]) for g in doc["groups"]} == {
        ("openai", "gpt-4o-mini", 4, 3), ("anthropic", None, 1, 1)}
    reconciled = [(r["model"], r["requests"]) for r in doc["reconciled"]]
    assert reconciled == ([("gpt-4o", 65)] if "full" in name else [])
    assert _tables(store) == before and _user_version(store) == 0  # the reader wrote nothing
    again = runner.invoke(app, ["history", "show", "--json"])
    assert json.loads(again.stdout) == doc
    assert runner.invoke(app, ["history", "import", str(write(tmp_path / "b.json", [openai_batch(1, 1.0)]))]
                         ).exit_code == 0
    after = _tables(store)
    assert {n: after[n] for n in before if n != "batches"} == {n: before[n] for n in before if n != "batches"}
    assert set(before["batches"]) <= set(after["batches"]) and len(after["batches"]) == len(before["batches"]) + 1
    assert set(after) == {"batches", "reconciled", "reconciled_requests"}
    assert _user_version(store) == history.SCHEMA_VERSION


def test_a_new_store_is_created_at_the_current_version(tmp_path: Path, home: Path) -> None:
    assert runner.invoke(app, ["history", "import", str(write(tmp_path / "b.json", [openai_batch(1, 1.0)]))]
                         ).exit_code == 0
    assert _user_version(home / "history.sqlite3") == history.SCHEMA_VERSION


def test_a_store_from_a_newer_batchplan_is_refused_not_misread(tmp_path: Path, home: Path) -> None:
    """history's own commands refuse it (exit 2, one line); an estimate, to which history is optional,
    goes on without it and says so in one note."""
    import sqlite3

    assert runner.invoke(app, ["history", "import", str(write(tmp_path / "b.json", [openai_batch(1, 1.0)]))]
                         ).exit_code == 0
    conn = sqlite3.connect(home / "history.sqlite3")
    conn.execute(f"PRAGMA user_version = {history.SCHEMA_VERSION + 1}")
    conn.close()
    prompts = str(Path(__file__).parents[1] / "examples" / "prompts.txt")
    estimate = ["estimate", prompts, "-m", "gpt-4o-mini", "--output-tokens", "10"]
    for args in (["history", "show"], ["history", "import", str(tmp_path / "b.json")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and "newer batchplan" in res.stderr and "--no-history" in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    history._said.clear()
    res = runner.invoke(app, estimate)
    assert res.exit_code == 0, res.stderr
    said = [line for line in res.stderr.splitlines() if "history not used" in line]
    assert len(said) == 1 and "newer batchplan" in said[0] and "--no-history" in said[0]
    assert runner.invoke(app, [*estimate, "--no-history"]).exit_code == 0


def test_show_reads_a_current_store_without_writing_to_it(tmp_path: Path, home: Path) -> None:
    """A reader opens the store read-only: `history show` works on a store it may not write (and while
    another batchplan holds the write lock), and leaves the file as it was."""
    import os
    import sqlite3

    assert runner.invoke(app, ["history", "import", str(write(tmp_path / "b.json", [openai_batch(1, 1.0)]))]
                         ).exit_code == 0
    store = home / "history.sqlite3"
    data = store.read_bytes()
    blocker = sqlite3.connect(store, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another batchplan writing
    try:
        res = runner.invoke(app, ["history", "show", "--json"])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert res.exit_code == 0 and json.loads(res.stdout)["groups"][0]["batches"] == 1
    assert store.read_bytes() == data
    store.chmod(0o444)
    home.chmod(0o555)
    try:
        if os.access(store, os.W_OK):
            pytest.skip("running as a user who may write any file (root)")
        res = runner.invoke(app, ["history", "show", "--json"])
        assert res.exit_code == 0 and json.loads(res.stdout)["groups"][0]["batches"] == 1, res.stderr
    finally:
        home.chmod(0o755)
        store.chmod(0o644)


def test_a_reconciled_batch_is_stored_whole_or_not_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store fails while writing a reconciled batch's requests: neither the batch nor any request is
    kept, so reconciling it again stores it (instead of finding it "stored before" with no requests)."""
    real = Path(__file__).parent / "fixtures" / "real"
    args = ["reconcile", str(real / "openai_gpt4o_output.jsonl"), "--input", str(real / "openai_gpt4o_input.jsonl"),
            "--json"]
    original = history._open_writer

    def failing(on_wait: Any = None) -> Any:
        conn = original(on_wait)

        class Wrapped:
            def __getattr__(self, name: str) -> Any:
                return getattr(conn, name)

            def executemany(self, sql: str, params: Any) -> Any:
                raise history.sqlite3.OperationalError("disk I/O error")

        return Wrapped()

    monkeypatch.setattr(history, "_open_writer", failing)
    res = runner.invoke(app, args)  # the report stands; the store kept nothing, and says so
    assert res.exit_code == 0 and "warning: not stored in your history" in res.stderr, res.stderr
    assert "nothing stored" in res.stderr and json.loads(res.stdout)["stored"] is None
    monkeypatch.setattr(history, "_open_writer", original)
    assert history.reconciled_summary() == []
    again = json.loads(runner.invoke(app, args).stdout)
    assert again["stored"]["added"] is True
    assert [(r.batches, r.requests) for r in history.reconciled_summary()] == [(1, 65)]


def test_a_relative_store_directory_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATCHPLAN_HOME", "relative-home")
    assert runner.invoke(app, ["history", "import", str(write(tmp_path / "b.json", [openai_batch(1, 1.0)]))]
                         ).exit_code == 0
    res = runner.invoke(app, ["history", "show", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["groups"][0]["batches"] == 1, res.stderr


# ---------------------------------------------------------------------------------------------
# Hardening (issue #27): one way in, known providers, forget, readers that never write, degrading


def test_import_splits_lines_on_newline_only(tmp_path: Path) -> None:
    objs = [dict(openai_batch(i, 1.0), metadata={"name": f"a{sep}b"}) for i, sep in
            enumerate(("\u2028", "\u2029", "\u0085", "\r"))]
    path = tmp_path / "b.jsonl"
    path.write_bytes("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8"))
    report = history.import_file(path)
    assert (report.added, report.skipped) == (4, [])


def test_a_list_page_on_one_line_of_a_jsonl_file_is_read(tmp_path: Path) -> None:
    page = {"object": "list", "data": [openai_batch(1, 1.0), openai_batch(2, 2.0)], "has_more": False}
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(page) + "\n" + json.dumps(openai_batch(3, 3.0)) + "\n", encoding="utf-8")
    report = history.import_file(path)
    assert report.added == 3 and report.skipped == []


def test_import_reads_standard_input(tmp_path: Path) -> None:
    res = runner.invoke(app, ["history", "import", "-", "--json"], input=json.dumps([openai_batch(1, 1.0)]))
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["files"][0]["file"] == "<stdin>" and doc["files"][0]["added"] == 1


def test_import_provider_must_be_known(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path / "b.json", [openai_batch(1, 1.0)])
    res = runner.invoke(app, ["history", "import", str(path), "--provider", "opnai"])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "--provider 'opnai' is not a provider batchplan knows" in res.stderr
    assert "anthropic, azure" in res.stderr and "openai" in res.stderr
    assert not (home / "history.sqlite3").exists()
    assert runner.invoke(app, ["history", "import", str(path), "--provider", "azure"]).exit_code == 0
    assert [(s.provider, s.batches) for s in history.summary()] == [("azure", 1)]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"object": "batch", "id": "b", "status": "completed", "created_at": ' + "1" * 5000 + "}", "created_at"),
        (json.dumps(dict(openai_batch(1, 1.0), created_at=1e300)), "created_at"),
        (json.dumps(openai_batch(1, 1.0)).replace(str(T0), "Infinity", 1), "created_at"),
        (json.dumps(dict(openai_batch(1, 1.0), request_counts={"total": 10**30, "completed": 1, "failed": 0})),
         "request_counts.total"),
    ],
)
def test_hostile_objects_are_skipped_with_their_line(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(openai_batch(9, 1.0)) + "\n" + text + "\n", encoding="utf-8")
    res = runner.invoke(app, ["history", "import", str(path)])
    assert res.exit_code == 1 and "Traceback" not in res.stderr
    skipped = [line for line in res.stderr.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and f"{path}:2:" in skipped[0] and said in skipped[0]
    assert [r.id for r in history.records()] == ["batch_9"]


def test_forget_removes_one_batch_imported_or_reconciled(tmp_path: Path) -> None:
    history.import_file(write(tmp_path / "b.json", [openai_batch(1, 1.0), openai_batch(2, 2.0)]))
    real = Path(__file__).parent / "fixtures" / "real"
    doc = json.loads(runner.invoke(app, ["reconcile", str(real / "openai_gpt4o_output.jsonl"), "--input",
                                         str(real / "openai_gpt4o_input.jsonl"), "--json"]).stdout)
    assert doc["stored"]["added"] is True
    res = runner.invoke(app, ["history", "forget", "batch_1"])
    assert res.exit_code == 0 and "Removed batch_1: 1 imported" in res.stdout
    assert [r.id for r in history.records()] == ["batch_2"]
    listed = json.loads(runner.invoke(app, ["history", "show", "--json"]).stdout)["reconciled_batches"]
    assert [b["key"] for b in listed] == [doc["key"]]
    gone = json.loads(runner.invoke(app, ["history", "forget", doc["key"], "--json"]).stdout)
    assert (gone["reconciled"], gone["requests"]) == (1, 65)
    assert history.reconciled_summary() == [] and history.observed_outputs("openai", "gpt-4o") is None
    again = runner.invoke(app, ["history", "forget", "batch_1"])
    assert again.exit_code == 2 and "no batch 'batch_1' in your history" in again.stderr


def _reconciled(key: str, outputs: list[int]) -> Any:
    """An Outcome-like object with per-request outputs, as record_reconciliation stores it."""
    from types import SimpleNamespace

    from planner.batch.reconcile import Matched

    report = SimpleNamespace(
        key=key, provider="acme", resolved_model="acme-small", as_of=__import__("datetime").date(2026, 3, 1),
        requests=SimpleNamespace(results=len(outputs), succeeded=len(outputs), failed=0),
        input_tokens=SimpleNamespace(estimated=None, actual=10 * len(outputs)),
        output_tokens=SimpleNamespace(estimated=None, actual=sum(outputs)),
        cost_usd=SimpleNamespace(estimated=None, actual="0.01"), results=[f"{key}.jsonl"])
    pairs = [Matched(f"{key}-{i}", True, None, None, 10, o) for i, o in enumerate(outputs)]
    return SimpleNamespace(report=report, pairs=pairs, tokenizer_key=None, exact_estimate=True, questioned=None)


def test_one_batch_cannot_poison_what_is_learned() -> None:
    """Three batches near 200 output tokens per request and one claiming 1,000,000: the outlier is named and
    left out, and the learned mean stays that of the three."""
    for n in range(3):
        history.record_reconciliation(_reconciled(f"results:b{n}", [190 + n, 210 - n] * 10))
    history.record_reconciliation(_reconciled("results:poison", [1_000_000] * 20))
    learned = history.observed_outputs("acme", "acme-small")
    assert learned is not None and learned.excluded == ["results:poison"]
    assert learned.batches == 3 and learned.mean == pytest.approx(200.0)
    assert "left out as outliers: results:poison" in learned.describe()


def test_rows_past_the_bound_are_never_learned_from(home: Path) -> None:
    """A store written before results were checked may hold a request claiming 10^12 output tokens: it is
    left out, not believed."""
    import sqlite3

    history.record_reconciliation(_reconciled("results:ok", [100] * 40))
    conn = sqlite3.connect(home / "history.sqlite3")
    conn.execute("UPDATE reconciled_requests SET output_actual = 1000000000000 WHERE custom_id = 'results:ok-0'")
    conn.commit()
    conn.close()
    learned = history.observed_outputs("acme", "acme-small")
    assert learned is not None and learned.requests == 39 and learned.max == 100


def test_a_questioned_reconciliation_is_not_stored() -> None:
    outcome = _reconciled("results:doubt", [100] * 40)
    outcome.questioned = "the input file probably does not belong to these results"
    stored = history.record_reconciliation(outcome)
    assert stored.added is False and stored.refused == outcome.questioned
    assert history.reconciled_summary() == []


def test_readers_never_create_tables(home: Path) -> None:
    """An empty file where the store is (SQLite reads it as an empty database): `history show` and an
    estimate's reads find nothing and leave it zero bytes."""
    home.mkdir()
    store = home / "history.sqlite3"
    store.write_bytes(b"")
    res = runner.invoke(app, ["history", "show"])
    assert res.exit_code == 0 and "No batches imported or reconciled yet" in res.stdout
    assert history.observed_outputs("openai", "gpt-4o") is None
    assert history.observed_for("openai", ["gpt-4o"], 100) is None
    assert store.stat().st_size == 0


@pytest.mark.parametrize("damage", ["corrupt", "newer", "locked", "directory", "tampered"])
def test_an_unusable_store_is_one_note_for_an_estimate_never_an_error(
        tmp_path: Path, home: Path, damage: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    history.import_file(write(tmp_path / "b.json", [openai_batch(i, 1.0 + i, model="gpt-4o") for i in range(4)]))
    store = home / "history.sqlite3"
    holder = None
    if damage == "corrupt":
        store.write_bytes(store.read_bytes()[:3000])
    elif damage == "newer":
        conn = sqlite3.connect(store)
        conn.execute(f"PRAGMA user_version = {history.SCHEMA_VERSION + 1}")
        conn.close()
    elif damage == "locked":
        monkeypatch.setattr(history, "OPTIONAL_READ_TIMEOUT_S", 0.05)
        holder = sqlite3.connect(store, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    elif damage == "directory":
        store.unlink()
        store.mkdir()
    else:
        conn = sqlite3.connect(store)
        conn.execute("UPDATE batches SET requests = -5")
        conn.commit()
        conn.close()
    try:
        assert history.observed_for("openai", ["gpt-4o"], 100) is None
        assert history.observed_outputs("openai", "gpt-4o") is None
        assert history.input_calibration("openai", "gpt-4o", "o200k") is None
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
    notes = [line for line in capsys.readouterr().err.splitlines() if "history not used" in line]
    assert len(notes) == 1 and str(store) in notes[0] and "--no-history" in notes[0]
