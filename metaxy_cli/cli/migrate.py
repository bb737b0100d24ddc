"""`metaxy migrate new | apply | status`: reconcile stored samples to changed definitions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from metaxy_cli.cli.context import CliContext, pass_context
from metaxy_cli.cli.samples import opened, progress, store_option


@click.group()
def migrate() -> None:
    """Reconcile stored samples with changed definitions, without recomputing.

    When a change does not change outputs (a refactor that bumps a code_version, a
    dependency that does not affect existing outputs, a renamed feature), a migration
    gives the stored samples the provenance of the new definitions and keeps their
    data versions, so nothing downstream becomes stale.

    \b
    Examples:
      metaxy migrate new refactor-crop --from HEAD~1 --feature example/crop
      metaxy migrate apply --dry-run
      metaxy migrate apply
      metaxy migrate status
    """


@migrate.command(name="new")
@click.argument("name")
@click.option("--from", "base", required=True, metavar="REV",
              help="Where the old definitions are: a git revision, or snapshot:LATEST / snapshot:<version> of the store.")
@click.option("--feature", "targets", multiple=True, metavar="KEY[.FIELD]",
              help="A feature (every changed field) or one field to migrate; repeatable.")
@click.option("--all-changed", is_flag=True, help="Every changed field that can be reconciled.")
@click.option("--rename", "renames", multiple=True, metavar="OLD=NEW",
              help="A renamed feature (old/key=new/key) or field (key.old=key.new); repeatable.")
@store_option
@pass_context
def new(
    context: CliContext, name: str, base: str, targets: tuple[str, ...], all_changed: bool,
    renames: tuple[str, ...], store_name: str | None,
) -> None:  # fmt: skip
    """Write a migration file from the definitions at --from and the working tree.

    Each migrated field gets its old and new definition in the file: review that
    its outputs really are the same under both. Changes that cannot be reconciled
    (a removed field, changed id columns) are refused with the reason.

    \b
    Examples:
      metaxy migrate new refactor-crop --from HEAD~1 --feature example/crop
      metaxy migrate new audio-v2 --from snapshot:LATEST --feature example/video.audio
      metaxy migrate new rename --from main --rename example/crop=example/crops --all-changed
    """
    from metaxy_cli.cli.sides import load_side
    from metaxy_cli.definitions.migration import dump_migration, parse_migration
    from metaxy_cli.definitions.sources import display_path, resolve_project_file
    from metaxy_cli.engine.migration_draft import draft_migration

    if bool(targets) == all_changed and not renames:
        raise click.UsageError("give --feature KEY[.FIELD] (repeatable) or --all-changed")
    pairs = []
    for rename in renames:
        old, sep, new_key = rename.partition("=")
        if not sep or not old or not new_key:
            raise click.UsageError(f"--rename {rename}: expected OLD=NEW")
        pairs.append((old.strip(), new_key.strip()))
    project_file = resolve_project_file(context.project_path)
    old_project = load_side(context, project_file, base, store_name)
    project = context.project()
    draft = draft_migration(
        old_project, project, name=name, targets=list(targets), all_changed=all_changed, renames=pairs,
        origin=base, created=datetime.now(UTC),
    )
    folder = project.root / project.migrations_folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{draft.document['id']}.yaml"
    if path.exists():
        raise click.ClickException(f"{display_path(path)} already exists")
    text = dump_migration(draft.document)
    parse_migration(text.encode(), display_path(path))  # what is written is what apply reads
    path.write_text(text, encoding="utf-8")
    for reason in draft.skipped:
        click.echo(f"skipped: {reason}", err=True)
    fields = sum(len(feature["fields"]) for feature in draft.document["features"])
    click.echo(f"wrote {display_path(path)}: {fields} field(s) of {len(draft.document['features'])} feature(s); review it, then `metaxy migrate apply`")


@migrate.command()
@click.option("--dry-run", is_flag=True, help="Count per field what each pending migration would reconcile; write nothing.")
@click.option("--format", "-f", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@store_option
@pass_context
def apply(context: CliContext, dry_run: bool, fmt: str, store_name: str | None) -> None:
    """Apply the pending migrations to the store, in id order, each all-or-nothing.

    Samples whose stored provenance matches a field's old definition get the new
    one and keep their data versions; samples that were already stale stay stale.
    Applying again changes nothing.

    \b
    Examples:
      metaxy migrate apply --dry-run
      metaxy migrate apply --store prod
    """
    from metaxy_cli.engine import migrate as run

    with opened(context, store_name) as (_, store):
        results = run(context.project(), store, dry_run=dry_run, progress=progress())
        name = store.name
    if fmt == "json":
        click.echo(json.dumps({"store": name, "dry_run": dry_run, "migrations": [r.as_dict() for r in results]}, indent=2))
        return
    if not results:
        click.echo(f"no pending migration: store {name!r} is up to date with every migration file")
        return
    for result in results:
        verb = "would reconcile" if dry_run else "reconciled"
        click.echo(f"{result.id}{' (dry run)' if dry_run else ''}:")
        for old, new_key in result.renames:
            click.echo(f"  {'would rename' if dry_run else 'renamed'} {old} -> {new_key}")
        for count in result.fields:
            click.echo(f"  {count.feature}.{count.field}: {verb} {count.reconciled} sample(s), {count.unchanged} left as stored")
            if count.reconciled == 0:
                click.echo(f"warning: {count.feature}.{count.field}: the old definition matches 0 stored samples", err=True)
    if not dry_run:
        click.echo(f"applied {len(results)} migration(s) to store {name!r}", err=True)


@migrate.command(name="status")
@click.option("--format", "-f", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@store_option
@pass_context
def migration_status(context: CliContext, fmt: str, store_name: str | None) -> None:
    """List applied and pending migrations of the store.

    \b
    Examples:
      metaxy migrate status --store prod
    """
    from metaxy_cli.engine.migrations import migration_status as collect

    with opened(context, store_name) as (project, store):
        status = collect(project, store)
        name = store.name
    if fmt == "json":
        applied = [{"id": row.id, "applied_at": str(row.applied_at)} for row in status.applied]
        pending = [{"id": m.id, "file": m.label} for m in status.pending]
        click.echo(json.dumps({"store": name, "applied": applied, "pending": pending}, indent=2))
        return
    for row in status.applied:
        click.echo(f"applied  {row.id}  ({str(row.applied_at)[:19]})")
    for migration in status.pending:
        click.echo(f"pending  {migration.id}  ({migration.label})")
    click.echo(f"{len(status.applied)} applied, {len(status.pending)} pending in store {name!r}", err=True)
