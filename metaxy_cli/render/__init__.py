"""Stage 5 of the pipeline: showing a project and its changes to people.

Owns the graph renderers (text, Mermaid, Graphviz dot/svg/png, JSON; pure functions from a
Project and RenderOptions to text or bytes) and the renderers of diffs and plans (`diff`: text,
Markdown for pull requests, JSON). Every renderer walks features in topological order, so the
same input always gives the same output. Heavy dependencies (graphviz) are imported inside the
functions that need them; importing this package is cheap.

May import: definitions, sql, store, engine (to show what they computed); never cli.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.definitions.errors import RenderError
from metaxy_cli.render.options import (
    BINARY_FORMATS,
    DIRECTIONS,
    FORMATS,
    RenderOptions,
    selected_edges,
    selected_keys,
)

if TYPE_CHECKING:
    from metaxy_cli.definitions.project import Project

__all__ = ["BINARY_FORMATS", "DIRECTIONS", "FORMATS", "RenderOptions", "render", "selected_edges", "selected_keys"]


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
