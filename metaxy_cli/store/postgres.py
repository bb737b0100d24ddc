"""PostgreSQL store (psycopg 3): metadata in the warehouse a team already runs.

Settings: `url` (a libpq URL or conninfo; `${METAXY_PG_URL}` keeps the password out of the YAML),
`schema` (default: the connection's current schema; created when missing), `lock_timeout`
(seconds a writer waits for another writer, default 60), `connect_timeout` (default 10).

One autocommit connection. `Store.transaction()` sends `begin`, which also takes a
transaction-level advisory lock keyed by the schema: writers of one store queue, so the write id
read inside the transaction (MAX + 1) is unique and larger than every committed one, in commit
order (sql/writes.py; READ COMMITTED, so the statement after the lock sees every earlier commit).
DDL runs only inside such transactions, or under the same lock (schema creation): concurrent
`CREATE ... IF NOT EXISTS` can fail on PostgreSQL's catalog. Arrow in: CSV text through COPY
(faster than binary COPY fed row by row from Python); Arrow out: a server-side cursor read in
batches. Names past 63 bytes are shortened by the postgres DialectProfile; this module spells
the logical names it receives the same way (`self.profile.identifier`).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.sql import layout
from metaxy_cli.store.base import BATCH_ROWS, Store, database_message, seconds_setting
from metaxy_cli.store.postgres_io import arrow_type, connect_hint, csv_ready, explain, masked_url, portable_type

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature

DEFAULT_LOCK_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def lock_key(schema: str) -> int:
    """The advisory lock (a signed int8) that serialises the writers of one store schema."""
    return int.from_bytes(hashlib.md5(f"metaxy:{schema}".encode()).digest()[:8], "big", signed=True)


class PostgresStore(Store):
    engine = "postgres"
    # PostgreSQL joins the batch to the current table by nested loops over an index.
    indexes_ids = True
    # Clean checkpoints (engine/changes.py) hold: writers queue on the schema's advisory lock, so
    # write ids increase in commit order, and a summary records its checkpoint under that lock.
    # The touched ids are then looked up through the ids index, never by re-hashing every row.
    tracks_changes = True

    def __init__(self, name: str, location: str, connection: psycopg.Connection, schema: str, lock_timeout: float):
        super().__init__(name, location)
        self.connection: psycopg.Connection | None = connection
        self.schema = schema
        # Shadows Store.begin: a bounded wait for the writers' lock, then no statement timeout.
        self.begin = (
            f"BEGIN; SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'; "
            f"SELECT pg_advisory_xact_lock({lock_key(schema)}); SET LOCAL lock_timeout = 0"
        )
        self._cursors = 0

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], root: Path) -> PostgresStore:
        url = settings.get("url")
        if not url:
            raise StoreError(f"store {name!r}: a postgres store needs `url` (e.g. url: \"${{METAXY_PG_URL}}\")")
        schema = settings.get("schema")
        return cls.open(
            str(url), name=name, schema=str(schema) if schema else None,
            lock_timeout=seconds_setting(name, settings, "lock_timeout", DEFAULT_LOCK_TIMEOUT),
            connect_timeout=seconds_setting(name, settings, "connect_timeout", DEFAULT_CONNECT_TIMEOUT),
        )  # fmt: skip

    @classmethod
    def open(
        cls, url: str, *, name: str = "postgres", schema: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> PostgresStore:  # fmt: skip
        """Connect, check the database, create `schema` if missing and make it the search path."""
        import psycopg
        from psycopg.types.string import TextLoader

        location = masked_url(url)

        def failure(message: str) -> StoreError:
            return StoreError(f"cannot open store {name!r} at {location}: {message}")

        try:
            connection = psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, int(connect_timeout)), client_encoding="UTF8"
            )
        except psycopg.Error as error:
            raise failure(connect_hint(str(error))) from None
        except Exception as error:  # a malformed URL raises ProgrammingError or ValueError
            raise failure(connect_hint(str(error))) from None
        try:
            schema = _use_schema(connection, schema)
        except StoreError as error:
            connection.close()
            raise failure(str(error)) from None
        except psycopg.Error as error:
            connection.close()
            raise failure(explain(database_message(error), schema)) from None
        for json_type in ("json", "jsonb"):  # json as its text, never parsed Python objects
            connection.adapters.register_loader(json_type, TextLoader)
        return cls(name, location, connection, schema, lock_timeout)

    def _connection(self) -> psycopg.Connection:
        if self.connection is None:
            raise StoreError(f"store {self.name!r} is closed")
        return self.connection

    def _explain(self, message: str) -> str:
        return explain(message, self.schema)

    # -- primitives ----------------------------------------------------------------------------
    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        import psycopg

        try:
            # None, not (): a '%' in SQL text without parameters is not a placeholder.
            self._connection().execute(sql, list(parameters) or None)
        except psycopg.Error as error:
            raise self._error(error) from None

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        import psycopg

        try:
            return self._connection().execute(sql, list(parameters) or None).fetchall()
        except psycopg.Error as error:
            raise self._error(error) from None

    def fetch_batches(
        self, sql: str, batch_rows: int = BATCH_ROWS, types: Mapping[str, str] | None = None
    ) -> pa.RecordBatchReader:
        """A server-side cursor WITH HOLD (it outlives the commit of an autocommit statement, so
        the store stays usable while the reader is read); Python holds one batch at a time."""
        import psycopg
        import pyarrow as pa

        self._cursors += 1
        cursor = self._connection().cursor(name=f"metaxy_read_{self._cursors}", withhold=True)
        try:
            cursor.execute(sql)
            first = cursor.fetchmany(batch_rows)
        except psycopg.Error as error:
            cursor.close()
            raise self._error(error) from None
        fields = []
        for index, column in enumerate(cursor.description):
            kind = arrow_type(column.type_code, (types or {}).get(column.name))
            if kind is None:  # an unusual type: what the first batch holds
                inferred = pa.array([row[index] for row in first]).type
                kind = pa.string() if pa.types.is_null(inferred) else inferred
            fields.append(pa.field(column.name, kind))
        schema = pa.schema(fields)
        if len(first) < batch_rows:  # all read: free the server's copy now (a reader may never be read)
            cursor.close()
            cursor = None
        return pa.RecordBatchReader.from_batches(schema, self._batches(cursor, first, schema, batch_rows))

    def _batches(self, cursor: Any, rows: list[tuple], schema: pa.Schema, batch_rows: int) -> Iterator[pa.RecordBatch]:
        import psycopg
        import pyarrow as pa

        try:
            while rows:
                columns = list(zip(*rows))
                arrays = [pa.array(values, field.type) for values, field in zip(columns, schema)]
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
                rows = cursor.fetchmany(batch_rows) if cursor is not None else []
        except psycopg.Error as error:
            raise self._error(error) from None
        finally:
            if cursor is not None:
                cursor.close()

    def stage(self, name: str, data: pa.RecordBatchReader | pa.Table) -> None:
        """Arrow batches into a temporary table as CSV text through COPY FROM STDIN, then ANALYZE
        (autovacuum never analyzes temporary tables; without statistics the planner guesses)."""
        import pyarrow as pa

        reader = data.to_reader() if isinstance(data, pa.Table) else data
        table = f"pg_temp.{quote(self.profile.identifier(name))}"
        self.execute(f"DROP TABLE IF EXISTS {table}")
        self.create_table(name, [(field.name, portable_type(field.type)) for field in reader.schema], temporary=True)
        self._copy_in(table, reader)
        self.execute(f"ANALYZE {table}")

    def append_rows(self, feature: ResolvedFeature, rows: pa.RecordBatchReader) -> None:
        """One COPY straight into the feature's table (no temporary table, no second pass)."""
        self._copy_in(quote(self.profile.identifier(feature.table)), rows)
        self._index_new_rows(feature, feature.table)

    def append(self, feature: ResolvedFeature, rows: exp.Query) -> None:
        super().append(feature, rows)
        self._index_new_rows(feature, feature.table)

    def supersede(self, feature: ResolvedFeature, condition: exp.Expression) -> None:
        super().supersede(feature, condition)
        self._index_new_rows(feature, feature.history_table)

    def tombstone(self, feature: ResolvedFeature, columns: list[str], rows: exp.Query) -> None:
        super().tombstone(feature, columns, rows)
        self._index_new_rows(feature, feature.history_table)

    def _index_new_rows(self, feature: ResolvedFeature, table: str) -> None:
        """After rows are appended to `table`: its write-id BRIN index summarises their pages
        (a range never summarised matches every scan, so the ids touched since a checkpoint
        would read the whole table), and a table that never had statistics gets its row count
        and those of the columns plans turn on: the ids (joins) and the write id (without, the
        planner guesses a third of the rows newer than any checkpoint and scans instead); the
        hash columns' statistics, two thirds of a full ANALYZE's time, wait for autovacuum.
        Summaries include the transaction's own rows; later, autovacuum refreshes the statistics
        (a write id above the histogram's largest is estimated rare, which it is). Both need the
        table's owner: a writer granted only INSERT leaves it to autovacuum."""
        index, name = quote(self.identifier(layout.write_id_index(table))), quote(self.identifier(table))
        indexed, owned, unanalysed = self.fetch_all(
            "SELECT to_regclass(%s) IS NOT NULL, pg_has_role(current_user, relowner, 'USAGE'), reltuples < 0 "
            "FROM pg_class WHERE oid = to_regclass(%s)",
            [index, name],
        )[0]
        if not owned:
            return
        if indexed:
            self.fetch_all("SELECT brin_summarize_new_values(to_regclass(%s))", [index])
        if unanalysed:
            columns = ", ".join(quote(self.identifier(column)) for column in (*feature.id_names, layout.WRITE_ID))
            self.execute(f"ANALYZE {name} ({columns})")

    def _copy_in(self, table: str, reader: pa.RecordBatchReader) -> None:
        """COPY the batches into `table` (an SQL name), columns matched by name."""
        import psycopg
        import pyarrow.csv as pacsv

        names = ", ".join(quote(self.profile.identifier(column)) for column in reader.schema.names)
        options = pacsv.WriteOptions(include_header=False)
        try:
            with self._connection().cursor() as cursor:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT CSV)") as copy:
                    for batch in reader:
                        if batch.num_rows:
                            sink = io.BytesIO()
                            pacsv.write_csv(csv_ready(batch), sink, options)
                            copy.write(sink.getbuffer())
        except psycopg.Error as error:
            raise self._error(error) from None

    def list_columns(self, table: str) -> list[str] | None:
        found = self.column_types(table)
        return None if found is None else list(found)

    def column_types(self, table: str) -> dict[str, str] | None:
        """{stored column name: its SQL type} of `table` (a logical name), None when absent.
        pg_attribute follows the search path (temporary tables first) and never raises."""
        rows = self.fetch_all(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [quote(self.profile.identifier(table))],
        )
        return {name: kind for name, kind in rows} or None

    def prepare_feature(self, feature: ResolvedFeature) -> None:
        super().prepare_feature(feature)
        self._ensure_write_id_indexes(feature)

    def rename_feature(self, old_key: str, feature: ResolvedFeature) -> None:
        """The tables keep their indexes through a rename: the write-id ones get the new names."""
        super().rename_feature(old_key, feature)
        for old in (layout.current_table(old_key), layout.history_table(old_key)):
            self.execute(f"DROP INDEX IF EXISTS {quote(self.identifier(layout.write_id_index(old)))}")
        self._ensure_write_id_indexes(feature)

    def _ensure_write_id_indexes(self, feature: ResolvedFeature) -> None:
        """A BRIN index on the write id of the current and history tables: the ids touched since
        a checkpoint are the rows with a newer write id, appended last, so a scan reads the
        newest page ranges, never a whole (growing) history. BRIN costs next to nothing per
        write, unlike a B-tree. Created only when missing (one catalog query, on every
        operation), and only by the tables' owner: it speeds reads up, and a user who may only
        read (a store from before these indexes) must still be able to."""
        tables = {quote(self.identifier(table)): table for table in (feature.table, feature.history_table)}
        rows = self.fetch_all(
            "SELECT t.name, pg_has_role(current_user, c.relowner, 'USAGE') "
            "FROM unnest(%s::text[], %s::text[]) AS t(name, index) JOIN pg_class c ON c.oid = to_regclass(t.name) "
            "WHERE to_regclass(t.index) IS NULL",
            [list(tables), [quote(self.identifier(layout.write_id_index(table))) for table in tables.values()]],
        )
        for name, owned in rows:
            if owned:
                index = quote(self.identifier(layout.write_id_index(tables[name])))
                self.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {name} USING brin ({quote(layout.WRITE_ID)})")

    def ensure_id_index(self, index: str, table: str, ids: Sequence[str]) -> None:
        """Only when missing: CREATE INDEX IF NOT EXISTS checks table ownership first, so every
        read (which prepares the tables) would fail for a user who may only read."""
        if self.fetch_all("SELECT to_regclass(%s)", [quote(self.identifier(index))])[0][0] is None:
            super().ensure_id_index(index, table, ids)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _use_schema(connection: psycopg.Connection, schema: str | None) -> str:
    """Check the database (UTF8), create `schema` when missing (under the writers' lock), set the
    search path and UTC; returns the schema in use (default: the connection's current one)."""
    from metaxy_cli.sql.dialects import profile_for

    encoding = connection.execute("SHOW server_encoding").fetchone()[0]
    if encoding != "UTF8":
        raise StoreError(
            f"the database encoding is {encoding}; metaxy hashes UTF-8 text: use a database created with ENCODING 'UTF8'"
        )
    if schema is None:
        schema = connection.execute("SELECT current_schema()").fetchone()[0]
        if schema is None:
            raise StoreError("no schema on the search path: set `schema:` in the store's settings")
    limit = profile_for("postgres").max_identifier_length or 0
    if len(schema.encode("utf-8")) > limit:
        raise StoreError(f"schema name {schema!r} is longer than {limit} bytes: choose a shorter `schema:`")
    # Only when missing: CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege first, so it
    # would fail for a user that may only read an existing schema.
    if connection.execute("SELECT to_regnamespace(%s)", [quote(schema)]).fetchone()[0] is None:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(schema)])
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    # Temporary tables (pg_temp) are searched first anyway. UTC like every metaxy connection.
    connection.execute(f"SET search_path TO {quote(schema)}; SET TimeZone = 'UTC'")
    return schema
