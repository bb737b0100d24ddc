"""Summaries and increments that cost what changed since a feature's last clean checkpoint.

The exactness argument is sql/changes.py's module doc. Here: when to use a checkpoint (it
exists under the feature's current digest, and the rows logged since for the feature and its
upstream features are few), when to record one (a summary or a write that finds nothing
pending), and the switch that forces the full comparison (`full=True` in the engine API, for
tests and benchmarks). Stores opt in with `Store.tracks_changes`; the others compare in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.engine.tables import fast_path_possible
from metaxy_cli.sql import changes, layout

if TYPE_CHECKING:
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store

# Compare only the touched ids while the rows logged since the checkpoint are at most this share
# of the feature's stored rows; beyond it the full comparison (one pass, no IN filter) is cheaper.
DELTA_LIMIT = 0.2
Row = tuple[int, ...]  # new, stale, orphaned, up to date, then stale per field (summary_query)


def tracking(store: Store, feature: ResolvedFeature) -> bool:
    return store.tracks_changes and changes.tracked(feature)


def _one(store: Store, query: exp.Expression) -> tuple:
    return store.fetch_all(store.to_sql(query))[0]


def _count(store: Store, table: str) -> int:
    return int(_one(store, changes.count_rows(table))[0])


def _stored(store: Store, feature: ResolvedFeature, found: tuple[int, int]) -> int:
    """count(F) now, given its clean checkpoint (write id, up to date then = stored then): the
    same when nothing was logged for F since; else its current rows counted, or, where they are
    a ranking of a committed log (Spark: counting ranks the whole log), the count then corrected
    by the ids F's newer log rows touch (sql/changes.stored_then_and_now)."""
    since, then = found
    if not int(_one(store, changes.own_writes_since(feature, since, store.profile))[0]):
        return then
    if not store.profile.committed_log:
        return _count(store, feature.table)
    before, now = _one(store, changes.stored_then_and_now(feature, since, store.profile))
    return then - int(before) + int(now)


def _first_count(store: Store, feature: ResolvedFeature, rows: int) -> int:
    """count(F) after a write of `rows` rows, F having no checkpoint: `rows` when this write is
    the only operation ever logged for F in a committed log (every row there has a write id, and
    a batch's ids are distinct), else counted (a log store ranks its whole log to count)."""
    if store.profile.committed_log and int(_one(store, changes.own_writes_since(feature, 0, store.profile))[0]) == 1:
        return rows
    return _count(store, feature.table)


def _current_count(store: Store, feature: ResolvedFeature) -> int:
    """count(F): from its clean checkpoint when it has one (at a clean checkpoint every stored
    sample was up to date), else counted."""
    found = store.checkpoint(feature) if tracking(store, feature) else None
    return _count(store, feature.table) if found is None else _stored(store, feature, found)


def small_batch(store: Store, feature: ResolvedFeature, rows: int) -> bool:
    """Whether a batch of `rows` samples is a small part of the feature (the samples its clean
    checkpoint counted: an estimate suffices). A write then reads the upstream rows at the
    batch's ids alone, so a 1% write-back costs about 1% of a full one."""
    if not tracking(store, feature) or feature.is_root:
        return False
    found = store.checkpoint(feature)
    return found is not None and rows <= DELTA_LIMIT * max(found[1], 1)


def _logged(store: Store, feature: ResolvedFeature, since: int) -> tuple[int, int]:
    """(writes, rows) logged after `since` for F and its upstream features, read once."""
    writes, rows = _one(store, changes.writes_since(feature, since, store.profile))
    return int(writes), int(rows)


def _few(rows: int, stored: int) -> bool:
    return rows <= DELTA_LIMIT * max(stored, 1)


def _small(store: Store, feature: ResolvedFeature, since: int, stored: int) -> bool:
    return _few(_logged(store, feature, since)[1], stored)


def _touched(store: Store, feature: ResolvedFeature, since: int) -> bool:
    """Whether any id was touched since the checkpoint (rows without write ids included)."""
    from sqlglot import exp

    first = changes.touched_ids(feature, since, store.profile).limit(1)
    return bool(_one(store, exp.select(exp.Count(this=exp.Star())).from_(first.subquery("t")))[0])


def since(store: Store, feature: ResolvedFeature) -> int | None:
    """The checkpoint to compare from (the increment is the comparison restricted to the ids
    touched since), or None: compare everything."""
    found = store.checkpoint(feature)
    if found is None or not _small(store, feature, found[0], found[1]):
        return None
    return found[0]


def compared_ids(store: Store, feature: ResolvedFeature) -> exp.Query | None:
    """The unit ids an increment must compare: none when nothing was touched since the clean
    checkpoint (an empty query the engine sees as empty before reading any table), the touched
    ones while they are few, else None: every id."""
    found = store.checkpoint(feature)
    if found is None:
        return None
    writes, rows = _logged(store, feature, found[0])
    if _quiet(store, feature, found[0], writes):
        return changes.no_ids(feature)
    if not _few(rows, found[1]):  # the samples stored then: an estimate suffices
        return None
    return changes.touched_ids(feature, found[0], store.profile)


def summary_row(store: Store, feature: ResolvedFeature, *, record: bool = True) -> Row:
    """The summary counts (summary_query's row), from the checkpoint when there is one; records
    a checkpoint when nothing is pending (unless not `record`: the plan leaves the store as it
    is). One transaction: the counts and the log agree."""
    from metaxy_cli.sql.query import summary_query

    with store.transaction():
        latest = int(_one(store, changes.latest_write())[0])
        row: Row | None = None
        found = store.checkpoint(feature)
        if found is not None:
            writes, rows = _logged(store, feature, found[0])
            if _quiet(store, feature, found[0], writes):
                return (0, 0, 0, found[1], *(0 for _ in feature.fields))
            if _few(rows, found[1]):
                row = _delta(store, feature, found[0], _stored(store, feature, found))
        if row is None:
            row = _numbers(_one(store, summary_query(feature, store.profile, fast_path=fast_path_possible(store, feature))))
        if record and not any(row[:3]):
            store.record_checkpoint(feature, latest, row[3])
    return row


def after_write(store: Store, feature: ResolvedFeature, write_id: int, rows: int) -> None:
    """In a write's transaction, after its rows and log entry: record a checkpoint at this write
    when the feature is now clean and that is cheap to prove (sql/changes.py's module doc)."""
    if not tracking(store, feature):
        return
    found = store.checkpoint(feature)
    if found is not None and store.profile.committed_log:
        # Comparing there scans the logs (nothing indexes them by id): a checkpoint is recorded
        # only when this write rewrote every id touched since the one F has (sql/changes.py).
        if not int(_one(store, changes.touched_beyond(feature, found[0], write_id, store.profile))[0]):
            store.record_checkpoint(feature, write_id, _stored(store, feature, found))
        return
    stored = _first_count(store, feature, rows) if found is None else _stored(store, feature, found)
    if stored == rows:  # every current row is from this write
        upstream = changes.counted_upstream(feature)
        if feature.is_root or (upstream is not None and _current_count(store, upstream) == stored):
            store.record_checkpoint(feature, write_id, stored)
            return
    if found is None:
        return
    if feature.is_root and not int(_one(store, changes.other_definitions_since(feature, found[0], store.profile))[0]):
        store.record_checkpoint(feature, write_id, stored)  # sql/changes.py: a root stays clean
        return
    if not _small(store, feature, found[0], stored):
        return
    row = _delta(store, feature, found[0], stored)
    if not any(row[:3]):
        store.record_checkpoint(feature, write_id, row[3])


def quiet(store: Store, feature: ResolvedFeature) -> int | None:
    """The up-to-date count of the feature's clean checkpoint when nothing was written to it or
    upstream of it since (its rows and their inputs are as they were then), else None."""
    if not tracking(store, feature):
        return None
    found = store.checkpoint(feature)
    if found is None:
        return None
    return found[1] if _quiet(store, feature, found[0], _logged(store, feature, found[0])[0]) else None


def _quiet(store: Store, feature: ResolvedFeature, since: int, writes: int) -> bool:
    """Nothing logged (`writes`) and no id touched since the checkpoint at `since`."""
    return not writes and not _touched(store, feature, since)


def invalidate(store: Store) -> None:
    """Forget every checkpoint (in a migration's transaction: a rename moves whole tables)."""
    if store.tracks_changes:
        store.forget_checkpoints()


def _delta(store: Store, feature: ResolvedFeature, since: int, stored: int) -> Row:
    """The counts from the comparison of the ids touched since the checkpoint: up to date =
    stored - stale - orphaned among them (every other stored id is up to date)."""
    from metaxy_cli.sql.query import summary_query

    only = changes.touched_ids(feature, since, store.profile)
    new, stale, orphaned, _, *fields = _numbers(_one(store, summary_query(feature, store.profile, only=only)))
    return (new, stale, orphaned, stored - stale - orphaned, *fields)


def _numbers(row: tuple) -> Row:
    return tuple(int(value or 0) for value in row)
