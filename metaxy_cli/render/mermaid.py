"""Mermaid flowchart of the feature graph: one node per feature listing its fields and versions.

The layout follows the original Metaxy renderer, with two fixes: every piece of user text goes
through `escape` (the original put raw double quotes inside quoted labels), and node ids are
valid Mermaid identifiers that never collide, whatever the keys.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from metaxy_cli.render.options import RenderOptions, edge_lineage, selected_edges, selected_keys

if TYPE_CHECKING:
    from collections.abc import Iterable

    from metaxy_cli.definitions.model import FeatureSpec
    from metaxy_cli.definitions.project import Project

INIT = "%%{init: {'flowchart': {'htmlLabels': true, 'curve': 'basis'}, 'themeVariables': {'fontSize': '14px'}}}%%"
# Words the flowchart grammar treats as keywords when used as a bare node id.
_RESERVED = {"end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click", "linkstyle", "direction", "default"}
_NOT_ID = re.compile(r"[^A-Za-z0-9_]")


def escape(text: str) -> str:
    """User text made safe inside a double-quoted, HTML-enabled Mermaid label.

    `#` goes first because Mermaid's own entity codes (`#quot;`) start with it.
    """
    text = text.replace("#", "#35;").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "#quot;").replace("\r", " ").replace("\n", " ")


def node_ids(keys: Iterable[str]) -> dict[str, str]:
    """A distinct Mermaid id per feature key: non-identifier characters become `_`.

    Assigned over the whole project in topological order, so a feature keeps its id in
    subgraph renders; a clash (`a/b` and `a_b`) gets a numeric suffix.
    """
    ids: dict[str, str] = {}
    used: set[str] = set()
    for key in keys:
        base = _NOT_ID.sub("_", key)
        if base.lower() in _RESERVED:
            base += "_"
        candidate, suffix = base, 2
        while candidate in used:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        ids[key] = candidate
        used.add(candidate)
    return ids


def _label(project: Project, spec: FeatureSpec, show_versions: bool) -> str:
    versions = project.versions
    parts = [f"<b>{escape(spec.key)}</b>"]
    if show_versions:
        parts.append(f"<small>(v: {project.short(versions.feature[spec.key])})</small>")
    parts.append("---")
    for field in spec.fields:
        line = f"• {escape(field.key)}"
        if show_versions:
            line += f" <small>(v: {project.short(versions.field[(spec.key, field.key)])})</small>"
        parts.append(line)
    return "<div style='text-align:left'>" + "<br/>".join(parts) + "</div>"


def render_mermaid(project: Project, options: RenderOptions | None = None) -> str:
    """The Mermaid source of the (selected) feature graph, ending with a newline."""
    options = options or RenderOptions()
    keys = selected_keys(project, options)
    ids = node_ids(project.graph.order)
    lines = ["---", "title: Feature Graph", "---", f"flowchart {options.direction}"]
    if options.show_versions:
        lines.append(f"    %% Project version: {project.short(project.versions.project)}")
    lines.append(f"    {INIT}")
    for key in keys:
        label = _label(project, project.features[key], options.show_versions)
        lines.append(f'    {ids[key]}["{label}"]')
    for dep, key in selected_edges(project, keys):
        kind = edge_lineage(project, dep, key)
        lines.append(f"    {ids[dep]} -->{f'|{kind}|' if kind else ''} {ids[key]}")
    return "\n".join(lines) + "\n"
