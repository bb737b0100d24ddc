"""Stage 4 of the pipeline: the Python API that pipelines call on samples (spec sections 3-5).

`write`, `increment`, `summary`, `status`, `delete`, `plan` and `sql_text` take a Project, a store and a
feature key; `push`, `history` and `migrate` keep graph snapshots and reconcile stored samples to
changed definitions (`snapshots`, `migrations`). Each resolves the feature once (`sql.resolved`) and hands that object to the module
that does the work: `writes` (versioned appends), `increments` (what to compute, and summary
counts), `deletes` (tombstones), `changes` (clean checkpoints: compare only what changed), on top of
`tables` (DDL, write log, history). Each is a few SQL
statements built by `metaxy_cli.sql` and run inside the store; rows never pass through Python
except where a caller asks for them. Heavy modules (sqlglot, duckdb, pyarrow) are imported
inside functions so `import metaxy_cli` stays fast.

May import: definitions, sql, store. Imported by: render, cli and the package root.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metaxy_cli.engine.increments import Increment, Summary, increment_of, output_types, summary_of
from metaxy_cli.engine.writes import WriteResult, write_samples

if TYPE_CHECKING:
    from metaxy_cli.definitions.plan import Prediction
    from metaxy_cli.definitions.project import Project
    from metaxy_cli.engine.migrations import MigrationResult
    from metaxy_cli.engine.snapshots import Snapshot
    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store

Progress = Callable[[str], None]
QUERIES = ("increment", "summary", "expected")

__all__ = [
    "QUERIES", "Increment", "Progress", "Summary", "WriteResult", "delete", "history", "increment", "migrate",
    "output_types", "plan", "push", "resolved", "sql_text", "status", "summary", "write",
]  # fmt: skip


def _quiet(message: str) -> None:
    """The default progress callback: library code never prints."""


def resolved(project: Project, key: str, store: Store | None = None) -> ResolvedFeature:
    """The feature `key` of `project`, resolved (an unknown key raises with a did-you-mean).
    With a `store`: first check that no two names collide as that store spells them."""
    from metaxy_cli.sql.resolved import resolve

    project.feature(key)
    features = resolve(project)
    if store is not None:
        _check_names(features.values(), store)
    return features[key]


def _check_names(features: Iterable[ResolvedFeature], store: Store) -> None:
    from metaxy_cli.sql.names import check_unique

    check_unique(features, store.profile)


def write(
    project: Project, store: Store, key: str, data: Any, *, written_at: datetime | None = None,
    partial: bool = False, progress: Progress = _quiet,
) -> WriteResult:
    """Append samples (a file path, `-`, Arrow, pandas, polars or a list of dicts) in one transaction.

    Provenance and data versions are computed in the store; a batch carrying its increment's
    `metaxy_provenance` is checked against it, and samples whose upstream changed since are not
    written (`WriteResult.outdated`); a batch carrying its whole increment, while nothing it
    was computed from changed, is stored as computed (engine/carried.py). Every declared column must be given; with `partial`, the
    missing ones keep the values of the samples' stored rows. Any problem raises before anything
    is committed.
    """
    from metaxy_cli.engine.snapshots import forget_snapshot, record_snapshot

    feature = resolved(project, key, store)
    # The first write under a new project version keeps its definitions, in the write's transaction.
    try:
        return write_samples(
            store, feature, data, written_at=written_at, partial=partial, progress=progress,
            within=lambda: record_snapshot(store, project),
        )  # fmt: skip
    except BaseException:
        forget_snapshot(store, project)  # rolled back with the write
        raise


def increment(
    project: Project, store: Store, key: str, *, input: Any = None, orphaned: bool = False,
    progress: Progress = _quiet, full: bool = False,
) -> Increment:
    """New and stale samples of `key` with the provenance to write back and per-field stale flags
    (`metaxy_stale__<field>`); with `orphaned`, the stored samples no longer expected instead.

    `input` is a root feature's listing (path, Arrow, ...); without it a root's stored rows are
    re-hashed under the current definitions. `full` compares every sample even where a clean
    checkpoint would restrict the comparison to the samples touched since (tests, benchmarks).
    """
    feature = resolved(project, key, store)
    return increment_of(store, feature, listing=input, orphaned=orphaned, progress=progress, full=full)


def summary(project: Project, store: Store, key: str, *, input: Any = None, full: bool = False) -> Summary:
    """Counts of new / stale (per field) / orphaned / up-to-date samples, computed in SQL (`full`:
    every sample compared, no checkpoint used or recorded; see `increment`)."""
    return summary_of(store, resolved(project, key, store), listing=input, full=full)


def status(project: Project, store: Store, keys: Iterable[str] | None = None, *, full: bool = False) -> list[Summary]:
    """One Summary per feature (all of them by default), in topological order (`full`: see `summary`)."""
    from metaxy_cli.sql.resolved import resolve

    chosen = set(keys) if keys else set(project.graph.order)
    for key in chosen:
        project.feature(key)
    features = resolve(project)
    _check_names(features.values(), store)
    return [summary_of(store, feature, listing=None, full=full) for key, feature in features.items() if key in chosen]


def delete(
    project: Project, store: Store, key: str, *, ids: Any = None, where: str | None = None,
    deleted_at: datetime | None = None,
) -> int:
    """Soft-delete samples (by an id listing, or a SQL condition in the store's dialect): append
    tombstones to history and remove them from the current rows. Returns how many were deleted.
    """
    from metaxy_cli.engine.deletes import delete_samples

    return delete_samples(store, resolved(project, key, store), ids=ids, where=where, deleted_at=deleted_at)


def plan(project: Project, store: Store) -> list[Prediction]:
    """Per feature, in topological order: the samples that will be new, stale (by field) and
    orphaned once everything upstream of it is recomputed, and their cost; the store is not
    changed (spec section 4, `metaxy plan --store`)."""
    from metaxy_cli.engine.predict import predict

    return predict(project, store)


def push(project: Project, store: Store) -> bool:
    """Record the project's definitions in the store under its project version (a graph
    snapshot); False when that version was recorded before."""
    from metaxy_cli.engine.snapshots import record_snapshot

    return record_snapshot(store, project)


def history(store: Store) -> list[Snapshot]:
    """The graph snapshots the store has recorded, oldest first."""
    from metaxy_cli.engine.snapshots import list_snapshots

    return list_snapshots(store)


def migrate(project: Project, store: Store, *, dry_run: bool = False, progress: Progress = _quiet) -> list[MigrationResult]:
    """Apply the project's pending migrations in id order (spec section 6), each in one
    transaction; with `dry_run`, only count per field the samples each would reconcile."""
    from metaxy_cli.engine.migrations import apply_migrations

    return apply_migrations(project, store, dry_run=dry_run, progress=progress)


def sql_text(project: Project, key: str, dialect: str, *, query: str = "increment") -> str:
    """The versioning query of a feature in any dialect sqlglot knows, to run in a warehouse."""
    from metaxy_cli.sql import query as builders
    from metaxy_cli.sql.dialects import profile_for
    from metaxy_cli.sql.emit import to_sql

    feature = resolved(project, key)
    profile = profile_for(dialect)
    build = {"increment": builders.increment_query, "summary": builders.summary_query, "expected": builders.expected_query}[query]
    return to_sql(build(feature, profile), profile)
