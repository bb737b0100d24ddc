"""A minimal store for SQL tests: plain DDL per layout.py on real DuckDB/SQLite files.

It runs the builders' SQL exactly as generated (no rewriting) and keeps only the current tables,
which is all the versioning queries read. The real stores live in metaxy_cli/store/.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import duckdb

from metaxy_cli.definitions.project import Project
from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import profile_for, register_udfs
from metaxy_cli.sql.emit import to_sql
from metaxy_cli.sql.query import increment_query, summary_query, write_query
from metaxy_cli.sql.resolved import resolve
from metaxy_cli.sql.writes import log_write, next_write_id

Row = dict[str, Any]
WRITTEN_AT = dt.datetime(2024, 5, 6, 7, 8, 9, 123456)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_value(value: Any, portable_type: str) -> Any:
    """Python values in SQLite's storage conventions (see dialects.py)."""
    if value is None:
        return None
    if portable_type == "boolean":
        return int(bool(value))
    if portable_type == "date":
        return value.isoformat()
    if portable_type == "timestamp":
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


class Harness:
    def __init__(self, project: Project, engine: str, path: Path | str):
        """`path` is a database file, or ':memory:' where speed matters more (property tests)."""
        self.project = project
        self.engine = engine
        self.profile = profile_for(engine)
        if engine == "duckdb":
            self.con = duckdb.connect(str(path))
        else:
            self.con = sqlite3.connect(str(path), isolation_level=None)
            register_udfs(self.con, self.profile)
        for key in project.features:  # a feature never written reads as empty
            self.ensure_table(key)
        self.create(layout.WRITES, layout.WRITES_COLUMNS)

    def sql(self, tree) -> str:
        return to_sql(tree, self.profile)

    def fetch(self, sql: str, params: list | None = None) -> tuple[list[str], list[tuple]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return names, [tuple(r) for r in cursor.fetchall()]

    def create(self, name: str, columns: layout.Columns, *, temp: bool = False) -> None:
        body = ", ".join(
            f"{quote(n)} {self.profile.column_type(t).sql(self.engine)}" for n, t in columns
        )
        self.con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        self.con.execute(f"CREATE {'TEMP ' if temp else ''}TABLE {quote(name)} ({body})")

    def ensure_table(self, key: str) -> None:
        spec = self.project.feature(key)
        name = layout.current_table(key)
        body = ", ".join(
            f"{quote(n)} {self.profile.column_type(t).sql(self.engine)}"
            for n, t in layout.table_columns(spec)
        )
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {quote(name)} ({body})")

    def load(self, name: str, columns: layout.Columns, rows: list[Row]) -> None:
        """A temp relation `name` with exactly `columns`, filled with rows (missing keys NULL)."""
        self.create(name, columns, temp=True)
        if not rows:
            return
        marks = ", ".join("?" for _ in columns)
        values = [[self.value(r.get(n), t) for n, t in columns] for r in rows]
        self.con.executemany(f"INSERT INTO {quote(name)} VALUES ({marks})", values)

    def value(self, value: Any, portable_type: str) -> Any:
        if self.engine == "sqlite":
            return sqlite_value(value, portable_type)
        if portable_type == "json" and value is not None and not isinstance(value, str):
            return json.dumps(value)
        return value

    def write(self, key: str, rows: list[Row]) -> list[Row]:
        """Write a batch (ids + declared columns); returns the stored rows as dicts."""
        spec = self.project.feature(key)
        self.load("metaxy_batch", layout.id_columns(spec) + layout.declared_columns(spec), rows)
        write_id = self.begin_write(key, len(rows))
        staged = self.sql(
            write_query(
                resolve(self.project)[key], self.profile, "metaxy_batch",
                written_at=WRITTEN_AT, write_id=write_id,
            )
        )  # fmt: skip
        self.con.execute("DROP TABLE IF EXISTS metaxy_staged")
        self.con.execute(f"CREATE TEMP TABLE metaxy_staged AS {staged}")
        _, missing = self.fetch(
            "SELECT COUNT(*) FROM metaxy_staged WHERE metaxy_provenance IS NULL"
        )
        assert missing[0][0] == 0, f"{key}: batch samples without upstream rows"
        self.delete_where(key, "metaxy_staged")
        self.con.execute(
            f"INSERT INTO {quote(layout.current_table(key))} SELECT * FROM metaxy_staged"
        )
        names, result = self.fetch("SELECT * FROM metaxy_staged")
        return [dict(zip(names, r)) for r in result]

    def begin_write(self, key: str, rows: int, operation: str = "write") -> int:
        """The next write id, logged like the engine does (tests/test_engine.py runs the real one)."""
        _, [(write_id,)] = self.fetch(self.sql(next_write_id()))
        self.con.execute(
            self.sql(log_write(resolve(self.project)[key], self.profile, write_id=write_id,
                               operation=operation, rows=rows, written_at=WRITTEN_AT))
        )  # fmt: skip
        return write_id

    def delete_where(self, key: str, ids_table: str) -> None:
        spec = self.project.feature(key)
        table = quote(layout.current_table(key))
        match = " AND ".join(
            f"{quote(ids_table)}.{quote(c)} = {table}.{quote(c)}" for c in spec.id_columns
        )
        self.con.execute(
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {quote(ids_table)} WHERE {match})"
        )

    def delete(self, key: str, samples: list[tuple]) -> None:
        spec = self.project.feature(key)
        self.load(
            "metaxy_ids", layout.id_columns(spec), [dict(zip(spec.id_columns, s)) for s in samples]
        )
        self.begin_write(key, len(samples), "delete")
        self.delete_where(key, "metaxy_ids")

    def listing(self, key: str, rows: list[Row]) -> str:
        spec = self.project.feature(key)
        self.load("metaxy_listing", layout.id_columns(spec) + layout.declared_columns(spec), rows)
        return "metaxy_listing"

    def increment(self, key: str, listing: list[Row] | None = None) -> dict[tuple, tuple]:
        """{id: (status, {field: provenance} | None, {field: flag} | None)}, like tests/reference.py."""
        spec = self.project.feature(key)
        source = self.listing(key, listing) if listing is not None else None
        names, rows = self.fetch(
            self.sql(increment_query(resolve(self.project)[key], self.profile, root_source=source))
        )
        result = {}
        for row in rows:
            record = dict(zip(names, row))
            sample = tuple(record[c] for c in spec.id_columns)
            if record[layout.STATUS] == layout.ORPHANED:
                result[sample] = (layout.ORPHANED, None, None)
                continue
            provenance = {f: record[layout.provenance_column(f)] for f in spec.field_keys()}
            flags = {f: bool(record[layout.stale_column(f)]) for f in spec.field_keys()}
            result[sample] = (record[layout.STATUS], provenance, flags)
        return result

    def summary(self, key: str, listing: list[Row] | None = None) -> dict[str, int]:
        source = self.listing(key, listing) if listing is not None else None
        names, rows = self.fetch(
            self.sql(summary_query(resolve(self.project)[key], self.profile, root_source=source))
        )
        return dict(zip(names, rows[0]))

    def current(self, key: str) -> dict[tuple, Row]:
        spec = self.project.feature(key)
        names, rows = self.fetch(f"SELECT * FROM {quote(layout.current_table(key))}")
        records = [dict(zip(names, r)) for r in rows]
        return {tuple(r[c] for c in spec.id_columns): r for r in records}
