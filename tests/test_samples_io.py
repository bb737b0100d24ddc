"""Reading samples (files, stdin, Arrow, lists of dicts) and writing outputs."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from metaxy_cli.definitions.errors import DataError
from metaxy_cli.store.io import format_of, format_table, open_input, sniff_format, to_arrow, write_batches


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.parquet", "parquet"), ("a.PQ", "parquet"), ("a.csv", "csv"), ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"), ("a.json", "jsonl")],
)
def test_format_of(name: str, expected: str) -> None:
    assert format_of(name) == expected


def test_unknown_format() -> None:
    with pytest.raises(DataError, match=r"^a\.txt: unknown file format \(use \.parquet, \.csv or \.jsonl\)$"):
        format_of("a.txt")
    assert format_of("a.txt", "parquet") == "parquet"


def test_sniff_format() -> None:
    assert sniff_format(b"PAR1....") == "parquet"
    assert sniff_format(b'  {"a": 1}\n') == "jsonl"
    assert sniff_format(b"a,b\n1,2\n") == "csv"


def read_all(data) -> list[tuple]:
    connection = duckdb.connect()
    with open_input(data, connection) as source:
        return connection.sql(f"SELECT * FROM {source.relation} ORDER BY 1").fetchall()


def test_read_files_keep_csv_text(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,n\n007,1\n008,2\n")
    assert read_all(tmp_path / "a.csv") == [("007", "1"), ("008", "2")]
    (tmp_path / "a.jsonl").write_text('{"id": "x", "n": 1}\n{"id": "y", "n": 2}\n')
    assert read_all(str(tmp_path / "a.jsonl")) == [("x", 1), ("y", 2)]
    write_batches(pa.table({"id": ["p"], "n": [3]}).to_reader(), tmp_path / "a.parquet", "parquet")
    assert read_all(tmp_path / "a.parquet") == [("p", 3)]
    with pytest.raises(DataError, match="no such file"):
        read_all(tmp_path / "missing.csv")


def test_read_stdin(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"id": "s"}\n')))
    assert read_all("-") == [("s",)]


def test_to_arrow() -> None:
    table = pa.table({"id": ["a"]})
    assert to_arrow(table) is table
    assert to_arrow([{"id": "a", "n": 1}]).to_pylist() == [{"id": "a", "n": 1}]
    assert to_arrow({"id": ["a"]}).to_pylist() == [{"id": "a"}]
    with pytest.raises(DataError, match="cannot read samples from int"):
        to_arrow(3)


def test_write_batches_and_table(tmp_path: Path) -> None:
    reader = pa.table({"id": ["a", "b"], "ok": [True, None]}).to_reader()
    assert write_batches(reader, tmp_path / "o.csv", "csv") == 2
    assert (tmp_path / "o.csv").read_text() == "id,ok\na,true\nb,\n"
    out = io.StringIO()
    assert format_table(pa.table({"id": ["a", "bb"], "n": [1, None]}).to_reader(), out) == 2
    assert out.getvalue() == "id  n\na   1\nbb\n"


def test_rows_with_different_keys_keep_every_column() -> None:
    """A key missing from the first row must not drop that column from the others."""
    table = to_arrow([{"sample_uid": "a"}, {"sample_uid": "b", "n": 2**63 - 1}, {"x": "only", "sample_uid": "c"}])
    assert table.column_names == ["sample_uid", "n", "x"]
    assert table.to_pylist() == [
        {"sample_uid": "a", "n": None, "x": None},
        {"sample_uid": "b", "n": 2**63 - 1, "x": None},
        {"sample_uid": "c", "n": None, "x": "only"},
    ]
