"""A `metaxy write` killed with SIGKILL in the middle of writing leaves the store as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from metaxy_cli.store.clickhouse import ClickHouseStore
from metaxy_cli.store.duckdb import DuckDBStore
from metaxy_cli.store.sqlite import SQLiteStore

pytestmark = pytest.mark.slow
METAXY = [sys.executable, "-m", "metaxy_cli"]
CASES = {
    # store name: database file (its growth shows that writing has begun), backend, rows
    "dev": (".metaxy/metadata.duckdb", DuckDBStore, 1_000_000),
    "lite": (".metaxy/metadata.sqlite", SQLiteStore, 300_000),
    # More rows than one insert block (~1M): parts of the batch reach the log before the kill.
    "ch": (".metaxy/clickhouse", ClickHouseStore, 2_500_000),
}


def big_listing(path: Path, rows: int) -> Path:
    connection = duckdb.connect()
    connection.execute(
        f"COPY (SELECT 'v' || i AS sample_uid, '/v/' || i AS path, md5('a' || i) AS audio_sha, "
        f"md5('f' || i) AS frames_sha, i AS frames, i / 7 AS duration, i * 10 AS size "
        f"FROM range({rows}) t(i)) TO '{path}' (FORMAT PARQUET)"
    )
    connection.close()
    return path


def contents(database: Path, backend) -> dict[str, list[tuple]]:
    with backend.open(database) as store:
        tables = ["example__video", "example__video__history"]
        return {t: sorted(store.fetch_all(f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def size_of(path: Path) -> int:
    """Bytes of a database file, or of every file in a store's folder (ClickHouse)."""
    if not path.is_dir():
        return path.stat().st_size if path.exists() else 0
    total = 0
    for item in path.rglob("*"):
        try:
            total += item.stat().st_size if item.is_file() else 0
        except OSError:
            pass  # renamed or removed while the writer works
    return total


def committed_parts(path: Path) -> set[Path]:
    """A ClickHouse folder's committed MergeTree parts over 1 MB (`all_<block>_<block>_<level>`
    folders; parts still being written are tmp_insert_*; small ones are bookkeeping)."""
    parts = path.glob("store/*/*/all_*") if path.is_dir() else ()
    return {part for part in parts if part.is_dir() and size_of(part) > (1 << 20)}


def grown(path: Path, size: int, parts: set[Path]) -> bool:
    """Writing has begun: the file grew; in a ClickHouse folder, part of the batch is committed
    to the log (the write is not yet published: the worst moment to die)."""
    if path.is_dir():
        return bool(committed_parts(path) - parts)
    return size_of(path) > size + (1 << 20)


@pytest.mark.parametrize("store_name", sorted(CASES))
def test_kill_during_write_leaves_store_unchanged(overview_dir: Path, tmp_path: Path, store_name: str) -> None:
    relative, backend, rows = CASES[store_name]
    small = tmp_path / "small.csv"
    small.write_text("sample_uid,path\nv1,/old/1\nv2,/old/2\n")
    base = [*METAXY, "--project", str(overview_dir)]
    subprocess.run([*base, "write", "example/video", str(small), "--partial", "--store", store_name], check=True)
    database = overview_dir / relative
    before = contents(database, backend)
    start_size, start_parts = size_of(database), committed_parts(database)

    listing = big_listing(tmp_path / "big.parquet", rows)
    process = subprocess.Popen([*base, "write", "example/video", str(listing), "--store", store_name])
    deadline = time.monotonic() + 120
    while not grown(database, start_size, start_parts) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the write finished before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    after = contents(database, backend)
    if backend is ClickHouseStore and after != before:
        # The write log row is the commit point: a kill that lands just after it (the writer was
        # still exiting) must find the batch fully published, never a part of it.
        assert (len(after["example__video"]), len(after["example__video__history"])) == (rows, len(before["example__video"]))
    else:
        assert after == before
    if backend is ClickHouseStore and after == before:  # rows of the killed write reached the log, unpublished
        with backend.open(database) as store:
            assert store.fetch_all('SELECT count() > 2 FROM "metaxy_log__example__video"') == [(True,)]
    # The store still works after the crash.
    subprocess.run([*base, "write", "example/video", str(small), "--partial", "--store", store_name], check=True)
    assert len(contents(database, backend)["example__video"]) == 2


def fingerprint(database: Path) -> dict[str, tuple]:
    """Row count and a digest of every row of the video's current and history relations (too
    many rows to compare as Python tuples)."""
    with DuckDBStore.open(database) as store:
        found = {}
        for table in ("example__video", "example__video__history"):
            rows = f'SELECT md5(CAST(t AS VARCHAR)) AS h FROM "{table}" t'
            found[table] = tuple(store.fetch_all(f"SELECT count(*), md5(string_agg(h, ',' ORDER BY h)) FROM ({rows})")[0])
        return found


def test_kill_during_a_rewrite_that_retires_the_table(overview_dir: Path, tmp_path: Path) -> None:
    """A rewrite of every sample retires the current table into history by a rename
    (store/history_parts.py): killed mid-write, the store keeps its plain tables and rows."""
    rows = 500_000
    base = [*METAXY, "--project", str(overview_dir)]
    first = big_listing(tmp_path / "first.parquet", rows)
    subprocess.run([*base, "write", "example/video", str(first), "--store", "dev"], check=True)
    database = overview_dir / CASES["dev"][0]
    before = fingerprint(database)
    connection = duckdb.connect()
    second = tmp_path / "second.parquet"
    connection.execute(f"COPY (SELECT * REPLACE (path || '-v2' AS path) FROM '{first}') TO '{second}' (FORMAT PARQUET)")
    connection.close()
    start_size = size_of(database)
    process = subprocess.Popen([*base, "write", "example/video", str(second), "--store", "dev"])
    deadline = time.monotonic() + 120
    while not grown(database, start_size, set()) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the write finished before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    assert fingerprint(database) == before and before["example__video"][0] == rows
    with DuckDBStore.open(database) as store:
        assert store.relation_kind("example__video__history") == "BASE TABLE"
        assert store.history_parts("example__video__history") == []
    # The rewrite then completes: the old rows are history, read through the view.
    subprocess.run([*base, "write", "example/video", str(second), "--store", "dev"], check=True)
    with DuckDBStore.open(database) as store:
        assert store.history_parts("example__video__history") == [1]
        assert store.fetch_all('SELECT count(*), count(DISTINCT path) FROM "example__video__history"') == [(rows, rows)]
        assert store.fetch_all("SELECT count(*) FROM \"example__video\" WHERE path LIKE '%-v2'") == [(rows,)]
