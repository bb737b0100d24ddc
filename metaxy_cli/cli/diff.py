"""`metaxy diff`."""

from __future__ import annotations

import click

from metaxy_cli.cli.context import CliContext, pass_context

FORMATS = ("text", "json", "markdown", "mermaid", "dot")


@click.command()
@click.argument("base", required=False)
@click.argument("head", required=False)
@click.option("--staged", is_flag=True, help="Compare with the index (what would be committed) instead of the working tree.")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: text, json, markdown, mermaid or dot (the merged graph).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs, 0 otherwise (as git diff).")
@click.option("--store", "store_name", envvar="METAXY_STORE", metavar="NAME",
              help="The store whose graph snapshots `snapshot:...` sides name (default: default_store).")
@pass_context
def diff(
    context: CliContext, base: str | None, head: str | None, staged: bool, fmt: str, exit_code: bool, store_name: str | None
) -> None:
    """Show how features and fields change between two versions of the definitions.

    BASE defaults to HEAD and HEAD to the working tree. Each is any git revision
    (a branch, a tag, HEAD~3, a commit) or A...B for the merge base of A and B.
    Definitions are read from git directly: nothing is checked out. A side may also be
    a graph snapshot kept in the store: snapshot:LATEST or snapshot:<version prefix>
    (see `metaxy history`), the definitions production was computed with.

    \b
    Examples:
      metaxy diff                      # HEAD -> working tree
      metaxy diff --staged             # HEAD -> index
      metaxy diff main                 # main -> working tree
      metaxy diff origin/main...HEAD HEAD --format markdown
      metaxy diff HEAD~1 HEAD --format mermaid
      metaxy diff snapshot:LATEST --store prod
      metaxy diff --exit-code > /dev/null || echo "the feature graph changed"
    """
    from metaxy_cli.cli.sides import load_pair
    from metaxy_cli.definitions.diff import diff_projects
    from metaxy_cli.definitions.gitsource import side_label
    from metaxy_cli.render.diff import render_diff
    from metaxy_cli.definitions.sources import resolve_project_file

    if staged and head is not None:
        raise click.UsageError("--staged compares with the index: give at most one revision (BASE)")
    base = base or "HEAD"
    project_file = resolve_project_file(context.project_path)
    old, new = load_pair(context, project_file, base, head, staged=staged, store_name=store_name)
    result = diff_projects(old, new, old_label=side_label(base), new_label=side_label(head, staged=staged))
    click.echo(render_diff(result, fmt), nl=False)
    if exit_code and result.has_changes:
        raise SystemExit(1)
