"""Drawing the feature graph: pure functions from a Project (and RenderOptions) to text or bytes.

Every renderer walks the selected features in topological order, so the same project always
gives the same output. Heavy dependencies (graphviz) are imported inside the functions that need
them; importing this package is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from metaxy_cli.errors import RenderError

if TYPE_CHECKING:
    from metaxy_cli.model import Project

FORMATS = ("mermaid", "dot", "svg", "png", "json", "text")
DIRECTIONS = ("TB", "LR")
BINARY_FORMATS = ("png",)


@dataclass(frozen=True)
class RenderOptions:
    """What to draw and how. `features` empty means the whole graph."""

    features: tuple[str, ...] = ()
    upstream: bool = False
    downstream: bool = False
    direction: str = "TB"
    show_versions: bool = True
    color: bool = False  # ANSI colours (text format only; the CLI sets it for terminals)


def selected_keys(project: Project, options: RenderOptions) -> list[str]:
    """The features to draw, in topological order; unknown keys raise UnknownFeatureError."""
    if not options.features:
        return list(project.graph.order)
    for key in options.features:
        project.feature(key)  # raises with a did-you-mean hint
    return project.graph.subgraph_keys(
        options.features, upstream=options.upstream, downstream=options.downstream
    )


def selected_edges(project: Project, keys: list[str]) -> list[tuple[str, str]]:
    """(dep, dependant) pairs between selected features, in topological order of the dependant."""
    chosen = set(keys)
    return [(dep, key) for dep, key in project.graph.edges() if dep in chosen and key in chosen]


def render(project: Project, fmt: str, options: RenderOptions | None = None) -> str | bytes:
    """Render `project` in `fmt` (one of FORMATS); `png` gives bytes, the others text."""
    options = options or RenderOptions()
    if options.direction not in DIRECTIONS:
        raise RenderError(f"unknown direction {options.direction!r}; use one of: {', '.join(DIRECTIONS)}")
    if fmt == "mermaid":
        from metaxy_cli.render.mermaid import render_mermaid

        return render_mermaid(project, options)
    if fmt == "dot":
        from metaxy_cli.render.graphviz import render_dot

        return render_dot(project, options)
    if fmt in ("svg", "png"):
        from metaxy_cli.render.graphviz import render_image

        image = render_image(project, options, fmt)
        return image.decode("utf-8") if fmt == "svg" else image
    if fmt == "json":
        from metaxy_cli.render.graph_json import render_json

        return render_json(project, options)
    if fmt == "text":
        from metaxy_cli.render.text import render_text

        return render_text(project, options)
    raise RenderError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
