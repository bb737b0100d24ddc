"""SQLite store: one file; registers the functions SQLite lacks (md5) on every connection.

Storage conventions come from the sqlite DialectProfile: booleans as 0/1, dates and timestamps as
their canonical text, so that hashes computed in SQL match DuckDB's byte for byte.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.store.base import BATCH_ROWS, MEMORY, Store, database_message, open_database_file, seconds_setting

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_PATH = ".metaxy/metadata.sqlite"
# Seconds a writer waits for another process's write to finish before giving up.
DEFAULT_BUSY_TIMEOUT = 60.0


class SQLiteStore(Store):
    """Several processes may share the file: each transaction takes SQLite's write lock when it
    begins (BEGIN IMMEDIATE), so concurrent writers queue for up to `busy_timeout` seconds
    instead of failing on a lock upgrade half-way (two deferred transactions that both read
    would deadlock, and SQLite fails one of them at once)."""

    engine = "sqlite"
    begin = "BEGIN IMMEDIATE"
    indexes_ids = True

    def __init__(self, name: str, path: str, connection: sqlite3.Connection):
        super().__init__(name, path)
        self.connection: sqlite3.Connection | None = connection

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], root: Path) -> SQLiteStore:
        timeout = seconds_setting(name, settings, "busy_timeout", DEFAULT_BUSY_TIMEOUT)
        return cls.open(settings.get("path") or str(root / DEFAULT_PATH), name=name, busy_timeout=timeout)

    @classmethod
    def open(
        cls, path: str | Path = MEMORY, *, name: str = "sqlite", busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> SQLiteStore:
        from metaxy_cli.sql.dialects import profile_for, register_udfs

        location = open_database_file(str(path))
        try:
            connection = sqlite3.connect(
                location, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            # sqlite3 opens lazily: read the schema now so a corrupt file fails here, clearly.
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as error:
            raise StoreError(f"cannot open store {name!r} at {location}: {database_message(error)}") from None
        register_udfs(connection, profile_for(cls.engine))
        return cls(name, location, connection)

    def _connection(self) -> sqlite3.Connection:
        if self.connection is None:
            raise StoreError(f"store {self.name!r} is closed")
        return self.connection

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._cursor(sql, parameters).close()

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        cursor = self._cursor(sql, parameters)
        try:
            return cursor.fetchall()
        except sqlite3.Error as error:
            raise self._error(error) from None

    def fetch_batches(
        self, sql: str, batch_rows: int = BATCH_ROWS, types: Mapping[str, str] | None = None
    ) -> pa.RecordBatchReader:
        import pyarrow as pa

        cursor = self._cursor(sql, ())
        names = [column[0] for column in cursor.description]
        first = self._fetch(cursor, batch_rows)
        schema = _schema(names, first, types or {})
        return pa.RecordBatchReader.from_batches(schema, self._batches(cursor, first, schema, batch_rows))

    def _batches(self, cursor: sqlite3.Cursor, rows: list[tuple], schema: pa.Schema, batch_rows: int) -> Iterator[pa.RecordBatch]:
        while rows:
            yield _record_batch(rows, schema)
            rows = self._fetch(cursor, batch_rows)
        cursor.close()

    def _fetch(self, cursor: sqlite3.Cursor, batch_rows: int) -> list[tuple]:
        try:
            return cursor.fetchmany(batch_rows)
        except sqlite3.Error as error:
            raise self._error(error) from None

    def stage(self, name: str, data: pa.RecordBatchReader | pa.Table) -> None:
        """Copy Arrow batches into a temporary table (SQLite cannot scan Arrow in place)."""
        import pyarrow as pa

        reader = data.to_reader() if isinstance(data, pa.Table) else data
        self.drop_temporary(name)
        columns = [(field.name, _portable(field.type)) for field in reader.schema]
        self.create_table(name, columns, temporary=True)
        placeholders = ", ".join("?" for _ in columns)
        insert = f"INSERT INTO temp.{_quote(name)} VALUES ({placeholders})"
        connection = self._connection()
        try:
            for batch in reader:
                connection.executemany(insert, zip(*(_storage_values(column) for column in batch.columns)))
        except sqlite3.Error as error:
            raise self._error(error) from None

    def drop_temporary(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS temp.{_quote(name)}")

    def list_columns(self, table: str) -> list[str] | None:
        found = self.column_types(table)
        return None if found is None else list(found)

    def column_types(self, table: str) -> dict[str, str] | None:
        """The declared types (SQLite keeps any value in any column; metaxy's DDL declares them)."""
        rows = self.fetch_all("SELECT name, type FROM pragma_table_info(?) ORDER BY cid", [table])
        return dict(rows) or None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _cursor(self, sql: str, parameters: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self._connection().execute(sql, tuple(parameters))
        except sqlite3.Error as error:
            raise self._error(error) from None

    def _explain(self, message: str) -> str:
        if message == "database is locked":
            return message + " by another process (still writing after busy_timeout; raise it in the store's settings)"
        return message


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _portable(arrow_type: pa.DataType) -> str:
    """The portable column type that stores an Arrow type."""
    import pyarrow as pa

    checks = [
        (pa.types.is_boolean, "boolean"), (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "double"), (pa.types.is_date, "date"),
        (pa.types.is_timestamp, "timestamp"), (pa.types.is_binary, "binary"),
        (pa.types.is_large_binary, "binary"),
    ]  # fmt: skip
    return next((name for check, name in checks if check(arrow_type)), "string")


def _storage_values(column: pa.Array) -> list[Any]:
    """Python values in SQLite's storage convention: canonical text for dates and timestamps."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(column.type):
        # '%S' prints seconds with the column's fraction: microseconds give exactly 6 digits.
        micros = pc.cast(column, pa.timestamp("us", column.type.tz))
        return pc.strftime(micros, "%Y-%m-%d %H:%M:%S").to_pylist()
    if pa.types.is_date(column.type):
        return pc.cast(column, pa.string()).to_pylist()
    if pa.types.is_dictionary(column.type):
        return column.dictionary_decode().to_pylist()
    return column.to_pylist()


_ARROW = {"string": "string", "integer": "int64", "double": "float64", "boolean": "bool",
          "binary": "binary", "json": "string", "date": "date32", "timestamp": "timestamp[us]"}  # fmt: skip


def _schema(names: list[str], rows: list[tuple], types: Mapping[str, str]) -> pa.Schema:
    """Arrow types from the caller's portable types, else inferred from the first batch."""
    import pyarrow as pa

    fields = []
    for index, name in enumerate(names):
        if name in types:
            arrow_type = pa.type_for_alias(_ARROW[types[name]])
        else:
            arrow_type = pa.array([row[index] for row in rows]).type
            arrow_type = pa.string() if pa.types.is_null(arrow_type) else arrow_type
        fields.append(pa.field(name, arrow_type))
    return pa.schema(fields)


def _record_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    columns = list(zip(*rows))
    arrays = []
    for values, field in zip(columns, schema):
        if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type):
            arrays.append(pa.array(values, pa.string()).cast(field.type))
        elif pa.types.is_boolean(field.type):
            arrays.append(pa.array(values, pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
