"""The SQL of a migration (spec section 6): a feature's stored rows reconciled to new definitions.

For every stored sample and migrated field, the provenance the field's OLD definition expects
from the current upstream rows (or, for a root, from the row's own source columns) is compared
with the stored one. Where they are equal the sample was up to date, so its row gets the
provenance the NEW definition expects and keeps its data version (written out explicitly: a NULL
data-version column means "the provenance", which is changing). Fields that were stale, and
fields not migrated, keep what is stored.

Both texts are built by the same functions as every other provenance (provenance.root_text,
parents_text), so a reconciled row is byte-identical to what a write under the new definition
would have stored. `reconciled_query` returns every stored row, with per-field flags; the apply
keeps the flagged ones, the whole-graph plan reads all of them as the feature's stored rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlglot import exp

from metaxy_cli.definitions.keys import column_stem
from metaxy_cli.definitions.migration import FeatureMigration, FieldDefinition, split_field
from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import DialectProfile
from metaxy_cli.sql.provenance import (
    S,
    Expr,
    Relation,
    col,
    data_version,
    ids_equal,
    join,
    lit,
    parents_text,
    relation,
    root_text,
    sample_hash,
)
from metaxy_cli.sql.resolved import ResolvedFeature
from metaxy_cli.sql.writes import write_id_literal

RECONCILED = "metaxy_reconciled"  # TRUE when any migrated field of the row was reconciled
X, M = "x", "m"
_OLD, _NEW, _STORED, _KEPT = "metaxy_old__", "metaxy_new__", "metaxy_stored_provenance__", "metaxy_kept_version__"


def reconciled_flag(field: str) -> str:
    """TRUE when the field's stored provenance matched its old definition (reconciled)."""
    return f"{RECONCILED}__{column_stem(field)}"


class Upstream:
    """Where the current rows of the features a migrated field reads are: relations (by current
    feature key) with their columns, and the renames that map old names onto them."""

    def __init__(
        self, relations: Mapping[str, Relation], columns: Mapping[str, Collection[str]],
        renamed_features: Mapping[str, str], renamed_fields: Mapping[str, str],
    ):  # fmt: skip
        self.relations = relations
        self.columns = columns
        self.renamed_features = renamed_features
        self.renamed_fields = renamed_fields  # old fq name -> new fq name

    def locate(self, fq_name: str) -> tuple[str, str]:
        """(current feature key, current field key) holding the data version of `fq_name`."""
        fq_name = self.renamed_fields.get(fq_name, fq_name)
        feature, field = split_field(fq_name)
        return self.renamed_features.get(feature, feature), field


def reconciled_query(
    feature: ResolvedFeature, migration: FeatureMigration, profile: DialectProfile, *,
    stored: Relation, stored_columns: Collection[str], upstream: Upstream,
    write_id: int | None, written_at: datetime,
) -> exp.Select:  # fmt: skip
    """Every stored row of `feature` as it is after the migration: `feature.table_columns` in
    order, then `reconciled_flag(f)` per migrated field and RECONCILED (any of them)."""
    migrated = {f.key: f for f in migration.fields}
    inner, aliases = _joined(feature, stored, stored_columns, upstream)
    items: list[Expr] = [exp.alias_(_stored(name, kind, stored_columns, profile), name) for name, kind in feature.id_columns + feature.declared_columns]
    for f in feature.fields:
        if f in migrated:
            change = migrated[f]
            old_field = split_field(change.old.name)[1]
            items += [
                exp.alias_(profile.hash(_text(change.old, feature, aliases, upstream, profile)), _OLD + column_stem(f)),
                exp.alias_(profile.hash(_text(change.new, feature, aliases, upstream, profile)), _NEW + column_stem(f)),
                exp.alias_(_stored(layout.provenance_column(old_field), "string", stored_columns, profile), _STORED + column_stem(f)),
                exp.alias_(_version(old_field, stored_columns, profile), _KEPT + column_stem(f)),
            ]
        for name in (layout.provenance_column(f), layout.data_version_column(f)):
            items.append(exp.alias_(_stored(name, "string", stored_columns, profile), name))
    x = inner.select(*items, copy=False)

    matches = {f: _matches(f) for f in migrated}
    columns: list[Expr] = [col(name, M) for name in (*feature.id_names, *feature.declared_names)]
    provenance: list[Expr] = []
    versions: list[Expr] = []
    for f in feature.fields:
        prov, version = col(layout.provenance_column(f), M), col(layout.data_version_column(f), M)
        if f in matches:
            prov = exp.case().when(matches[f].copy(), col(_NEW + column_stem(f), M), copy=False).else_(prov, copy=False)
            version = exp.case().when(matches[f].copy(), col(_KEPT + column_stem(f), M), copy=False).else_(version, copy=False)
        columns += [exp.alias_(prov, layout.provenance_column(f)), exp.alias_(version, layout.data_version_column(f))]
        provenance.append(exp.Coalesce(this=prov.copy(), expressions=[lit("")]))
        versions.append(exp.Coalesce(this=version.copy(), expressions=[prov.copy(), lit("")]))
    stamp = profile.timestamp_literal(written_at)
    wid = write_id_literal(write_id, profile) if write_id is not None else exp.cast(exp.Null(), profile.column_type("integer"))
    columns += [
        exp.alias_(sample_hash(profile, provenance), layout.PROVENANCE),
        exp.alias_(sample_hash(profile, versions), layout.DATA_VERSION),
        exp.alias_(lit(feature.feature_version), layout.FEATURE_VERSION),
        exp.alias_(lit(feature.project_version), layout.PROJECT_VERSION),
        exp.alias_(stamp, layout.WRITTEN_AT),
        exp.alias_(wid, layout.WRITE_ID),
    ]
    columns += [exp.alias_(match.copy(), reconciled_flag(f)) for f, match in matches.items()]
    any_match = exp.or_(*(m.copy() for m in matches.values())) if matches else exp.false()
    columns.append(exp.alias_(any_match, RECONCILED))
    return profile.finalize(exp.select(*columns).from_(x.subquery(M)))


def counts_query(rows: exp.Select, fields: Collection[str]) -> exp.Select:
    """(reconciled, stored) per migrated field, then the rows to append: one row over `rows`."""
    counts: list[Expr] = []
    for f in fields:
        flag = col(reconciled_flag(f))
        counts.append(exp.alias_(exp.Sum(this=exp.case().when(flag, exp.Literal.number(1)).else_(exp.Literal.number(0))), f"r_{len(counts)}"))
    counts.append(exp.alias_(exp.Count(this=exp.Star()), "stored"))
    counts.append(exp.alias_(exp.Sum(this=exp.case().when(col(RECONCILED), exp.Literal.number(1)).else_(exp.Literal.number(0))), "rows"))
    return exp.select(*counts).from_(rows.subquery("r"))


def _matches(field: str) -> Expr:
    """The stored provenance equals the old definition's (never NULL: a NULL stored value, a
    field never computed, does not match)."""
    equal = exp.EQ(this=col(_STORED + column_stem(field), M), expression=col(_OLD + column_stem(field), M))
    return exp.Coalesce(this=equal, expressions=[exp.false()])


def _joined(
    feature: ResolvedFeature, stored: Relation, stored_columns: Collection[str], upstream: Upstream
) -> tuple[exp.Select, dict[str, str]]:
    """FROM the stored rows s LEFT JOIN the current rows of every upstream feature a migrated
    field reads (a missing upstream row reads as '', as a missing optional one does)."""
    select = exp.select().from_(relation(stored, S))
    aliases: dict[str, str] = {}
    for key in sorted(upstream.relations):
        alias = f"u{len(aliases)}"
        aliases[key] = alias
        on = ids_equal(feature.id_names, S, alias)
        select = select.join(join(relation(upstream.relations[key], alias), on, "LEFT"), copy=False)
    return select, aliases


def _text(
    definition: FieldDefinition, feature: ResolvedFeature, aliases: Mapping[str, str], upstream: Upstream,
    profile: DialectProfile,
) -> Expr:  # fmt: skip
    if definition.source is not None:
        return root_text(definition.prefix, definition.source, profile, S)
    parents: list[tuple[str, Expr]] = []
    for name in definition.parents or ():
        key, field = upstream.locate(name)
        available = upstream.columns.get(key, ())
        if key in aliases and layout.provenance_column(field) in available:
            parents.append((name, data_version(field, aliases[key])))
        else:
            parents.append((name, lit("")))  # as the increment reads a field its upstream lacks
    return parents_text(definition.prefix, parents)


def _stored(name: str, portable_type: str, available: Collection[str], profile: DialectProfile) -> Expr:
    """A stored column, or a typed NULL where the stored rows lack it (a field added since)."""
    if name in available:
        return col(name, S)
    return exp.cast(exp.Null(), profile.column_type(portable_type))


def _version(field: str, available: Collection[str], profile: DialectProfile) -> Expr:
    """The stored data version of a field, written out (its column, else its provenance)."""
    if layout.provenance_column(field) not in available:
        return exp.cast(exp.Null(), profile.column_type("string"))
    version = data_version(field, S)
    if layout.data_version_column(field) not in available:
        version = col(layout.provenance_column(field), S)
    return version
