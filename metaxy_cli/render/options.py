"""What to draw: the options every graph renderer takes, and the features and edges they select."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metaxy_cli.definitions.project import Project

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


def edge_lineage(project: Project, dep: str, key: str) -> str | None:
    """How an edge maps samples when not one to one: '1:N' (expansion) or 'N:1' (an aggregated
    dep: its ids extend the feature's); None for identity edges, drawn as before."""
    spec = project.features[key]
    if spec.lineage.kind == "expansion":
        return "1:N"
    if spec.lineage.kind == "aggregation" and set(project.features[dep].id_columns) != set(spec.id_columns):
        return "N:1"
    return None
