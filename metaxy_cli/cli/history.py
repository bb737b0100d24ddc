"""`metaxy push` and `metaxy history`: graph snapshots kept in a store."""

from __future__ import annotations

import json

import click

from metaxy_cli.cli.context import CliContext, pass_context
from metaxy_cli.cli.samples import opened, store_option


@click.command()
@store_option
@pass_context
def push(context: CliContext, store_name: str | None) -> None:
    """Record the current definitions in the store as a graph snapshot.

    The snapshot is kept under the project version; pushing the same version again
    adds nothing. Writes push automatically on the first write under a new version;
    push from CI after a merge so `diff`/`plan snapshot:LATEST` know the deployed graph.

    \b
    Examples:
      metaxy push --store prod
      metaxy diff snapshot:LATEST --store prod
    """
    from metaxy_cli.engine import push as record

    with opened(context, store_name) as (project, store):
        added = record(project, store)
        name = store.name
        short = project.short(project.versions.project)
    if added:
        click.echo(f"recorded snapshot {short} of project {project.name!r} in store {name!r}")
    else:
        click.echo(f"snapshot {short} is already in store {name!r}: nothing to record")


@click.command()
@click.option("--format", "-f", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@store_option
@pass_context
def history(context: CliContext, fmt: str, store_name: str | None) -> None:
    """List the graph snapshots a store keeps, oldest first.

    One line each: when it was recorded, its project version (use it as
    snapshot:<version> in diff, plan and migrate new), the git commit it was
    recorded from when known, and the features changed since the previous one.

    \b
    Examples:
      metaxy history --store prod
      metaxy diff snapshot:LATEST --store prod
    """
    from metaxy_cli.engine import history as snapshots

    with opened(context, store_name) as (project, store):
        found = snapshots(store)
        name = store.name
    rows = [snapshot.as_dict(found[index - 1] if index else None) for index, snapshot in enumerate(found)]
    if fmt == "json":
        click.echo(json.dumps({"store": name, "snapshots": rows}, indent=2))
        return
    if not rows:
        click.echo(f"store {name!r} has no graph snapshot yet (`metaxy push` records one)")
        return
    for row in rows:
        commit = (row["git_commit"] or "-")[:12]
        changed = row["changed"]
        listed = ", ".join(changed[:5]) + (f", +{len(changed) - 5} more" if len(changed) > 5 else "")
        what = f"{len(changed)} feature(s) changed: {listed}" if changed else "no feature changed"
        click.echo(f"{row['recorded_at'][:19]}  {row['project_version'][: project.truncate]}  {commit:12}  {what}")
