"""The relation every increment and summary reads: expected inputs FULL JOIN stored rows, with
the fast path (spec sections 3-4).

A stored row is up to date WITHOUT hashing when the write that stored it had the feature's
current `definition` (provenance.py; recorded in the write log, writes.py) and, for a non-root
feature, every upstream row joined to it has a strictly smaller write id. Why this is exact:
  - a row's provenance was computed by metaxy inside its write transaction, from the upstream
    rows current then, under the definition logged by that same transaction;
  - an upstream row's data version changes only through a write (or delete), which takes a
    larger write id (writes.py: ids strictly increase in commit order); a current row with a
    smaller id than ours was therefore current, unchanged, when our row was computed;
  - an optional upstream row that is missing now may have been present then (a delete leaves no
    newer row behind): its NULL write id fails the check, so such rows are hashed;
  - the definition covers everything else the provenance depends on (code versions, parent
    fields, root source columns and their types, the hashing scheme); a root's other input, its
    own column values, changes only by rewriting the row;
  - rows without a write id (tables from before write ids) fail the check and are hashed.
A root feature WITH a listing (external data) always hashes the listing.

Lineage (spec section 7). Expansion: the unit is the parent, so the stored side is the
children grouped by their parent ids (`children_by_parent`): per field the provenance all the
children share (NULL, so stale, when two differ or one is NULL), their count, and their write id
when they all have one (else NULL). Writes replace a parent's children as a whole (writes.py),
so they normally share one write id; the fast path then stays exact by the argument above (every
child was computed in that write from the same upstream rows under the current definition),
and children of several writes are hashed. Aggregation: the fast path is OFF. A group's inputs
are its members, and deleting a member leaves no newer upstream row behind (the current
members' write ids all stay older than the group's), so "every upstream row is older" does not
prove the group up to date; every group is hashed.

Where rows are hashed (plans checked with EXPLAIN ANALYZE): rows certain to fail the
check are hashed below the join, once; the others above it, only if the check fails. Engines
inline a projection's expressions into the filters and projections above it, so a hash computed
above the join would be computed once per reader.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from metaxy_cli.definitions.keys import column_stem
from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import DialectProfile
from metaxy_cli.sql.provenance import (
    SRC,
    STORED_PREFIX,
    E,
    Expr,
    Inputs,
    Relation,
    col,
    data_version,
    full_join,
    ids_equal,
    is_null,
    join,
    lit,
    provenance_inputs,
    relation,
    union_all,
)
from metaxy_cli.sql.resolved import ResolvedFeature

S, D, X, LATEST, C = "s", "d", "x", "latest", "c"
FAST = "metaxy_fast"
CHILDREN = "metaxy_children"  # an expansion's stored children per parent
STORED_VERSION_PREFIX = "metaxy_stored_version__"


class Compare:
    """Predicates over the joined relation `e` (see `_joined`): expected columns under their own
    names, stored ones under STORED_PREFIX, and the fast-path flag.

    `self_join`: a root feature without a listing; its stored rows are the expected ones, so there
    are no new or orphaned rows.
    """

    def __init__(self, feature: ResolvedFeature, *, self_join: bool, fast: Expr | None):
        self.feature = feature
        self.fields = list(feature.fields)
        self.self_join = self_join
        self.fast = fast

    def expected(self, field: str) -> Expr:
        return col(layout.provenance_column(field), E)

    def stored(self, field: str) -> Expr:
        return col(STORED_PREFIX + layout.provenance_column(field), E)

    def stored_version(self, field: str) -> Expr:
        """The stored data version (joined with `stored_versions` only)."""
        return col(STORED_VERSION_PREFIX + column_stem(field), E)

    def differs(self, field: str) -> Expr:
        # Expected provenance is never NULL on a hashed matched row; stored may be (a field added
        # later), and counts as stale. Plain `<>` runs everywhere, unlike IS DISTINCT FROM.
        stored = self.stored(field)
        return exp.or_(
            is_null(stored),
            exp.NEQ(this=self.expected(field), expression=stored.copy()),
            copy=False,
        )

    def any_differs(self) -> Expr:
        return exp.or_(*(self.differs(f) for f in self.fields), copy=False)

    def new(self) -> Expr:
        return is_null(col(STORED_PREFIX + self.feature.unit_names[0], E))

    def orphaned(self) -> Expr:
        return is_null(col(self.feature.unit_names[0], E))

    def children(self) -> Expr:
        """An expansion's stored children of the parent (NULL when it has none)."""
        return col(CHILDREN, E)

    def id_column(self, name: str) -> Expr:
        if self.self_join:
            return col(name, E)
        return exp.Coalesce(this=col(name, E), expressions=[col(STORED_PREFIX + name, E)])

    def status(self) -> Expr:
        if self.self_join:
            return lit(layout.STALE)
        return (
            exp.case()
            .when(self.new(), lit(layout.NEW), copy=False)
            .when(self.orphaned(), lit(layout.ORPHANED), copy=False)
            .else_(lit(layout.STALE), copy=False)
        )

    def stale_flag(self, field: str) -> Expr:
        """TRUE when the field must be computed: every field of a new sample; NULL if orphaned."""
        if self.self_join:
            return self.differs(field)
        return (
            exp.case()
            .when(self.orphaned(), exp.Null(), copy=False)
            .when(self.new(), exp.true(), copy=False)
            .else_(self.differs(field), copy=False)
        )

    def pending(self) -> Expr:
        """Rows to act on: new, orphaned, or some field's provenance differs."""
        if self.self_join:
            return self.any_differs()
        return exp.or_(self.new(), self.orphaned(), self.any_differs(), copy=False)


def _writes_of(feature: ResolvedFeature) -> exp.Select:
    """SELECT ... FROM metaxy_writes WHERE the write stored rows of the feature under its current
    definition (a tiny table)."""
    condition = exp.and_(
        exp.EQ(this=col("feature"), expression=lit(feature.key)),
        exp.EQ(this=col("definition"), expression=lit(feature.definition)),
        copy=False,
    )
    return exp.select().from_(layout.WRITES).where(condition, copy=False)


def fast_path_bounds(feature: ResolvedFeature) -> exp.Select:
    """One row: the newest write of the feature under its current definition (NULL when none),
    then per upstream feature the oldest write id among its current rows. A stored row passes
    the fast check only when its upstream rows are older than it, and it is at most that newest
    write: when there is none, or some upstream's oldest row is no older than it (after a
    code_version bump upstream, every row), no row can pass, and a comparison built with
    `fast_path=False` hashes every row below the join without carrying the columns a lazy hash
    above it would read (10M rows joined with a third fewer columns)."""
    latest = exp.select(col("write_id", LATEST)).from_(_latest_with(feature), copy=False)
    items = [exp.alias_(latest.subquery(), "latest", copy=False)]
    for i, dep in enumerate(feature.upstream):
        oldest = exp.select(exp.Min(this=col(layout.WRITE_ID))).from_(exp.to_table(dep.feature.table, quoted=True))
        items.append(exp.alias_(oldest.subquery(), f"u{i}", copy=False))
    return exp.select(*items)


def fast_path_can_pass(bounds: tuple) -> bool:
    """Whether some stored row can pass the fast check, from fast_path_bounds' row."""
    latest, *oldest = bounds
    # Write ids start at 1; an engine whose MAX over no rows is 0, not NULL, means none as well.
    if not latest:
        return False
    return all(first is not None and first < latest for first in oldest)


def _written_with(feature: ResolvedFeature) -> Expr:
    """The ids of those writes (distinct, so joining them never duplicates a row), aliased d."""
    writes = _writes_of(feature).select(col("write_id"), copy=False).distinct()
    return writes.subquery(D, copy=False)


def _latest_with(feature: ResolvedFeature) -> Expr:
    """The largest of those ids (NULL when none), one row aliased `latest`: a bound that lets
    rows certain to fail the fast check be hashed below the join."""
    largest = exp.alias_(exp.Max(this=col("write_id")), "write_id", copy=False)
    return _writes_of(feature).select(largest, copy=False).subquery(LATEST, copy=False)


def _fast(stored: Expr, upstream: list[Expr]) -> Expr:
    """TRUE (never NULL) when the stored row is up to date without hashing: its write used the
    current definition and every upstream row is older than it (a missing optional one is NULL,
    so it is not)."""
    conditions = [exp.Not(this=is_null(col("write_id", D)))]
    conditions += [exp.LT(this=wid, expression=stored.copy()) for wid in upstream]
    return exp.Coalesce(this=exp.and_(*conditions, copy=False), expressions=[exp.false()])


def _certainly_hashed(write_ids: list[Expr], *, own: bool) -> Expr:
    """TRUE when the row cannot pass the fast check whatever it joins: no write has the current
    definition, or an input row is missing or newer than every such write (as new as one, for an
    upstream row: it must be older than the stored row; `own`: the root's stored row itself)."""
    latest = col("write_id", LATEST)
    newer = exp.GT if own else exp.GTE
    conditions = [is_null(latest)]
    for wid in write_ids:
        conditions += [is_null(wid.copy()), newer(this=wid.copy(), expression=latest.copy())]
    return exp.or_(*conditions, copy=False)


def _moved(text: Expr, alias: str) -> tuple[Expr, dict[str, Expr]]:
    """`text` reading the columns it needs from relation `alias` (named table__column there),
    and those columns as {name: original column}."""
    needed: dict[str, Expr] = {}

    def rename(node: Expr) -> Expr:
        if isinstance(node, exp.Column):
            name = f"{node.table}__{node.name}"
            needed[name] = node.copy()
            return col(name, alias)
        return node

    return text.copy().transform(rename), needed


def _hashed(
    feature: ResolvedFeature, inputs: Inputs, *, self_join: bool, fast_path: bool, stored_versions: bool
) -> exp.Select:
    """The expected side x, below the join with the stored rows: ids, upstream write ids, and per
    field the provenance hashed here for rows certainly failing the fast check (once, like any
    column below a join), else NULL with the columns needed to hash it above, lazily."""
    select = inputs.select
    items = [exp.alias_(e, name, copy=False) for e, name in zip(inputs.ids, feature.unit_names)]
    wids = [col(layout.WRITE_ID, alias) for alias in ([SRC] if self_join else inputs.upstream)]
    items += [exp.alias_(w, f"{layout.WRITE_ID}__{i}") for i, w in enumerate(wids) if fast_path]
    if self_join:
        items += [
            exp.alias_(col(layout.provenance_column(f), SRC), STORED_PREFIX + layout.provenance_column(f))
            for f in feature.fields
        ]  # fmt: skip
        if stored_versions:
            items += [exp.alias_(data_version(f, SRC), STORED_VERSION_PREFIX + column_stem(f)) for f in feature.fields]
    if not fast_path:
        items += [
            exp.alias_(inputs.provenance(f), layout.provenance_column(f), copy=False)
            for f in feature.fields
        ]
        return select.select(*items, copy=False)
    select = select.join(exp.Join(this=_latest_with(feature), kind="CROSS"), copy=False)
    certain = _certainly_hashed(wids, own=self_join)
    columns: dict[str, Expr] = {}
    for f in feature.fields:
        text = exp.case().when(certain.copy(), inputs.texts[f].copy(), copy=False)
        items.append(exp.alias_(inputs.profile.hash(text), layout.provenance_column(f)))
        columns |= _moved(inputs.texts[f], X)[1]
    for name, column in columns.items():
        lazy = exp.case().when(certain.copy(), exp.Null(), copy=False).else_(column, copy=False)
        items.append(exp.alias_(lazy, name, copy=False))
    return select.select(*items, copy=False)


def restricted(
    table: Relation, feature: ResolvedFeature, only: exp.Query, locator: str | None = None, *,
    owner: ResolvedFeature | None = None,
) -> exp.Select:  # fmt: skip
    """SELECT * FROM table WHERE (unit ids) IN (only). With a row `locator` (row_locator), a
    table is read whole only at the rows found by their ids (at 10M rows, 1% of them: a summary
    reading two tables 0.97 s -> 0.55 s). `owner`: the feature whose current table `table` is;
    when its ids are `feature`'s units, the table holds one row per unit id, so the ids `only` takes from this very table (its rows
    newer than a write, sql/changes.touched_ids) are its rows found by that same filter: read in
    the newest row groups alone, with no lookup by id (an empty lookup is skipped by the engine)."""
    ids = [col(name) for name in feature.unit_names]
    target = ids[0] if len(ids) == 1 else exp.Tuple(expressions=ids)
    condition = exp.In(this=target, query=only.copy().subquery())
    if not isinstance(table, str):
        return exp.select(exp.Star()).from_(relation(table, "r")).where(condition, copy=False)
    if locator is not None:
        one_per_unit = owner is not None and set(owner.id_names) == set(feature.unit_names)
        own, others = _own_parts(only, table) if one_per_unit else ([], [only])
        found = [exp.select(exp.column(locator)).from_(exp.to_table(table)).where(part, copy=False) for part in own]
        if others:
            by_id = exp.In(this=target.copy(), query=union_all([o.copy() for o in others]).subquery())
            found.append(exp.select(exp.column(locator)).from_(exp.to_table(table)).where(by_id, copy=False))
        condition = exp.In(this=exp.column(locator), query=union_all(found).subquery())
    return exp.select(exp.Star()).from_(exp.to_table(table)).where(condition, copy=False)


def _own_parts(only: exp.Query, table: str) -> tuple[list[exp.Expression], list[exp.Query]]:
    """The filters of `only`'s parts that select ids from `table` itself, and the other parts."""
    parts: list[exp.Query] = []
    pending: list[exp.Query] = [only]
    while pending:
        part = pending.pop()
        if isinstance(part, exp.Union) and not part.args.get("distinct") and not _modified(part):
            pending += [part.expression, part.this]
        else:
            parts.append(part)
    own: list[exp.Expression] = []
    others: list[exp.Query] = []
    for part in parts:
        source = (part.args.get("from_") or part.args.get("from")) if isinstance(part, exp.Select) else None
        simple = isinstance(part, exp.Select) and not part.args.get("joins") and not _modified(part) and part.args.get("where") is not None
        if simple and source is not None and isinstance(source.this, exp.Table) and source.this.name == table and not source.this.db:
            own.append(part.args["where"].this.copy())
        else:
            others.append(part)
    return own, others


def _modified(query: exp.Query) -> bool:
    """A query whose rows are not simply its filter's (limited, grouped, distinct, with CTEs)."""
    return any(query.args.get(key) for key in ("limit", "offset", "order", "group", "having", "distinct", "with", "with_"))


def row_locator(feature: ResolvedFeature, profile: DialectProfile) -> str | None:
    """The engine's row locator (DialectProfile.row_locator), unless a column of the feature or
    of its upstream features has its name (it would shadow it)."""
    locator = profile.row_locator
    tables = [feature, *(dep.feature for dep in feature.upstream)]
    if locator is None or any(name.lower() == locator for f in tables for name, _ in f.table_columns):
        return None
    return locator


def children_by_parent(feature: ResolvedFeature, stored: Relation, *, stored_versions: bool = False) -> exp.Select:
    """An expansion's stored children grouped by parent (see the module doc); with
    `stored_versions`, per field the data version the children share, else NULL."""
    parents = [col(name, C) for name in feature.unit_names]
    items: list[Expr] = [exp.alias_(p.copy(), p.name, copy=False) for p in parents]

    def shared(value: Expr) -> Expr:
        low, high = exp.Min(this=value.copy()), exp.Max(this=value.copy())
        every = exp.EQ(this=exp.Count(this=value.copy()), expression=exp.Count(this=exp.Star()))
        agree = exp.and_(exp.EQ(this=low, expression=high), every, copy=False)
        return exp.case().when(agree, exp.Min(this=value.copy()), copy=False)

    for f in feature.fields:
        items.append(exp.alias_(shared(col(layout.provenance_column(f), C)), layout.provenance_column(f), copy=False))
        if stored_versions:
            items.append(exp.alias_(shared(data_version(f, C)), layout.data_version_column(f), copy=False))
    items.append(exp.alias_(shared(col(layout.WRITE_ID, C)), layout.WRITE_ID, copy=False))
    items.append(exp.alias_(exp.Count(this=exp.Star()), CHILDREN, copy=False))
    select = exp.select(*items).from_(relation(stored, C), copy=False)
    return select.group_by(*parents, copy=False)


def joined(
    feature: ResolvedFeature, profile: DialectProfile, root_source: Relation | None, *,
    upstream: Mapping[str, Relation] | None = None, stored: Relation | None = None,
    fast_path: bool = True, stored_versions: bool = False, only: exp.Query | None = None,
) -> tuple[exp.Select, Compare]:
    """SELECT ... FROM e: the expected side x FULL JOIN the stored rows s on ids (a root without a
    listing: its stored rows alone, no join), then the fast check. Rows certain to fail it are
    hashed below the join (x); the others above it, only when the check fails, so every hash
    is computed at most once per row even though engines inline it in filters and projections.

    With a listing (external data) every listed row is hashed, below the join.

    The plan reads other relations than the tables: `upstream` replaces upstream current tables
    (its predicted rows), `stored` the feature's own (an empty relation when it has no table),
    `stored_versions` adds the stored data versions, and the fast path is off (its write-id check
    is about the tables).

    `only` (a query of unit ids; identity features) restricts the upstream and stored relations to
    those ids: every id's row of the result depends on that id's rows alone, so the restricted
    result is the full one's rows for those ids (sql/changes.py). The rows kept are the tables'
    own, so the fast path stays exact.
    """
    if only is not None:
        locator = row_locator(feature, profile)
        upstream = {
            dep.key: restricted((upstream or {}).get(dep.key, dep.feature.table), feature, only, locator, owner=dep.feature)
            for dep in feature.upstream
        }
        stored = restricted(stored if stored is not None else feature.table, feature, only, locator, owner=feature)
    inputs = provenance_inputs(
        feature, profile, root_source=root_source if root_source is not None else stored, upstream=upstream
    )
    self_join = feature.is_root and root_source is None
    fast_path = fast_path and not (feature.is_root and root_source is not None) and not feature.is_aggregation
    ids = feature.unit_names
    stored_rows: Relation = stored if stored is not None else feature.table
    if feature.is_expansion:
        stored_rows = children_by_parent(feature, stored_rows, stored_versions=stored_versions)
    select = exp.select().from_(
        _hashed(feature, inputs, self_join=self_join, fast_path=fast_path, stored_versions=stored_versions).subquery(X, copy=False),
        copy=False,
    )
    if not self_join:
        on = ids_equal(ids, X, S)
        select = select.join(full_join(relation(stored_rows, S), on), copy=False)
    projections = [exp.alias_(col(name, X), name, copy=False) for name in ids]
    if not self_join:
        projections += [exp.alias_(col(name, S), STORED_PREFIX + name, copy=False) for name in ids]
    fast = None
    if fast_path:
        wids = [col(f"{layout.WRITE_ID}__{i}", X) for i in range(len(inputs.upstream) or 1)]
        stored_wid = wids.pop() if self_join else col(layout.WRITE_ID, S)
        on = exp.EQ(this=stored_wid.copy(), expression=col("write_id", D))
        select = select.join(join(_written_with(feature), on, "LEFT"), copy=False)
        fast = _fast(stored_wid, wids)
    for f in feature.fields:
        expected: Expr = col(layout.provenance_column(f), X)
        if fast is not None:
            text = _moved(inputs.texts[f], X)[0]
            skip = exp.or_(fast.copy(), is_null(col(ids[0], X)), copy=False)
            lazy = exp.case().when(skip, exp.Null(), copy=False).else_(text, copy=False)
            expected = exp.Coalesce(this=expected, expressions=[profile.hash(lazy)])
        stored_name = STORED_PREFIX + layout.provenance_column(f)
        stored_provenance = col(stored_name, X) if self_join else col(layout.provenance_column(f), S)
        projections += [
            exp.alias_(expected, layout.provenance_column(f), copy=False),
            exp.alias_(stored_provenance, stored_name, copy=False),
        ]
        if stored_versions:
            version_name = STORED_VERSION_PREFIX + column_stem(f)
            version = col(version_name, X) if self_join else data_version(f, S)
            projections.append(exp.alias_(version, version_name, copy=False))
    if feature.is_expansion:
        projections.append(exp.alias_(col(CHILDREN, S), CHILDREN, copy=False))
    if fast is not None:
        projections.append(exp.alias_(fast, FAST, copy=False))
    select = select.select(*projections, copy=False)
    outer = exp.select().from_(select.subquery(E, copy=False), copy=False)
    flag = col(FAST, E) if fast is not None else None
    return outer, Compare(feature, self_join=self_join, fast=flag)
