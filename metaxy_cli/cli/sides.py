"""The two sides of `diff`, `plan` and `migrate new`: a git revision, the working tree, or a graph
snapshot kept in a store (`snapshot:LATEST`, `snapshot:<version prefix>`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from metaxy_cli.cli.context import CliContext

if TYPE_CHECKING:
    from metaxy_cli.definitions.project import Project


def load_side(context: CliContext, project_file: Path, revision: str | None, store_name: str | None) -> Project:
    """The project at `revision` (None: the working tree); a snapshot is read from the store
    `store_name` (default: the project's default store)."""
    from metaxy_cli.definitions.snapshot import is_snapshot_ref

    if not is_snapshot_ref(revision):
        from metaxy_cli.definitions.gitsource import load_side as load_revision

        return load_revision(project_file, revision)
    from metaxy_cli.engine.snapshots import snapshot_project
    from metaxy_cli.store.config import open_store

    with open_store(context.project(), store_name) as store:
        return snapshot_project(store, revision)


def load_pair(
    context: CliContext, project_file: Path, base: str | None, head: str | None, *, staged: bool = False,
    store_name: str | None = None,
) -> tuple[Project, Project]:  # fmt: skip
    """Both sides, with their versions computed; git sides share one document cache."""
    from metaxy_cli.definitions.snapshot import is_snapshot_ref

    if not (is_snapshot_ref(base) or is_snapshot_ref(head)):
        from metaxy_cli.definitions.gitsource import load_pair as load_revisions

        return load_revisions(project_file, base, head, staged=staged)
    old = load_side(context, project_file, base, store_name)
    if staged:
        from metaxy_cli.definitions.gitsource import load_side as load_revision

        return old, load_revision(project_file, None, staged=True)
    return old, load_side(context, project_file, head, store_name)
