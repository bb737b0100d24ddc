"""Graph snapshots in the store (spec section 5): every project version the store has seen, with
its full definitions, so a project can be compared with what its samples were computed with.

A snapshot is recorded by `metaxy push` and, automatically, before the first write under a new
project version. Recording is idempotent: one row per project version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import GitRevisionError, StoreError
from metaxy_cli.definitions.snapshot import LATEST, PREFIX, load_snapshot, snapshot_text
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    from metaxy_cli.definitions.project import Project
    from metaxy_cli.store.base import Store


@dataclass(frozen=True)
class Snapshot:
    project_version: str
    project: str
    recorded_at: Any  # a datetime (text on engines that store timestamps as text)
    git_commit: str | None
    feature_versions: dict[str, str] = field(repr=False)

    def changed_since(self, previous: Snapshot | None) -> list[str]:
        """Feature keys added, removed or with another version than in `previous`, sorted."""
        before = previous.feature_versions if previous is not None else {}
        keys = set(before) | set(self.feature_versions)
        return sorted(key for key in keys if before.get(key) != self.feature_versions.get(key))

    def as_dict(self, previous: Snapshot | None = None) -> dict[str, Any]:
        return {
            "project_version": self.project_version, "project": self.project, "recorded_at": str(self.recorded_at),
            "git_commit": self.git_commit, "features": len(self.feature_versions),
            "changed": self.changed_since(previous),
        }  # fmt: skip


def git_commit(project: Project) -> str | None:
    """HEAD of the project's repository, `+dirty` when its folder has uncommitted changes; None
    outside git."""
    from metaxy_cli.definitions.gitsource import run_git

    try:
        commit = run_git(project.root, "rev-parse", "HEAD").strip()
        dirty = run_git(project.root, "status", "--porcelain", "--", ".").strip()
    except GitRevisionError:
        return None
    return f"{commit}+dirty" if dirty else commit


def record_snapshot(store: Store, project: Project, *, recorded_at: datetime | None = None) -> bool:
    """Keep the project's definitions under its project version; False when already kept."""
    from sqlglot import exp

    version = project.versions.project
    seen = _seen(store)
    if version in seen:
        return False
    with store.transaction():
        store.ensure_table(layout.SNAPSHOTS, layout.SNAPSHOTS_COLUMNS)
        if _recorded(store, version):
            seen.add(version)
            return False
        recorded_at = recorded_at or datetime.now(UTC).replace(tzinfo=None)
        commit = git_commit(project)
        values = [
            exp.Literal.string(version),
            exp.Literal.string(project.name),
            store.profile.timestamp_literal(recorded_at),
            exp.Literal.string(commit) if commit else exp.cast(exp.Null(), store.profile.column_type("string")),
            exp.Literal.string(json.dumps(project.versions.feature, sort_keys=True)),
            exp.Literal.string(snapshot_text(project)),
        ]
        names = [name for name, _ in layout.SNAPSHOTS_COLUMNS]
        store.run(exp.insert(exp.select(*values), exp.to_table(layout.SNAPSHOTS, quoted=True), columns=names))
    seen.add(version)
    return True


def forget_snapshot(store: Store, project: Project) -> None:
    """Look the project version up again next time (its recording was rolled back)."""
    _seen(store).discard(project.versions.project)


def _seen(store: Store) -> set[str]:
    """Project versions this store object knows are recorded (one lookup per version per process)."""
    found = getattr(store, "_snapshots_seen", None)
    if found is None:
        found = set()
        store._snapshots_seen = found  # type: ignore[attr-defined]
    return found


def _recorded(store: Store, version: str) -> bool:
    from sqlglot import exp

    column = exp.column("project_version", quoted=True)
    query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(layout.SNAPSHOTS, quoted=True)).where(
        exp.EQ(this=column, expression=exp.Literal.string(version))
    )
    return bool(store.fetch_all(store.to_sql(query))[0][0])


def list_snapshots(store: Store) -> list[Snapshot]:
    """Every recorded snapshot, oldest first (without their definitions)."""
    from sqlglot import exp

    if not store.table_exists(layout.SNAPSHOTS):
        return []
    names = [name for name, _ in layout.SNAPSHOTS_COLUMNS if name != "definitions"]
    query = exp.select(*(exp.column(n, quoted=True) for n in names)).from_(exp.to_table(layout.SNAPSHOTS, quoted=True))
    found: dict[str, Snapshot] = {}
    for version, project, recorded_at, commit, features in store.fetch_all(store.to_sql(query)):
        snapshot = Snapshot(version, project, recorded_at, commit, json.loads(features))
        if version not in found or str(recorded_at) < str(found[version].recorded_at):
            found[version] = snapshot  # stores without transactions may hold a version twice
    return sorted(found.values(), key=lambda s: (str(s.recorded_at), s.project_version))


def find_snapshot(store: Store, ref: str) -> Snapshot:
    """The snapshot `snapshot:LATEST` or `snapshot:<version prefix>` names (the prefix alone
    is accepted too); a clear StoreError when none or several match."""
    wanted = ref.removeprefix(PREFIX)
    snapshots = list_snapshots(store)
    if not snapshots:
        raise StoreError(f"store {store.name!r} has no graph snapshot yet (`metaxy push` records one)")
    if wanted.upper() == LATEST:
        return snapshots[-1]
    matches = [s for s in snapshots if s.project_version.startswith(wanted)] if wanted else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(s.project_version[:8] for s in snapshots[-5:])
        raise StoreError(f"no snapshot {wanted!r} in store {store.name!r} (recent: {known}; or snapshot:LATEST)")
    raise StoreError(f"snapshot prefix {wanted!r} is ambiguous in store {store.name!r}: give more characters")


def snapshot_project(store: Store, ref: str) -> Project:
    """The project a stored snapshot holds, loaded and checked like YAML files."""
    from sqlglot import exp

    snapshot = find_snapshot(store, ref)
    version = exp.column("project_version", quoted=True)
    query = (
        exp.select(exp.column("definitions", quoted=True))
        .from_(exp.to_table(layout.SNAPSHOTS, quoted=True))
        .where(exp.EQ(this=version, expression=exp.Literal.string(snapshot.project_version)))
        .limit(1)
    )
    text = store.fetch_all(store.to_sql(query))[0][0]
    return load_snapshot(text, f"{PREFIX}{snapshot.project_version[:8]}")
