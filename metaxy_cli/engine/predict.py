"""The whole-graph plan against a store (spec section 4): how many samples of every feature the
current definitions and data will make a pipeline compute, and what that costs, before anything
runs.

In topological order, each feature's predicted rows go to a temporary table (one statement per
feature, sql/predict.py) that the features downstream read instead of its table; one last query
counts every table. Nothing in the store changes: a feature without a table reads as empty, and
pending migrations are read as applied (engine/migrations.pending_relations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.definitions.plan import Prediction
from metaxy_cli.engine.tables import drop_temporary
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    from metaxy_cli.definitions.project import Project
    from metaxy_cli.sql.provenance import Relation
    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store

PREDICTED = "metaxy_plan_{}"  # the temporary table of the n-th feature's predicted rows


def predict(project: Project, store: Store) -> list[Prediction]:
    """One Prediction per feature, in topological order, with the project's pending migrations
    treated as applied (their reconciled rows read in place of the tables they change)."""
    from metaxy_cli.engine.migrations import pending_relations
    from metaxy_cli.sql.predict import counts_query, predicted_children, predicted_query
    from metaxy_cli.sql.resolved import resolve

    features = resolve(project)
    migrated = pending_relations(project, store)
    tables: dict[str, tuple[str, ResolvedFeature]] = {}  # what the features downstream read
    counted: dict[str, tuple[str, ResolvedFeature]] = {}  # what is counted (an expansion: parents)
    exists: dict[str, bool] = {}
    try:
        for index, (key, feature) in enumerate(features.items()):
            stored, exists[key] = (migrated[key], True) if key in migrated else _stored(store, feature)
            upstream = {dep.key: tables[dep.key][0] for dep in feature.upstream}
            table = PREDICTED.format(index)
            store.create_temporary_as(table, predicted_query(feature, store.profile, upstream=upstream, stored=stored))
            tables[key] = counted[key] = (table, feature)
            if feature.is_expansion:
                children = f"{table}_children"
                tables[key] = (children, feature)
                store.create_temporary_as(children, predicted_children(feature, store.profile, units=table, stored=stored))
        rows = store.fetch_all(store.to_sql(counts_query(counted))) if counted else []
    finally:
        made = {table for table, _ in [*tables.values(), *counted.values()]}
        drop_temporary(store, *sorted(made))
    counts: dict[tuple[str, str, str], int] = {(f, field, status): int(n) for f, field, status, n in rows}
    return [_prediction(project, feature, exists[key], counts) for key, feature in features.items()]


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
