"""A feature resolved once: every fact the versioning SQL and the stores read about it.

`resolve(project)` walks the graph in topological order and builds one immutable
`ResolvedFeature` per feature: its upstream features (resolved themselves) with their
optionality, typed id and declared columns, fields in canonical order with their resolved parent
fields, the canonical strings its hashes start from, its table layout, its static versions and the
`definition` digest that the fast path compares. Query builders and the engine take this object
and never look a key up in the project again; the whole-graph plan reads all of them in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from metaxy_cli.definitions.keys import fq_field
from metaxy_cli.definitions.model import AGGREGATION, EXPANSION, Lineage
from metaxy_cli.definitions.versions import digest, field_prefix_text
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    from collections.abc import Mapping

    from metaxy_cli.definitions.model import FeatureSpec
    from metaxy_cli.definitions.project import Project

Columns = tuple[tuple[str, str], ...]  # (column name, portable type)
FieldRef = tuple[str, str]  # (feature key, field key)
# Bump when the canonical strings (provenance.py's module doc) change: stored rows then get
# re-hashed once, since no stored write has the new definition.
SCHEME = 1


@dataclass(frozen=True)
class Upstream:
    """One dep of a feature: the upstream feature, resolved, and whether it is optional."""

    feature: ResolvedFeature
    optional: bool
    # Aggregation lineage: this dep's ids extend the group's, so its rows (the members) are grouped
    # by the feature's ids and their data versions concatenated in id order (provenance.py).
    aggregated: bool = False

    @property
    def key(self) -> str:
        return self.feature.key


@dataclass(frozen=True, eq=False)
class ResolvedFeature:
    """Everything the SQL of one feature depends on; built by `resolve`, never changed."""

    spec: FeatureSpec
    upstream: tuple[Upstream, ...]  # in declaration order
    id_columns: Columns
    declared_columns: Columns  # non-id declared columns, in declaration order
    fields: tuple[str, ...]  # canonical order (sorted by key): every per-sample hash uses it
    field_parents: Mapping[str, tuple[FieldRef, ...]]  # sorted by fq name
    field_prefixes: Mapping[str, str]  # C_f, the canonical start of each field's hash
    root_sources: Mapping[str, Columns]  # root features: the columns each field hashes
    data_version_overrides: Mapping[str, tuple[str, str] | None]  # field -> (column, type)
    feature_version: str
    project_version: str
    definition: str
    lineage: Lineage = Lineage()

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def is_root(self) -> bool:
        return not self.upstream

    @property
    def is_expansion(self) -> bool:
        return self.lineage.kind == EXPANSION

    @property
    def is_aggregation(self) -> bool:
        return self.lineage.kind == AGGREGATION

    @property
    def unit_columns(self) -> Columns:
        """The grain of the increment: the parent ids (`on`) of an expansion, where the unit of
        work is the parent; the id columns otherwise."""
        if self.is_expansion:
            return tuple((name, kind) for name, kind in self.id_columns if name in self.lineage.on)
        return self.id_columns

    @property
    def unit_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.unit_columns)

    @property
    def id_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.id_columns)

    @property
    def declared_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.declared_columns)

    @property
    def column_types(self) -> dict[str, str]:
        """Portable type of every id and declared column."""
        return dict(self.id_columns + self.declared_columns)

    @property
    def table(self) -> str:
        return layout.current_table(self.key)

    @property
    def history_table(self) -> str:
        return layout.history_table(self.key)

    @property
    def log_table(self) -> str:
        return layout.log_table(self.key)

    @property
    def id_index(self) -> str:
        return layout.id_index(self.key)

    @cached_property
    def table_columns(self) -> layout.Columns:
        return layout.table_columns(self.spec)

    @cached_property
    def history_columns(self) -> layout.Columns:
        return layout.table_columns(self.spec, history=True)

    @property
    def required(self) -> tuple[Upstream, ...]:
        return tuple(dep for dep in self.upstream if not dep.optional)

    @property
    def optional(self) -> tuple[Upstream, ...]:
        return tuple(dep for dep in self.upstream if dep.optional)

    def fq(self, field: str) -> str:
        return fq_field(self.key, field)


def field_prefix(spec: FeatureSpec, field_key: str) -> str:
    """C_f: canonical JSON of [fq field name, code_version], the start of every field hash."""
    return field_prefix_text(spec.fq(field_key), spec.field(field_key).code_version)


def root_sources(spec: FeatureSpec, field_key: str) -> Columns:
    """(column, portable type) hashed into a root field, sorted by name.

    Without `source`: every declared non-id column except data-version override columns (those are
    outputs the pipeline writes, not inputs).
    """
    types = dict(layout.id_columns(spec) + layout.declared_columns(spec))
    declared = spec.field(field_key).source
    if declared is None:
        overrides = {f.data_version for f in spec.fields if f.data_version}
        declared = tuple(n for n, _ in layout.declared_columns(spec) if n not in overrides)
    return tuple((name, types.get(name, "string")) for name in sorted(declared))


def _definition(
    key: str, fields: tuple[str, ...], prefixes: Mapping[str, str], inputs: Mapping[str, list], lineage: Lineage
) -> str:
    """A digest of everything a sample's provenance depends on besides its inputs' values: the
    hashing scheme, and per field its canonical prefix (fq name, code_version) with the parent
    fields it reads (non-root) or the source columns and their types (root).

    Two writes with the same definition hash the same inputs to the same provenance, so a stored
    row whose write had the current definition, and whose inputs did not change since, is up to
    date without hashing (compare.py). The feature version is not enough for roots: it leaves out
    `source` and column types.
    """
    payload = [[prefixes[f], inputs[f]] for f in fields]
    extra = {} if lineage.is_identity else {"lineage": [lineage.kind, sorted(lineage.on)]}  # identity: as before
    return digest("provenance", {"scheme": SCHEME, "feature": key, "fields": payload, **extra})


def _resolve_one(project: Project, spec: FeatureSpec, done: Mapping[str, ResolvedFeature]) -> ResolvedFeature:
    fields = tuple(layout.field_keys(spec))
    parents = {
        f: tuple(sorted(project.graph.field_parents[(spec.key, f)], key=lambda ref: fq_field(*ref)))
        for f in fields
    }
    prefixes = {f: field_prefix(spec, f) for f in fields}
    sources = {f: root_sources(spec, f) for f in fields} if spec.is_root else {}
    if spec.is_root:
        inputs = {f: [list(item) for item in sources[f]] for f in fields}
    else:
        inputs = {f: sorted(fq_field(*ref) for ref in parents[f]) for f in fields}
    types = dict(layout.id_columns(spec) + layout.declared_columns(spec))
    overrides = {}
    for f in fields:
        column = spec.field(f).data_version
        overrides[f] = (column, types.get(column, "string")) if column else None
    return ResolvedFeature(
        spec=spec,
        upstream=tuple(_upstream(spec, done[dep.feature], dep.optional) for dep in spec.deps),
        id_columns=tuple(layout.id_columns(spec)),
        declared_columns=tuple(layout.declared_columns(spec)),
        fields=fields,
        field_parents=MappingProxyType(parents),
        field_prefixes=MappingProxyType(prefixes),
        root_sources=MappingProxyType(sources),
        data_version_overrides=MappingProxyType(overrides),
        feature_version=project.versions.feature[spec.key],
        project_version=project.versions.project,
        definition=_definition(spec.key, fields, prefixes, inputs, spec.lineage),
        lineage=spec.lineage,
    )


def _upstream(spec: FeatureSpec, upstream: ResolvedFeature, optional: bool) -> Upstream:
    """A dep, aggregated when the feature aggregates and the dep's ids extend the group's."""
    members = spec.lineage.kind == AGGREGATION and set(upstream.id_names) != set(spec.id_columns)
    return Upstream(upstream, optional, aggregated=members)


_RESOLVED: WeakKeyDictionary[Project, Mapping[str, ResolvedFeature]] = WeakKeyDictionary()


def resolve(project: Project) -> Mapping[str, ResolvedFeature]:
    """Every feature of `project`, resolved, in topological order (computed once per project)."""
    found = _RESOLVED.get(project)
    if found is None:
        done: dict[str, ResolvedFeature] = {}
        for key in project.graph.order:
            done[key] = _resolve_one(project, project.features[key], done)
        found = _RESOLVED[project] = MappingProxyType(done)
    return found
