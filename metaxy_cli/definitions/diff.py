"""What changed between two loaded projects, feature by feature and field by field. Pure.

Statuses follow the versions, so they can never disagree with them:

- a field is `changed` when its own definition changed (code_version, or its resolved parent
  fields), `affected` when only an upstream field version changed (its `root_causes` name the
  `changed` fields at the origin, its `chain` one path back to one of them), `metadata` when only
  descriptive parts changed (description, source, data_version), else `unchanged`;
- a feature is `changed` when a field was added, removed or changed, `affected` when some field
  is only affected, `metadata` when only its descriptive parts changed (description, owner, tags,
  columns, ...), else `unchanged`. `added` and `removed` need no explanation.

So `changed` + `affected` is exactly the set of features whose feature version differs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from metaxy_cli.definitions.graph import FieldRef, topological_order
from metaxy_cli.definitions.versions import Versions, metadata_payload
from metaxy_cli.definitions.keys import fq_field
from metaxy_cli.definitions.model import FeatureSpec, FieldSpec
from metaxy_cli.definitions.project import Project

Status = Literal["added", "removed", "changed", "affected", "metadata", "unchanged"]
STATUSES: tuple[Status, ...] = ("added", "removed", "changed", "affected", "metadata", "unchanged")
_FIELD_METADATA = ("description", "source", "data_version")
_FEATURE_METADATA = ("description", "owner", "tags", "columns", "id_columns", "deps", "cost")


@dataclass(frozen=True)
class FieldChange:
    """One field on both sides. Parents and causes are fully qualified field names."""

    key: str
    status: Status
    old_version: str | None = None
    new_version: str | None = None
    old_code_version: str | None = None
    new_code_version: str | None = None
    old_parents: tuple[str, ...] = ()
    new_parents: tuple[str, ...] = ()
    caused_by: tuple[str, ...] = ()  # affected: direct parents whose version changed
    root_causes: tuple[str, ...] = ()  # affected: the `changed` fields it all comes from
    chain: tuple[str, ...] = ()  # affected: one path of parents ending at a root cause
    metadata_changes: tuple[str, ...] = ()

    @property
    def code_version_changed(self) -> bool:
        return self.status == "changed" and self.old_code_version != self.new_code_version

    @property
    def parents_added(self) -> tuple[str, ...]:
        return tuple(p for p in self.new_parents if p not in self.old_parents)

    @property
    def parents_removed(self) -> tuple[str, ...]:
        return tuple(p for p in self.old_parents if p not in self.new_parents)


@dataclass(frozen=True)
class FeatureChange:
    """One feature on both sides; `fields` in the new definition's order, removed fields last."""

    key: str
    status: Status
    old_version: str | None = None
    new_version: str | None = None
    fields: tuple[FieldChange, ...] = ()
    old_deps: tuple[str, ...] = ()
    new_deps: tuple[str, ...] = ()
    metadata_changes: tuple[str, ...] = ()
    renamed_from: str | None = None  # added: a removed feature with the same fields and deps
    renamed_to: str | None = None  # removed: the added feature it was probably renamed to

    def field(self, key: str) -> FieldChange:
        return next(change for change in self.fields if change.key == key)

    @property
    def root_causes(self) -> tuple[str, ...]:
        return tuple(sorted({cause for change in self.fields for cause in change.root_causes}))


@dataclass(frozen=True)
class ProjectDiff:
    """Every feature of either side, in topological order of the merged graph."""

    old_label: str
    new_label: str
    old_version: str
    new_version: str
    features: tuple[FeatureChange, ...]
    edges: tuple[tuple[str, str, str], ...]  # (dep, dependant, "kept" | "added" | "removed")
    truncate: int = 8

    def feature(self, key: str) -> FeatureChange:
        return next(change for change in self.features if change.key == key)

    def with_status(self, *statuses: Status) -> tuple[FeatureChange, ...]:
        return tuple(change for change in self.features if change.status in statuses)

    def counts(self) -> dict[Status, int]:
        found = {status: 0 for status in STATUSES}
        for change in self.features:
            found[change.status] += 1
        return found

    @property
    def has_changes(self) -> bool:
        return any(change.status != "unchanged" for change in self.features)

    def short(self, version: str | None) -> str:
        return (version or "")[: self.truncate]


def diff_projects(old: Project, new: Project, *, old_label: str | None = None, new_label: str | None = None) -> ProjectDiff:
    """Compare two projects (for example a git revision and the working tree)."""
    old_v, new_v = old.versions, new.versions
    fields = _field_statuses(old, new, old_v, new_v)
    changes = {key: _feature_change(key, old, new, old_v, new_v, fields) for key in _merged_order(old, new)}
    _hint_renames(old, new, changes)
    return ProjectDiff(
        old_label=old.source_label if old_label is None else old_label,
        new_label=new.source_label if new_label is None else new_label,
        old_version=old_v.project,
        new_version=new_v.project,
        features=tuple(changes.values()),
        edges=_merged_edges(old, new, list(changes)),
        truncate=new.truncate,
    )


def _merged_order(old: Project, new: Project) -> list[str]:
    deps: dict[str, set[str]] = {}
    for project in (old, new):
        for key, spec in project.features.items():
            deps.setdefault(key, set()).update(spec.dep_keys)
    order = topological_order(deps)
    placed = set(order)
    return order + sorted(key for key in deps if key not in placed)  # a dep reversed between sides


def _merged_edges(old: Project, new: Project, order: list[str]) -> tuple[tuple[str, str, str], ...]:
    edges = []
    for key in order:
        before = set(old.features[key].dep_keys) if key in old.features else set()
        after = set(new.features[key].dep_keys) if key in new.features else set()
        for dep in sorted(before | after):
            edges.append((dep, key, "kept" if dep in before and dep in after else ("added" if dep in after else "removed")))
    return tuple(edges)


def _fq(parents: tuple[FieldRef, ...]) -> tuple[str, ...]:
    """Fully qualified names; the graph already orders parents by them."""
    return tuple(fq_field(feature, field) for feature, field in parents)


def _field_statuses(old: Project, new: Project, old_v: Versions, new_v: Versions) -> dict[FieldRef, FieldChange]:
    """Fields present on both sides, in the new topological order, so parents come first."""
    result: dict[FieldRef, FieldChange] = {}
    for key in new.graph.order:
        old_spec = old.features.get(key)
        if old_spec is None:
            continue
        old_fields = {field.key: field for field in old_spec.fields}
        for field in new.features[key].fields:
            before = old_fields.get(field.key)
            if before is not None:
                ref = (key, field.key)
                result[ref] = _field_change(ref, old, new, old_v, new_v, before, field, result)
    return result


def _field_change(
    ref: FieldRef, old: Project, new: Project, old_v: Versions, new_v: Versions,
    before: FieldSpec, after: FieldSpec, known: dict[FieldRef, FieldChange],
) -> FieldChange:
    old_refs, new_refs = old.graph.field_parents[ref], new.graph.field_parents[ref]
    new_parents = _fq(new_refs)
    old_parents = new_parents if old_refs == new_refs else _fq(old_refs)
    metadata = tuple(name for name in _FIELD_METADATA if getattr(before, name) != getattr(after, name))
    old_version, new_version = old_v.field[ref], new_v.field[ref]
    common = dict(
        key=ref[1], old_version=old_version, new_version=new_version,
        old_code_version=before.code_version, new_code_version=after.code_version,
        old_parents=old_parents, new_parents=new_parents, metadata_changes=metadata,
    )
    if before.code_version != after.code_version or old_refs != new_refs:
        return FieldChange(status="changed", **common)
    if old_version != new_version:
        causes = [p for p in new_refs if known[p].status in ("changed", "affected")]
        roots = {fq_field(*p) for p in causes if known[p].status == "changed"}
        for parent in causes:
            roots.update(known[parent].root_causes)
        return FieldChange(
            status="affected", caused_by=tuple(sorted(fq_field(*p) for p in causes)),
            root_causes=tuple(sorted(roots)), chain=_chain(causes, known), **common,
        )
    return FieldChange(status="metadata" if metadata else "unchanged", **common)


def _chain(causes: list[FieldRef], known: dict[FieldRef, FieldChange]) -> tuple[str, ...]:
    """The shortest path of changed-version parents to a `changed` field (first by name on ties)."""
    best: tuple[str, ...] | None = None
    for parent in sorted(causes, key=lambda ref: fq_field(*ref)):
        change = known[parent]
        path = (fq_field(*parent),) + (() if change.status == "changed" else change.chain)
        if best is None or len(path) < len(best):
            best = path
    return best or ()


def _feature_change(
    key: str, old: Project, new: Project, old_v: Versions, new_v: Versions, fields: dict[FieldRef, FieldChange]
) -> FeatureChange:
    before, after = old.features.get(key), new.features.get(key)
    if before is None:
        assert after is not None
        return FeatureChange(key, "added", new_version=new_v.feature[key], new_deps=after.dep_keys,
                             fields=tuple(FieldChange(f.key, "added", new_version=new_v.field[(key, f.key)],
                                          new_code_version=f.code_version, new_parents=_fq(new.graph.field_parents[(key, f.key)]))
                                          for f in after.fields))
    if after is None:
        return FeatureChange(key, "removed", old_version=old_v.feature[key], old_deps=before.dep_keys,
                             fields=tuple(FieldChange(f.key, "removed", old_version=old_v.field[(key, f.key)],
                                          old_code_version=f.code_version, old_parents=_fq(old.graph.field_parents[(key, f.key)]))
                                          for f in before.fields))
    before_keys, after_keys = set(before.field_keys()), set(after.field_keys())
    changes = [
        fields[(key, f.key)] if f.key in before_keys
        else FieldChange(f.key, "added", new_version=new_v.field[(key, f.key)], new_code_version=f.code_version,
                         new_parents=_fq(new.graph.field_parents[(key, f.key)]))
        for f in after.fields
    ]
    changes += [
        FieldChange(f.key, "removed", old_version=old_v.field[(key, f.key)], old_code_version=f.code_version,
                    old_parents=_fq(old.graph.field_parents[(key, f.key)]))
        for f in before.fields if f.key not in after_keys
    ]
    statuses = {change.status for change in changes}
    metadata = _metadata_changes(before, after) if old_v.metadata[key] != new_v.metadata[key] else ()
    if statuses & {"added", "removed", "changed"}:
        status: Status = "changed"
    elif "affected" in statuses:
        status = "affected"
    else:
        status = "metadata" if metadata or "metadata" in statuses else "unchanged"
    return FeatureChange(
        key, status, old_version=old_v.feature[key], new_version=new_v.feature[key], fields=tuple(changes),
        old_deps=before.dep_keys, new_deps=after.dep_keys, metadata_changes=metadata,
    )


def _metadata_changes(before: FeatureSpec, after: FeatureSpec) -> tuple[str, ...]:
    old_payload, new_payload = metadata_payload(before), metadata_payload(after)
    names = [name for name in _FEATURE_METADATA if old_payload.get(name) != new_payload.get(name)]
    if old_payload.get("fields") != new_payload.get("fields"):
        names.append("fields")
    return tuple(names)


def _signature(spec: FeatureSpec) -> tuple:
    """What a rename keeps: the fields (key, code_version, deps) and the feature deps."""
    fields = tuple(sorted((f.key, f.code_version, repr(f.deps)) for f in spec.fields))
    return fields, tuple(sorted(spec.dep_keys))


def _hint_renames(old: Project, new: Project, changes: dict[str, FeatureChange]) -> None:
    """Pair a removed and an added feature when each is the other's only look-alike."""
    removed = [k for k, c in changes.items() if c.status == "removed"]
    added = [k for k, c in changes.items() if c.status == "added"]
    for new_key in added:
        signature = _signature(new.features[new_key])
        matches = [k for k in removed if _signature(old.features[k]) == signature]
        if len(matches) != 1:
            continue
        old_key = matches[0]
        back = [k for k in added if _signature(new.features[k]) == _signature(old.features[old_key])]
        if back == [new_key]:
            changes[new_key] = replace(changes[new_key], renamed_from=old_key)
            changes[old_key] = replace(changes[old_key], renamed_to=new_key)
