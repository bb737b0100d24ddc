"""Expected per-sample provenance (spec section 3) as sqlglot trees, for any dialect profile.

Hashing scheme (every value is a lowercase-hex md5, computed in SQL):
  field provenance  = md5(C_f || '|' || fq(P) || '=' || dv(P) ...)   parents sorted by fq name;
                      C_f = canonical JSON of [fq(f), code_version], a literal made here;
                      dv(P) = the upstream's stored data version ('' when it has none: a missing
                      optional upstream row, or a field added upstream after the row was written)
  root provenance   = md5(C_f || '|' || c || '=' || enc(c) ...)       source columns sorted by name;
                      enc(c) = md5(canonical text of c) or '~' for NULL (see dialects.py)
  field data version = md5(text of the override column) if declared and non-empty, else provenance;
                      stored as NULL in the second case and read through data_version()
  sample provenance / data version = md5 of the per-field values joined with '|', fields by key.

Lineage (spec section 7): an expansion's expected provenance is computed at the parent grain
(its `on` ids), exactly as identity's, and every child of a parent has it. An aggregation reads
an aggregated dep (its members, ids extending the group's) through a relation grouped by the
group's ids where dv(P) is the members' data versions joined with ',' in the order of their full
ids (DialectProfile.ordered_concat): `C_f|fq(P)=dv1,dv2,...`. Identity features are unchanged.

Aliases: e = expected, s = stored (current table), u0.. = upstream current tables, src = a root
listing, b = a write batch, w = a staged batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from metaxy_cli.definitions.keys import fq_field
from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import DialectProfile
from metaxy_cli.sql.resolved import ResolvedFeature

Expr = exp.Expression
Relation = exp.Expression | str
E, S, SRC, B, W = "e", "s", "src", "b", "w"
STORED_PREFIX = "metaxy_stored__"
NULL_MARK = "~"


# ---- small expression helpers ------------------------------------------------------------------


def lit(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def relation(source: Relation, alias: str) -> Expr:
    """A table name or a query, aliased; queries become derived tables."""
    if isinstance(source, str):
        return exp.to_table(source).as_(alias)
    if isinstance(source, exp.Table):
        return source.copy().as_(alias)
    if isinstance(source, exp.Query):
        return source.subquery(alias)
    return exp.alias_(source.copy(), alias, table=True, copy=False)


def _concat(parts: Sequence[Expr | str]) -> Expr:
    """`a || b || ...` with adjacent literal strings folded into one literal."""
    merged: list[Expr | str] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    items = [lit(part) if isinstance(part, str) else part for part in merged]
    result = items[0]
    for item in items[1:]:
        result = exp.DPipe(this=result, expression=item)
    return result


def is_null(value: Expr) -> Expr:
    return exp.Is(this=value, expression=exp.Null())


def ids_equal(ids: Sequence[str], left: Sequence[Expr] | str, right: str) -> Expr:
    lefts = [col(name, left) for name in ids] if isinstance(left, str) else list(left)
    return exp.and_(
        *(exp.EQ(this=lhs.copy(), expression=col(name, right)) for lhs, name in zip(lefts, ids)),
        copy=False,
    )


def join(table: Expr, on: Expr, side: str | None = None) -> exp.Join:
    return exp.Join(this=table, on=on, side=side)


def full_join(table: Expr, on: Expr) -> exp.Join:
    # sqlglot rewrites FULL JOIN for engines without it (MySQL: LEFT JOIN UNION ALL anti-join).
    return join(table, on, "FULL")


def union_all(parts: Sequence[exp.Query]) -> exp.Query:
    """The parts' rows, in one call without copies: a union grown part by part copies what it
    has each time (quadratic: 1.5 s of building for a 50-feature plan)."""
    return parts[0] if len(parts) == 1 else exp.union(*parts, distinct=False, copy=False)


# ---- hashes --------------------------------------------------------------------------------


def sample_hash(profile: DialectProfile, values: Sequence[Expr]) -> Expr:
    """md5 of per-field values joined with '|' (values given in field-key order)."""
    parts: list[Expr | str] = []
    for index, value in enumerate(values):
        parts += (["|"] if index else []) + [value.copy()]
    return profile.hash(_concat(parts))


# ---- expected per-field provenance --------------------------------------------------------------


def _root_text(feature: ResolvedFeature, field_key: str, profile: DialectProfile, alias: str) -> Expr:
    """The canonical string a root field's provenance hashes."""
    return root_text(feature.field_prefixes[field_key], feature.root_sources[field_key], profile, alias)


def root_text(prefix: str, sources: Sequence[tuple[str, str]], profile: DialectProfile, alias: str) -> Expr:
    """C_f, then `|c=enc(c)` per source column (sorted by name) of the row aliased `alias`."""
    parts: list[Expr | str] = [prefix]
    for name, portable_type in sources:
        value = col(name, alias)
        digest = profile.hash(profile.value_text(value, portable_type))
        encoded = (
            exp.case()
            .when(is_null(value.copy()), lit(NULL_MARK), copy=False)
            .else_(digest, copy=False)
        )
        parts += [f"|{name}=", encoded]
    return _concat(parts)


def data_version(field: str, alias: str) -> Expr:
    """A stored field's data version: its data-version column, or its provenance where that is
    NULL (no override declared, or the override column was empty when written), or '' where
    the row has neither (a missing optional upstream row, or a field added upstream after the
    row was written: the downstream field is then recomputed once the upstream one is)."""
    stored = col(layout.data_version_column(field), alias)
    return exp.Coalesce(
        this=stored, expressions=[col(layout.provenance_column(field), alias), lit("")]
    )


def _field_text(
    feature: ResolvedFeature, field_key: str, aliases: dict[str, tuple[str, bool]], aggregated: frozenset[str] = frozenset()
) -> Expr:
    """The canonical string a non-root field's provenance hashes; an `aggregated` dep's relation
    holds each parent's concatenated member data versions under the data-version column."""
    parents = []
    for upstream, parent in feature.field_parents[field_key]:
        alias, _ = aliases[upstream]
        value = col(layout.data_version_column(parent), alias) if upstream in aggregated else data_version(parent, alias)
        parents.append((fq_field(upstream, parent), value))
    return parents_text(feature.field_prefixes[field_key], parents)


def parents_text(prefix: str, parents: Sequence[tuple[str, Expr]]) -> Expr:
    """C_f, then `|fq(P)=dv(P)` per parent field (given sorted by fq name)."""
    parts: list[Expr | str] = [prefix]
    for name, version in parents:
        parts += [f"|{name}=", version]
    return _concat(parts)


M = "m"  # an aggregated dep's member rows


def aggregated_members(feature: ResolvedFeature, dep_key: str, source: Relation, profile: DialectProfile) -> exp.Select:
    """An aggregated dep's rows grouped by the feature's ids: per parent field P the feature reads,
    the members' data versions joined with ',' in the order of the members' full ids, as
    `metaxy_data_version__P` (so adding, removing or changing a member changes its group's text
    and nothing else; the order of rows in a write never matters)."""
    dep = next(d for d in feature.upstream if d.key == dep_key)
    parents = sorted({parent for f in feature.fields for up, parent in feature.field_parents[f] if up == dep_key})
    keys = [(col(name, M), kind) for name, kind in dep.feature.id_columns]
    items: list[Expr] = [exp.alias_(col(name, M), name, copy=False) for name in feature.id_names]
    items += [
        exp.alias_(profile.ordered_concat(data_version(parent, M), [(k.copy(), kind) for k, kind in keys]), layout.data_version_column(parent), copy=False)
        for parent in parents
    ]  # fmt: skip
    select = exp.select(*items).from_(relation(source, M), copy=False)
    return select.group_by(*(col(name, M) for name in feature.id_names), copy=False)


def _upstream_select(
    feature: ResolvedFeature, profile: DialectProfile, upstream: Mapping[str, Relation] | None = None
) -> tuple[exp.Select, list[Expr], dict]:
    """FROM the upstream current tables: inner join of required deps, left join of optional ones.

    Returns the select (no projections yet), the id expressions and {feature: (alias, optional)}.
    Deps are joined on the feature's unit ids (an expansion's parent ids); an aggregated dep is
    read through `aggregated_members`.
    With only optional deps, the expected ids are the union of theirs (full joins). `upstream`
    replaces an upstream's current table by another relation of the same columns (the plan's
    predicted rows).
    """
    upstream = upstream or {}
    ids = list(feature.unit_names)
    deps = sorted(feature.upstream, key=lambda d: d.optional)  # required first, stable otherwise
    aliases = {dep.key: (f"u{index}", dep.optional) for index, dep in enumerate(deps)}

    def source(dep) -> Relation:
        rows = upstream.get(dep.key, dep.feature.table)
        return aggregated_members(feature, dep.key, rows, profile) if dep.aggregated else rows

    first_alias = aliases[deps[0].key][0]
    select = exp.select().from_(relation(source(deps[0]), first_alias), copy=False)
    id_exprs: list[Expr] = [col(name, first_alias) for name in ids]
    only_optional = deps[0].optional
    for dep in deps[1:]:
        alias = aliases[dep.key][0]
        table = relation(source(dep), alias)
        side = "FULL" if only_optional else ("LEFT" if dep.optional else None)
        select = select.join(join(table, ids_equal(ids, id_exprs, alias), side), copy=False)
        if only_optional:
            id_exprs = [
                exp.Coalesce(this=prev, expressions=[col(name, alias)])
                for prev, name in zip(id_exprs, ids)
            ]
    return select, id_exprs, aliases


@dataclass(frozen=True)
class Inputs:
    """Where a feature's expected provenance comes from: the FROM clause (upstream current tables
    joined, or a root's rows aliased `src`), the expected id expressions over it, the per-field
    provenance expressions, and the aliases of the upstream tables (empty for a root)."""

    select: exp.Select
    ids: list[Expr]
    texts: dict[str, Expr]  # per field, the canonical string its provenance hashes
    upstream: list[str]
    profile: DialectProfile

    def provenance(self, field: str) -> Expr:
        return self.profile.hash(self.texts[field].copy())


def provenance_inputs(
    feature: ResolvedFeature, profile: DialectProfile, *, root_source: Relation | None = None,
    upstream: Mapping[str, Relation] | None = None,
) -> Inputs:
    """The FROM clause and expressions every expected-provenance query is built from."""
    fields = feature.fields
    if feature.is_root:
        source = root_source if root_source is not None else feature.table
        select = exp.select().from_(relation(source, SRC), copy=False)
        ids: list[Expr] = [col(name, SRC) for name in feature.id_names]
        texts = {f: _root_text(feature, f, profile, SRC) for f in fields}
        return Inputs(select, ids, texts, [], profile)
    select, ids, aliases = _upstream_select(feature, profile, upstream)
    aggregated = frozenset(dep.key for dep in feature.upstream if dep.aggregated)
    texts = {f: _field_text(feature, f, aliases, aggregated) for f in fields}
    return Inputs(select, ids, texts, [alias for alias, _ in aliases.values()], profile)


def expected_fields(
    feature: ResolvedFeature, profile: DialectProfile, *, root_source: Relation | None = None,
    upstream: Mapping[str, Relation] | None = None,
) -> exp.Select:
    """ids + expected `metaxy_provenance__<f>` per field (no sample hash): the increment's input.
    `upstream` replaces upstream current tables (provenance_inputs)."""
    inputs = provenance_inputs(feature, profile, root_source=root_source, upstream=upstream)
    projections = [exp.alias_(e, name, copy=False) for e, name in zip(inputs.ids, feature.unit_names)]
    projections += [
        exp.alias_(inputs.provenance(f), layout.provenance_column(f), copy=False)
        for f in feature.fields
    ]
    return inputs.select.select(*projections, copy=False)


def expected_query(
    feature: ResolvedFeature, profile: DialectProfile, *, root_source: Relation | None = None
) -> exp.Select:
    """One row per expected sample: ids, `metaxy_provenance__<f>` per field, `metaxy_provenance`."""
    inner = expected_fields(feature, profile, root_source=root_source)
    provenance = [col(layout.provenance_column(f), E) for f in feature.fields]
    select = exp.select(*(col(name, E) for name in feature.unit_names))
    select = select.select(
        *provenance,
        exp.alias_(sample_hash(profile, provenance), layout.PROVENANCE, copy=False),
        copy=False,
    )
    return profile.finalize(select.from_(inner.subquery(E, copy=False)))
