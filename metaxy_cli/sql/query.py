"""The versioning queries a store runs: increment, summary and write (spec sections 3-5).

Every builder returns a sqlglot tree finished for the profile's dialect; `emit.to_sql` turns it
into text. The increment FULL JOINs the expected rows with the stored ones on the ids, compares
per-field provenance (cheaper than hashing every sample first) and hashes the sample provenance
only for the rows it returns. A root feature without a listing re-hashes its own stored rows
(no join): a root code_version bump shows every sample stale on that field.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from metaxy_cli.model import FeatureSpec, Project
from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import TIMESTAMP_FORMAT, DialectProfile
from metaxy_cli.sql.provenance import (
    SRC,
    STORED_PREFIX,
    E,
    Expr,
    Relation,
    col,
    column_types,
    expected_fields,
    expected_query,
    full_join,
    ids_equal,
    is_null,
    join,
    lit,
    relation,
    sample_hash,
)

__all__ = ["expected_fields", "expected_query", "increment_query", "summary_query", "write_query"]
S, B, W = "s", "b", "w"


class _Compare:
    """The expected (e) and stored (s) sides of one increment, and the predicates over them.

    `self_join`: a root feature without a listing; e holds the stored provenance too, so there
    are no new or orphaned rows and no join.
    """

    def __init__(self, spec: FeatureSpec, *, self_join: bool):
        self.spec = spec
        self.fields = layout.field_keys(spec)
        self.self_join = self_join

    def expected(self, field: str) -> Expr:
        return col(layout.provenance_column(field), E)

    def stored(self, field: str) -> Expr:
        if self.self_join:
            return col(STORED_PREFIX + layout.provenance_column(field), E)
        return col(layout.provenance_column(field), S)

    def differs(self, field: str) -> Expr:
        # Expected provenance is never NULL on a matched row; stored may be (a field added
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
        return is_null(col(self.spec.id_columns[0], S))

    def orphaned(self) -> Expr:
        return is_null(col(self.spec.id_columns[0], E))

    def unmatched(self) -> Expr:
        return exp.or_(self.new(), self.orphaned(), copy=False)

    def id_column(self, name: str) -> Expr:
        if self.self_join:
            return col(name, E)
        return exp.Coalesce(this=col(name, E), expressions=[col(name, S)])

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


def _compared(
    project: Project, spec: FeatureSpec, profile: DialectProfile, root_source: Relation | None
) -> tuple[exp.Select, _Compare]:
    """SELECT ... FROM expected e FULL JOIN stored s ON ids (or a root's stored rows alone)."""
    expected = expected_fields(project, spec.key, profile, root_source=root_source)
    if spec.is_root and root_source is None:
        stored = [
            exp.alias_(
                col(layout.provenance_column(f), SRC),
                STORED_PREFIX + layout.provenance_column(f),
                copy=False,
            )
            for f in layout.field_keys(spec)
        ]
        select = exp.select().from_(expected.select(*stored, copy=False).subquery(E, copy=False))
        return select, _Compare(spec, self_join=True)
    stored_table = relation(layout.current_table(spec.key), S)
    on = ids_equal(spec.id_columns, E, S)
    select = (
        exp.select()
        .from_(expected.subquery(E, copy=False))
        .join(full_join(stored_table, on), copy=False)
    )
    return select, _Compare(spec, self_join=False)


def increment_query(
    project: Project, key: str, profile: DialectProfile, *, root_source: Relation | None = None
) -> exp.Select:
    """The samples to act on, one row each.

    Columns: the id columns; `metaxy_status` ('new' | 'stale' | 'orphaned'); per field the
    expected `metaxy_provenance__<f>`; `metaxy_provenance` (expected sample provenance); per
    field `metaxy_stale__<f>` (TRUE: compute this field; all TRUE for new rows). Orphaned rows
    have NULL expectations and flags. Up-to-date samples are left out.
    """
    spec = project.feature(key)
    select, compare = _compared(project, spec, profile, root_source)
    fields = compare.fields
    select = select.select(
        *(exp.alias_(compare.id_column(name), name, copy=False) for name in spec.id_columns),
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
    return profile.finalize(select.where(compare.pending(), copy=False))


def _count_when(condition: Expr, *, unless: Expr | None = None) -> Expr:
    case = exp.case()
    if unless is not None:
        case = case.when(unless.copy(), exp.Null(), copy=False)
    return exp.Count(this=case.when(condition, exp.Literal.number(1), copy=False))


def summary_query(
    project: Project, key: str, profile: DialectProfile, *, root_source: Relation | None = None
) -> exp.Select:
    """One row: `new`, `stale`, `orphaned`, `up_to_date` counts, then `metaxy_stale__<f>` counts."""
    spec = project.feature(key)
    select, compare = _compared(project, spec, profile, root_source)
    unmatched = None if compare.self_join else compare.unmatched()
    zero = exp.Literal.number(0)
    counts = {
        layout.NEW: zero if compare.self_join else _count_when(compare.new()),
        layout.STALE: _count_when(compare.any_differs(), unless=unmatched),
        layout.ORPHANED: zero if compare.self_join else _count_when(compare.orphaned()),
        layout.UP_TO_DATE: _count_when(
            exp.not_(compare.any_differs(), copy=False), unless=unmatched
        ),
    }
    for f in compare.fields:
        counts[layout.stale_column(f)] = _count_when(compare.differs(f), unless=unmatched)
    select = select.select(
        *(exp.alias_(value, name, copy=False) for name, value in counts.items()), copy=False
    )
    return profile.finalize(select)


# ---- write ---------------------------------------------------------------------------------------


def _staged(
    project: Project, spec: FeatureSpec, profile: DialectProfile, batch: Relation
) -> exp.Select:
    """The batch's ids and declared columns with the provenance metaxy computes for each field.

    Non-root: the batch LEFT JOIN the expected rows, so a batch id without upstream rows gets NULL
    provenance (the store reports those samples instead of writing them).
    """
    declared = [name for name, _ in layout.declared_columns(spec)]
    fields = layout.field_keys(spec)
    if spec.is_root:
        expected = expected_fields(project, spec.key, profile, root_source=batch)
        return expected.select(*(col(name, SRC) for name in declared), copy=False)
    expected = expected_fields(project, spec.key, profile)
    on = ids_equal(spec.id_columns, B, E)
    select = exp.select(
        *(col(name, B) for name in (*spec.id_columns, *declared)),
        *(col(layout.provenance_column(f), E) for f in fields),
    )
    return select.from_(relation(batch, B), copy=False).join(
        join(expected.subquery(E, copy=False), on, "LEFT")
    )


def _data_version(spec: FeatureSpec, field: str, profile: DialectProfile) -> Expr:
    """The override column's hash when declared and non-empty, else the field's provenance."""
    provenance = col(layout.provenance_column(field), W)
    override = spec.field(field).data_version
    if not override:
        return provenance
    portable_type = column_types(spec).get(override, "string")
    value = col(override, W)
    text = profile.value_text(value, portable_type)
    empty = is_null(value.copy())
    if portable_type in ("string", "json"):
        empty = exp.or_(empty, exp.EQ(this=text.copy(), expression=lit("")), copy=False)
    return exp.case().when(empty, provenance, copy=False).else_(profile.hash(text), copy=False)


def write_query(
    project: Project, key: str, profile: DialectProfile, batch: Relation, *, written_at: datetime
) -> exp.Select:
    """The full rows to append for a batch: exactly `layout.table_columns(spec)` in that order.

    `batch` has the id columns and every declared column (NULL where the user gave none).
    Provenance and data versions are computed here, never taken from the batch. A NULL
    `metaxy_provenance` marks a batch sample whose upstream rows are missing.
    """
    spec = project.feature(key)
    fields = layout.field_keys(spec)
    declared = [name for name, _ in layout.declared_columns(spec)]
    staged = _staged(project, spec, profile, batch)
    versions = [
        exp.alias_(_data_version(spec, f, profile), layout.data_version_column(f), copy=False)
        for f in fields
    ]
    keep = [col(name, W) for name in (*spec.id_columns, *declared)]
    keep += [col(layout.provenance_column(f), W) for f in fields]
    versioned = exp.select(*keep, *versions).from_(staged.subquery(W, copy=False))

    per_field = []
    for f in fields:
        per_field += [col(layout.provenance_column(f), W), col(layout.data_version_column(f), W)]
    stamp = exp.cast(lit(written_at.strftime(TIMESTAMP_FORMAT)), profile.column_type("timestamp"))
    final = exp.select(
        *(col(name, W) for name in (*spec.id_columns, *declared)),
        *per_field,
        exp.alias_(
            sample_hash(profile, [col(layout.provenance_column(f), W) for f in fields]),
            layout.PROVENANCE,
            copy=False,
        ),
        exp.alias_(
            sample_hash(profile, [col(layout.data_version_column(f), W) for f in fields]),
            layout.DATA_VERSION,
            copy=False,
        ),
        exp.alias_(lit(project.versions.feature[key]), layout.FEATURE_VERSION, copy=False),
        exp.alias_(lit(project.versions.project), layout.PROJECT_VERSION, copy=False),
        exp.alias_(stamp, layout.WRITTEN_AT, copy=False),
    )
    return profile.finalize(final.from_(versioned.subquery(W, copy=False)))
