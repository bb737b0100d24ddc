"""The embedded default store: DuckDB in a file (`.metaxy/metadata.duckdb`) or `:memory:`.

DuckDB reads input files itself and writes query results straight to files (COPY), so big
batches never pass through Python rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.store.base import BATCH_ROWS, MEMORY, database_message, open_database_file, seconds_setting
from metaxy_cli.store.history_parts import PartedHistoryStore
from metaxy_cli.store.io import connect

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

DEFAULT_PATH = ".metaxy/metadata.duckdb"


# DuckDB's own default (80% of RAM) lets its buffer pool grow to 10 GB on a 10M-sample store; with
# 1.5 GB a whole 10M-sample run (writes and increments) peaks at 1.84 GB of RSS, its steps as fast
# relative to their floors as with 4 GB (benchmarks/README.md), leaving the machine to the pipeline.
DEFAULT_MEMORY_LIMIT = "1.5GB"
# A DuckDB file is open in one process at a time: another metaxy command waits this long (seconds)
# for it, so parallel CLI calls queue instead of failing at once.
DEFAULT_LOCK_TIMEOUT = 30.0
LOCK_POLL = 0.2


def _connect_waiting(name: str, location: str, config: dict[str, Any], lock_timeout: float) -> duckdb.DuckDBPyConnection:
    """connect(), retried while another process holds the file's lock, up to `lock_timeout` s."""
    import duckdb

    deadline = time.monotonic() + lock_timeout
    while True:
        try:
            return connect(location, config)
        except duckdb.Error as error:
            locked = "Could not set lock" in str(error)
            if locked and time.monotonic() < deadline:
                time.sleep(LOCK_POLL)
                continue
            message = database_message(error)
            if locked:
                message = f"another process has it open (waited {lock_timeout:g} s; lock_timeout in the store's settings): {message}"
            raise StoreError(f"cannot open store {name!r} at {location}: {message}") from None


class DuckDBStore(PartedHistoryStore):
    engine = "duckdb"
    # Rows are appended in write order: zone maps on metaxy_write_id skip the row groups older
    # than a checkpoint, so the ids touched since cost what was written.
    tracks_changes = True

    def __init__(self, name: str, path: str, connection: duckdb.DuckDBPyConnection):
        super().__init__(name, path)
        self.connection: duckdb.DuckDBPyConnection | None = connection

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], root: Path) -> DuckDBStore:
        path = settings.get("path") or str(root / DEFAULT_PATH)
        memory_limit = settings.get("memory_limit", DEFAULT_MEMORY_LIMIT)
        timeout = seconds_setting(name, settings, "lock_timeout", DEFAULT_LOCK_TIMEOUT)
        return cls.open(
            path, name=name, compression=settings.get("compression"), memory_limit=memory_limit, lock_timeout=timeout
        )

    @classmethod
    def open(
        cls, path: str | Path = MEMORY, *, name: str = "duckdb", compression: str | None = None,
        memory_limit: str | None = None, lock_timeout: float = 0.0,
    ) -> DuckDBStore:  # fmt: skip
        """`compression`: "auto" (DuckDB chooses per column, the default) or a DuckDB method
        forced for every write, e.g. "uncompressed": writes of random hex hashes get ~1.5x faster
        (no compression analysis) for ~2x the file size. `memory_limit` (e.g. "4GB"; "1.5GB" is
        the default of stores named in metaxy.yaml): without one DuckDB takes 80% of RAM, which
        its buffer pool fills on big stores (10M samples: 10 GB RSS; with "1.5GB": 1.84 GB).
        `lock_timeout`: seconds to wait while another process has the file open (named stores:
        30); 0 fails at once.
        """
        import duckdb

        location = open_database_file(str(path))
        if compression not in (None, "auto") and not re.fullmatch(r"[a-z_]+", str(compression)):
            raise StoreError(f"store {name!r}: compression {compression!r} is not a DuckDB compression method")
        # No progress bar on stdout; output order is not part of any contract (less memory).
        config: dict[str, Any] = {"preserve_insertion_order": False}
        if memory_limit is not None:
            config["memory_limit"] = str(memory_limit)
        connection = _connect_waiting(name, location, config, lock_timeout)
        try:
            connection.execute("SET enable_progress_bar = false").fetchall()
            if compression not in (None, "auto"):
                connection.execute(f"SET force_compression = '{compression}'").fetchall()
        except duckdb.Error as error:
            connection.close()
            raise StoreError(f"cannot open store {name!r} at {location}: {database_message(error)}") from None
        return cls(name, location, connection)

    @property
    def native_duckdb(self) -> duckdb.DuckDBPyConnection:
        """The connection itself: DuckDB reads input files in place, in the store."""
        return self._connection()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self.connection is None:
            raise StoreError(f"store {self.name!r} is closed")
        return self.connection

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._run(sql, parameters).fetchall()  # finish the result: the connection stays free

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        return self._run(sql, parameters).fetchall()

    def fetch_batches(
        self, sql: str, batch_rows: int = BATCH_ROWS, types: Mapping[str, str] | None = None
    ) -> pa.RecordBatchReader:
        import duckdb

        try:
            # A relation streams its result; a DB-API result would copy every row first.
            return self._connection().sql(sql).to_arrow_reader(batch_rows)
        except duckdb.Error as error:
            raise self._error(error) from None

    def stage(self, name: str, data: pa.RecordBatchReader | pa.Table) -> None:
        from sqlglot import exp

        connection = self._connection()
        view = f"{name}__arrow"
        connection.register(view, data)
        try:
            select = exp.select("*").from_(exp.to_identifier(view, quoted=True))
            create = exp.Create(
                this=exp.to_identifier(name, quoted=True),
                kind="TABLE",
                expression=select,
                replace=True,
                properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            )
            self.run(create)
        finally:
            connection.unregister(view)

    def list_columns(self, table: str) -> list[str] | None:
        found = self.column_types(table)
        return None if found is None else list(found)

    def column_types(self, table: str) -> dict[str, str] | None:
        rows = self.fetch_all(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
            "AND database_name = current_database() AND schema_name IN ('main', current_schema()) ORDER BY column_index",
            [table],
        )
        return dict(rows) or None

    def copy_to(
        self, sql: str, path: Path, file_format: str, types: Mapping[str, str] | None = None, *, empty: bool = False
    ) -> int:
        """COPY (query) TO file: DuckDB writes the result without handing rows to Python (a query
        known to select nothing is pruned by the planner: no second connection for its schema)."""
        from metaxy_cli.store.io import copy_options, string_literal

        # COPY targets cannot be bound as parameters: a quoted literal.
        return int(self.fetch_all(f"COPY ({sql}) TO {string_literal(str(path))} ({copy_options(file_format)})")[0][0])

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _run(self, sql: str, parameters: Sequence[Any]) -> duckdb.DuckDBPyConnection:
        import duckdb

        try:
            return self._connection().execute(sql, list(parameters))
        except duckdb.Error as error:
            raise self._error(error) from None
