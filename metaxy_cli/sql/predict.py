"""The whole-graph plan's SQL (spec section 4, "Plan"): each feature's samples as they will be once
every feature upstream of it has been recomputed.

`predicted_query` compares a feature's expected provenance, computed from its upstream features'
PREDICTED rows, with its stored rows. Every expected or stored sample gives one row: its status
(new / stale / orphaned / up_to_date), per field whether it will be recomputed, and per field the
data version it will have: the expected provenance where it will be recomputed (a new version), the
stored data version otherwise (orphans keep theirs: they stay in the table until deleted, so the
features downstream still read them). Its columns are those of a current table
(`metaxy_provenance__<f>`, `metaxy_data_version__<f>`), so the next feature's query reads it
in place of the upstream table. `counts_query` turns the rows into per-field counts.

An expansion is predicted at its unit, the parent (`predicted_query`: one row per parent, with
its stored children counted, so orphans count children), and its children for the features
downstream by `predicted_children`: each stored child with its parent's status and, per field
recomputed, the parent's expected provenance as its new data version (a new parent's children
are unknown until they are written, so they are not predicted).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from metaxy_cli.sql import layout
from metaxy_cli.sql.compare import CHILDREN, joined
from metaxy_cli.sql.dialects import DialectProfile
from metaxy_cli.sql.provenance import Relation, col, data_version, ids_equal, lit, relation, union_all
from metaxy_cli.sql.resolved import ResolvedFeature

ALL_FIELDS = ""  # the `field` of a count that is about whole samples


def empty_table(feature: ResolvedFeature, profile: DialectProfile) -> exp.Select:
    """The feature's current table with no rows: what a store without that table holds."""
    columns = [
        exp.alias_(exp.cast(exp.Null(), profile.column_type(kind)), name, quoted=True)
        for name, kind in feature.table_columns
    ]
    return exp.select(*columns).where(exp.false())


def predicted_query(
    feature: ResolvedFeature, profile: DialectProfile, *, upstream: Mapping[str, Relation], stored: Relation,
    only: exp.Query | None = None,
) -> exp.Select:
    """One row per expected or stored sample (see the module doc); with `only` (a query of unit
    ids, identity features), those samples' rows alone (compare.joined)."""
    select, compare = joined(
        feature, profile, None, upstream=upstream, stored=stored, fast_path=False, stored_versions=True, only=only
    )
    status = (
        exp.case()
        .when(compare.new(), lit(layout.NEW), copy=False)
        .when(compare.orphaned(), lit(layout.ORPHANED), copy=False)
        .when(compare.any_differs(), lit(layout.STALE), copy=False)
        .else_(lit(layout.UP_TO_DATE), copy=False)
    ) if not compare.self_join else (
        exp.case().when(compare.any_differs(), lit(layout.STALE), copy=False).else_(lit(layout.UP_TO_DATE), copy=False)
    )  # fmt: skip
    projections = [exp.alias_(compare.id_column(name), name, copy=False) for name in feature.unit_names]
    projections.append(exp.alias_(status, layout.STATUS, copy=False))
    if feature.is_expansion:
        projections.append(exp.alias_(compare.children(), CHILDREN, copy=False))
    for f in feature.fields:
        recompute = compare.stale_flag(f)
        version = (
            exp.case()
            .when(exp.Coalesce(this=recompute.copy(), expressions=[exp.false()]), compare.expected(f), copy=False)
            .else_(compare.stored_version(f), copy=False)
        )
        projections += [
            exp.alias_(recompute, layout.stale_column(f), copy=False),
            exp.alias_(version, layout.data_version_column(f), copy=False),
            exp.alias_(version.copy(), layout.provenance_column(f), copy=False),
        ]
    return profile.finalize(select.select(*projections, copy=False))


def predicted_children(feature: ResolvedFeature, profile: DialectProfile, *, units: str, stored: Relation) -> exp.Select:
    """An expansion's stored children as they will be (see the module doc): the columns of a
    current table that the features downstream read, with the parent's status and flags."""
    c, u = "c", "u"
    projections: list[exp.Expression] = [exp.alias_(col(name, c), name, copy=False) for name in feature.id_names]
    projections.append(exp.alias_(col(layout.STATUS, u), layout.STATUS, copy=False))
    for f in feature.fields:
        recompute = exp.Coalesce(this=col(layout.stale_column(f), u), expressions=[exp.false()])
        version = (
            exp.case()
            .when(recompute, col(layout.data_version_column(f), u), copy=False)
            .else_(data_version(f, c), copy=False)
        )
        projections += [
            exp.alias_(col(layout.stale_column(f), u), layout.stale_column(f), copy=False),
            exp.alias_(version, layout.data_version_column(f), copy=False),
            exp.alias_(version.copy(), layout.provenance_column(f), copy=False),
        ]
    on = ids_equal(feature.unit_names, c, u)
    select = exp.select(*projections).from_(relation(stored, c), copy=False)
    return profile.finalize(select.join(exp.to_table(units, quoted=True).as_(u), on=on, copy=False))


def counts_query(tables: Mapping[str, tuple[str, ResolvedFeature]]) -> exp.Query:
    """(feature, field, status, samples) for every predicted table: per status with field ''
    (whole samples), and per field the samples of each status on which it will be recomputed."""
    parts: list[exp.Select] = []
    for key, (table, feature) in tables.items():
        status = col(layout.STATUS)
        samples: exp.Expression = exp.Count(this=exp.Star())
        if feature.is_expansion:  # orphans are the stored children, the rest parents
            orphan = exp.EQ(this=status.copy(), expression=lit(layout.ORPHANED))
            weight = exp.case().when(orphan, col(CHILDREN), copy=False).else_(exp.Literal.number(1), copy=False)
            samples = exp.Sum(this=weight)
        parts.append(
            exp.select(lit(key).as_("feature"), lit(ALL_FIELDS).as_("field"), status.copy(), samples.as_("samples"))
            .from_(exp.to_table(table, quoted=True))
            .group_by(status.copy())
        )
        for f in feature.fields:
            flag = exp.Coalesce(this=col(layout.stale_column(f)), expressions=[exp.false()])
            parts.append(
                exp.select(lit(key).as_("feature"), lit(f).as_("field"), status.copy(), exp.Count(this=exp.Star()).as_("samples"))
                .from_(exp.to_table(table, quoted=True))
                .where(flag)
                .group_by(status.copy())
            )
    return union_all(parts)
