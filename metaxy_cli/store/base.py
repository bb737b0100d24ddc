"""The store interface: what the engine needs from a database, and nothing more.

A backend implements a handful of primitives (execute, fetch, stage an Arrow batch, stream a
query to a file); everything shared — DDL built with sqlglot, transactions, table checks — lives
here, so a PostgreSQL, ClickHouse or Spark store is one small module plus one DialectProfile.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Mapping, Sequence

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.store.io import MEMORY

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from metaxy_cli.sql.dialects import DialectProfile
    from metaxy_cli.sql.resolved import ResolvedFeature

Columns = Sequence[tuple[str, str]]  # (column name, portable type)
BATCH_ROWS = 65_536


def open_database_file(path: str) -> str:
    """Create the folder of a database file; a clear StoreError when that is impossible."""
    if path == MEMORY:
        return path
    target = Path(path)
    if target.is_dir():
        raise StoreError(f"cannot open store at {path}: it is a directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot open store at {path}: {error.strerror or error}") from None
    return path


def database_message(error: Exception) -> str:
    """The first line of a database error, without the engine's class prefix noise."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def seconds_setting(name: str, settings: dict[str, Any], key: str, default: float) -> float:
    """A store setting given in seconds (a number, or its text from `${VAR}` expansion)."""
    value = settings.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise StoreError(f"store {name!r}: {key} must be a number of seconds, got {value!r}") from None


_ARROW_TYPES = {"string": "string", "integer": "int64", "double": "float64", "boolean": "bool",
                "binary": "binary", "json": "string", "date": "date32", "timestamp": "timestamp[us]"}  # fmt: skip


def arrow_type_of(portable_type: str) -> pa.DataType:
    """The Arrow type a portable column type is read as (naive timestamps, in UTC)."""
    import pyarrow as pa

    return pa.type_for_alias(_ARROW_TYPES[portable_type])


def empty_result(columns: Mapping[str, str]) -> pa.RecordBatchReader:
    """The result of a query known to select nothing (an increment with nothing touched since its
    checkpoint), given every column of its result in order with its portable type: no engine
    analyses the query for its schema (ClickHouse and Spark take 0.05 s or more to plan an
    increment's)."""
    import pyarrow as pa

    schema = pa.schema([(name, arrow_type_of(kind)) for name, kind in columns.items()])
    return pa.RecordBatchReader.from_batches(schema, [])


def portable_type_of(arrow_type: pa.DataType) -> str:
    """The portable column type that stores an Arrow type (staging a batch)."""
    import pyarrow as pa

    checks = [
        (pa.types.is_boolean, "boolean"), (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "double"), (pa.types.is_date, "date"),
        (pa.types.is_timestamp, "timestamp"), (pa.types.is_binary, "binary"),
        (pa.types.is_large_binary, "binary"),
    ]  # fmt: skip
    return next((name for check, name in checks if check(arrow_type)), "string")


class Store(ABC):
    """One open connection to a metadata store."""

    engine: ClassVar[str]  # the DialectProfile name, e.g. "duckdb"
    # How a write transaction starts; SQLite takes its write lock up front (see sqlite.py).
    begin: ClassVar[str] = "BEGIN"
    # Engines that join by nested loops (SQLite, PostgreSQL) need a unique index on the ids of
    # current tables, or superseding rows costs rows x batch; hash-joining engines (DuckDB)
    # would only pay for one on every insert.
    indexes_ids: ClassVar[bool] = False
    # Keeps clean checkpoints (engine/changes.py) so summaries and increments compare only the
    # samples touched since, and stores a current increment's provenance as computed
    # (engine/carried.py): stores whose writers are serialised with write ids in commit order and
    # whose transactions read one state of the store (transactional ones; Spark under its lock).
    tracks_changes: ClassVar[bool] = False
    # `supersede` moves the replaced rows (to history), so it needs the replacing ids in the
    # store; a log store whose newer rows hide older ones needs nothing (ClickHouse).
    moves_replaced_rows: ClassVar[bool] = True

    def __init__(self, name: str, location: str):
        self.name = name
        self.location = location
        self._depth = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} at {self.location}>"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @cached_property
    def profile(self) -> DialectProfile:
        from metaxy_cli.sql.dialects import profile_for

        return profile_for(self.engine)

    @classmethod
    @abstractmethod
    def from_settings(cls, name: str, settings: dict[str, Any], root: Path) -> Store:
        """Open a store from its expanded metaxy.yaml settings."""

    # -- primitives every backend implements -------------------------------------------------
    @abstractmethod
    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run one statement; database errors become StoreError."""

    @abstractmethod
    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        """Every row of a small result (counts, a few offending samples)."""

    @abstractmethod
    def fetch_batches(
        self, sql: str, batch_rows: int = BATCH_ROWS, types: Mapping[str, str] | None = None
    ) -> pa.RecordBatchReader:
        """The result of a query as a stream of Arrow batches (never all rows in Python).

        `types` (column -> portable type) helps engines that do not type their results (SQLite).
        """

    @abstractmethod
    def stage(self, name: str, data: pa.RecordBatchReader | pa.Table) -> None:
        """Load Arrow data into a temporary table `name` (replaced if it exists)."""

    @abstractmethod
    def list_columns(self, table: str) -> list[str] | None:
        """Column names of `table` in order, or None when it does not exist.

        `table` is a logical name; the names returned are the stored ones, as
        `self.identifier` spells them (they differ only past the engine's identifier limit).
        """

    def column_types(self, table: str) -> dict[str, str] | None:
        """{stored column name: its SQL type in this engine} of `table`, None when it does not
        exist; an engine that cannot tell keeps this default, None, and skips type checks."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""

    def _error(self, error: Exception) -> StoreError:
        """A database error as one line naming the store."""
        return StoreError(f"store {self.name!r} ({self.location}): {self._explain(database_message(error))}")

    def _explain(self, message: str) -> str:
        """Where a backend can say more about an engine message (e.g. a lock held elsewhere)."""
        return message

    # -- shared behaviour ---------------------------------------------------------------------
    def fetch_arrow(self, sql: str, types: Mapping[str, str] | None = None) -> pa.Table:
        return self.fetch_batches(sql, types=types).read_all()

    def copy_to(
        self, sql: str, path: Path, file_format: str, types: Mapping[str, str] | None = None, *, empty: bool = False
    ) -> int:
        """Stream a query's result to a parquet, csv or jsonl file; returns the row count.
        `empty`: the query is known to select nothing, and `types` names every column of its
        result in order (empty_result)."""
        from metaxy_cli.store.io import write_batches

        reader = empty_result(types or {}) if empty else self.fetch_batches(sql, types=types)
        return write_batches(reader, path, file_format)

    def to_sql(self, expression: exp.Expression) -> str:
        from metaxy_cli.sql.emit import to_sql

        return to_sql(expression, self.profile, pretty=False)

    def run(self, expression: exp.Expression) -> None:
        self.execute(self.to_sql(expression))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: commit when the block succeeds, roll back on any error. Nests flat."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self.execute(self.begin)
        except BaseException:
            self._rollback()  # a `begin` of several statements may fail after its BEGIN
            raise
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        self.execute("COMMIT")

    def _rollback(self) -> None:
        try:
            self.execute("ROLLBACK")
        except StoreError:
            pass  # the connection may already have aborted the transaction

    def identifier(self, name: str) -> str:
        """How this store spells a logical table or column name (DialectProfile.identifier)."""
        return self.profile.identifier(name)

    def table_exists(self, table: str) -> bool:
        return self.list_columns(table) is not None

    def create_table(self, table: str, columns: Columns, *, temporary: bool = False) -> None:
        from sqlglot import exp

        schema = exp.Schema(
            this=exp.to_table(table, quoted=True) if not temporary else exp.to_identifier(table, quoted=True),
            expressions=[self._column_def(name, kind) for name, kind in columns],
        )
        properties = exp.Properties(expressions=[exp.TemporaryProperty()]) if temporary else None
        self.run(exp.Create(this=schema, kind="TABLE", properties=properties))

    def create_temporary_as(self, name: str, query: exp.Query) -> None:
        """A temporary table `name` holding the result of `query` (replaced if it exists)."""
        from sqlglot import exp

        self.drop_temporary(name)
        create = exp.Create(
            this=exp.to_identifier(name, quoted=True),
            kind="TABLE",
            expression=query,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
        self.run(create)

    def add_columns(self, table: str, columns: Columns) -> None:
        from sqlglot import exp

        for name, kind in columns:
            self.run(exp.Alter(this=exp.to_table(table, quoted=True), kind="TABLE", actions=[self._column_def(name, kind)]))

    def ensure_table(self, table: str, columns: Columns) -> bool:
        """Create `table`, or add the columns it lacks; True when anything changed."""
        existing = self.list_columns(table)
        if existing is None:
            self.create_table(table, columns)
            return True
        missing = [(name, kind) for name, kind in columns if self.identifier(name) not in existing]
        if missing:
            self.add_columns(table, missing)
        return bool(missing)

    def ensure_id_index(self, index: str, table: str, ids: Sequence[str]) -> None:
        """A unique index on `ids` of `table` where the engine needs one (`indexes_ids`)."""
        if not self.indexes_ids:
            return
        from sqlglot import exp

        columns = [exp.column(name, quoted=True) for name in ids]
        target = exp.Index(
            this=exp.to_identifier(index, quoted=True),
            table=exp.Table(this=exp.to_identifier(table, quoted=True)),
            params=exp.IndexParameters(columns=columns),
        )
        self.run(exp.Create(this=target, kind="INDEX", unique=True, exists=True))

    def drop_table(self, table: str) -> None:
        from sqlglot import exp

        self.run(exp.Drop(tables=[exp.to_table(table, quoted=True)], kind="TABLE", exists=True))

    def drop_temporary(self, name: str) -> None:
        """Drop the temporary table `name` if there is one (stores whose temporary tables live
        apart from their stored ones say so in the statement)."""
        self.drop_table(name)

    def rename_table(self, old: str, new: str) -> None:
        from sqlglot import exp

        rename = exp.AlterRename(this=exp.to_table(new, quoted=True))
        self.run(exp.Alter(this=exp.to_table(old, quoted=True), kind="TABLE", actions=[rename]))

    # -- the write log -------------------------------------------------------------------------
    def next_write_id(self) -> int:
        """The id of the write being made, inside its transaction: MAX + 1 of the log, unique
        because the transaction serialises writers (sql/writes.py). A store without
        transactions hands ids out itself, never twice (ids of lost writes included)."""
        from metaxy_cli.sql import writes

        return int(self.fetch_all(self.to_sql(writes.next_write_id()))[0][0])

    def log_write(self, entry: exp.Insert) -> None:
        """Insert the write-log row (sql/writes.log_write), last in the write's transaction; on a
        store without transactions this is the commit point that makes the rows visible."""
        self.run(entry)

    def vacuum(self, *, dry_run: bool = False) -> list[str]:
        """Remove what lost (killed) writes left behind; returns what was (or would be) removed.
        Transactional stores roll such writes back themselves: nothing to do."""
        return []

    # -- clean checkpoints (stores that track changes: engine/changes.py) -----------------------
    # Kept in a table (metaxy_checkpoints) written in the transaction that proved them; a store
    # without transactions keeps them where it can publish them after its commit.

    def prepare_checkpoints(self) -> None:
        from metaxy_cli.sql import layout

        self.ensure_table(layout.CHECKPOINTS, layout.CHECKPOINTS_COLUMNS)

    def checkpoint(self, feature: ResolvedFeature) -> tuple[int, int] | None:
        """(write id, up-to-date samples) of the feature's clean checkpoint under its current
        digest, or None."""
        from metaxy_cli.sql import changes

        rows = self.fetch_all(self.to_sql(changes.checkpoint_of(feature, self.profile)))
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def record_checkpoint(self, feature: ResolvedFeature, write_id: int, up_to_date: int) -> None:
        """Replace the feature's checkpoint (call in the transaction that proved it clean)."""
        from datetime import UTC, datetime

        from metaxy_cli.sql import changes

        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction():
            self.run(changes.forget(feature))
            self.run(changes.record(feature, self.profile, write_id=write_id, up_to_date=up_to_date, recorded_at=now))

    def forget_checkpoints(self) -> None:
        """Forget every checkpoint (in a migration's transaction: a rename moves whole tables)."""
        from metaxy_cli.sql import changes, layout

        if self.table_exists(layout.CHECKPOINTS):
            self.run(changes.forget())

    # -- how a feature's rows are kept ----------------------------------------------------------
    # The default layout: a table of CURRENT rows (one per id) and an append-only history table;
    # a write moves the rows it replaces to history inside its transaction. An engine without
    # multi-statement transactions overrides these four methods to keep one append-only log per
    # feature and make its current rows a view over the writes the write log has committed.
    # stage_rows/adopt_staged let a store keep a write's computed rows where they can become its
    # current rows without a copy (store/history_parts.py).

    def prepare_feature(self, feature: ResolvedFeature) -> None:
        """Create the feature's tables, or add the columns declared since they were created."""
        self.ensure_table(feature.table, feature.table_columns)
        self.ensure_id_index(feature.id_index, feature.table, feature.id_names)
        self.ensure_table(feature.history_table, feature.history_columns)

    def supersede(self, feature: ResolvedFeature, condition: exp.Expression) -> None:
        """Move the current rows matching `condition` to history (they are being replaced or
        deleted), so the current table holds one row per id and every row ever written is kept:
        current ∪ history is the full append-only log.
        """
        from sqlglot import exp

        from metaxy_cli.sql import layout

        columns = [name for name, _ in feature.table_columns]
        current = exp.to_table(feature.table, quoted=True)
        old = exp.select(*(exp.column(name) for name in columns), exp.alias_(exp.false(), layout.DELETED))
        into = exp.to_table(feature.history_table, quoted=True)
        self.run(exp.insert(old.from_(current).where(condition.copy()), into, columns=columns + [layout.DELETED]))
        self.run(self.profile.delete(current.copy(), condition.copy()))

    def append(self, feature: ResolvedFeature, rows: exp.Query) -> None:
        """Append new current rows (exactly `feature.table_columns`, in order)."""
        from sqlglot import exp

        columns = [name for name, _ in feature.table_columns]
        self.run(exp.insert(rows, exp.to_table(feature.table, quoted=True), columns=columns))

    def append_rows(self, feature: ResolvedFeature, rows: pa.RecordBatchReader) -> None:
        """Append finished rows computed outside the store (exactly `feature.table_columns`):
        staged as a temporary table, then appended (stores that can load straight into the
        feature's table override this)."""
        from sqlglot import exp

        staged = "metaxy_rows"
        self.stage(staged, rows)
        try:
            self.append(feature, exp.select(*(exp.column(name, quoted=True) for name, _ in feature.table_columns)).from_(exp.to_table(staged, quoted=True)))
        finally:
            self.drop_temporary(staged)

    def batch_relation(self, schema: pa.Schema) -> exp.Expression | None:
        """A relation through which this store's own statements read a stream of `schema` in
        place (`append_over`), typed as `stage` types it; None where they cannot. A root write
        then hashes the checked batch in the store's engine in the same pass that loads it,
        instead of loading rows computed elsewhere (engine/writes.py)."""
        return None

    # Whether this store's own statements can read a Parquet file of the writer's machine
    # (`parquet_relation`): a checked batch read in place from such a file then stays a view.
    reads_parquet_files: bool = False

    def parquet_relation(self, schema: pa.Schema, path: str) -> exp.Expression | None:
        """A relation through which this store's own statements read the Parquet file `path`,
        whose columns of `schema` already have their declared types, typed as `stage` types
        them and with NaN read as NULL, as in a checked batch; None where they cannot. A root
        write from such a file then skips DuckDB's copy of the batch and the stream of it: the
        engine reads the file once, as its own bulk load of the file would."""
        return None

    def append_over(self, feature: ResolvedFeature, rows: exp.Query, stream: pa.RecordBatchReader | None) -> None:
        """Append `rows` (exactly `feature.table_columns`), a query over
        `batch_relation(stream.schema)`, reading `stream` as it goes; or, with no stream, over
        `parquet_relation`."""
        raise NotImplementedError(f"store {self.name!r} cannot read a stream in its statements")

    def stage_rows(self, feature: ResolvedFeature, rows: exp.Query, name: str, *, extra: Columns = ()) -> str:
        """Compute a write's rows once (`feature.table_columns`, then the `extra` columns the
        writer checks), before the rows they replace are superseded; returns the relation
        holding them (a temporary table `name`)."""
        self.create_temporary_as(name, rows)
        return name

    def adopt_staged(self, feature: ResolvedFeature, staged: str) -> None:
        """Make the rows of `stage_rows` current rows (after `supersede`)."""
        from sqlglot import exp

        self.append(feature, exp.select(*(exp.column(name, quoted=True) for name, _ in feature.table_columns)).from_(exp.to_table(staged, quoted=True)))

    def tombstone(self, feature: ResolvedFeature, columns: list[str], rows: exp.Query) -> None:
        """Append deletion markers (ids, write time and id, `metaxy_deleted` TRUE) to history."""
        from sqlglot import exp

        self.run(exp.insert(rows, exp.to_table(feature.history_table, quoted=True), columns=columns))

    def drop_feature(self, feature: ResolvedFeature) -> None:
        """Drop the feature's tables (a rename's target that holds no row yet)."""
        self.drop_table(feature.table)
        self.drop_table(feature.history_table)

    def rename_feature(self, old_key: str, feature: ResolvedFeature) -> None:
        """Move a renamed feature's current and history tables to its new key (a migration's
        rename, inside its transaction): every row and version is kept."""
        from sqlglot import exp

        from metaxy_cli.sql import layout

        moves = ((layout.current_table(old_key), feature.table), (layout.history_table(old_key), feature.history_table))
        for old, new in moves:
            self.rename_table(old, new)
        if self.indexes_ids:
            old_index = exp.to_table(layout.id_index(old_key), quoted=True)
            self.run(exp.Drop(tables=[old_index], kind="INDEX", exists=True))
            self.ensure_id_index(feature.id_index, feature.table, feature.id_names)

    def _column_def(self, name: str, portable_type: str) -> exp.ColumnDef:
        from sqlglot import exp

        return exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=self.profile.column_type(portable_type))
