"""History kept in parts, so that a write replacing every current row costs what a first write costs.

The default layout (store/base.py) moves each superseded row into the history table: after a
code_version bump, a rewrite copies and re-compresses the whole feature once more (about 2x its
first write, benchmarks/README.md). When a write supersedes *every* current row, a store with this
layout instead retires the current table itself into history, by renaming it to a history part
`<history>@<n>` (a catalog change, whatever the row count), and starts an empty current table.

The history stays one relation for every reader (`feature.history_table`): once a part has been
retired it is a view, the UNION ALL of the append part `<history>@0` (rows of partial supersedes,
tombstones) and the retired parts, whose rows read with `metaxy_deleted` FALSE (they were current
rows) and NULL in columns declared after they were retired. A feature never rewritten whole keeps
the plain history table. `@` cannot occur in a name derived from a feature key, so parts never
collide with another feature's tables.

A non-root write computes its rows once before superseding anything (engine/writes.py); here they
go to a table `<table>@staged` of the write's transaction, which becomes the current table by a
rename when that is empty (a first write-back, or a table just retired): written once, like a
plain INSERT. The DuckDB store uses this layout; its catalog queries and `rowid` are DuckDB's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.sql import layout
from metaxy_cli.sql.provenance import union_all
from metaxy_cli.store.base import Columns, Store

if TYPE_CHECKING:
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature

APPEND_PART = 0
SUPERSEDED = "metaxy_superseded"  # a write's temporary table: the rowids of the rows it replaces


def part_name(history: str, number: int) -> str:
    """The name of history part `number` of the history relation `history`."""
    return f"{history}@{number}"


class PartedHistoryStore(Store):
    """The two-table layout of store/base.py, with whole-table retirement (module docstring)."""

    # Below this many current rows a copy costs little, and retiring would only multiply tables.
    retire_min_rows: int = 50_000

    # -- the catalog ------------------------------------------------------------------------------
    def relation_kind(self, name: str) -> str | None:
        """'BASE TABLE', 'VIEW', or None when no relation has this name."""
        rows = self.fetch_all(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()",
            [self.identifier(name)],
        )
        return rows[0][0] if rows else None

    def history_parts(self, history: str) -> list[int]:
        """The numbers of the retired parts of history relation `history`, oldest first."""
        prefix = self.identifier(part_name(history, APPEND_PART))[:-1]
        rows = self.fetch_all(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE' AND starts_with(table_name, ?)",
            [prefix],
        )
        numbers = (name[len(prefix) :] for (name,) in rows)
        return sorted(int(number) for number in numbers if number.isdigit() and int(number) != APPEND_PART)

    def _parted(self, history: str) -> bool:
        return self.relation_kind(history) == "VIEW"

    def _history_target(self, feature: ResolvedFeature) -> str:
        """Where superseded rows and tombstones are appended."""
        history = feature.history_table
        return part_name(history, APPEND_PART) if self._parted(history) else history

    # -- the hooks of store/base.py ---------------------------------------------------------------
    def prepare_feature(self, feature: ResolvedFeature) -> None:
        self.ensure_table(feature.table, feature.table_columns)
        if not self._parted(feature.history_table):
            self.ensure_table(feature.history_table, feature.history_columns)
        elif self.ensure_table(part_name(feature.history_table, APPEND_PART), feature.history_columns):
            self._build_view(feature)  # a column was declared: the view shows it

    def supersede(self, feature: ResolvedFeature, condition: exp.Expression) -> None:
        """Move the current rows matching `condition` to history: the whole table at once when
        it matches every row (module docstring), row by row otherwise; nothing when none."""
        from sqlglot import exp

        current = exp.to_table(feature.table, quoted=True)
        total = self._row_count(feature.table)
        if not total:
            return
        # The matching rows found once by their ids alone (one scan of the id columns), then
        # counted, copied and deleted by rowid: a filter on the full rows would read every
        # column of every row (DuckDB: 1% of 1M rows, 0.15 s -> 0.04 s), and each further
        # filter by id would scan the ids again (10M rows: 0.2 s each).
        matched = SUPERSEDED  # dropped when done; on an error it goes with the rolled-back transaction
        self.create_temporary_as(matched, exp.select(exp.alias_(exp.column("rowid"), "r")).from_(current.copy()).where(condition.copy()))
        matching = self._row_count(matched)
        if matching and matching == total and total >= self.retire_min_rows:
            self._retire(feature)
        elif matching:
            by_rowid = exp.In(this=exp.column("rowid"), query=exp.select(exp.column("r")).from_(exp.to_identifier(matched, quoted=True)).subquery())
            columns = [name for name, _ in feature.table_columns]
            old = exp.select(*(exp.column(name) for name in columns), exp.alias_(exp.false(), layout.DELETED))
            into = exp.to_table(self._history_target(feature), quoted=True)
            self.run(exp.insert(old.from_(current.copy()).where(by_rowid), into, columns=columns + [layout.DELETED]))
            self.run(self.profile.delete(current.copy(), by_rowid.copy()))
        self.drop_table(matched)

    def _row_count(self, table: str, condition: exp.Expression | None = None) -> int:
        from metaxy_cli.sql.changes import count_rows

        return int(self.fetch_all(self.to_sql(count_rows(table, condition)))[0][0])

    def stage_rows(self, feature: ResolvedFeature, rows: exp.Query, name: str, *, extra: Columns = ()) -> str:
        """A write's rows in a table of the store (`<table>@staged`, inside the write's
        transaction), so that adopt_staged can make it the current table."""
        from sqlglot import exp

        staged = f"{feature.table}@staged"  # exists only inside the write's transaction
        self.create_table(staged, [*feature.table_columns, *extra])
        columns = [name for name, _ in [*feature.table_columns, *extra]]
        self.run(exp.insert(rows, exp.to_table(staged, quoted=True), columns=columns))
        return staged

    def adopt_staged(self, feature: ResolvedFeature, staged: str) -> None:
        """An empty current table (a first write, or one just retired) is replaced by the staged
        table itself: the rows are written once, as by a plain INSERT."""
        from sqlglot import exp

        if self._row_count(feature.table):
            super().adopt_staged(feature, staged)
            self.drop_table(staged)
            return
        kept = {self.identifier(name) for name, _ in feature.table_columns}
        for column in self.list_columns(staged) or ():
            if column not in kept:  # the writer's checks only (a catalog change, not a rewrite)
                table, name = (exp.to_identifier(n, quoted=True).sql(self.profile.name) for n in (staged, column))
                self.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
        self.drop_table(feature.table)
        self.rename_table(staged, feature.table)

    def tombstone(self, feature: ResolvedFeature, columns: list[str], rows: exp.Query) -> None:
        from sqlglot import exp

        self.run(exp.insert(rows, exp.to_table(self._history_target(feature), quoted=True), columns=columns))

    def drop_table(self, table: str) -> None:
        """Drop a table, or a view (a parted history; a batch read in place, store/batch.py)."""
        from sqlglot import exp

        kind = "VIEW" if self.relation_kind(table) == "VIEW" else "TABLE"
        self.run(exp.Drop(tables=[exp.to_table(table, quoted=True)], kind=kind, exists=True))

    def drop_feature(self, feature: ResolvedFeature) -> None:
        history = feature.history_table
        parts = self.history_parts(history)
        for name in (feature.table, history, part_name(history, APPEND_PART), *(part_name(history, n) for n in parts)):
            self.drop_table(name)

    def rename_feature(self, old_key: str, feature: ResolvedFeature) -> None:
        """Rename the current table, the history and its parts; the view is built anew (its text
        names the old parts)."""
        old_history = layout.history_table(old_key)
        if not self._parted(old_history):
            super().rename_feature(old_key, feature)
            return
        numbers = [APPEND_PART, *self.history_parts(old_history)]
        self.drop_table(old_history)  # the view: its text names the old parts
        self.rename_table(layout.current_table(old_key), feature.table)
        for number in numbers:
            self.rename_table(part_name(old_history, number), part_name(feature.history_table, number))
        self._build_view(feature)

    # -- retiring ---------------------------------------------------------------------------------
    def _retire(self, feature: ResolvedFeature) -> None:
        """The current table becomes the next history part; an empty one takes its place."""
        history = feature.history_table
        if not self._parted(history):
            self.rename_table(history, part_name(history, APPEND_PART))
        number = max([APPEND_PART, *self.history_parts(history)]) + 1
        self.rename_table(feature.table, part_name(history, number))
        self.create_table(feature.table, feature.table_columns)
        self._build_view(feature)  # CREATE OR REPLACE

    def _build_view(self, feature: ResolvedFeature) -> None:
        """(Re)create the history view over the append part and every retired part."""
        from sqlglot import exp

        history = feature.history_table
        parts: list[exp.Select] = []
        for number in [APPEND_PART, *self.history_parts(history)]:
            part = part_name(history, number)
            present = set(self.list_columns(part) or ())
            items = []
            for name, kind in feature.history_columns:
                if name == layout.DELETED and number != APPEND_PART:
                    value: exp.Expression = exp.false()
                elif self.identifier(name) in present:
                    value = exp.column(name, quoted=True)
                else:
                    value = exp.cast(exp.null(), self.profile.column_type(kind))
                items.append(exp.alias_(value, name, quoted=True))
            parts.append(exp.select(*items).from_(exp.to_table(part, quoted=True)))
        self.run(exp.Create(this=exp.to_table(history, quoted=True), kind="VIEW", expression=union_all(parts), replace=True))
