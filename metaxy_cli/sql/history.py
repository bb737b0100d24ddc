"""Current rows and history as views over one append-only log per feature (spec section 5).

Engines without multi-statement transactions cannot move replaced rows to a history table in the
same commit as the new ones. Their stores keep every row ever written (and tombstones) in one log
per feature, stamped with the write id, and read the feature's current rows and history through
these two queries: the latest row per id (largest write id) unless it is a tombstone, and
everything else. The versioning queries then read the current rows exactly as they read a
current table elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from metaxy_cli.sql import layout

RANK = "metaxy_rank"


def _ranked(ids: Sequence[str], columns: Sequence[str], log: exp.Expression) -> exp.Select:
    """Every log row with its rank among the rows of its id, newest (largest write id) first."""
    order = exp.Order(expressions=[exp.Ordered(this=exp.column(layout.WRITE_ID, quoted=True), desc=True)])
    rank = exp.Window(
        this=exp.RowNumber(),
        partition_by=[exp.column(name, quoted=True) for name in ids],
        order=order,
    )
    items = [exp.column(name, quoted=True) for name in columns]
    return exp.select(*items, exp.alias_(rank, RANK)).from_(log)


def _is_current() -> exp.Expression:
    first = exp.EQ(this=exp.column(RANK, quoted=True), expression=exp.Literal.number(1))
    return exp.and_(first, exp.not_(_deleted()))


def _deleted() -> exp.Expression:
    return exp.Coalesce(this=exp.column(layout.DELETED, quoted=True), expressions=[exp.false()])


def current_rows(ids: Sequence[str], columns: Sequence[str], log: exp.Expression, *, one_write: bool = False) -> exp.Select:
    """The latest row of each id, tombstoned ids left out: `columns` (without metaxy_deleted).

    `one_write`: the log holds the rows of a single write, where each id has one row (a batch
    has no duplicate ids), so no ranking (a sort of the whole log) is needed."""
    items = [exp.column(name, quoted=True) for name in columns]
    if one_write:
        return exp.select(*items).from_(log).where(exp.not_(_deleted()))
    ranked = _ranked(ids, [*columns, layout.DELETED], log).subquery("r")
    return exp.select(*items).from_(ranked).where(_is_current())


def history_rows(ids: Sequence[str], columns: Sequence[str], log: exp.Expression, *, one_write: bool = False) -> exp.Select:
    """Every other row: replaced rows and tombstones (`columns` include metaxy_deleted)."""
    items = [exp.column(name, quoted=True) for name in columns]
    if one_write:
        return exp.select(*items).from_(log).where(_deleted())
    ranked = _ranked(ids, columns, log).subquery("r")
    return exp.select(*items).from_(ranked).where(exp.not_(_is_current()))
