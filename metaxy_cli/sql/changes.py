"""Comparisons that cost what changed: clean checkpoints and the ids touched since (issue 16).

A **clean checkpoint** (feature F, digest Q, write id K) records that the comparison of F (the
summary query whose SQL text hashes to Q) found nothing new, stale or orphaned in the store as it
was after the writes with ids <= K (every write with a smaller id committed, none larger: ids
increase in commit order, sql/writes.py, and K is read in the same transaction as the counts).

**Touched ids.** The unit ids u with a row whose `metaxy_write_id` > K in F's current or history
table, or in those of one of F's upstream features, and the ids of rows without a write id (tables
from before write ids: unknown, so compared). Every write, delete and migration stamps its
write id on each row it appends (current rows, tombstones in history), inside its transaction, so
an id whose current row changed in any of these tables after K has such a row. The tables that
are not append-only logs of ids (a rename moves a whole table) void every checkpoint instead
(engine/changes.invalidate).

**Why a checkpoint plus the touched ids give the exact answer** (identity features only: the
increment's rows are F's ids, and the row of id u in the FULL JOIN of expected and stored rows
reads only u's rows of F and of F's upstream features, under a comparison fixed by Q):
  - an id not touched since K has the same rows as at K in every table the comparison reads, so
    the same status as at K; at a clean K that is "up to date" when it was stored (then it was
    expected) and "absent" otherwise (neither stored nor expected). So new, stale and orphaned
    samples are all among the touched ids, and the increment is the comparison restricted to
    them (compare.joined's `only`);
  - counts: up to date = (stored now - stored among the touched) + up to date among the
    touched; every stored touched id is stale, orphaned or up to date, so
    up to date = count(F) - stale(touched) - orphaned(touched);
  - nothing touched: the counts recorded at K (up to date = the stored samples then); finding
    that reads only the newest row groups (zone maps on the write id; NULL statistics).
A root feature is compared to its own stored rows (no listing): the same argument with no
upstream tables. With a listing (external data) nothing is known: the full comparison runs.

**Where checkpoints come from** (all in the transaction that read or wrote the rows):
  - a summary finding nothing pending records one at the log's largest id;
  - a write after which every current row of F is from this write (count(F) = rows written)
    records one when F is a root (rows written under the current definition are up to date),
    or an identity feature with one required upstream whose count equals F's: each row was
    computed from the current upstream rows (so up to date), and its ids have upstream rows
    (writes refuse the others), so stored = expected;
  - a write of a root F with a clean checkpoint K, when every write of F since K had the current
    definition, records one without comparing: the rows written since are up to date (computed
    under the current definition from their own columns), the others are as at K (a root has no
    upstream, and its tombstones make nothing stale);
  - any other write of F with a checkpoint compares the touched ids and records one if clean;
  - on a committed log (DialectProfile.committed_log) the last two do not run (comparing there
    scans the logs: nothing indexes them by id). Instead, a write of F with a checkpoint K whose
    rows cover every id touched since K records one, without comparing: the ids not touched
    are as at K (clean), and every touched id now has a row of this write, computed in its
    transaction from the current upstream rows (so up to date; ids without upstream rows are
    refused) or, for a root, under the current definition. Otherwise the write keeps K and
    the next summary records one.
The digest is the summary query's text: a change of definition, code version, ids, deps,
optionality, lineage or of metaxy's SQL gives another digest, and the full comparison runs.
"""

from __future__ import annotations

from datetime import datetime
from weakref import WeakKeyDictionary

from sqlglot import exp

from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import DialectProfile
from metaxy_cli.sql.provenance import lit, union_all
from metaxy_cli.sql.resolved import ResolvedFeature
from metaxy_cli.sql.writes import write_id_literal


def tracked(feature: ResolvedFeature) -> bool:
    """Identity features (and roots): the comparison is per id. Expansions compare parents
    against grouped children and aggregations groups against members: full comparison."""
    return not feature.is_expansion and not feature.is_aggregation


_DIGESTS: WeakKeyDictionary[ResolvedFeature, dict[str, str]] = WeakKeyDictionary()


def digest(feature: ResolvedFeature, profile: DialectProfile) -> str:
    """The md5 of the feature's summary query as the profile spells it (built once per feature:
    a no-op summary must not pay for building SQL)."""
    known = _DIGESTS.setdefault(feature, {})
    if profile.name not in known:
        import hashlib

        from metaxy_cli.sql.emit import to_sql
        from metaxy_cli.sql.query import summary_query

        known[profile.name] = hashlib.md5(to_sql(summary_query(feature, profile), profile).encode()).hexdigest()
    return known[profile.name]


def _keys(feature: ResolvedFeature) -> list[str]:
    return [feature.key, *(dep.key for dep in feature.upstream)]


def touched_ids(feature: ResolvedFeature, since: int, profile: DialectProfile) -> exp.Query:
    """The unit ids with a row newer than write `since`, or without a write id, in F's or an
    upstream's tables (see the module doc); duplicates are harmless (read through IN). Where
    every row is kept in one committed log (DialectProfile.committed_log), current ∪ history is
    that log: it is read alone."""
    tables: list[str] = []
    for each in [feature, *(dep.feature for dep in feature.upstream)]:
        tables += [each.log_table] if profile.committed_log else [each.table, each.history_table]
    wid = exp.column(layout.WRITE_ID)
    # A row without a write id (a table from before write ids) may have changed at any time.
    newer = exp.or_(exp.GT(this=wid, expression=write_id_literal(since, profile)), exp.Is(this=wid.copy(), expression=exp.Null()))
    parts = [
        exp.select(*(exp.column(name) for name in feature.unit_names)).from_(exp.to_table(t)).where(newer.copy())
        for t in tables
    ]
    return union_all(parts)


def no_ids(feature: ResolvedFeature) -> exp.Select:
    """No unit ids (see `selects_nothing`)."""
    return exp.select(*(exp.column(name) for name in feature.unit_names)).from_(exp.to_table(feature.table)).where(exp.false())


def selects_nothing(query: exp.Query) -> bool:
    """Whether `query` is `no_ids`'s: a comparison restricted to it is empty, and is best
    written with WHERE FALSE on top (an engine may still scan a table semi-joined to an empty
    relation; a FALSE filter is pruned before anything is read)."""
    where = query.args.get("where") if isinstance(query, exp.Select) else None
    return where is not None and where.this == exp.false()


def _logged_since(keys: list[str], since: int, profile: DialectProfile) -> exp.Expression:
    return exp.and_(
        exp.GT(this=exp.column("write_id"), expression=write_id_literal(since, profile)),
        exp.In(this=exp.column("feature"), expressions=[lit(key) for key in keys]),
    )


def writes_since(feature: ResolvedFeature, since: int, profile: DialectProfile) -> exp.Select:
    """SELECT (writes, rows) logged after `since` for F and its upstream features."""
    rows = exp.Coalesce(this=exp.Sum(this=exp.column("rows")), expressions=[exp.Literal.number(0)])
    condition = _logged_since(_keys(feature), since, profile)
    return exp.select(exp.Count(this=exp.Star()), rows).from_(layout.WRITES).where(condition)


def touched_beyond(feature: ResolvedFeature, since: int, write_id: int, profile: DialectProfile) -> exp.Select:
    """SELECT how many ids touched since write `since` have no row of write `write_id` in F's
    committed log (DialectProfile.committed_log; every part reads only the newer partitions)."""
    log = exp.to_table(feature.log_table, quoted=True)
    ids = [exp.column(name) for name in feature.unit_names]
    own = exp.EQ(this=exp.column(layout.WRITE_ID, quoted=True), expression=write_id_literal(write_id, profile))
    kept = exp.not_(exp.Coalesce(this=exp.column(layout.DELETED, quoted=True), expressions=[exp.false()]))
    written = exp.select(*ids).from_(log).where(exp.and_(own, kept))
    beyond = exp.except_(touched_ids(feature, since, profile), written, distinct=True)
    return exp.select(exp.Count(this=exp.Star())).from_(beyond.subquery("t"))


def own_writes_since(feature: ResolvedFeature, since: int, profile: DialectProfile) -> exp.Select:
    """SELECT how many writes, deletes and migrations of F itself were logged after `since`:
    none means F's rows are those it had then (each one stamps its rows with its id)."""
    condition = _logged_since([feature.key], since, profile)
    return exp.select(exp.Count(this=exp.Star())).from_(layout.WRITES).where(condition)


def stored_then_and_now(feature: ResolvedFeature, since: int, profile: DialectProfile) -> exp.Select:
    """SELECT how many of the ids F's own log rows newer than `since` touch had a current row
    after write `since`, and have one now (a committed log, DialectProfile.committed_log: every
    row there has a write id). Every other id's rows are as they were then, so
    count(F) now = count(F) then - the first + the second, without ranking the whole log.

    One pass, grouped by id: a row's write id * 2 + (1 if a tombstone) orders its rows the way
    the log does (ids increase), so the largest such number is the id's latest row, and its
    parity says whether that row is a tombstone."""
    log = exp.to_table(feature.log_table, quoted=True)
    ids = [exp.column(name) for name in feature.id_names]
    wid = exp.column(layout.WRITE_ID, quoted=True)
    newer = exp.GT(this=wid, expression=write_id_literal(since, profile))
    target = ids[0] if len(ids) == 1 else exp.Tuple(expressions=ids)
    own = exp.In(this=target.copy(), query=exp.select(*(i.copy() for i in ids)).from_(log.copy()).where(newer).subquery())
    deleted = exp.Coalesce(this=exp.column(layout.DELETED, quoted=True), expressions=[exp.false()])
    tombstone = exp.case().when(deleted, exp.Literal.number(1), copy=False).else_(exp.Literal.number(0), copy=False)
    rank = exp.Add(this=exp.Mul(this=wid.copy(), expression=exp.Literal.number(2)), expression=tombstone)
    then = exp.case().when(exp.LTE(this=wid.copy(), expression=write_id_literal(since, profile)), rank.copy(), copy=False)
    if profile.unpublished_rows:
        own = exp.and_(own, published())
    latest = exp.select(
        exp.alias_(exp.Max(this=then), "then_rank"), exp.alias_(exp.Max(this=rank), "now_rank")
    ).from_(log.copy()).where(own).group_by(*(i.copy() for i in ids))

    def current(name: str) -> exp.Expression:
        kept = exp.EQ(this=exp.Mod(this=exp.column(name), expression=exp.Literal.number(2)), expression=exp.Literal.number(0))
        one = exp.case().when(kept, exp.Literal.number(1), copy=False).else_(exp.Literal.number(0), copy=False)
        return exp.Coalesce(this=exp.Sum(this=one), expressions=[exp.Literal.number(0)])

    return exp.select(current("then_rank"), current("now_rank")).from_(latest.subquery("g"))


def published() -> exp.Expression:
    """A log row's write id is in the write log: its write published (DialectProfile.unpublished_rows)."""
    logged = exp.select(exp.column("write_id")).from_(layout.WRITES).subquery()
    return exp.In(this=exp.column(layout.WRITE_ID, quoted=True), query=logged)


def upstream_writes_since(feature: ResolvedFeature, since: int, profile: DialectProfile) -> exp.Select:
    """SELECT how many writes, deletes and migrations of F's upstream features were logged after
    `since` (engine/carried.py)."""
    condition = _logged_since([dep.key for dep in feature.upstream], since, profile)
    return exp.select(exp.Count(this=exp.Star())).from_(layout.WRITES).where(condition)


def newest_write() -> exp.Select:
    """SELECT (write id, time) of the newest logged write, its latest time as `logged_at` gives
    it (no row for an empty log)."""
    newest = exp.select(exp.column("write_id"), exp.column("written_at")).from_(layout.WRITES)
    order = [exp.Ordered(this=exp.column(name), desc=True) for name in ("write_id", "written_at")]
    return newest.order_by(*order).limit(1)


def logged_at(write_id: int, profile: DialectProfile) -> exp.Select:
    """SELECT the time of write `write_id` in the log (NULL for none)."""
    condition = exp.EQ(this=exp.column("write_id"), expression=write_id_literal(write_id, profile))
    return exp.select(exp.Max(this=exp.column("written_at"))).from_(layout.WRITES).where(condition)


def other_definitions_since(feature: ResolvedFeature, since: int, profile: DialectProfile) -> exp.Select:
    """SELECT how many writes of F after `since` were made under another definition than its
    current one (an older YAML in another process): rows the checkpoint cannot vouch for."""
    condition = exp.and_(
        exp.GT(this=exp.column("write_id"), expression=write_id_literal(since, profile)),
        exp.EQ(this=exp.column("feature"), expression=lit(feature.key)),
        exp.EQ(this=exp.column("operation"), expression=lit("write")),
        exp.NEQ(this=exp.column("definition"), expression=lit(feature.definition)),
    )
    return exp.select(exp.Count(this=exp.Star())).from_(layout.WRITES).where(condition)


def latest_write() -> exp.Select:
    """SELECT the largest logged write id (0 for an empty log)."""
    largest = exp.Max(this=exp.column("write_id"))
    return exp.select(exp.Coalesce(this=largest, expressions=[exp.Literal.number(0)])).from_(layout.WRITES)


def checkpoint_of(feature: ResolvedFeature, profile: DialectProfile) -> exp.Select:
    """SELECT write_id, up_to_date of F's checkpoint under its current digest (no row: none)."""
    condition = exp.and_(
        exp.EQ(this=exp.column("feature"), expression=lit(feature.key)),
        exp.EQ(this=exp.column("digest"), expression=lit(digest(feature, profile))),
    )
    # A store that appends checkpoints keeps several: each was true of the log up to its write
    # id, so the newest one serves.
    newest = exp.Ordered(this=exp.column("write_id"), desc=True)
    return exp.select("write_id", "up_to_date").from_(layout.CHECKPOINTS).where(condition).order_by(newest).limit(1)


def forget(feature: ResolvedFeature | None = None) -> exp.Delete:
    """DELETE F's checkpoint (every checkpoint without a feature)."""
    delete = exp.delete(layout.CHECKPOINTS)
    if feature is not None:
        delete = delete.where(exp.EQ(this=exp.column("feature"), expression=lit(feature.key)))
    return delete


def record(
    feature: ResolvedFeature, profile: DialectProfile, *, write_id: int, up_to_date: int, recorded_at: datetime
) -> exp.Insert:
    """INSERT F's checkpoint (after `forget(feature)`, in the same transaction)."""
    values = [
        lit(feature.key),
        lit(digest(feature, profile)),
        write_id_literal(write_id, profile),
        exp.Literal.number(int(up_to_date)),
        profile.timestamp_literal(recorded_at),
    ]
    columns = [name for name, _ in layout.CHECKPOINTS_COLUMNS]
    return exp.insert(exp.select(*values), layout.CHECKPOINTS, columns=columns)


def count_rows(table: str, condition: exp.Expression | None = None) -> exp.Select:
    """SELECT the number of rows of `table` (matching `condition`)."""
    query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(table, quoted=True))
    return query if condition is None else query.where(condition.copy())


def counted_upstream(feature: ResolvedFeature) -> ResolvedFeature | None:
    """The upstream feature whose current row count is F's number of expected samples, when
    there is one: F is an identity feature with exactly one required upstream (optional ones
    are left-joined: they add no id)."""
    if feature.is_root or not tracked(feature) or len(feature.required) != 1:
        return None
    return feature.required[0].feature
