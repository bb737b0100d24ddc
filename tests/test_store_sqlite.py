"""The sqlite store on a real database file: DDL, staging Arrow, typed fetches, transactions."""

from __future__ import annotations

from pathlib import Path

import pytest

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
