"""The feature graph as JSON for programs: every version at full length.

The shape is documented by schemas/graph.schema.json (`format_version` 1); a test validates the
output against it. Versions are left out with `show_versions=False`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from metaxy_cli.render.options import RenderOptions, edge_lineage, selected_edges, selected_keys

if TYPE_CHECKING:
    from metaxy_cli.definitions.model import FeatureSpec
    from metaxy_cli.definitions.project import Project

FORMAT_VERSION = 1


def _field(project: Project, spec: FeatureSpec, field, show_versions: bool) -> dict[str, Any]:
    parents = project.graph.field_parents[(spec.key, field.key)]
    data: dict[str, Any] = {
        "key": field.key,
        "fq": spec.fq(field.key),
        "code_version": field.code_version,
        "description": field.description,
        "parents": [f"{feature}.{key}" for feature, key in parents],
        "source": None if field.source is None else list(field.source),
        "data_version": field.data_version,
    }
    if field.deps is not None:
        data["deps"] = "*" if isinstance(field.deps, str) else [
            {"feature": dep.feature, "fields": "*" if dep.fields is None else list(dep.fields)}
            for dep in field.deps
        ]
    if show_versions:
        data["version"] = project.versions.field[(spec.key, field.key)]
    return data


def _feature(project: Project, spec: FeatureSpec, show_versions: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": spec.key,
        "table": spec.table,
        "description": spec.description,
        "owner": spec.owner,
        "tags": list(spec.tags),
        "cost": spec.cost,
        "deps": [{"feature": dep.feature, "optional": dep.optional} for dep in spec.deps],
        "id_columns": list(spec.id_columns),
        "columns": [{"name": c.name, "type": c.type, "description": c.description} for c in spec.columns],
        "fields": [_field(project, spec, field, show_versions) for field in spec.fields],
    }
    if not spec.lineage.is_identity:  # identity documents stay as they were
        data["lineage"] = {"kind": spec.lineage.kind, "on": list(spec.lineage.on)}
    if show_versions:
        versions = project.versions
        data["version"] = versions.feature[spec.key]
        data["feature_code_version"] = versions.feature_code[spec.key]
        data["metadata_version"] = versions.metadata[spec.key]
    return data


def _edge(project: Project, dep: str, key: str) -> dict[str, Any]:
    kind = edge_lineage(project, dep, key)
    return {"from": dep, "to": key, **({"lineage": kind} if kind else {})}


def graph_document(project: Project, options: RenderOptions | None = None) -> dict[str, Any]:
    """The JSON-ready document (dicts and lists) of the (selected) feature graph."""
    options = options or RenderOptions()
    keys = selected_keys(project, options)
    head: dict[str, Any] = {"name": project.name}
    if options.show_versions:
        head["version"] = project.versions.project
    return {
        "format_version": FORMAT_VERSION,
        "project": head,
        "features": [_feature(project, project.features[key], options.show_versions) for key in keys],
        "edges": [_edge(project, dep, key) for dep, key in selected_edges(project, keys)],
    }


def render_json(project: Project, options: RenderOptions | None = None) -> str:
    """Indented JSON text, ending with a newline."""
    return json.dumps(graph_document(project, options), indent=2, ensure_ascii=False) + "\n"
