"""Graphviz rendering: DOT source built with the `graphviz` package, images through `dot`.

Nodes are named by feature key (the graphviz package quotes names); labels are HTML-like tables
(one row for the feature, one per field) whose text is escaped here, because the package passes
`<...>` labels through verbatim.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from metaxy_cli.definitions.errors import RenderError
from metaxy_cli.render.options import RenderOptions, edge_lineage, selected_edges, selected_keys

if TYPE_CHECKING:
    from metaxy_cli.definitions.model import FeatureSpec
    from metaxy_cli.definitions.project import Project

INSTALL_HINT = (
    "the Graphviz 'dot' program is needed for svg and png output but was not found; "
    "install it (apt-get install graphviz, brew install graphviz, or https://graphviz.org/download/)"
)
_VERSION_FONT = '<FONT POINT-SIZE="10" COLOR="#555555">{}</FONT>'


def _label(project: Project, spec: FeatureSpec, show_versions: bool) -> str:
    versions = project.versions
    head = f"<B>{escape(spec.key)}</B>"
    if show_versions:
        head += "<BR/>" + _VERSION_FONT.format("v: " + project.short(versions.feature[spec.key]))
    rows = [f'<TR><TD ALIGN="LEFT" BGCOLOR="#E8EEF7">{head}</TD></TR>']
    for field in spec.fields:
        cell = escape(field.key)
        if show_versions:
            cell += " " + _VERSION_FONT.format(project.short(versions.field[(spec.key, field.key)]))
        rows.append(f'<TR><TD ALIGN="LEFT">{cell}</TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">' + "".join(rows) + "</TABLE>"
    return f"<{table}>"


def build_digraph(project: Project, options: RenderOptions | None = None):
    """The graphviz.Digraph of the (selected) feature graph."""
    import graphviz

    options = options or RenderOptions()
    keys = selected_keys(project, options)
    title = f"Feature Graph: {project.name}"
    if options.show_versions:
        title += f" (version {project.short(project.versions.project)})"
    dot = graphviz.Digraph(
        "feature_graph",
        graph_attr={"rankdir": options.direction, "label": title, "labelloc": "t", "fontname": "Helvetica"},
        node_attr={"shape": "plain", "fontname": "Helvetica"},
        edge_attr={"color": "#555555"},
    )
    for key in keys:
        dot.node(key, _label(project, project.features[key], options.show_versions))
    for dep, key in selected_edges(project, keys):
        optional = any(d.optional for d in project.features[key].deps if d.feature == dep)
        kind = edge_lineage(project, dep, key)
        dot.edge(dep, key, **({"style": "dashed"} if optional else {}), **({"label": kind} if kind else {}))
    return dot


def render_dot(project: Project, options: RenderOptions | None = None) -> str:
    """DOT source; optional deps are drawn dashed, expansion and aggregation edges labelled 1:N / N:1."""
    return build_digraph(project, options).source


def render_image(project: Project, options: RenderOptions | None, fmt: str) -> bytes:
    """`svg` or `png` bytes from the Graphviz `dot` program (RenderError when it is missing)."""
    import graphviz

    try:
        return build_digraph(project, options).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound:
        raise RenderError(INSTALL_HINT) from None
    except graphviz.CalledProcessError as error:
        detail = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"dot failed: {detail[0] if detail else error}") from None
