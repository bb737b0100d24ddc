"""The duckdb store on a real database file: DDL, staging Arrow, typed fetches, transactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.store.duckdb import DuckDBStore
from tests import store_contract as contract


@pytest.fixture
def store(tmp_path: Path):
    opened = DuckDBStore.open(tmp_path / "store.db", name="duckdb")
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
    contract.check_unopenable(DuckDBStore, tmp_path)


def test_file_persists(tmp_path: Path) -> None:
    with DuckDBStore.open(tmp_path / "deep" / "er" / "store.db") as store:
        store.ensure_table("t", contract.COLUMNS)
    with DuckDBStore.open(tmp_path / "deep" / "er" / "store.db") as store:
        assert store.list_columns("t") == [name for name, _ in contract.COLUMNS]


def test_memory_store_and_native_connection() -> None:
    with DuckDBStore.open(":memory:") as store:
        assert store.location == ":memory:"
        assert store.native_duckdb.sql("SELECT md5('abc')").fetchall() == [("900150983cd24fb0d6963f7d28e17f72",)]


def test_named_stores_default_to_a_1_5gb_memory_limit(tmp_path: Path) -> None:
    with DuckDBStore.from_settings("dev", {"path": str(tmp_path / "a.db")}, tmp_path) as store:
        assert store.fetch_all("SELECT current_setting('memory_limit')") == [("1.3 GiB",)]
    with DuckDBStore.from_settings("dev", {"path": str(tmp_path / "b.db"), "memory_limit": "1GB"}, tmp_path) as store:
        assert store.fetch_all("SELECT current_setting('memory_limit')") == [("953.6 MiB",)]


def test_memory_limit_setting(tmp_path: Path) -> None:
    with DuckDBStore.open(tmp_path / "small.db", memory_limit="1GB") as store:
        assert store.fetch_all("SELECT current_setting('memory_limit')") == [("953.6 MiB",)]
    with pytest.raises(StoreError, match=r"^cannot open store 'duckdb' at .*bad\.db: Parser Error: Memory must have a number"):
        DuckDBStore.open(tmp_path / "bad.db", memory_limit="lots")


def test_compression_setting(tmp_path: Path) -> None:
    with DuckDBStore.open(tmp_path / "fast.db", compression="uncompressed") as store:
        assert store.fetch_all("SELECT current_setting('force_compression')") == [("uncompressed",)]
    with pytest.raises(StoreError, match=r"^cannot open store 'duckdb' at .*: Not implemented Error: .*\"bogus\""):
        DuckDBStore.open(tmp_path / "bad.db", compression="bogus")
    with pytest.raises(StoreError, match=r"^store 'duckdb': compression \"x'; DROP\" is not a DuckDB compression method$"):
        DuckDBStore.open(tmp_path / "bad.db", compression="x'; DROP")


HOLDER = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("open", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


def test_a_file_open_in_another_process_is_waited_for(tmp_path: Path) -> None:
    """DuckDB lets one process open a file: others wait up to lock_timeout, then fail clearly."""
    import subprocess
    import sys

    database = tmp_path / "shared.duckdb"
    DuckDBStore.open(database).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(database), "1.0"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match=r"cannot open store 'duckdb' at .*shared.duckdb: another process has it open \(waited 0 s; lock_timeout"):
            DuckDBStore.open(database)
        with DuckDBStore.open(database, lock_timeout=60) as store:  # opens once the holder exits
            assert store.fetch_all("SELECT 1") == [(1,)]
    finally:
        holder.kill()
        holder.wait()


def test_lock_timeout_setting(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="store 'dev': lock_timeout must be a number of seconds, got 'never'"):
        DuckDBStore.from_settings("dev", {"path": str(tmp_path / "s.duckdb"), "lock_timeout": "never"}, tmp_path)
