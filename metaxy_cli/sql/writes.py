"""The write log `metaxy_writes`: one row per write transaction, with a strictly increasing id.

Every write (rows written, or tombstones of a delete) takes `next_write_id()` inside its own
transaction, stamps it on every row it stores (`metaxy_write_id`) and logs itself with
`log_write`. The embedded stores serialise writers (one writing process per file or one writer
at a time, and a store is one connection), so MAX + 1 read in the transaction is unique and
larger than every id committed before. query.py's fast path relies on exactly that: a row with
a smaller id than another was committed before it.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import DialectProfile
from metaxy_cli.sql.provenance import lit
from metaxy_cli.sql.resolved import ResolvedFeature

WRITE, DELETE = "write", "delete"


def write_id_literal(write_id: int, profile: DialectProfile) -> exp.Expression:
    """A write id as a typed literal (a bare number could be typed INTEGER, not BIGINT)."""
    return exp.cast(exp.Literal.number(int(write_id)), profile.column_type("integer"))


def next_write_id() -> exp.Select:
    """SELECT the next write id: one more than the largest logged (1 for an empty log)."""
    largest = exp.Max(this=exp.column("write_id"))
    return exp.select(
        exp.Add(this=exp.Coalesce(this=largest, expressions=[exp.Literal.number(0)]),
                expression=exp.Literal.number(1))
    ).from_(layout.WRITES)  # fmt: skip


def log_write(
    feature: ResolvedFeature, profile: DialectProfile, *, write_id: int, operation: str,
    rows: int, written_at: datetime, definition: str | None = None,
) -> exp.Insert:  # fmt: skip
    """INSERT the log row of one write of `feature` (columns: layout.WRITES_COLUMNS).

    `definition` defaults to the feature's: how the rows' provenance was computed, which the
    fast path trusts (compare.py). A write whose rows were not all computed under it (a
    migration keeps stale fields as they were) logs another value, so its rows are hashed."""
    stamp = profile.timestamp_literal(written_at)
    values = [
        write_id_literal(write_id, profile),
        lit(feature.key),
        lit(operation),
        exp.Literal.number(int(rows)),
        lit(feature.feature_version),
        lit(feature.definition if definition is None else definition),
        stamp,
    ]
    columns = [name for name, _ in layout.WRITES_COLUMNS]
    return exp.insert(exp.select(*values), layout.WRITES, columns=columns)
