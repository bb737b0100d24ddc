"""`metaxy store vacuum`: clean up after writes that never committed (killed jobs)."""

from __future__ import annotations

import click

from metaxy_cli.cli.context import CliContext, pass_context
from metaxy_cli.cli.samples import opened, store_option


@click.group()
def store() -> None:
    """Maintain a metadata store: remove what killed writes left behind.

    \b
    Examples:
      metaxy store vacuum --store spark --dry-run
    """


@store.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@store_option
@pass_context
def vacuum(context: CliContext, dry_run: bool, store_name: str | None) -> None:
    """Remove the files of writes that were never committed.

    A write killed half-way (SIGKILL, a lost cluster) leaves files that no reader sees;
    this lists them on stdout and removes them. Stores with transactions (DuckDB, SQLite)
    roll such writes back themselves and have nothing to remove.

    \b
    Examples:
      metaxy store vacuum --store spark --dry-run
      metaxy store vacuum --store spark
    """
    with opened(context, store_name) as (_, opened_store):
        found = opened_store.vacuum(dry_run=dry_run)
        name = opened_store.name
    for line in found:
        click.echo(line)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(found)} orphaned item(s) of store {name!r}", err=True)
