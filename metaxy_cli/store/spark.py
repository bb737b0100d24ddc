"""Spark store: Parquet folders on a local path or any Hadoop file system (spark_storage.py),
versioned by the same SQL as every store, run by Spark (a local master or a cluster). Rows never
pass through the driver in bulk: Spark reads input files, computes increments and writes output
files itself.

Spark has no multi-statement transactions, so a feature is one append-only Parquet log partitioned
by write id (spark_files.py); its current rows and history are views over the partitions the
write log has committed (sql/history.py). A transaction here is: take the store's lock, write
partitions that nobody reads yet, then commit one log entry that publishes them, with any table
schema changes and the metaxy_writes row, all at once. An error before the entry leaves the store
as it was; a killed job leaves orphan folders that readers never list (`vacuum`).

Temporary tables (batches, staged rows) are checkpointed DataFrames registered as temp views.
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.definitions.keys import HISTORY_SUFFIX
from metaxy_cli.sql import layout
from metaxy_cli.store.base import BATCH_ROWS, Columns, Store, seconds_setting
from metaxy_cli.store.spark_files import Committed, Files, TableMeta
from metaxy_cli.store.spark_storage import Storage, is_url, open_storage
from metaxy_cli.store.spark_session import spark_errors

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.batch import StagedBatch

DEFAULT_PATH = ".metaxy/spark"
DEFAULT_LOCK_TIMEOUT = 30.0
# Temp views are per session, named by table: the store whose views a session holds now. Another
# store on the same session (a second folder) re-registers its own before its next query.
_VIEWS_OF: weakref.WeakValueDictionary[int, SparkStore] = weakref.WeakValueDictionary()


@dataclass
class _Pending:
    """What the open transaction will publish at commit."""

    write_id: int | None = None
    schemas: dict[str, TableMeta | None] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)  # metaxy_writes rows (a migration: one per feature)
    renames: dict[str, str] = field(default_factory=dict)  # old table -> new table (a migration's rename)
    checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)  # recorded after the commit


class SparkStore(Store):
    engine = "spark"
    # Writers queue on the store's lock and take ids in commit order, and a transaction's reads
    # see the log as its lock found it: clean checkpoints hold as on a transactional store.
    tracks_changes = True

    def __init__(self, name: str, storage: Storage, session: SparkSession, *, owns_session: bool, lock_timeout: float):
        super().__init__(name, storage.root)
        self.files = Files(storage)
        self.spark: SparkSession | None = session
        self.owns_session = owns_session
        self.lock_timeout = lock_timeout
        self._committed = Committed()
        self._seen: list[str] | None = None
        self._pending: _Pending | None = None
        self._temporary: dict[str, DataFrame] = {}
        self._staged: list[str] = []  # staged batches in the store (removed at close)
        self._scratch: list[Path] = []  # folders the driver wrote (removed at close)
        from metaxy_cli.sql.dialects import profile_for

        for udf in profile_for(self.engine).udfs:
            from pyspark.sql.types import StringType

            session.udf.register(udf.name, udf.fn, StringType())

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], root: Path) -> SparkStore:
        conf = settings.get("conf") or {}
        if not isinstance(conf, Mapping):
            raise StoreError(f"store {name!r}: conf must be a mapping of Spark settings, got {conf!r}")
        from metaxy_cli.store.spark_session import DEFAULT_MASTER

        return cls.open(
            settings.get("path") or str(root / DEFAULT_PATH), name=name,
            master=str(settings.get("master") or DEFAULT_MASTER), conf=conf,
            lock_timeout=seconds_setting(name, settings, "lock_timeout", DEFAULT_LOCK_TIMEOUT),
        )  # fmt: skip

    @classmethod
    def open(
        cls, path: str | Path, *, spark: SparkSession | None = None, name: str = "spark", master: str | None = None,
        conf: Mapping[str, Any] | None = None, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, hadoop: bool = False,
    ) -> SparkStore:  # fmt: skip
        """Open (creating) the store at `path`: a local folder (or `file:` URL), or a Hadoop file
        system's URL (`hdfs://`, `s3a://`, `abfss://`, `gs://`); `hadoop`: through Hadoop's
        FileSystem even so (tests of that path on a local folder). `spark`: the caller's SparkSession (a
        notebook's, a job's), used as it is and never stopped; else one is started on `master`
        (default local[*]) with `conf`, or the process's active session is joined."""
        from metaxy_cli.store.spark_session import (
            DEFAULT_MASTER,
            check_startable,
            join_session,
            start_session,
        )

        master = master or DEFAULT_MASTER
        if spark is None:
            check_startable(name, master)  # before anything is written
        owns = False
        if spark is None:
            from pyspark.sql import SparkSession

            owns = SparkSession.getActiveSession() is None
        local = not (hadoop or is_url(str(path)))
        if local:  # a local folder is made before the JVM starts: a bad path costs no start-up
            storage = _created(name, open_storage(name, str(path), None))
        session = join_session(spark if spark is not None else start_session(name, master, conf or {}))
        if not local:
            try:
                storage = _created(name, open_storage(name, str(path), session, hadoop=hadoop))
            except StoreError:
                if owns:
                    session.stop()
                raise
        store = cls(name, storage, session, owns_session=owns, lock_timeout=lock_timeout)
        store._refresh(force=True)
        return store

    @property
    def session(self) -> SparkSession:
        if self.spark is None:
            raise StoreError(f"store {self.name!r} is closed")
        return self.spark

    def close(self) -> None:
        if self.spark is None:
            return
        for name in list(self._temporary):
            self._drop_temporary(name)
        for location in self._staged:
            self.files.storage.remove(location)
        for folder in self._scratch:
            shutil.rmtree(folder, ignore_errors=True)
        if self.owns_session:
            self.spark.stop()
        self.spark = None

    # -- primitives ---------------------------------------------------------------------------
    def dataframe(self, sql: str) -> DataFrame:
        """The result of a query as a (lazy) Spark DataFrame."""
        self._refresh()
        try:
            return self.session.sql(sql)
        except spark_errors() as error:
            raise self._error(error) from None

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run a statement; INSERT and DELETE go through `run` (they act on files or DataFrames)."""
        import sqlglot
        from sqlglot import exp

        self._no_parameters(parameters)
        try:
            parsed = sqlglot.parse_one(sql, read=self.engine)
        except sqlglot.errors.ParseError:
            parsed = None
        if isinstance(parsed, (exp.Insert, exp.Delete)):
            self.run(parsed)
            return
        self._sql(sql)

    def _sql(self, sql: str) -> None:
        self.dataframe(sql)  # statements run when parsed; a query stays lazy

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        self._no_parameters(parameters)
        frame = self.dataframe(sql)
        try:
            rows = frame.collect()
        except spark_errors() as error:
            raise self._error(error) from None
        return [tuple(bytes(v) if isinstance(v, bytearray) else v for v in row) for row in rows]

    def fetch_batches(
        self, sql: str, batch_rows: int = BATCH_ROWS, types: Mapping[str, str] | None = None
    ) -> pa.RecordBatchReader:
        """Small results only: the rows are collected on the driver (as Arrow)."""
        import pyarrow as pa

        frame = self.dataframe(sql)
        try:
            table = frame.toArrow()
        except spark_errors() as error:
            raise self._error(error) from None
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_rows))

    def stage(self, name: str, data: pa.RecordBatchReader | pa.Table) -> None:
        """Arrow data as a temp view, through a Parquet file Spark reads (no pandas needed)."""
        import pyarrow.parquet as pq

        folder = self.staging_folder()
        reader = data if not hasattr(data, "to_reader") else data.to_reader()
        with pq.ParquetWriter(folder / "data.parquet", reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        try:
            self.register(name, self.session.read.parquet(self.readable(folder)))
        except spark_errors() as error:
            raise self._error(error) from None

    def load_batch(
        self, feature: ResolvedFeature, data: Any, *, ids_only: bool, name: str, keep_provenance: bool, partial: bool
    ) -> StagedBatch:
        """Spark reads, types and checks the batch itself (store/batch.py's contract)."""
        from metaxy_cli.store.spark_batch import load

        self._refresh()
        return load(self, feature, data, ids_only=ids_only, name=name, keep_provenance=keep_provenance, partial=partial)

    def staging_folder(self) -> Path:
        """A new local folder for files the driver hands to Spark (read through `readable`),
        removed when the store closes."""
        folder = self.files.storage.driver_folder()
        self._scratch.append(folder)
        return folder

    def readable(self, local: Path) -> str:
        """Where Spark reads a local file or folder: in place, or copied into a remote store."""
        try:
            location, staged = self.files.storage.spark_readable(local)
        except OSError as error:
            raise StoreError(f"store {self.name!r} ({self.location}): cannot stage {local}: {error}") from None
        if staged is not None:
            self._staged.append(staged)
        return location

    def register(self, name: str, frame: DataFrame) -> None:
        """A DataFrame as temp view `name` (a temporary table of the engine)."""
        self._drop_temporary(name)
        frame.createOrReplaceTempView(name)
        self._temporary[name] = frame

    def list_columns(self, table: str) -> list[str] | None:
        if table in self._temporary:
            return list(self._temporary[table].columns)
        if table == layout.WRITES:
            return [name for name, _ in layout.WRITES_COLUMNS]
        found = self._meta(table.removesuffix(HISTORY_SUFFIX) if table.endswith(HISTORY_SUFFIX) else table)
        if found is None:
            return None
        if found.feature and not table.endswith(HISTORY_SUFFIX):
            return [name for name, _ in found.columns if name != layout.DELETED]
        if not found.feature and table.endswith(HISTORY_SUFFIX):
            return None
        return [name for name, _ in found.columns]

    def column_types(self, table: str) -> dict[str, str] | None:
        found = self._meta(table)
        if found is None or table in self._temporary:
            return None
        return {name: self.profile.column_type(kind).sql(self.engine) for name, kind in found.columns}

    def table_names(self) -> list[str]:
        """The store's own tables as queries see them: each feature's current rows and history,
        plain tables, and the write log (temporary tables left out)."""
        names = [layout.WRITES]
        for table, meta in self._committed.tables.items():
            names += [table, table + HISTORY_SUFFIX] if meta.feature else [table]
        return sorted(names)

    def _meta(self, table: str) -> TableMeta | None:
        if self._pending is not None and table in self._pending.schemas:
            return self._pending.schemas[table]
        return self._committed.tables.get(table)

    # -- DDL: schema changes are published with the transaction's commit ----------------------
    def create_table(self, table: str, columns: Columns, *, temporary: bool = False) -> None:
        if temporary:
            self.register(table, self._empty(list(columns)))
            return
        self._set_meta(table, TableMeta(tuple(columns)))

    def ensure_table(self, table: str, columns: Columns) -> bool:
        if table == layout.WRITES:
            return False  # the write log itself (spark_files.py)
        return super().ensure_table(table, columns)

    def add_columns(self, table: str, columns: Columns) -> None:
        if not columns:
            return
        found = self._meta(table)
        if found is None:
            raise StoreError(f"store {self.name!r} ({self.location}): table {table} does not exist")
        self._set_meta(table, TableMeta(found.columns + tuple(columns), found.ids, found.feature))

    def drop_table(self, table: str) -> None:
        if table in self._temporary:
            self._drop_temporary(table)
        elif self._meta(table) is not None:
            self._set_meta(table, None)

    def create_temporary_as(self, name: str, query: exp.Query) -> None:
        """The query's result computed once (checkpointed), as temp view `name`."""
        frame = self.dataframe(self.to_sql(query))
        try:
            self.register(name, frame.localCheckpoint(eager=True))
        except spark_errors() as error:
            raise self._error(error) from None

    def run(self, expression: exp.Expression) -> None:
        """Statements Spark cannot run on these tables, done on the files: INSERT INTO a store
        table appends a partition; DELETE FROM a temporary table filters its DataFrame."""
        from sqlglot import exp

        if isinstance(expression, exp.Insert):
            table = expression.this.this if isinstance(expression.this, exp.Schema) else expression.this
            name = table.name
            if self._meta(name) is not None:
                columns = [c.name for c in expression.this.expressions] if isinstance(expression.this, exp.Schema) else None
                self._append_rows(name, expression.expression, columns)
                return
        if isinstance(expression, exp.Delete) and expression.this.name in self._temporary:
            self._delete_temporary(expression.this.name, expression.args.get("where"))
            return
        self._sql(self.to_sql(expression))

    # -- transactions and the write log ---------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Under the store's lock: partitions written now are published by one log entry at the
        end; on any error they are discarded and nothing is committed. Nests flat."""
        if self._pending is not None:
            yield
            return
        with self._storage_errors(), self.files.lock(self.lock_timeout, self.name) as held:
            self._refresh()
            self._pending = pending = _Pending()
            try:
                yield
            except BaseException:
                self._pending = None
                self._abandon(pending)
                raise
            self._pending = None
            if held.lost:  # a Hadoop lease broken while this process stalled: another may write
                self._abandon(pending)
                raise StoreError(f"store {self.name!r} ({self.location}): the write lock was lost while writing (the process stalled longer than its lease); nothing was committed")
            self._commit(pending)
            if pending.checkpoints:
                try:
                    self.files.record_checkpoints(pending.checkpoints)
                except OSError:
                    pass  # the write has landed; without a checkpoint the next answer compares in full
        with self._storage_errors():
            self._refresh()

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        """The storage's OSErrors (a Hadoop file system's, mapped by spark_storage) as one line."""
        try:
            yield
        except OSError as error:
            raise StoreError(f"store {self.name!r} ({self.location}): {error.strerror or error}") from None

    def next_write_id(self) -> int:
        pending = self._require_transaction("a write id")
        if pending.write_id is None:
            pending.write_id = self.files.claim_id(self._committed.last_id)
        return pending.write_id

    def log_write(self, entry: exp.Insert) -> None:
        """Keep the metaxy_writes row (sql/writes.log_write: one row of literals) for the commit."""
        from sqlglot import exp

        pending = self._require_transaction("the write log")
        names = [c.name for c in entry.this.expressions]
        select = entry.expression
        values = []
        for item in select.expressions:
            literal = item.this if isinstance(item, exp.Cast) else item
            values.append(literal.to_py())
        pending.logs.append(dict(zip(names, values)))
        self._register_writes()  # the transaction reads its own row, as on a transactional store

    def _commit(self, pending: _Pending) -> None:
        if not (pending.schemas or pending.partitions or pending.logs):
            return
        entry = {
            "write_id": pending.write_id,
            "schemas": {t: (m.as_json() if m is not None else None) for t, m in pending.schemas.items()},
            "partitions": sorted(set(pending.partitions)),
            "log": pending.logs[0] if len(pending.logs) == 1 else None,
        }
        if len(pending.logs) > 1:
            entry["logs"] = pending.logs
        if pending.renames:
            entry["renames"] = pending.renames
        try:
            if pending.write_id is None:
                self.files.commit_schemas(entry, self._committed.last_id)
            else:
                self.files.commit(entry)
        except OSError as error:
            self._abandon(pending)
            raise StoreError(f"store {self.name!r} ({self.location}): cannot commit the write: {error.strerror or error}") from None

    def _abandon(self, pending: _Pending) -> None:
        if pending.write_id is not None:
            for table in set(pending.partitions):
                self.files.discard(self._folder(table), pending.write_id)
        self._refresh(force=True)
        for table in pending.schemas:
            if table not in self._committed.tables:
                self._register_table(table)  # drops the views made for the uncommitted table

    # -- clean checkpoints: a file beside the log, written after the commit that proved them -----
    def prepare_checkpoints(self) -> None:
        pass  # the file is written with the first checkpoint

    def checkpoint(self, feature: ResolvedFeature) -> tuple[int, int] | None:
        from metaxy_cli.sql import changes

        with self._storage_errors():
            found = self.files.checkpoints().get(feature.table)
        if not isinstance(found, dict) or found.get("digest") != changes.digest(feature, self.profile):
            return None
        try:
            return int(found["write_id"]), int(found["up_to_date"])
        except (KeyError, TypeError, ValueError):  # an edited file: compare in full
            return None

    def record_checkpoint(self, feature: ResolvedFeature, write_id: int, up_to_date: int) -> None:
        """Kept for the commit: a checkpoint at a write that is then not committed would have
        counted rows nobody can read."""
        from metaxy_cli.sql import changes

        if self._pending is None:
            with self.transaction():
                return self.record_checkpoint(feature, write_id, up_to_date)
        data = {"digest": changes.digest(feature, self.profile), "write_id": int(write_id), "up_to_date": int(up_to_date)}
        self._pending.checkpoints[feature.table] = data

    def forget_checkpoints(self) -> None:
        """At once, before the commit: a crash between the two leaves no checkpoint behind."""
        if self._pending is not None:
            self._pending.checkpoints.clear()
        with self._storage_errors():
            self.files.forget_checkpoints()

    def _require_transaction(self, what: str) -> _Pending:
        if self._pending is None:
            raise StoreError(f"store {self.name!r}: {what} is only available inside a transaction")
        return self._pending

    def vacuum(self, *, dry_run: bool = False) -> list[str]:
        """Remove the folders of writes that were never committed (killed jobs), under the lock."""
        with self._storage_errors(), self.files.lock(self.lock_timeout, self.name):
            self._refresh(force=True)
            mine = {*self._staged, *map(str, self._scratch)}
            found = [path for path in self.files.orphans(self._committed) if path not in mine]
            described = [f"{path} ({self.files.storage.size(path):,} bytes)" for path in found]
            if not dry_run:
                for path in found:
                    self.files.storage.remove(path)
        return described

    # -- how a feature's rows are kept: one append-only log, views for current rows and history --
    def prepare_feature(self, feature: ResolvedFeature) -> None:
        """The feature's log table (its history columns), with the columns declared since added."""
        found = self._meta(feature.table)
        wanted = tuple(feature.history_columns)
        if found is None:
            self._set_meta(feature.table, TableMeta(wanted, tuple(feature.id_names), feature=True))
            return
        stored = dict(found.columns)  # a changed type was refused before (engine/tables.check_column_types)
        missing = tuple((name, kind) for name, kind in wanted if name not in stored)
        if missing or found.ids != tuple(feature.id_names):
            self._set_meta(feature.table, TableMeta(found.columns + missing, tuple(feature.id_names), feature=True))

    def supersede(self, feature: ResolvedFeature, condition: exp.Expression) -> None:
        """Nothing to move: a newer row (or tombstone) of an id hides the older ones."""

    def rename_feature(self, old_key: str, feature: ResolvedFeature) -> None:
        """The table is renamed in the log entry; its partitions stay in the old key's folder
        (`TableMeta.folder`), so nothing moves on disk and the rename commits with the write."""
        pending = self._require_transaction("a rename")
        old = layout.current_table(old_key)
        meta = self._meta(old)
        if meta is None:
            raise StoreError(f"store {self.name!r}: {old_key} has no table to rename")
        pending.renames[old] = feature.table
        self._set_meta(feature.table, TableMeta(meta.columns, meta.ids, meta.feature, meta.folder_of(old)))
        self._set_meta(old, None)

    def append(self, feature: ResolvedFeature, rows: exp.Query) -> None:
        self._append_rows(feature.table, rows, [name for name, _ in feature.table_columns])

    def tombstone(self, feature: ResolvedFeature, columns: list[str], rows: exp.Query) -> None:
        self._append_rows(feature.table, rows, columns)

    def _append_rows(self, table: str, rows: exp.Query, columns: list[str] | None) -> None:
        """Write `rows` (named `columns`, default the table's) as this transaction's partition of
        `table`: every other column NULL, metaxy_deleted FALSE unless given."""
        from sqlglot import exp

        if self._pending is None:
            with self.transaction():  # a statement outside a transaction commits on its own
                return self._append_rows(table, rows, columns)
        pending = self._pending
        meta = self._meta(table)
        assert meta is not None
        write_id = self.next_write_id()
        given = columns or [name for name, _ in meta.columns if name != layout.WRITE_ID]
        # Columns by position: tombstone rows are unnamed literals.
        alias = exp.TableAlias(this=exp.to_identifier("r"), columns=[exp.to_identifier(n, quoted=True) for n in given])
        query = exp.select("*").from_(exp.Subquery(this=rows.copy(), alias=alias))
        items = []
        for name, kind in meta.columns:
            if name == layout.WRITE_ID:
                continue
            if name in given:
                value: exp.Expression = exp.cast(exp.column(name, quoted=True), self.profile.column_type(kind))
            elif name == layout.DELETED:
                value = exp.false()
            else:
                value = exp.cast(exp.Null(), self.profile.column_type(kind))
            items.append(exp.alias_(value, name, quoted=True))
        final = exp.select(*items).from_(query.subquery("g"))
        frame = self.dataframe(self.to_sql(final))
        if table not in pending.partitions:  # a killed writer's folder under this id is not ours
            self.files.discard(self._folder(table), write_id)
        self._write_partition(table, write_id, frame)
        pending.partitions.append(table)
        self._register_table(table)

    def _folder(self, table: str) -> str:
        """The folder of a table's partitions: its name, or a renamed feature's old one."""
        meta = self._meta(table)
        return meta.folder_of(table) if meta is not None else table

    def _partitions(self, table: str) -> list[int]:
        """The write ids holding the table's rows: the committed ones, and the open
        transaction's own (it reads its writes, as on a transactional store); a table renamed
        in the open transaction reads those of its old name."""
        pending = self._pending
        renamed = {new: old for old, new in (pending.renames if pending else {}).items()}
        if table in renamed:
            committed = self._committed.partitions.get(renamed[table], [])
        else:
            committed = self._committed.partitions.get(table, []) if table in self._committed.tables else []
        if pending is not None and pending.write_id is not None and table in pending.partitions:
            return [*committed, pending.write_id]
        return committed

    def _write_partition(self, table: str, write_id: int, frame: DataFrame) -> None:
        folder = self._folder(table)
        attempt = 0
        staged = self.files.staging_folder(folder, write_id)
        while self.files.storage.exists(staged):
            attempt += 1
            staged = self.files.staging_folder(folder, write_id, attempt)
        try:
            frame.write.mode("errorifexists").parquet(staged)
            self.files.publish(staged, folder, write_id)
        except OSError as error:
            raise StoreError(f"store {self.name!r} ({self.location}): cannot write {table}: {error.strerror or error}") from None
        except spark_errors() as error:
            raise self._error(error) from None

    # -- views over what the log has committed ------------------------------------------------
    def _refresh(self, *, force: bool = False) -> None:
        """Re-read the log when anything was committed since, and register every table's views.
        (Views over Parquet keep the file listing they were created with, so they are rebuilt.)"""
        if _VIEWS_OF.get(id(self.session)) is not self:
            _VIEWS_OF[id(self.session)] = self
            force = True
            for name, frame in self._temporary.items():
                frame.createOrReplaceTempView(name)
        if self._pending is not None and not force:
            return
        with self._storage_errors():
            names = self.files.entry_names()
            if not force and names == self._seen:
                return
            before, self._committed = self._committed, self.files.committed(names)
        self._seen = names
        if force or before.writes != self._committed.writes:
            self._register_writes()
        for table in set(before.tables) | set(self._committed.tables):
            unchanged = before.tables.get(table) == self._committed.tables.get(table) and (
                before.partitions.get(table) == self._committed.partitions.get(table)
            )
            if force or not unchanged:
                self._register_table(table)

    def _register_writes(self) -> None:
        from sqlglot import exp

        columns = layout.WRITES_COLUMNS
        types = {name: self.profile.column_type(kind) for name, kind in columns}
        rows = []
        for entry in [*self._committed.writes, *(self._pending.logs if self._pending is not None else ())]:
            values = [_literal(entry.get(name), types[name]) for name, _ in columns]
            rows.append(exp.select(*(exp.alias_(v, n, quoted=True) for v, (n, _) in zip(values, columns))))
        if not rows:
            query: exp.Query = exp.select(*(exp.alias_(exp.cast(exp.Null(), types[n]), n, quoted=True) for n, _ in columns)).where(exp.false())
        else:
            query = rows[0]
            for row in rows[1:]:
                query = exp.union(query, row, distinct=False)
        self.session.sql(self.to_sql(query)).createOrReplaceTempView(layout.WRITES)

    def _register_table(self, table: str) -> None:
        """`table` (current rows of a feature, else all rows) and `<table>__history` as views."""
        from sqlglot import exp

        from metaxy_cli.sql.history import current_rows, history_rows

        meta = self._meta(table)
        if meta is None:
            for name in (table, table + HISTORY_SUFFIX):
                self.session.catalog.dropTempView(name)
            return
        ids = self._partitions(table)
        stored = [c for c in meta.columns if c[0] != layout.WRITE_ID]
        if not meta.feature:
            stored.append((layout.WRITE_ID, "integer"))
        log = self._log_frame(table, stored, ids)
        log.createOrReplaceTempView(layout.log_of(table))
        names = [name for name, _ in meta.columns]
        source = exp.to_table(layout.log_of(table), quoted=True)
        if meta.feature:
            current = [n for n in names if n != layout.DELETED]
            one = len(ids) == 1
            self.session.sql(self.to_sql(current_rows(meta.ids, current, source, one_write=one))).createOrReplaceTempView(table)
            history = self.to_sql(history_rows(meta.ids, names, source.copy(), one_write=one))
            self.session.sql(history).createOrReplaceTempView(table + HISTORY_SUFFIX)
        else:
            select = exp.select(*(exp.column(n, quoted=True) for n in names)).from_(source)
            self.session.sql(self.to_sql(select)).createOrReplaceTempView(table)

    def _log_frame(self, table: str, stored: list[tuple[str, str]], write_ids: list[int]) -> DataFrame:
        """The committed partitions of `table`, read with the schema the log records (a column
        added later reads NULL in older files; uncommitted partitions are never listed)."""
        from pyspark.sql.types import StructType

        columns = [*stored, (layout.WRITE_ID, "integer")] if all(n != layout.WRITE_ID for n, _ in stored) else stored
        ddl = ", ".join(f"`{name}` {self.profile.column_type(kind).sql(self.engine)}" for name, kind in columns)
        schema = StructType.fromDDL(ddl)
        if not write_ids:
            return self._empty(columns)
        folder = self.files.table_folder(self._folder(table))
        paths = [self.files.partition(self._folder(table), i) for i in sorted(write_ids)]
        try:
            return self.session.read.schema(schema).option("basePath", folder).parquet(*paths)
        except spark_errors() as error:
            raise self._error(error) from None

    def _empty(self, columns: list[tuple[str, str]]) -> DataFrame:
        from sqlglot import exp

        items = [exp.alias_(exp.cast(exp.Null(), self.profile.column_type(kind)), name, quoted=True) for name, kind in columns]
        return self.session.sql(self.to_sql(exp.select(*items).where(exp.false())))

    def _set_meta(self, table: str, meta: TableMeta | None) -> None:
        if self._pending is None:
            with self.transaction():  # DDL outside a transaction commits on its own
                return self._set_meta(table, meta)
        self._pending.schemas[table] = meta
        self._register_table(table)

    # -- temporary tables -----------------------------------------------------------------------
    def _drop_temporary(self, name: str) -> None:
        frame = self._temporary.pop(name, None)
        if frame is not None and self.spark is not None:
            self.spark.catalog.dropTempView(name)
            frame.unpersist()

    def _delete_temporary(self, name: str, where: exp.Expression | None) -> None:
        from sqlglot import exp

        if where is None:
            condition: exp.Expression = exp.false()
        else:
            matched = where.this if isinstance(where, exp.Where) else where
            condition = exp.not_(exp.Coalesce(this=matched.copy(), expressions=[exp.false()]))
        query = exp.select("*").from_(exp.to_table(name, quoted=True)).where(condition)
        frame = self.dataframe(self.to_sql(query))
        try:
            self.register(name, frame.localCheckpoint(eager=True))
        except spark_errors() as error:
            raise self._error(error) from None

    # -- output files, written by Spark ---------------------------------------------------------
    def copy_to(
        self, sql: str, path: Path, file_format: str, types: Mapping[str, str] | None = None, *, empty: bool = False
    ) -> int:
        """Spark writes the result: a path with a file extension gets one file, any other path a
        folder of part files written in parallel. Returns the row count. A result known to be
        empty is written from its schema alone (no Spark job)."""
        from metaxy_cli.store.spark_output import write_output

        if empty:
            return super().copy_to(sql, path, file_format, types, empty=True)

        return write_output(self, self.dataframe(sql), Path(path), file_format)

    # -- errors -------------------------------------------------------------------------------
    def _error(self, error: Exception) -> StoreError:
        from metaxy_cli.store.spark_session import spark_message

        return StoreError(f"store {self.name!r} ({self.location}): {spark_message(error)}")

    def _no_parameters(self, parameters: Sequence[Any]) -> None:
        if parameters:
            raise StoreError(f"store {self.name!r}: Spark SQL takes no query parameters")


def _literal(value: Any, kind: exp.DataType) -> exp.Expression:
    from sqlglot import exp

    if value is None:
        return exp.cast(exp.Null(), kind)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return exp.cast(exp.Literal.string(str(value)), kind)
    return exp.cast(exp.Literal.number(value), kind)


def _created(name: str, storage: Storage) -> Storage:
    """The storage with the store's root and write log made (and proven writable)."""
    try:
        Files(storage).create()
    except OSError as error:
        raise StoreError(
            f"cannot open store {name!r} at {storage.root}: {error.strerror or error} (choose a `path` this user can write)"
        ) from None
    return storage
