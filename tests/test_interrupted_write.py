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

from metaxy_cli.store.duckdb import DuckDBStore
from metaxy_cli.store.sqlite import SQLiteStore

pytestmark = pytest.mark.slow
METAXY = [sys.executable, "-m", "metaxy_cli"]
CASES = {
    # store name: database file (its growth shows that writing has begun), backend, rows
    "dev": (".metaxy/metadata.duckdb", DuckDBStore, 1_000_000),
    "lite": (".metaxy/metadata.sqlite", SQLiteStore, 300_000),
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


def grown(path: Path, size: int) -> bool:
    return path.exists() and path.stat().st_size > size + (1 << 20)


@pytest.mark.parametrize("store_name", sorted(CASES))
def test_kill_during_write_leaves_store_unchanged(overview_dir: Path, tmp_path: Path, store_name: str) -> None:
    relative, backend, rows = CASES[store_name]
    small = tmp_path / "small.csv"
    small.write_text("sample_uid,path\nv1,/old/1\nv2,/old/2\n")
    base = [*METAXY, "--project", str(overview_dir)]
    subprocess.run([*base, "write", "example/video", str(small), "--partial", "--store", store_name], check=True)
    database = overview_dir / relative
    before = contents(database, backend)
    start_size = database.stat().st_size

    listing = big_listing(tmp_path / "big.parquet", rows)
    process = subprocess.Popen([*base, "write", "example/video", str(listing), "--store", store_name])
    deadline = time.monotonic() + 120
    while not grown(database, start_size) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the write finished before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    assert contents(database, backend) == before
    # The store still works after the crash.
    subprocess.run([*base, "write", "example/video", str(small), "--partial", "--store", store_name], check=True)
    assert len(contents(database, backend)["example__video"]) == 2
