"""The versioning queries a store runs: increment, summary and write (spec sections 3-5).

Every builder returns a sqlglot tree finished for the profile's dialect; `emit.to_sql` turns it
into text. Increment and summary read compare.joined (expected inputs FULL JOIN stored rows, with
the fast path that skips hashing rows known to be up to date); the increment hashes the sample
provenance only for the rows it returns. A root feature without a listing re-hashes its own
stored rows (no join): a root code_version bump shows every sample stale on that field.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from metaxy_cli.sql import layout
from metaxy_cli.sql.compare import joined, restricted, row_locator
from metaxy_cli.sql.dialects import DialectProfile
from metaxy_cli.sql.provenance import (
    SRC,
    E,
    S,
    Expr,
    Relation,
    col,
    data_version,
    expected_fields,
    expected_query,
    ids_equal,
    is_null,
    join,
    lit,
    relation,
    sample_hash,
)
from metaxy_cli.sql.resolved import ResolvedFeature
from metaxy_cli.sql.writes import write_id_literal

__all__ = ["expected_fields", "expected_query", "increment_query", "summary_query", "write_query"]
B, W = "b", "w"


def increment_query(
    feature: ResolvedFeature, profile: DialectProfile, *, root_source: Relation | None = None,
    only: exp.Query | None = None, fast_path: bool = True,
) -> exp.Select:
    """The samples to act on, one row each.

    Columns: the id columns; `metaxy_status` ('new' | 'stale' | 'orphaned'); per field the
    expected `metaxy_provenance__<f>`; `metaxy_provenance` (expected sample provenance); per
    field `metaxy_stale__<f>` (TRUE: compute this field; all TRUE for new rows). Orphaned rows
    have NULL expectations and flags. Up-to-date samples are left out.

    An expansion's rows are its parents (ids: the `on` columns): every child of a listed parent
    is to be (re)computed, and written back together (writes.py replaces the parent's children).

    `only` (a query of ids) restricts the comparison to those samples (compare.joined);
    `fast_path=False` hashes every row (compare.fast_path_bounds: the same rows when no stored row
    can pass the fast check).
    """
    select, compare = joined(feature, profile, root_source, only=only, fast_path=fast_path)
    fields = compare.fields
    select = select.select(
        *(exp.alias_(compare.id_column(name), name, copy=False) for name in feature.unit_names),
        exp.alias_(compare.status(), layout.STATUS, copy=False),
        *(exp.alias_(compare.expected(f), layout.provenance_column(f), copy=False) for f in fields),
        exp.alias_(
            sample_hash(profile, [compare.expected(f) for f in fields]),
            layout.PROVENANCE,
            copy=False,
        ),
        *(exp.alias_(compare.stale_flag(f), layout.stale_column(f), copy=False) for f in fields),
        copy=False,
    )
    pending = compare.pending()
    if compare.fast is not None:
        # One CASE, so no engine evaluates the hashes (in `pending`) before the fast flag: the
        # projections above read the hashes of the remaining rows only.
        pending = exp.case().when(compare.fast, exp.false(), copy=False).else_(pending, copy=False)
    return profile.finalize(select.where(pending, copy=False))


def summary_query(
    feature: ResolvedFeature, profile: DialectProfile, *, root_source: Relation | None = None,
    only: exp.Query | None = None, fast_path: bool = True,
) -> exp.Select:
    """One row: `new`, `stale`, `orphaned`, `up_to_date` counts, then `metaxy_stale__<f>` counts.

    Rows are first grouped by their flags (new, orphaned, fast, per-field differs): every hash is
    then evaluated once per row, in a group key, instead of once per count that reads it.
    """
    select, compare = joined(feature, profile, root_source, only=only, fast_path=fast_path)
    flags = {
        "new": None if compare.self_join else compare.new(),
        "orphaned": None if compare.self_join else compare.orphaned(),
        "fast": compare.fast,
    }
    flags |= {f"differs_{i}": compare.differs(f) for i, f in enumerate(compare.fields)}
    keys = {name: value for name, value in flags.items() if value is not None}
    counted = [exp.alias_(exp.Count(this=exp.Star()), "n", copy=False)]
    if feature.is_expansion:  # orphans are children (stored rows to delete), the rest parents
        counted.append(exp.alias_(exp.Sum(this=compare.children()), "n_children", copy=False))
    grouped = select.select(
        *(exp.alias_(value, name) for name, value in keys.items()),
        *counted,
        copy=False,
    ).group_by(*(value.copy() for value in keys.values()), copy=False)
    g = {name: col(name, "g") if name in keys else exp.false() for name in flags}
    differs = [g[f"differs_{i}"] for i in range(len(compare.fields))]
    unmatched = exp.or_(g["new"], g["orphaned"], g["fast"])
    counts = {
        layout.NEW: _sum_when(g["new"]),
        layout.STALE: _sum_when(exp.or_(*differs), unless=unmatched),
        layout.ORPHANED: _sum_when(g["orphaned"], count="n_children" if feature.is_expansion else "n"),
        layout.UP_TO_DATE: _sum_when(
            exp.or_(g["fast"], exp.not_(exp.or_(*differs))),
            unless=exp.or_(g["new"], g["orphaned"]),
        ),
    }
    for f, flag in zip(compare.fields, differs):
        counts[layout.stale_column(f)] = _sum_when(flag, unless=unmatched)
    final = exp.select(*(exp.alias_(value, name, copy=False) for name, value in counts.items()))
    return profile.finalize(final.from_(grouped.subquery("g", copy=False), copy=False))


def _sum_when(condition: Expr, *, unless: Expr | None = None, count: str = "n") -> Expr:
    """The rows of the groups where `condition` holds (and `unless` does not); 0 when none."""
    case = exp.case()
    if unless is not None:
        case = case.when(unless.copy(), exp.Literal.number(0), copy=False)
    case = case.when(condition.copy(), col(count, "g"), copy=False).else_(exp.Literal.number(0))
    total = exp.Sum(this=case)
    return exp.Coalesce(this=total, expressions=[exp.Literal.number(0)])


# ---- write ---------------------------------------------------------------------------------------


def _staged(
    feature: ResolvedFeature, profile: DialectProfile, batch: Relation, carry: str | None = None,
    trusted: bool = False, narrow: bool = False,
) -> exp.Select:  # fmt: skip
    """The batch's ids and declared columns with the provenance metaxy computes for each field
    (and the batch column `carry` as layout.CARRIED).

    Non-root: the batch LEFT JOIN the expected rows, so a batch id without upstream rows gets NULL
    provenance (the store reports those samples instead of writing them). `trusted`: the batch's
    own per-field provenance columns instead of the expected ones (engine/carried.py); only the
    expected ids are read, so the engine hashes no field. `narrow` (identity features): the
    upstream tables are read at the batch's ids alone (compare.restricted), for a batch that is a
    small part of the feature: the LEFT JOIN keeps no other expected row anyway.
    """
    declared = feature.declared_names
    if feature.is_root:
        expected = expected_fields(feature, profile, root_source=batch)
        return expected.select(*(col(name, SRC) for name in declared), copy=False)
    upstream = None
    if narrow:
        ids = exp.select(*(col(name, B) for name in feature.unit_names)).from_(relation(batch, B))
        locator = row_locator(feature, profile)
        upstream = {dep.key: restricted(dep.feature.table, feature, ids, locator) for dep in feature.upstream}
    expected = expected_fields(feature, profile, upstream=upstream)
    if trusted:  # the ids alone: no engine hashes a field it will not read
        expected = exp.select(*(col(name, E) for name in feature.unit_names)).from_(expected.subquery(E, copy=False))
    on = ids_equal(feature.unit_names, B, E)  # an expansion's children join their parent

    def from_batch(name: str) -> Expr:
        matched = exp.Not(this=is_null(col(feature.unit_names[0], E)))
        value = exp.case().when(matched, col(name, B), copy=False).else_(exp.Null(), copy=False)
        return exp.alias_(value, name, copy=False)

    provenance = [layout.provenance_column(f) for f in feature.fields]
    select = exp.select(
        *(col(name, B) for name in (*feature.id_names, *declared)),
        # Named: the batch may carry columns of these names too (an engine may then name the
        # joined side's `e.<name>`).
        *(from_batch(name) if trusted else exp.alias_(col(name, E), name, copy=False) for name in provenance),
    )
    if carry is not None:
        select = select.select(exp.alias_(col(carry, B), layout.CARRIED, copy=False), copy=False)
    return select.from_(relation(batch, B), copy=False).join(
        join(expected.subquery(E, copy=False), on, "LEFT")
    )


def _data_version(feature: ResolvedFeature, field: str, profile: DialectProfile) -> Expr:
    """The override column's hash when declared and non-empty, else NULL: a stored NULL data
    version means "the provenance" (provenance.data_version), so rows without overrides store half
    the hash columns."""
    override = feature.data_version_overrides[field]
    if override is None:
        return exp.cast(exp.Null(), profile.column_type("string"))
    name, portable_type = override
    value = col(name, W)
    text = profile.value_text(value, portable_type)
    empty = is_null(value.copy())
    if portable_type in ("string", "json"):
        empty = exp.or_(empty, exp.EQ(this=text.copy(), expression=lit("")), copy=False)
    return exp.case().when(empty, exp.Null(), copy=False).else_(profile.hash(text), copy=False)


def _sample_data_version(feature: ResolvedFeature, profile: DialectProfile) -> Expr:
    """NULL ("the sample provenance") unless a field declares an override; then the md5 of the
    per-field data versions, each read as provenance.data_version."""
    if not any(feature.data_version_overrides.values()):
        return exp.cast(exp.Null(), profile.column_type("string"))
    return sample_hash(profile, [data_version(f, W) for f in feature.fields])


def _kept_version(field: str, version: Expr) -> Expr:
    """A field whose provenance is unchanged keeps its stored data version: it was not
    recomputed. Only a migration stores a data version other than the provenance without an
    override (reconcile.py), so this is read only for features with migrated rows."""
    same = exp.EQ(this=col(layout.provenance_column(field), S), expression=col(layout.provenance_column(field), W))
    kept = exp.case().when(same, col(layout.data_version_column(field), S), copy=False)
    return exp.Coalesce(this=version, expressions=[kept])


def write_query(
    feature: ResolvedFeature, profile: DialectProfile, batch: Relation, *,
    written_at: datetime, write_id: int, carry: str | None = None, stored: Relation | None = None,
    trusted: bool = False, narrow: bool = False,
) -> exp.Select:  # fmt: skip
    """The full rows to append for a batch: exactly `layout.table_columns(spec)` in that order,
    then, with `carry` (non-root only), that batch column as layout.CARRIED.

    `batch` has the id columns and every declared column (NULL where the user gave none).
    Provenance and data versions are computed here (except with `trusted`, below). A NULL
    `metaxy_provenance` marks a batch sample whose upstream rows are missing. `write_id` comes
    from `writes.next_write_id`, allocated in the same transaction (see the module doc). With
    `stored` (the current rows of a feature a migration reconciled), unchanged fields keep their
    stored data versions. `trusted` (non-root, without `carry` or `stored`): the per-field
    provenance is the batch's, an increment's still current (engine/carried.py decides), not
    computed again; the sample provenance is hashed from it as always. `narrow`: the upstream
    rows are read at the batch's ids alone (`_staged`).
    """
    fields = feature.fields
    ids, declared = feature.id_names, feature.declared_names
    staged = _staged(feature, profile, batch, carry, trusted, narrow)
    carried = [col(layout.CARRIED, W)] if carry is not None else []
    versions = []
    for f in fields:
        version = _data_version(feature, f, profile)
        if stored is not None:
            version = _kept_version(f, version)
        versions.append(exp.alias_(version, layout.data_version_column(f), copy=False))
    keep = [col(name, W) for name in (*ids, *declared)]
    keep += [col(layout.provenance_column(f), W) for f in fields]
    versioned = exp.select(*keep, *versions, *(c.copy() for c in carried)).from_(staged.subquery(W, copy=False))
    if stored is not None:
        versioned = versioned.join(join(relation(stored, S), ids_equal(ids, W, S), "LEFT"), copy=False)

    per_field = []
    for f in fields:
        per_field += [col(layout.provenance_column(f), W), col(layout.data_version_column(f), W)]
    stamp = profile.timestamp_literal(written_at)
    final = exp.select(
        *(col(name, W) for name in (*ids, *declared)),
        *per_field,
        exp.alias_(
            sample_hash(profile, [col(layout.provenance_column(f), W) for f in fields]),
            layout.PROVENANCE,
            copy=False,
        ),
        exp.alias_(_sample_data_version(feature, profile), layout.DATA_VERSION, copy=False),
        exp.alias_(lit(feature.feature_version), layout.FEATURE_VERSION, copy=False),
        exp.alias_(lit(feature.project_version), layout.PROJECT_VERSION, copy=False),
        exp.alias_(stamp, layout.WRITTEN_AT, copy=False),
        exp.alias_(write_id_literal(write_id, profile), layout.WRITE_ID, copy=False),
        *carried,
    )
    return profile.finalize(final.from_(versioned.subquery(W, copy=False)))
