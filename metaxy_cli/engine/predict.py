"""The whole-graph plan against a store (spec section 4): how many samples of every feature the
current definitions and data will make a pipeline compute, and what that costs, before anything
runs.

In topological order, each feature's predicted rows go to a temporary table (one statement per
feature, sql/predict.py) that the features downstream read instead of its table; one last query
counts every table. Nothing in the store changes: a feature without a table reads as empty, and
pending migrations are read as applied (engine/migrations.pending_relations).

**Costing what changed** (identity features and roots, per-id comparisons; engine/changes.py's
argument). A feature is *settled* when its predicted rows are its stored rows. A feature with a
clean checkpoint, nothing written to it or upstream of it since (`changes.quiet`), and no
predicted upstream row that reaches it, is settled without reading its table: its counts are the
checkpoint's. A predicted upstream row *reaches* a feature when it is new or stale in a field
the feature depends on (`_moved_ids`): a row stale only in other fields, or orphaned, leaves
every version the feature reads as stored. When nothing reaches it, its upstream features read
as their stored rows, so its prediction is its summary (`summary_row`), and it is settled when
nothing is new or stale. Otherwise, with a clean checkpoint, and whenever others read it, it is
*restricted*: only the ids that can change are predicted (touched since its checkpoint, or
reached from upstream; every other id is as at the checkpoint: up to date when stored), counted
among them (up to date = stored - stale - orphaned), and read downstream as those rows over the
stored rows of every other id (`_overlay`, at the reader's changeable ids only). Anything else
(expansions, aggregations, pending migrations, no checkpoint) predicts every row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.definitions.plan import Prediction
from metaxy_cli.engine.changes import quiet, summary_row, tracking
from metaxy_cli.engine.tables import drop_temporary
from metaxy_cli.sql import changes, layout
from metaxy_cli.sql.compare import row_locator
from metaxy_cli.sql.provenance import union_all

if TYPE_CHECKING:
    from sqlglot import exp

    from metaxy_cli.definitions.project import Project
    from metaxy_cli.sql.provenance import Relation
    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store

PREDICTED = "metaxy_plan_{}"  # the temporary table of the n-th feature's predicted rows


def predict(project: Project, store: Store) -> list[Prediction]:
    """One Prediction per feature, in topological order, with the project's pending migrations
    treated as applied (their reconciled rows read in place of the tables they change)."""
    from metaxy_cli.engine.migrations import pending_relations
    from metaxy_cli.sql.predict import ALL_FIELDS, counts_query, predicted_children, predicted_query
    from metaxy_cli.sql.resolved import resolve

    features = resolve(project)
    migrated = pending_relations(project, store)
    read_downstream = {dep.key for feature in features.values() for dep in feature.upstream}
    tables: dict[str, tuple[Relation, ResolvedFeature]] = {}  # what the features downstream read
    counted: dict[str, tuple[str, ResolvedFeature]] = {}  # what is counted (an expansion: parents)
    restricted: dict[str, tuple[str, ResolvedFeature]] = {}  # counted among the ids that can change
    made: list[str] = []  # temporary tables
    exists: dict[str, bool] = {}
    settled: set[str] = set()
    counts: dict[tuple[str, str, str], int] = {}
    try:
        for index, (key, feature) in enumerate(features.items()):
            stored, exists[key] = (migrated[key], True) if key in migrated else _stored(store, feature)
            upstream = {dep.key: tables[dep.key][0] for dep in feature.upstream}
            table = PREDICTED.format(index)
            only, moved = None, {}
            summarised = stored == feature.table and changes.tracked(feature)
            if summarised and all(dep.key in settled or dep.key in restricted for dep in feature.upstream):
                moved = _moved(store, feature, restricted)
                if moved or key in read_downstream:
                    # As at its clean checkpoint, and so are its inputs: settled (a summary below
                    # answers the same way for a feature nobody reads).
                    unchanged = None if moved else quiet(store, feature)
                    if unchanged is not None:
                        counts.update(_counts_of(feature, (0, 0, 0, unchanged, *(0 for _ in feature.fields))))
                        settled.add(key)
                        tables[key] = (feature.table, feature)
                        continue
                    only = _changeable(store, feature, list(moved.values()))
                if only is not None:
                    restricted[key] = (table, feature)
                elif moved:
                    summarised = False
                else:  # its inputs are its upstream tables: its summary is its prediction
                    row = summary_row(store, feature, record=False) if tracking(store, feature) else _summary(store, feature)
                    counts.update(_counts_of(feature, row))
                    if not any(row[:2]):  # nothing new or stale: the stored rows are the predicted ones
                        settled.add(key)
                        tables[key] = (feature.table, feature)
                        continue
                    if key not in read_downstream:
                        continue
            else:
                summarised = False
            if only is not None:  # predicted upstream rows read only at the ids that can change
                locator = row_locator(feature, store.profile)
                upstream |= {dep.key: dep.feature.table for dep in feature.upstream if dep.key in restricted}
                upstream |= {dep: _overlay(features[dep], restricted[dep][0], (feature, only, locator)) for dep in moved}
            made.append(table)
            store.create_temporary_as(table, predicted_query(feature, store.profile, upstream=upstream, stored=stored, only=only))
            tables[key] = (table, feature)
            if only is not None:
                tables[key] = (_overlay(feature, table), feature)
                restricted.setdefault(key, (table, feature))
            if not summarised:
                counted[key] = (table, feature)
            if feature.is_expansion:
                children = f"{table}_children"
                made.append(children)
                tables[key] = (children, feature)
                store.create_temporary_as(children, predicted_children(feature, store.profile, units=table, stored=stored))
        measured = {key: entry for key, entry in restricted.items() if (key, ALL_FIELDS, layout.NEW) not in counts}
        rows = store.fetch_all(store.to_sql(counts_query(counted | measured))) if counted or measured else []
        counts.update({(f, field, status): int(n) for f, field, status, n in rows})
        for key, (_, feature) in measured.items():  # every other stored sample is up to date
            changed = counts.get((key, ALL_FIELDS, layout.STALE), 0) + counts.get((key, ALL_FIELDS, layout.ORPHANED), 0)
            counts[(key, ALL_FIELDS, layout.UP_TO_DATE)] = _stored_rows(store, feature) - changed
    finally:
        drop_temporary(store, *made)
    return [_prediction(project, feature, exists[key], counts) for key, feature in features.items()]


def _changeable(store: Store, feature: ResolvedFeature, moved: list[exp.Query]) -> exp.Query | None:
    """The ids whose prediction can differ from the feature's clean checkpoint: those touched
    since it (engine/changes.py) and those whose upstream rows are predicted to move (`moved`,
    _moved_ids). Every other id is as it was then: up to date when stored. None without a usable
    checkpoint."""
    from metaxy_cli.engine.changes import since

    checkpoint = since(store, feature) if tracking(store, feature) else None
    if checkpoint is None:
        return None
    return union_all([changes.touched_ids(feature, checkpoint, store.profile), *moved])


def _moved_ids(feature: ResolvedFeature, dep: ResolvedFeature, predicted: str) -> exp.Select:
    """The ids of `dep`'s predicted rows (a restricted table) that change what `feature` reads:
    new samples, and stale ones of a field `feature` depends on (a new data version). Rows up to
    date, or stale only in fields `feature` does not read, or orphaned (orphans keep their
    versions: sql/predict.py), leave its expected provenance as it is."""
    from sqlglot import exp

    read = sorted({name for parents in feature.field_parents.values() for key, name in parents if key == dep.key})
    flags = [exp.column(layout.stale_column(name), quoted=True) for name in read]
    changed = exp.or_(exp.column(layout.STATUS, quoted=True).eq(exp.Literal.string(layout.NEW)), *flags)
    return exp.select(*(exp.column(name, quoted=True) for name in feature.unit_names)).from_(exp.to_table(predicted, quoted=True)).where(changed)


def _moved(store: Store, feature: ResolvedFeature, restricted: dict[str, tuple[str, ResolvedFeature]]) -> dict[str, exp.Select]:
    """{dep key: ids} of the restricted upstream features with predicted rows that reach
    `feature` (_moved_ids, where there are any); the others read as their stored rows."""
    found = {}
    for dep in feature.upstream:
        if dep.key in restricted:
            ids = _moved_ids(feature, dep.feature, restricted[dep.key][0])
            if store.fetch_all(store.to_sql(ids.limit(1))):
                found[dep.key] = ids
    return found


def _overlay(
    feature: ResolvedFeature, predicted: str, within: tuple[ResolvedFeature, exp.Query, str | None] | None = None
) -> exp.Select:
    """The feature's predicted rows when only some ids were predicted: those rows, and the
    stored rows of every other id (as they are: nothing upstream of them changes). `within`
    (the reading feature, its ids that can change, the row locator): the stored rows are read at
    those ids alone (compare.restricted), not scanned whole."""
    from sqlglot import exp

    from metaxy_cli.sql.compare import restricted

    ids = [exp.column(name, quoted=True) for name in feature.unit_names]
    versions = [name for f in feature.fields for name in (layout.data_version_column(f), layout.provenance_column(f))]
    columns = [*ids, *(exp.column(name, quoted=True) for name in versions)]
    target = ids[0] if len(ids) == 1 else exp.Tuple(expressions=ids)
    predicted_ids = exp.select(*(i.copy() for i in ids)).from_(exp.to_table(predicted, quoted=True))
    source = exp.to_table(feature.table, quoted=True) if within is None else restricted(feature.table, *within, owner=feature).subquery("s")
    kept = (
        exp.select(*(c.copy() for c in columns))
        .from_(source)
        .where(exp.not_(exp.In(this=target.copy(), query=predicted_ids.subquery())))
    )
    return exp.union(kept, exp.select(*(c.copy() for c in columns)).from_(exp.to_table(predicted, quoted=True)), distinct=False)


def _stored_rows(store: Store, feature: ResolvedFeature) -> int:
    return int(store.fetch_all(store.to_sql(changes.count_rows(feature.table)))[0][0])


def _summary(store: Store, feature: ResolvedFeature) -> tuple[int, ...]:
    from metaxy_cli.sql.query import summary_query

    return tuple(int(value or 0) for value in store.fetch_all(store.to_sql(summary_query(feature, store.profile)))[0])


def _counts_of(feature: ResolvedFeature, row: tuple[int, ...]) -> dict[tuple[str, str, str], int]:
    """A summary row as counts_query's (feature, field, status) counts: a new sample computes
    every field, a stale one its stale fields."""
    from metaxy_cli.sql.predict import ALL_FIELDS

    new, stale, orphaned, up_to_date, *per_field = row
    key = feature.key
    found = {(key, ALL_FIELDS, layout.NEW): new, (key, ALL_FIELDS, layout.STALE): stale,
             (key, ALL_FIELDS, layout.ORPHANED): orphaned, (key, ALL_FIELDS, layout.UP_TO_DATE): up_to_date}  # fmt: skip
    for f, stale_f in zip(feature.fields, per_field):
        found[(key, f, layout.NEW)] = new
        found[(key, f, layout.STALE)] = stale_f
    return found


def _stored(store: Store, feature: ResolvedFeature) -> tuple[Relation, bool]:
    """The feature's current rows as the prediction reads them: its table (columns declared since
    it was created read as NULL, as an increment would add them), or no rows without a table."""
    from sqlglot import exp

    from metaxy_cli.sql.predict import empty_table

    existing = store.list_columns(feature.table)
    if existing is None:
        return empty_table(feature, store.profile), False
    if all(name in existing for name, _ in feature.table_columns):
        return feature.table, True
    columns: list[exp.Expression] = [
        exp.column(name, quoted=True) if name in existing
        else exp.alias_(exp.cast(exp.Null(), store.profile.column_type(kind)), name, quoted=True)
        for name, kind in feature.table_columns
    ]  # fmt: skip
    return exp.select(*columns).from_(exp.to_table(feature.table, quoted=True)), True


def _prediction(project: Project, feature: ResolvedFeature, exists: bool, counts: dict[tuple[str, str, str], int]) -> Prediction:
    from metaxy_cli.sql.predict import ALL_FIELDS

    def count(field: str, status: str) -> int:
        return counts.get((feature.key, field, status), 0)

    new, stale = count(ALL_FIELDS, layout.NEW), count(ALL_FIELDS, layout.STALE)
    stale_fields = {f: count(f, layout.STALE) for f in feature.fields}
    return Prediction(
        key=feature.key,
        new=new,
        stale=stale,
        stale_fields=stale_fields,
        orphaned=count(ALL_FIELDS, layout.ORPHANED),
        up_to_date=count(ALL_FIELDS, layout.UP_TO_DATE),
        cost=_cost(feature, new, stale, {f: count(f, layout.NEW) + stale_fields[f] for f in feature.fields}),
        table_exists=exists,
    )


def _cost(feature: ResolvedFeature, new: int, stale: int, computed: dict[str, int]) -> float | None:
    """A sample to compute costs the sum of its stale fields' costs where fields declare them,
    else its feature's cost; None when nothing declares a cost. `computed`: per field, the new
    and stale samples on which it will be computed."""
    field_costs = {f: feature.spec.field(f).cost for f in feature.fields}
    if any(cost is not None for cost in field_costs.values()):
        return float(sum((cost or 0.0) * computed[f] for f, cost in field_costs.items()))
    if feature.spec.cost is None:
        return None
    return float(feature.spec.cost * (new + stale))
