"""`metaxy render`."""

from __future__ import annotations

import os
import sys

import click

from metaxy_cli.cli.context import CliContext, pass_context
from metaxy_cli.render import DIRECTIONS, FORMATS, RenderOptions


def _use_color(output: str | None) -> bool:
    """Colours only on a terminal, never into a file or a pipe, and never with NO_COLOR set."""
    return output is None and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


@click.command()
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="mermaid", show_default=True,
              help="Output format: mermaid, dot (Graphviz source), svg/png (need the Graphviz `dot` program), json, text.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of stdout.")
@click.option("--feature", "features", multiple=True, metavar="KEY",
              help="Only this feature (repeatable); add --upstream/--downstream for its closures.")
@click.option("--upstream", is_flag=True, help="With --feature: include everything the features depend on.")
@click.option("--downstream", is_flag=True, help="With --feature: include everything depending on the features.")
@click.option("--direction", type=click.Choice(DIRECTIONS), default="TB", show_default=True,
              help="Layout direction: top to bottom or left to right (mermaid, dot, svg, png).")
@click.option("--no-versions", is_flag=True, help="Hide versions.")
@pass_context
def render(context: CliContext, fmt: str, output: str | None, features: tuple[str, ...], upstream: bool,
           downstream: bool, direction: str, no_versions: bool) -> None:
    """Draw the feature graph: features, fields and their versions.

    \b
    Examples:
      metaxy render --format mermaid
      metaxy render --format text --feature example/crop --upstream
      metaxy render --format svg --direction LR --output graph.svg
      metaxy render --format json | jq '.features[].version'
    """
    from metaxy_cli.render import render as render_graph

    if (upstream or downstream) and not features:
        raise click.UsageError("--upstream/--downstream need at least one --feature KEY")
    options = RenderOptions(features=features, upstream=upstream, downstream=downstream,
                            direction=direction, show_versions=not no_versions, color=_use_color(output))
    if fmt == "png" and output is None and sys.stdout.isatty():
        raise click.UsageError("png is binary: give --output FILE or redirect stdout")
    _emit(render_graph(context.project(), fmt, options), output)


def _emit(result: str | bytes, output: str | None) -> None:
    """Write the rendered graph to stdout or, once it is complete, to `output`."""
    if output is None:
        click.echo(result, nl=False)  # bytes go to the binary stream
        return
    with open(output, "wb") as handle:
        handle.write(result if isinstance(result, bytes) else result.encode("utf-8"))
