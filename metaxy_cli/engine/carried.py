"""A write-back that stores its increment's provenance as computed, when that is provably current.

An increment of a non-root feature carries, besides each sample's provenance, `metaxy_as_of`:
`<newest write id>:<feature version>` read *before* its query ran. A write-back batch that
carries it, with the same value on every row and every per-field provenance column, may store
those columns as they are instead of joining the upstream rows and hashing them again (the cost
of a write-back: benchmarks/README.md, issue 17), when

- the feature's version is the one in the token: its fields, code versions and field deps
  (which the provenance prefixes hash) are those the increment was computed under;
- no write, delete or migration of an upstream feature was logged after the token's write id:
  every upstream row the increment read is still the current one, so recomputing would give the
  carried values, and no sample can be outdated (the check of engine/writes.py finds nothing);
- the store serialises writers and hands out write ids in commit order (`Store.tracks_changes`,
  the guarantee the checkpoints of engine/changes.py rest on). Elsewhere a write committed late
  under a smaller id could hide from the second condition; those stores always recompute.

The upstream ids are still joined (a sample without upstream rows is refused as before); only
the hashing is skipped. Reading the write id before the query makes the token conservative: a
write that lands in between is newer than the token and sends the write-back the verifying way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.sql import changes, layout

if TYPE_CHECKING:
    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store


def token(store: Store, feature: ResolvedFeature) -> str:
    """The `metaxy_as_of` value of an increment of `feature` computed now."""
    latest = int(store.fetch_all(store.to_sql(changes.latest_write()))[0][0])
    return f"{latest}:{feature.feature_version}"


def trusted(store: Store, feature: ResolvedFeature, batch: str) -> bool:
    """Whether the staged `batch` may be stored with its carried provenance (module doc); call
    inside the write's transaction, after the write id is allocated."""
    from sqlglot import exp

    from metaxy_cli.store.batch import carries_increment

    if not store.tracks_changes or feature.is_root or not carries_increment(store, feature, batch):
        return False
    carried = [exp.column(name, quoted=True) for name in (layout.PROVENANCE, *layout.carried_columns(feature.fields))]
    any_missing = exp.or_(*(exp.Is(this=c.copy(), expression=exp.Null()) for c in carried))
    query = exp.select(
        exp.Min(this=carried[-1].copy()),
        exp.Max(this=carried[-1].copy()),
        exp.Count(this=exp.Star()),
        exp.Sum(this=exp.Case(ifs=[exp.If(this=any_missing, true=exp.Literal.number(1))], default=exp.Literal.number(0))),
    ).from_(exp.to_table(batch, quoted=True))
    low, high, rows, missing = store.fetch_all(store.to_sql(query))[0]
    if not rows or low is None or low != high or missing:
        return False
    written, _, version = str(low).partition(":")
    if version != feature.feature_version or not written.isdigit():
        return False
    upstream = changes.upstream_writes_since(feature, int(written), store.profile)
    return not int(store.fetch_all(store.to_sql(upstream))[0][0])
