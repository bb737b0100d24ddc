"""ClickHouse store: the embedded engine (chdb) on a folder (`path:`, default `.metaxy/clickhouse`),
or a server (`url:`, through clickhouse-connect). Both receive the same SQL text.

ClickHouse has no multi-statement transactions, so a write can never move rows between tables
all-or-nothing. Each feature keeps ONE append-only log instead (layout.log_table, a MergeTree
ordered by the id columns and the write id), and its current and history tables are views:

- a write appends its rows to the log, stamped with its write id, then logs itself in
  `metaxy_writes` (the engine inserts that row last): the views read only rows whose write id
  is logged, so a write is published by that single insert and a write that failed or was killed
  (SIGKILL included) stays invisible, however many of its rows reached the log;
- current = the latest published row per id (highest write id, resolved in the query with
  LIMIT 1 BY, never by trusting background merges), tombstones excluded;
- history = every other published row, and the tombstones (what the other stores keep there);
- write ids are reserved in `metaxy_write_ids` before any row is written, so an id taken by a
  write that never published is never handed out again, and they increase in commit order
  because writers are serialised (chdb: one process per folder, one writer per process). A
  server has no lock metaxy could take: several processes writing one server database at once
  are not serialised, and may then break that order (and share an id); run one writer there.

Clean checkpoints (engine/changes.py) rest on that order and on reads that see one state: a
summary runs in a transaction, so under the writer lock, and the checkpoint it proves is
appended to `metaxy_checkpoints` after the block succeeded, and only while the newest published
write is still the one it was proved at (a write published meanwhile, from another process on a
server, voids it: the next summary records one). Checkpoints are appended, never updated: each
was true of the log up to its write id, so the newest one per feature and definition serves.

A failed write is also undone in Python where it can be: tables, views and columns it created
are dropped and its rows deleted from the log (store.transaction). A stored column whose type
differs from the YAML's declared type stops any operation on the feature before it writes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.sql import layout
from metaxy_cli.store.base import (
    BATCH_ROWS,
    MEMORY,
    Store,
    arrow_type_of,
    portable_type_of,
    seconds_setting,
)
from metaxy_cli.store.clickhouse_connection import (
    ARROW_FORMAT,
    ARROW_INPUT,
    ChdbConnection,
    Connection,
    EngineError,
    ServerConnection,
    quote,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature

DEFAULT_PATH = ".metaxy/clickhouse"
DEFAULT_LOCK_TIMEOUT = 30.0  # seconds another command waits for the folder (as DuckDB's file)
DEFAULT_CONNECT_TIMEOUT = 10.0
# Every write id ever handed out, written before the write's first row (see the module doc).
WRITE_IDS = f"{layout.PREFIX}write_ids"
# Portable types that chdb's Parquet reader and DuckDB's read to the same values (parquet_relation).
PARQUET_READ_ALIKE = frozenset({"string", "integer", "double", "boolean"})
_SORTED_BY = {layout.WRITES: ("write_id",), WRITE_IDS: ("write_id",), layout.CHECKPOINTS: ("feature", "write_id")}
# One writer at a time in this process: ids then increase in commit order (sql/writes.py).
_WRITER = threading.RLock()
RANK = f"{layout.PREFIX}rank"


class ClickHouseStore(Store):
    engine = "clickhouse"
    moves_replaced_rows = False  # a newer published row hides the old one (supersede)
    tracks_changes = True  # module doc: writers serialised, checkpoints appended after the block

    def __init__(self, name: str, connection: Connection):
        super().__init__(name, connection.location)
        self.connection: Connection | None = connection
        self._stream: _Stream | None = None
        self._undo: list[Callable[[], None]] | None = None  # inside a transaction: how to undo it
        self._write_id: int | None = None
        self._checkpoints: dict[str, tuple[ResolvedFeature, int, int]] = {}  # proved in this block
        # What `_columns` read of the catalog, at the connection's catalog_version `_catalog_version`;
        # every table's columns when that is `_catalog_whole_at` (a table absent does not exist).
        self._catalog: dict[str, dict[str, str]] = {}
        self._catalog_version: int | None = None
        self._catalog_whole_at: int | None = None

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], root: Path) -> ClickHouseStore:
        url, path = settings.get("url"), settings.get("path")
        if url and path:
            raise StoreError(f"store {name!r}: give path (an embedded ClickHouse folder) or url (a server), not both")
        if url:
            timeout = seconds_setting(name, settings, "connect_timeout", DEFAULT_CONNECT_TIMEOUT)
            return cls.connect(str(url), name=name, connect_timeout=timeout)
        timeout = seconds_setting(name, settings, "lock_timeout", DEFAULT_LOCK_TIMEOUT)
        return cls.open(path or str(root / DEFAULT_PATH), name=name, lock_timeout=timeout)

    @classmethod
    def open(cls, path: str | Path = MEMORY, *, name: str = "clickhouse", lock_timeout: float = 0.0) -> ClickHouseStore:
        """The embedded engine on a folder (created if missing), or a throw-away one for
        ':memory:'. `lock_timeout`: seconds to wait while another process has the folder open
        (named stores: 30); 0 fails at once."""
        return cls(name, ChdbConnection.open(name, _folder(name, str(path)), lock_timeout))

    @classmethod
    def connect(cls, url: str, *, name: str = "clickhouse", connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> ClickHouseStore:
        """A ClickHouse server: `clickhouse://user:password@host:8123/database` (or http(s)://,
        clickhouses:// for HTTPS)."""
        return cls(name, ServerConnection.open(name, url, connect_timeout))

    # -- primitives ---------------------------------------------------------------------------
    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        _no_parameters(parameters)
        self._call(lambda connection: connection.command(sql))

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        _no_parameters(parameters)
        table = _naive(self._call(lambda connection: connection.query_arrow(sql)))
        return list(zip(*(column.to_pylist() for column in table.columns)))

    def fetch_batches(
        self, sql: str, batch_rows: int = BATCH_ROWS, types: Mapping[str, str] | None = None
    ) -> pa.RecordBatchReader:
        """Streamed (chdb); the stream is read to its end first if another statement runs
        before its reader is (a chdb session runs one query at a time)."""
        import pyarrow as pa

        batches = self._call(lambda connection: connection.stream(sql, batch_rows))
        first = self._call(lambda connection: next(batches, None))
        if first is None:  # an empty stream has no schema: ask for it
            return self._empty_result(sql, types)
        target = _typed_schema(first.schema, types or {})
        stream = _Stream(self, first, batches)
        self._stream = stream
        converted = (_cast(batch, target) for batch in stream)
        return pa.RecordBatchReader.from_batches(target, converted)

    def _empty_result(self, sql: str, types: Mapping[str, str] | None) -> pa.RecordBatchReader:
        """One statement, not streamed: a whole (empty) result carries its schema."""
        import pyarrow as pa

        empty = f"SELECT * FROM ({sql}) AS {quote('metaxy_empty')} LIMIT 0"
        schema = self._call(lambda connection: connection.query_arrow(empty)).schema
        return pa.RecordBatchReader.from_batches(_typed_schema(schema, types or {}), [])

    def stage(self, name: str, data: pa.RecordBatchReader | pa.Table) -> None:
        import pyarrow as pa

        reader = data.to_reader() if isinstance(data, pa.Table) else data
        self.drop_temporary(name)
        self.create_table(name, [(field.name, portable_type_of(field.type)) for field in reader.schema], temporary=True)
        self._call(lambda connection: connection.insert_arrow(name, reader))

    def list_columns(self, table: str) -> list[str] | None:
        columns = self._columns([table]).get(table)
        return list(columns) if columns else None

    def close(self) -> None:
        if self.connection is not None:
            self._stream = None
            self.connection.close()
            self.connection = None

    # -- DDL: MergeTree tables, undone when their transaction fails ------------------------------
    def create_table(self, table: str, columns: Sequence[tuple[str, str]], *, temporary: bool = False) -> None:
        if temporary:  # ENGINE = Memory, the session's own
            super().create_table(table, columns, temporary=True)
            return
        order = _SORTED_BY.get(table, ())
        typed = [(name, _not_null(self._type(kind)) if name in order else self._type(kind)) for name, kind in columns]
        self._create_merge_tree(table, typed, order)

    def add_columns(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        for name, kind in columns:
            self.execute(f"ALTER TABLE {quote(table)} ADD COLUMN IF NOT EXISTS {quote(name)} {self._type(kind)}")
            self._on_rollback(lambda name=name: self.execute(f"ALTER TABLE {quote(table)} DROP COLUMN IF EXISTS {quote(name)}"))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """No BEGIN/COMMIT in ClickHouse: writes are published by their write-log row (module
        doc). The block holds the process's writer lock; when it fails, what it did is undone
        where possible (created tables dropped, added columns removed, its log rows deleted)."""
        with _WRITER:
            if self._undo is not None:  # nested: part of the outer block
                yield
                return
            self._undo = []
            try:
                yield
            except BaseException:
                undo, self._undo = self._undo, None
                self._write_id = None
                self._checkpoints.clear()
                for action in reversed(undo):
                    try:
                        action()
                    except StoreError:
                        pass  # best effort: unpublished rows stay invisible anyway
                raise
            self._undo = None
            self._write_id = None
            self._append_checkpoints()

    def next_write_id(self) -> int:
        """Reserved before the write's first row: an id is never handed out twice, even when
        the write that took it was killed before publishing (module doc)."""
        if not self.table_exists(WRITE_IDS):
            self._create_merge_tree(WRITE_IDS, [("write_id", "Int64"), ("reserved_at", "DateTime64(6, 'UTC')")], ("write_id",), undo=False)
        largest = ", ".join(
            f"(SELECT coalesce(max({quote('write_id')}), 0) FROM {quote(table)})" for table in (layout.WRITES, WRITE_IDS)
        )
        write_id = int(self.fetch_all(f"SELECT greatest({largest}) + 1")[0][0])
        self.execute(f"INSERT INTO {quote(WRITE_IDS)} SELECT {write_id}, now64(6)")
        self._write_id = write_id
        return write_id

    # -- clean checkpoints: appended after the block that proved them (module doc) -------------
    def record_checkpoint(self, feature: ResolvedFeature, write_id: int, up_to_date: int) -> None:
        """Kept until the transaction succeeds: a failed write's rows are deleted, and a
        checkpoint that counted them would be false."""
        if self._undo is None:
            with self.transaction():
                self.record_checkpoint(feature, write_id, up_to_date)
            return
        self._checkpoints[feature.key] = (feature, write_id, up_to_date)

    def forget_checkpoints(self) -> None:
        """At once (a migration's first step): a failure after it leaves no checkpoint behind."""
        self._checkpoints.clear()
        if self.table_exists(layout.CHECKPOINTS):
            self.execute(f"TRUNCATE TABLE {quote(layout.CHECKPOINTS)}")

    def _append_checkpoints(self) -> None:
        from datetime import UTC, datetime

        from metaxy_cli.sql import changes

        proved, self._checkpoints = self._checkpoints, {}
        if not proved:
            return
        try:
            newest = int(self.fetch_all(self.to_sql(changes.latest_write()))[0][0])
            now = datetime.now(UTC).replace(tzinfo=None)
            for feature, write_id, up_to_date in proved.values():
                if write_id == newest:
                    self.run(changes.record(feature, self.profile, write_id=write_id, up_to_date=up_to_date, recorded_at=now))
        except StoreError:
            pass  # the block's work stands; without a checkpoint the next answer compares in full

    # -- how a feature's rows are kept: one log, two views ------------------------------------
    def prepare_feature(self, feature: ResolvedFeature) -> None:
        log, current, history = feature.log_table, feature.table, feature.history_table
        found = self._columns([log, current, history])
        stored = found.get(log)
        wanted = list(feature.history_columns)
        if not stored:
            typed = [(name, self._log_type(feature, name, kind)) for name, kind in wanted]
            self._create_merge_tree(log, typed, (*feature.id_names, layout.WRITE_ID))
            self._define_views(feature, [name for name, _ in wanted])
            return
        self._check_types(feature, stored)
        missing = [(name, kind) for name, kind in wanted if name not in stored]
        if missing:
            self.add_columns(log, missing)
        names = [*stored, *(name for name, _ in missing)]
        shown = [name for name in names if name != layout.DELETED]
        if missing or list(found.get(current, ())) != shown or list(found.get(history, ())) != names:
            self._define_views(feature, names)
            if missing:
                self._on_rollback(lambda: self._define_views(feature, list(stored), undo=False))

    def supersede(self, feature: ResolvedFeature, condition: exp.Expression) -> None:
        """Nothing moves: a newer published row, or a tombstone, hides the old one in the views."""

    def append(self, feature: ResolvedFeature, rows: exp.Query) -> None:
        self._insert_into_log(feature, [name for name, _ in feature.table_columns], rows)

    def tombstone(self, feature: ResolvedFeature, columns: list[str], rows: exp.Query) -> None:
        self._insert_into_log(feature, columns, rows)

    def drop_feature(self, feature: ResolvedFeature) -> None:
        for view in (feature.table, feature.history_table):
            self.execute(f"DROP VIEW IF EXISTS {quote(view)}")
        self.execute(f"DROP TABLE IF EXISTS {quote(feature.log_table)}")

    def rename_feature(self, old_key: str, feature: ResolvedFeature) -> None:
        """Rename the log, then replace the two views (they read the log by name)."""
        old_log = layout.log_table(old_key)
        self.execute(f"RENAME TABLE {quote(old_log)} TO {quote(feature.log_table)}")
        self._on_rollback(lambda: self.execute(f"RENAME TABLE {quote(feature.log_table)} TO {quote(old_log)}"))
        for view in (layout.current_table(old_key), layout.history_table(old_key)):
            self.execute(f"DROP VIEW IF EXISTS {quote(view)}")
        self.prepare_feature(feature)

    def append_rows(self, feature: ResolvedFeature, rows: pa.RecordBatchReader) -> None:
        """Arrow straight into the feature's log (published by the write-log row like any append)."""
        self._call(lambda connection: connection.insert_arrow(feature.log_table, rows))
        self._undo_on_rollback(feature)

    def batch_relation(self, schema: pa.Schema) -> exp.Expression | None:
        """chdb reads the Arrow stream (a file of it: insert_over_arrow); each column cast to the
        type `stage` gives it."""
        from sqlglot import exp

        function = self.connection.arrow_function if self.connection is not None else None
        if function is None:
            return None
        arguments = [exp.Literal.string(ARROW_INPUT), exp.Literal.string(ARROW_FORMAT)]
        source = exp.Table(this=exp.Anonymous(this=function, expressions=arguments))
        typed = [
            exp.alias_(exp.cast(exp.column(field.name, quoted=True), self._type(portable_type_of(field.type)), dialect="clickhouse"), field.name, quoted=True)
            for field in schema
        ]  # fmt: skip
        return exp.select(*typed).from_(source)

    @property
    def reads_parquet_files(self) -> bool:  # type: ignore[override]
        """The embedded engine runs in the writer's process and sees its files; a server does not."""
        return isinstance(self.connection, ChdbConnection)

    def parquet_relation(self, schema: pa.Schema, path: str) -> exp.Expression | None:
        """chdb's `file(path, 'Parquet')`, each column cast as `batch_relation` casts it and a
        double's NaN read as NULL (a checked batch's rule). Only for columns that ClickHouse and
        DuckDB read alike from Parquet (text, integers, doubles, booleans: dates and timestamps
        keep DuckDB's reading), and for a path without the characters that make file()'s
        argument a glob."""
        from sqlglot import exp

        portable = [portable_type_of(field.type) for field in schema]
        if not self.reads_parquet_files or not set(portable) <= PARQUET_READ_ALIKE or any(c in path for c in "*?{}"):
            return None
        source = exp.Table(this=exp.Anonymous(this="file", expressions=[exp.Literal.string(path), exp.Literal.string("Parquet")]))
        typed = []
        for field, kind in zip(schema, portable):
            value = exp.cast(exp.column(field.name, quoted=True), self._type(kind), dialect="clickhouse")
            if kind == "double":
                is_nan = exp.Anonymous(this="isNaN", expressions=[exp.column(field.name, quoted=True)])
                value = exp.If(this=is_nan, true=exp.cast(exp.Null(), self._type(kind), dialect="clickhouse"), false=value)
            typed.append(exp.alias_(value, field.name, quoted=True))
        return exp.select(*typed).from_(source)

    def append_over(self, feature: ResolvedFeature, rows: exp.Query, stream: pa.RecordBatchReader | None) -> None:
        insert = self._log_insert(feature, [name for name, _ in feature.table_columns], rows)
        if stream is None:  # rows over parquet_relation: the engine reads the file itself
            self.execute(insert)
        else:
            self._call(lambda connection: connection.insert_over_arrow(insert, stream))
        self._undo_on_rollback(feature)

    def _insert_into_log(self, feature: ResolvedFeature, columns: list[str], rows: exp.Query) -> None:
        self.execute(self._log_insert(feature, columns, rows))
        self._undo_on_rollback(feature)

    def _log_insert(self, feature: ResolvedFeature, columns: list[str], rows: exp.Query) -> str:
        """INSERT INTO the feature's log (`columns`) the rows of a query."""
        target = ", ".join(quote(name) for name in columns)
        return f"INSERT INTO {quote(feature.log_table)} ({target}) {self.to_sql(rows)}"

    def _undo_on_rollback(self, feature: ResolvedFeature) -> None:
        """A failed write removes the rows it put in the log (unpublished, so never read)."""
        write_id = self._write_id
        if write_id is not None:
            delete = f"DELETE FROM {quote(feature.log_table)} WHERE {quote(layout.WRITE_ID)} = {write_id}"
            self._on_rollback(lambda: self.execute(delete))

    def _define_views(self, feature: ResolvedFeature, names: list[str], *, undo: bool = True) -> None:
        """The current and history views over the log's columns `names` (columns added later
        come last, as in the other stores' tables)."""
        log = quote(feature.log_table)
        ids = ", ".join(quote(name) for name in feature.id_names)
        write_id, deleted = quote(layout.WRITE_ID), quote(layout.DELETED)
        published = f"{write_id} IN (SELECT {quote('write_id')} FROM {quote(layout.WRITES)})"
        shown = ", ".join(quote(name) for name in names if name != layout.DELETED)
        every = ", ".join(quote(name) for name in names)
        latest = f"SELECT * FROM {log} WHERE {published} ORDER BY {ids}, {write_id} DESC LIMIT 1 BY {ids}"
        rank = f"row_number() OVER (PARTITION BY {ids} ORDER BY {write_id} DESC) AS {quote(RANK)}"
        ranked = f"SELECT *, {rank} FROM {log} WHERE {published}"
        views = {
            feature.table: f"SELECT {shown} FROM ({latest}) WHERE NOT {deleted}",
            feature.history_table: f"SELECT {every} FROM ({ranked}) WHERE {quote(RANK)} > 1 OR {deleted}",
        }
        existed = self._columns(list(views))
        for view, query in views.items():
            self.execute(f"CREATE OR REPLACE VIEW {quote(view)} AS {query}")
            if undo and view not in existed:
                self._on_rollback(lambda view=view: self.drop_table(view))

    # -- helpers ------------------------------------------------------------------------------
    def _create_merge_tree(self, table: str, typed: Sequence[tuple[str, str]], order: Sequence[str], *, undo: bool = True) -> None:
        body = ", ".join(f"{quote(name)} {kind}" for name, kind in typed)
        key = ", ".join(quote(name) for name in order)
        self.execute(f"CREATE TABLE {quote(table)} ({body}) ENGINE = MergeTree ORDER BY ({key})")
        if undo:
            self._on_rollback(lambda: self.drop_table(table))

    def _log_type(self, feature: ResolvedFeature, name: str, portable: str) -> str:
        """Ids and the write id are not Nullable: they are the log's sort key."""
        if name == layout.DELETED:
            return "Bool DEFAULT false"
        kind = self._type(portable)
        return _not_null(kind) if name in feature.id_names or name == layout.WRITE_ID else kind

    def _check_types(self, feature: ResolvedFeature, stored: Mapping[str, str]) -> None:
        """A column stored with another type than the YAML declares: one clear line, before any
        write (ClickHouse would cast silently, or fail half-way)."""
        for name, portable in (*feature.id_columns, *feature.declared_columns):
            have = stored.get(name)
            expected = self._log_type(feature, name, portable)
            if have is not None and have != expected:
                raise StoreError(  # worded as engine/tables.check_column_types words it
                    f"feature {feature.key}: column {name!r} is stored as {have} in store {self.name!r} but the YAML "
                    f"declares it {portable} ({expected}): declare its stored type again, or give the new type a new column name"
                )

    def _type(self, portable: str) -> str:
        return self.profile.column_type(portable).sql("clickhouse")

    def drop_temporary(self, name: str) -> None:
        """`DROP TEMPORARY TABLE`: a statement that keeps what was read of the catalog (a write's
        temporary tables, dropped at its end, would otherwise make the next call read it again)."""
        self.execute(f"DROP TEMPORARY TABLE IF EXISTS {quote(name)}")

    def _columns(self, tables: Sequence[str]) -> dict[str, dict[str, str]]:
        """{table: {column: type}} of those of `tables` that exist, columns in order.

        On a connection no other process changes, what was read is kept until a statement that
        may be DDL runs there (`Connection.catalog_version`, which counts every store's; inserts
        and queries keep it, so a benchmark's floor between two reads costs nothing). The first
        lookup reads every table's columns (a read-only command, such as an increment or a
        plan, then queries the catalog once, not once per table: about six queries of 2 ms for
        an increment, hundreds for a plan of 200 features); later ones read the tables asked
        for, since a write's DDL would make whole reads repeat."""
        version = self.connection.catalog_version() if self.connection is not None else None
        if version is None:
            return self._read_columns(tables)
        if version != self._catalog_version:
            self._catalog_version = version
            self._catalog = {}
            if self._catalog_whole_at is None:  # the first lookup only
                self._catalog, self._catalog_whole_at = self._read_columns(None), version
        whole = self._catalog_whole_at == version
        missing = [] if whole else [table for table in tables if table not in self._catalog]
        if missing:
            found = self._read_columns(missing)
            self._catalog.update((table, found.get(table, {})) for table in missing)
        return {table: self._catalog[table] for table in tables if self._catalog.get(table)}

    def _read_columns(self, tables: Sequence[str] | None) -> dict[str, dict[str, str]]:
        """{table: {column: type}} of `tables` (None: every table) from the catalog."""
        from sqlglot import exp

        where = ""
        if tables is not None:
            where = "AND table IN (" + ", ".join(exp.Literal.string(table).sql("clickhouse") for table in tables) + ")"
        rows = self.fetch_all(
            f"SELECT table, name, type FROM system.columns WHERE database = currentDatabase() {where} ORDER BY table, position"
        )
        found: dict[str, dict[str, str]] = {}
        for table, name, kind in rows:
            found.setdefault(table, {})[name] = kind
        return found

    def _on_rollback(self, action: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(action)

    def _call(self, action: Callable[[Connection], Any]) -> Any:
        if self.connection is None:
            raise StoreError(f"store {self.name!r} is closed")
        if self._stream is not None:
            self._stream.detach()
        try:
            return action(self.connection)
        except EngineError as error:
            raise self._error(error) from None


class _Stream:
    """A result being read: detached (read to its end, into memory) before the session runs
    anything else, since that would end it."""

    def __init__(self, store: ClickHouseStore, first: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch]):
        self.store = store
        self.pending: list[pa.RecordBatch] = [first] if first is not None else []
        self.rest: Iterator[pa.RecordBatch] | None = rest if first is not None else None

    def detach(self) -> None:
        if self.store._stream is self:
            self.store._stream = None
        while (batch := self._next()) is not None:
            self.pending.append(batch)

    def _next(self) -> pa.RecordBatch | None:
        """The next batch from the engine; None (and the stream closed) at its end."""
        if self.rest is None:
            return None
        try:
            batch = next(self.rest, None)
        except EngineError as error:
            self.rest = None
            raise self.store._error(error) from None
        if batch is None:
            self.rest = None
            if self.store._stream is self:
                self.store._stream = None
        return batch

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            batch = self.pending.pop(0) if self.pending else self._next()
            if batch is None:
                return
            yield batch


def _folder(name: str, path: str) -> str:
    """The store's folder, created if missing; one clear line when it cannot be."""
    if path == MEMORY:
        return path
    target = Path(path)
    problem = None
    if target.exists() and not target.is_dir():
        problem = "it is a file, and a ClickHouse store is a folder"
    elif "?" in path:
        problem = "a ClickHouse store's folder name cannot contain '?'"
    else:
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = error.strerror or str(error)
    if problem:
        raise StoreError(f"cannot open store {name!r} at {path}: {problem}")
    return str(target.resolve())


def _not_null(kind: str) -> str:
    found = re.fullmatch(r"Nullable\((.*)\)", kind)
    return found.group(1) if found else kind


def _no_parameters(parameters: Sequence[Any]) -> None:
    if parameters:
        raise StoreError("the ClickHouse store takes SQL without ? parameters (quote literals with sqlglot)")


def _naive(table: pa.Table) -> pa.Table:
    """Timestamps as naive UTC, as the other stores return them (ClickHouse tags them UTC)."""
    import pyarrow as pa

    schema = pa.schema([
        field.with_type(pa.timestamp(field.type.unit)) if pa.types.is_timestamp(field.type) else field
        for field in table.schema
    ])  # fmt: skip
    return table.cast(schema) if schema != table.schema else table


def _typed_schema(schema: pa.Schema, types: Mapping[str, str]) -> pa.Schema:
    """The caller's portable types (0/1 flags become booleans), and naive timestamps."""
    import pyarrow as pa

    fields = []
    for field in schema:
        if field.name in types:
            fields.append(field.with_type(arrow_type_of(types[field.name])))
        elif pa.types.is_timestamp(field.type):
            fields.append(field.with_type(pa.timestamp(field.type.unit)))
        else:
            fields.append(field)
    return pa.schema(fields)


def _cast(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    if batch.schema == schema:
        return batch
    arrays = [column.cast(field.type) for column, field in zip(batch.columns, schema)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
