"""The sqlite store on a real database file: DDL, staging Arrow, typed fetches, transactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.store.sqlite import SQLiteStore
from tests import store_contract as contract


@pytest.fixture
def store(tmp_path: Path):
    opened = SQLiteStore.open(tmp_path / "store.db", name="sqlite")
    yield opened
    opened.close()


def test_tables(store) -> None:
    contract.check_tables(store)


def test_stage_and_fetch(store, tmp_path: Path) -> None:
    contract.check_stage_and_fetch(store, tmp_path)


def test_transaction(store) -> None:
    contract.check_transaction(store)


def test_errors(store) -> None:
    contract.check_errors(store)


def test_unopenable(tmp_path: Path) -> None:
    contract.check_unopenable(SQLiteStore, tmp_path)


def test_file_persists(tmp_path: Path) -> None:
    with SQLiteStore.open(tmp_path / "deep" / "er" / "store.db") as store:
        store.ensure_table("t", contract.COLUMNS)
    with SQLiteStore.open(tmp_path / "deep" / "er" / "store.db") as store:
        assert store.list_columns("t") == [name for name, _ in contract.COLUMNS]


def test_registers_md5_and_stores_canonical_text(store) -> None:
    assert store.fetch_all("SELECT md5('abc')") == [("900150983cd24fb0d6963f7d28e17f72",)]
    store.ensure_table("t", contract.COLUMNS)
    store.stage("incoming", contract.rows())
    store.execute('INSERT INTO "t" SELECT * FROM "incoming"')
    # Booleans as 0/1, dates and timestamps as canonical text: the hashes match DuckDB's.
    assert store.fetch_all('SELECT "ok", "day", "at" FROM "t" ORDER BY "id"') == [
        (1, "2024-02-29", "2024-01-02 03:04:05.000006"), (0, None, None),
    ]  # fmt: skip


def _write_batches(args: tuple[str, str, int]) -> list[int]:
    """One writer process: two batches of its own samples, then one of every writer's."""
    project_dir, database, worker = args
    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project

    project = load_project(Path(project_dir))
    def batch(prefix: str) -> list[dict]:
        return [
            {"sample_uid": f"{prefix}{k}", "path": "p", "audio_sha": f"a{worker}", "frames_sha": "f",
             "frames": k, "duration": 1.0, "size": k}
            for k in range(2_000)
        ]  # fmt: skip

    with SQLiteStore.open(database, busy_timeout=120) as store:
        engine.write(project, store, "example/video", batch(f"w{worker}-"))
        engine.write(project, store, "example/video", batch(f"w{worker}-"))
        engine.write(project, store, "example/video", batch("shared-"))
        return [row[0] for row in store.fetch_all("SELECT write_id FROM metaxy_writes")]


def test_concurrent_writer_processes_queue_instead_of_failing(overview_dir: Path, tmp_path: Path) -> None:
    """Several processes writing one file: every write lands (BEGIN IMMEDIATE + busy timeout),
    with distinct write ids, and the current table keeps one row per id."""
    import multiprocessing

    database = str(tmp_path / "shared.sqlite")
    jobs = [(str(overview_dir), database, worker) for worker in range(4)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_write_batches, jobs)
    with SQLiteStore.open(database) as store:
        ids = [row[0] for row in store.fetch_all("SELECT write_id FROM metaxy_writes ORDER BY 1")]
        assert ids == list(range(1, 13))
        assert store.fetch_all('SELECT count(*), count(DISTINCT sample_uid) FROM "example__video"') == [(10_000, 10_000)]
        # 4 rewrites of the own batch + 3 of the shared one were superseded into history.
        assert store.fetch_all('SELECT count(*) FROM "example__video__history"') == [(4 * 2_000 + 3 * 2_000,)]


def test_current_tables_index_their_ids(overview_dir: Path, tmp_path: Path) -> None:
    """Superseding probes the ids index per batch row: the plan searches, never scans per row."""
    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.engine.tables import ids_in

    project = load_project(overview_dir)
    with SQLiteStore.open(tmp_path / "s.sqlite") as store:
        engine.write(project, store, "example/video", [{"sample_uid": "a"}, {"sample_uid": "b"}], partial=True)
        indexes = store.fetch_all("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        assert indexes == [("metaxy_ids__example__video", "example__video")]
        with pytest.raises(StoreError, match="UNIQUE constraint failed"):
            store.execute('INSERT INTO "example__video" (sample_uid) VALUES (\'a\')')
        store.execute("CREATE TEMP TABLE batch AS SELECT 'a' AS sample_uid")
        condition = ids_in(engine.resolved(project, "example/video"), "batch")  # what supersede runs
        plan = store.fetch_all(f'EXPLAIN QUERY PLAN DELETE FROM "example__video" WHERE {store.to_sql(condition)}')
        assert any("SEARCH example__video USING" in row[-1] for row in plan), plan


def test_busy_timeout_setting(tmp_path: Path) -> None:
    settings = {"path": str(tmp_path / "s.sqlite"), "busy_timeout": "2.5"}
    with SQLiteStore.from_settings("lite", settings, tmp_path) as store:
        assert store.fetch_all("PRAGMA busy_timeout") == [(2500,)]
    with pytest.raises(StoreError, match="store 'lite': busy_timeout must be a number of seconds, got 'soon'"):
        SQLiteStore.from_settings("lite", settings | {"busy_timeout": "soon"}, tmp_path)
