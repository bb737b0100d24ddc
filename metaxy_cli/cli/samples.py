"""`metaxy write`, `increment`, `status`, `delete` and `sql`: thin layers over metaxy_cli.engine."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click

from metaxy_cli.cli.context import CliContext, pass_context

if TYPE_CHECKING:
    from metaxy_cli.engine import Increment, Summary
    from metaxy_cli.definitions.project import Project
    from metaxy_cli.store.base import Store

OUTPUT_FORMATS = ("parquet", "csv", "jsonl", "table")
store_option = click.option(
    "--store", "store_name", envvar="METAXY_STORE", metavar="NAME",
    help="A store named in metaxy.yaml (default: its default_store). Env: METAXY_STORE.",
)  # fmt: skip


@contextmanager
def opened(context: CliContext, store_name: str | None) -> Iterator[tuple[Project, Store]]:
    from metaxy_cli.store.config import open_store

    project = context.project()
    with open_store(project, store_name) as store:
        yield project, store


def progress() -> Callable[[str], None]:
    """Progress lines on stderr, only when a person is watching it."""
    if sys.stderr.isatty():
        return lambda message: click.echo(f"… {message}", err=True)
    return lambda message: None


@click.command()
@click.argument("feature")
@click.argument("file", metavar="FILE")
@click.option(
    "--partial", is_flag=True,
    help="FILE gives some declared columns: the others keep the values of the stored rows.",
)  # fmt: skip
@store_option
@pass_context
def write(context: CliContext, feature: str, file: str, partial: bool, store_name: str | None) -> None:
    """Append samples of FEATURE from FILE (Parquet, CSV or JSON Lines; - for stdin).

    Provenance is computed by metaxy (metaxy_* columns in FILE are ignored). Unknown
    or missing columns (unless --partial), wrong types, duplicate or empty ids, or samples
    without upstream rows stop the write: nothing is written.

    \b
    Examples:
      metaxy write example/video videos.parquet
      metaxy increment example/crop --output todo.parquet   # compute, then:
      metaxy write example/crop crops.parquet
      cat videos.csv | metaxy write example/video -
    """
    from metaxy_cli.engine import write as write_samples

    with opened(context, store_name) as (project, store):
        result = write_samples(project, store, feature, file, partial=partial, progress=progress())
    click.echo(f"wrote {result.rows} samples of {result.feature} to store {result.store!r}", err=True)
    if result.outdated:
        click.echo(
            f"skipped {result.outdated} sample(s) whose upstream changed after their increment "
            f"(samples: {'; '.join(result.outdated_samples)}): they stay stale",
            err=True,
        )


@click.command(short_help="The samples of FEATURE to (re)compute, with the provenance to write back.")
@click.argument("feature")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the samples to this file (streamed).")
@click.option("--format", "-f", "fmt", type=click.Choice(OUTPUT_FORMATS),
              help="parquet, csv, jsonl or table (default: from --output's extension, else table).")
@click.option("--orphaned", is_flag=True, help="List stored samples no longer expected instead.")
@click.option("--summary", is_flag=True, help="Print counts only.")
@click.option("--input", "input_file", metavar="FILE", help="Root features: the expected samples (a listing, like write's FILE).")
@store_option
@pass_context
def increment(context: CliContext, feature: str, output: str | None, fmt: str | None, orphaned: bool,
              summary: bool, input_file: str | None, store_name: str | None) -> None:  # fmt: skip
    """The samples of FEATURE to (re)compute: new and stale ones, with the provenance to
    write back and, per field, metaxy_stale__<field> (true: recompute this field).

    For a root feature, pass the current listing with --input; without it, the stored
    rows are re-hashed under the current definitions (a code_version bump shows up).

    \b
    Examples:
      metaxy increment example/crop
      metaxy increment example/crop --summary
      metaxy increment example/crop --output todo.parquet
      metaxy increment example/video --input listing.csv --format jsonl
      metaxy increment example/crop --orphaned --format csv
    """
    from metaxy_cli.engine import increment as find_increment
    from metaxy_cli.engine import summary as count_increment

    fmt = _output_format(output, fmt)
    with opened(context, store_name) as (project, store):
        if summary:
            click.echo(summary_line(count_increment(project, store, feature, input=input_file)))
            return
        found = find_increment(project, store, feature, input=input_file, orphaned=orphaned, progress=progress())
        if output is not None:
            rows = found.write_to(output, fmt)
            click.echo(f"wrote {rows} samples to {output}", err=True)
        elif fmt == "table":
            print_table(found, project.feature(feature).field_keys())
        else:
            _to_stdout(found, fmt)


def _output_format(output: str | None, fmt: str | None) -> str:
    from metaxy_cli.store.io import format_of

    if output is None:
        return fmt or "table"
    if fmt == "table":
        raise click.UsageError("--format table prints to the terminal: drop --output, or use parquet, csv or jsonl")
    return fmt or format_of(output, "parquet")


def _to_stdout(found: Increment, fmt: str) -> None:
    """Stream csv/jsonl/parquet to stdout through a temporary file (never rows in memory)."""
    from metaxy_cli.store.io import copy_file_to

    handle, path = tempfile.mkstemp(prefix="metaxy-increment-", suffix=f".{fmt}")
    os.close(handle)
    try:
        found.write_to(path, fmt)
        sys.stdout.flush()
        copy_file_to(path, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    finally:
        os.unlink(path)


def print_table(found: Increment, fields: tuple[str, ...]) -> None:
    """Ids, status and the stale fields of each sample, as aligned columns."""
    from metaxy_cli.store.io import aligned_line
    from metaxy_cli.sql import layout

    stale = [(layout.stale_column(name), name) for name in sorted(fields)]
    reader = found.batches()
    ids = [name for name in reader.schema.names if name in found.types and not name.startswith(layout.PREFIX)]
    rows = []
    for batch in reader:
        for row in batch.to_pylist():
            marked = ",".join(name for column, name in stale if row.get(column))
            rows.append([*(str(row[c]) for c in ids), row[layout.STATUS], marked])
    header = [*ids, "status", "stale fields"] if rows and any(r[-1] for r in rows) else [*ids, "status"]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    for cells in [header, *rows]:
        click.echo(aligned_line(cells, widths), nl=False)
    click.echo(f"{len(rows)} samples", err=True)


def summary_line(summary: Summary) -> str:
    if summary.waiting_for:
        return f"{summary.feature}: waiting for upstream {summary.waiting_for} (no data yet)"
    stale = f"{summary.stale} stale"
    fields = [f"{name} {count}" for name, count in summary.stale_fields.items() if count]
    if fields:
        stale += f" ({', '.join(fields)})"
    return f"{summary.feature}: {summary.new} new, {stale}, {summary.orphaned} orphaned, {summary.up_to_date} up to date"


@click.command()
@click.argument("features", nargs=-1, metavar="[FEATURE]...")
@click.option("--format", "-f", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when any sample is new, stale or orphaned.")
@store_option
@pass_context
def status(context: CliContext, features: tuple[str, ...], fmt: str, exit_code: bool, store_name: str | None) -> None:
    """One line per feature: new / stale / orphaned / up-to-date samples, and a total.

    Root features are compared with their stored rows re-hashed under the current
    definitions.

    \b
    Examples:
      metaxy status
      metaxy status example/crop example/stt --format json
      metaxy status --exit-code > /dev/null || echo "work pending"
    """
    from metaxy_cli.engine import status as collect

    with opened(context, store_name) as (project, store):
        summaries = collect(project, store, features)
    totals = {key: sum(getattr(s, key) for s in summaries) for key in ("new", "stale", "orphaned", "up_to_date")}
    if fmt == "json":
        click.echo(json.dumps({"features": [s.as_dict() for s in summaries], "total": totals}, indent=2))
    else:
        for item in summaries:
            click.echo(summary_line(item))
        click.echo("total: {new} new, {stale} stale, {orphaned} orphaned, {up_to_date} up to date".format(**totals))
    if exit_code and any(s.pending for s in summaries):
        raise SystemExit(1)


@click.command()
@click.argument("feature")
@click.option("--ids", "ids_file", metavar="FILE", help="A file with the id columns of the samples to delete.")
@click.option("--where", metavar="SQL", help="A SQL condition over the feature's columns, in the store's dialect.")
@store_option
@pass_context
def delete(context: CliContext, feature: str, ids_file: str | None, where: str | None, store_name: str | None) -> None:
    """Soft-delete samples of FEATURE: tombstones are appended to its history.

    \b
    Examples:
      metaxy delete example/video --ids gone.csv
      metaxy delete example/video --where "duration < 1"
    """
    from metaxy_cli.engine import delete as soft_delete

    if (ids_file is None) == (where is None):
        raise click.UsageError("give exactly one of --ids FILE or --where SQL")
    with opened(context, store_name) as (project, store):
        count = soft_delete(project, store, feature, ids=ids_file, where=where)
    click.echo(f"deleted {count} samples of {feature}", err=True)


@click.command()
@click.argument("feature")
@click.option("--dialect", "-d", default="duckdb", show_default=True, metavar="NAME",
              help="Any SQL dialect sqlglot knows: duckdb, sqlite, postgres, clickhouse, spark, ...")
@click.option("--query", "query", type=click.Choice(("increment", "summary", "expected")), default="increment",
              show_default=True, help="Which versioning query to print.")
@pass_context
def sql(context: CliContext, feature: str, dialect: str, query: str) -> None:
    """Print the versioning query of FEATURE, to run it in your own warehouse.

    \b
    Examples:
      metaxy sql example/crop --dialect postgres
      metaxy sql example/stt --dialect clickhouse --query summary
    """
    from metaxy_cli.engine import sql_text

    click.echo(sql_text(context.project(), feature, dialect, query=query))
