"""What every store backend must do; tests/test_store_<backend>.py run it on a real database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metaxy_cli.definitions.errors import StoreError

COLUMNS = [("id", "string"), ("n", "integer"), ("x", "double"), ("ok", "boolean"), ("day", "date"), ("at", "timestamp")]
TYPES = dict(COLUMNS)


def rows() -> pa.Table:
    return pa.table({
        "id": ["a", "b"], "n": [1, None], "x": [0.5, None], "ok": [True, False],
        "day": [dt.date(2024, 2, 29), None], "at": [dt.datetime(2024, 1, 2, 3, 4, 5, 6), None],
    })  # fmt: skip


def check_tables(store) -> None:
    assert store.list_columns("t") is None and not store.table_exists("t")
    assert store.ensure_table("t", COLUMNS[:2]) is True
    assert store.list_columns("t") == ["id", "n"]
    assert store.ensure_table("t", COLUMNS) is True  # added later: ALTER TABLE ADD COLUMN
    assert store.list_columns("t") == [name for name, _ in COLUMNS]
    assert store.ensure_table("t", COLUMNS) is False


def check_stage_and_fetch(store, tmp_path: Path) -> None:
    store.ensure_table("t", COLUMNS)
    store.stage("incoming", rows())
    store.execute('INSERT INTO "t" SELECT * FROM "incoming"')
    fetched = store.fetch_arrow('SELECT * FROM "t" ORDER BY "id"', types=TYPES)
    assert fetched.to_pylist() == rows().to_pylist()
    reader = store.fetch_batches('SELECT * FROM "t" ORDER BY "id"', 1, types=TYPES)
    assert [batch.num_rows for batch in reader] == [1, 1]
    assert store.fetch_arrow('SELECT * FROM "t" WHERE "id" = \'zz\'', types=TYPES).num_rows == 0
    for fmt in ("parquet", "csv", "jsonl"):
        target = tmp_path / f"out.{fmt}"
        assert store.copy_to('SELECT * FROM "t" ORDER BY "id"', target, fmt, types=TYPES) == 2
    assert pq.read_table(tmp_path / "out.parquet").column("id").to_pylist() == ["a", "b"]
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"id": "a", "n": 1, "x": 0.5, "ok": True, "day": "2024-02-29", "at": "2024-01-02 03:04:05.000006"}
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "id,n,x,ok,day,at"


def check_transaction(store) -> None:
    store.ensure_table("t", COLUMNS)
    with pytest.raises(ZeroDivisionError):
        with store.transaction():
            store.stage("incoming", rows())
            store.execute('INSERT INTO "t" SELECT * FROM "incoming"')
            store.ensure_table("u", COLUMNS)
            with store.transaction():  # nested blocks join the outer transaction
                store.execute('DELETE FROM "t" WHERE TRUE')  # ClickHouse requires a WHERE
            1 / 0
    assert store.fetch_all('SELECT count(*) FROM "t"') == [(0,)]
    assert not store.table_exists("u")
    with store.transaction():
        store.stage("incoming", rows())
        store.execute('INSERT INTO "t" SELECT * FROM "incoming"')
    assert store.fetch_all('SELECT count(*) FROM "t"') == [(2,)]


def check_errors(store) -> None:
    with pytest.raises(StoreError, match=rf"^store '{store.name}' \("):
        store.execute("SELECT * FROM no_such_table")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.fetch_all("SELECT 1")


def check_unopenable(backend, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=rf"^cannot open store at {tmp_path}: it is a directory$"):
        backend.open(tmp_path)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match=rf"^cannot open store '\w+' at {corrupt}: "):
        backend.open(corrupt)
    assert corrupt.read_bytes() == b"garbage" * 1000
