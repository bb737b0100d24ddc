"""A write-back that stores its increment's provenance as computed, when that is provably current.

An increment of a non-root feature carries, besides each sample's provenance, `metaxy_as_of`:
`<newest write id>|<its time>|<migrations applied>|<feature definition>`, read *before* its query
ran. A write-back batch that carries it, with the same value on every row and every per-field
provenance column, may store those columns as they are instead of joining the upstream rows and
hashing every field again (the cost of a write-back: benchmarks/README.md, issue 17), when

- the token was read from this store's history: the write id's row in the write log has the
  token's time (an increment of another store, or of this one before a restore, is verified);
- the feature's definition is the token's: its fields, code versions, field deps and metaxy's
  hashing scheme (what the provenance hashes besides its inputs) are those it was computed under;
- no write, delete or migration of an upstream feature was logged after the token's write id,
  and no migration was applied since (a rename moves tables without logging a write): every
  upstream row the increment read is still the current one, so recomputing would give the
  carried values, and no sample can be outdated (the check of engine/writes.py finds nothing);
- the store serialises writers and hands out write ids in commit order (`Store.tracks_changes`,
  the guarantee the checkpoints of engine/changes.py rest on). Elsewhere a write committed late
  under a smaller id could hide from the third condition; those stores always recompute.

The upstream ids are still joined (a sample without upstream rows is refused as before), and
the sample provenance is hashed from the carried per-field columns (one hash per sample instead
of one per field and sample), so stored rows are consistent whatever the batch's
`metaxy_provenance` says. The per-field values themselves are metaxy's output: a batch that edits
them is outside this guarantee. Reading the token before the query makes it conservative: a write
that lands in between is newer than the token and sends the write-back the verifying way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.sql import changes, layout

if TYPE_CHECKING:
    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store


SEPARATOR = "|"


def token(store: Store, feature: ResolvedFeature) -> str:
    """The `metaxy_as_of` value of an increment of `feature` computed now."""
    newest = store.fetch_all(store.to_sql(changes.newest_write()))
    write_id, logged_at = newest[0] if newest else (0, None)
    parts = (str(write_id), _time_text(logged_at), str(_migrations_applied(store)), feature.definition)
    return SEPARATOR.join(parts)


def trusted(store: Store, feature: ResolvedFeature, batch: str, columns: list[str]) -> bool:
    """Whether the staged `batch` (its `columns`) may be stored with its carried provenance
    (module doc); call inside the write's transaction, after the write id is allocated."""
    from sqlglot import exp

    carried_names = [layout.PROVENANCE, *layout.increment_columns(feature.fields)]
    if not store.tracks_changes or feature.is_root or any(name not in columns for name in carried_names):
        return False
    as_of = exp.column(layout.AS_OF, quoted=True)
    carried = [exp.column(name, quoted=True) for name in carried_names]
    any_missing = exp.or_(*(exp.Is(this=c, expression=exp.Null()) for c in carried))
    query = exp.select(
        exp.Min(this=as_of.copy()),
        exp.Max(this=as_of.copy()),
        exp.Count(this=exp.Star()),
        exp.Sum(this=exp.Case(ifs=[exp.If(this=any_missing, true=exp.Literal.number(1))], default=exp.Literal.number(0))),
    ).from_(exp.to_table(batch, quoted=True))
    low, high, rows, missing = store.fetch_all(store.to_sql(query))[0]
    if not rows or low is None or low != high or missing:
        return False
    parts = str(low).split(SEPARATOR)
    if len(parts) != 4 or not parts[0].isdigit():
        return False
    written, logged_at, migrations, definition = parts
    if definition != feature.definition or migrations != str(_migrations_applied(store)):
        return False
    if _logged_at(store, int(written)) != logged_at:
        return False
    upstream = changes.upstream_writes_since(feature, int(written), store.profile)
    return not int(store.fetch_all(store.to_sql(upstream))[0][0])


def _logged_at(store: Store, write_id: int) -> str:
    """The time the write log gives write `write_id` ('' for none: an empty log)."""
    rows = store.fetch_all(store.to_sql(changes.logged_at(write_id, store.profile)))
    return _time_text(rows[0][0] if rows else None)


def _time_text(value: object) -> str:
    return "" if value is None else str(value)


def _migrations_applied(store: Store) -> int:
    from sqlglot import exp

    if not store.table_exists(layout.MIGRATIONS):
        return 0
    query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(layout.MIGRATIONS, quoted=True))
    return int(store.fetch_all(store.to_sql(query))[0][0])
