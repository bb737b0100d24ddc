"""Samples in and out: Parquet, CSV, JSON Lines files or stdin, Arrow data, and output files.

Input is read by DuckDB in place (a `read_csv(...)` relation, or Arrow registered as a view), so a
large batch never becomes Python rows; output is streamed in batches (COPY or Arrow writers).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import DataError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

INPUT_FORMATS = ("parquet", "csv", "jsonl")
OUTPUT_FORMATS = ("parquet", "csv", "jsonl")
_EXTENSIONS = {
    ".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}  # fmt: skip
STDIN = "-"
MEMORY = ":memory:"  # a DuckDB (or SQLite) database that lives in the process only


def format_of(path: str | Path, default: str | None = None) -> str:
    """The file format named by a path's extension (`.parquet`, `.csv`, `.jsonl`)."""
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    found = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if found is None and default is None:
        raise DataError(f"{path}: unknown file format (use .parquet, .csv or .jsonl)")
    return found or default  # type: ignore[return-value]


def sniff_format(head: bytes) -> str:
    """The format of stdin, from its first bytes: Parquet magic, a JSON object, else CSV."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.lstrip().startswith(b"{"):
        return "jsonl"
    return "csv"


@dataclass(frozen=True)
class InputSource:
    """Samples readable by DuckDB: `relation` is SQL text usable after FROM; `label` names it."""

    relation: str
    label: str


def connect(location: str = MEMORY, config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Every DuckDB connection metaxy opens (store, private batch readers, file writers).

    The session time zone is UTC: a timezone-aware input timestamp is cast to the stored naive
    timestamp the same way on every machine (DuckDB's default is the machine's local zone, which
    would make the same file hash differently in New York and in CI).
    """
    import duckdb

    connection = duckdb.connect(location, config=config or {})
    connection.execute("SET TimeZone = 'UTC'").fetchall()
    return connection


def string_literal(text: str) -> str:
    from sqlglot import exp

    return exp.Literal.string(text).sql("duckdb")


def file_relation(path: str, file_format: str) -> str:
    """DuckDB table function reading a file. CSV cells stay text so '007' is not read as 7."""
    literal = string_literal(path)
    if file_format == "parquet":
        return f"read_parquet({literal})"
    if file_format == "csv":
        return f"read_csv({literal}, header = true, all_varchar = true)"
    return f"read_json({literal}, format = 'newline_delimited')"


class EmptyInput(DataError):
    """A file (or stdin) with nothing in it: the caller says which columns it expected."""

    def __init__(self, label: str, file_format: str):
        self.label, self.file_format = label, file_format
        super().__init__(f"{label} is empty")


def _is_blank(path: Path) -> bool:
    """Empty, or only whitespace (no header row to read columns from)."""
    with open(path, "rb") as handle:
        return not handle.read(1 << 16).strip() and not handle.read(1)


@contextmanager
def open_input(data: Any, connection: duckdb.DuckDBPyConnection, *, name: str = "metaxy_input") -> Iterator[InputSource]:
    """Make `data` (a path, `-` for stdin, Arrow, pandas, polars or a list of dicts) readable."""
    if isinstance(data, (str, Path)):
        if str(data) == STDIN:
            with _spooled_stdin() as (path, file_format):
                if _is_blank(Path(path)):
                    raise EmptyInput("stdin", file_format)
                yield InputSource(file_relation(path, file_format), "stdin")
            return
        path = Path(data)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        file_format = format_of(path)
        if file_format != "parquet" and _is_blank(path):
            raise EmptyInput(str(path), file_format)
        yield InputSource(file_relation(str(path), file_format), str(path))
        return
    table = to_arrow(data)
    connection.register(name, table)
    try:
        yield InputSource(quote(name), "the given data")
    finally:
        connection.unregister(name)


def quote(identifier: str) -> str:
    """A DuckDB identifier, quoted."""
    from sqlglot import exp

    return exp.to_identifier(identifier, quoted=True).sql("duckdb")


@contextmanager
def _spooled_stdin() -> Iterator[tuple[str, str]]:
    """Copy stdin to a temporary file (DuckDB reads files) and sniff its format."""
    source = sys.stdin.buffer
    head = source.read(4096)
    handle, path = tempfile.mkstemp(prefix="metaxy-stdin-")
    try:
        with os.fdopen(handle, "wb") as spool:
            spool.write(head)
            shutil.copyfileobj(source, spool, 1 << 20)
        yield path, sniff_format(head)
    finally:
        os.unlink(path)


def to_arrow(data: Any) -> pa.Table | pa.RecordBatchReader:
    """Arrow from what a pipeline has at hand, without copying when it already is Arrow."""
    import pyarrow as pa

    if isinstance(data, (pa.Table, pa.RecordBatchReader)):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__.split(".")[0]
    try:
        if module == "pandas":
            return pa.Table.from_pandas(data, preserve_index=False)
        if module == "polars":
            return data.to_arrow()
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as error:
        raise DataError(f"cannot convert the given {module} data to Arrow: {_first_line(error)}") from None
    if isinstance(data, dict):
        return _columns_to_arrow(data)
    if isinstance(data, (list, tuple)) and all(isinstance(row, dict) for row in data):
        # Every key of every row (Arrow's from_pylist would keep only the first row's keys).
        keys = list(dict.fromkeys(key for row in data for key in row))
        return _columns_to_arrow({key: [row.get(key) for row in data] for key in keys})
    raise DataError(f"cannot read samples from {type(data).__name__}: give a file path, Arrow, pandas, polars or a list of dicts")


def _columns_to_arrow(columns: dict[str, Any]) -> pa.Table:
    """Python columns as Arrow, a column Arrow cannot type named in a DataError."""
    import pyarrow as pa

    arrays = {}
    for name, values in columns.items():
        try:
            arrays[str(name)] = pa.array(values)
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as error:
            raise DataError(f"column {name!r} holds values of several types or out of range ({_first_line(error)}): give one type per column") from None
    if not arrays:
        raise DataError("the given samples have no columns")
    return pa.table(arrays)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def copy_options(file_format: str) -> str:
    """DuckDB COPY options for an output format."""
    return {"parquet": "FORMAT PARQUET", "csv": "FORMAT CSV, HEADER", "jsonl": "FORMAT JSON"}[file_format]


def write_batches(reader: pa.RecordBatchReader, path: str | Path, file_format: str) -> int:
    """Stream Arrow batches to a file (DuckDB consumes the reader batch by batch); row count."""
    connection = connect()
    try:
        connection.register("metaxy_output", reader)
        copy = f"COPY (SELECT * FROM metaxy_output) TO {string_literal(str(path))} ({copy_options(file_format)})"
        return int(connection.execute(copy).fetchall()[0][0])
    finally:
        connection.close()


def copy_file_to(path: str | Path, stream: IO[bytes]) -> None:
    with open(path, "rb") as source:
        shutil.copyfileobj(source, stream, 1 << 20)


def format_table(reader: pa.RecordBatchReader, stream: IO[str], *, max_width: int = 40) -> int:
    """Aligned text columns for a terminal (widths from the first batch); returns the row count."""
    names = reader.schema.names
    widths: list[int] | None = None
    count = 0
    for batch in reader:
        columns = [[_cell(value, max_width) for value in column.to_pylist()] for column in batch.columns]
        if widths is None:
            widths = [max([len(name)] + [len(cell) for cell in cells]) for name, cells in zip(names, columns)]
            stream.write(aligned_line(names, widths))
        for row in zip(*columns):
            stream.write(aligned_line(row, widths))
        count += batch.num_rows
    if widths is None:
        stream.write(aligned_line(names, [len(name) for name in names]))
    return count


def _cell(value: Any, max_width: int) -> str:
    if value is None:
        return ""
    text = str(value)
    return text if len(text) <= max_width else text[: max_width - 1] + "…"


def aligned_line(cells: Any, widths: list[int]) -> str:
    """Cells padded to their column widths, two spaces apart, no trailing blanks; one line."""
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip() + "\n"
