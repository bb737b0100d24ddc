"""`metaxy plan`."""

from __future__ import annotations

import click

from metaxy_cli.cli.context import CliContext, pass_context

FORMATS = ("text", "json", "markdown")


@click.command()
@click.option("--base", metavar="REV",
              help="Revision to plan from: any git revision, A...B, or snapshot:LATEST / snapshot:<version> of the "
                   "store (default: plan.base in metaxy.yaml, else HEAD).")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: text, json, or markdown (a pull-request comment with the graph diff).")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when nothing needs recomputing, 2 when something does, 1 on error.")
@click.option("--store", "store_name", metavar="NAME",
              help="Also predict, from this store's samples, how many of each feature to compute and the cost.")
@pass_context
def plan(context: CliContext, base: str | None, fmt: str, detailed_exitcode: bool, store_name: str | None) -> None:
    """What the working tree's definitions make you recompute, compared with BASE.

    Lists the features and fields to recompute (changed ones and everything they
    affect downstream, each with its reason), and the ones that keep their versions.
    Works from git alone: no store, nothing pushed. With --store, adds per feature the
    samples that will be new, stale (by field) and orphaned once everything upstream is
    recomputed, and their cost (`cost` of features or fields, in `cost_unit`), read
    from the store without changing it.

    \b
    Examples:
      metaxy plan
      metaxy plan --base origin/main...HEAD --format markdown > comment.md
      metaxy plan --store prod --format json
      metaxy plan --base snapshot:LATEST --store prod
      metaxy plan --detailed-exitcode; test $? -ne 1
    """
    from metaxy_cli.cli.sides import load_pair
    from metaxy_cli.definitions.diff import diff_projects
    from metaxy_cli.definitions.gitsource import configured_base, side_label
    from metaxy_cli.definitions.plan import build_plan
    from metaxy_cli.render.diff import render_plan
    from metaxy_cli.definitions.sources import resolve_project_file

    project_file = resolve_project_file(context.project_path)
    base = base or configured_base(project_file) or "HEAD"
    old, new = load_pair(context, project_file, base, None, store_name=store_name)
    result = build_plan(diff_projects(old, new, old_label=side_label(base), new_label=side_label(None)))
    if store_name is not None:
        result = _predicted(context, result, store_name)
    click.echo(render_plan(result, fmt), nl=False)
    if detailed_exitcode and result.needs_recompute:
        raise SystemExit(2)


def _predicted(context: CliContext, plan, store_name: str | None):
    """The plan with the working tree's predictions against the store attached."""
    from metaxy_cli.definitions.plan import with_predictions
    from metaxy_cli.engine.predict import predict
    from metaxy_cli.store.config import open_store

    project = context.project()
    with open_store(project, store_name) as store:
        predictions = predict(project, store)
        return with_predictions(plan, predictions, store=store.name, cost_unit=project.cost_unit)
