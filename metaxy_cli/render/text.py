"""A readable tree of the feature graph for the terminal.

Features in topological order, each with its deps and its fields; each field shows where its
parents come from. Nothing is padded or wrapped (lines stay greppable when piped); ANSI colours
only when `options.color` is set, which the CLI does for a terminal only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.render.options import RenderOptions, edge_lineage, selected_keys

if TYPE_CHECKING:
    from metaxy_cli.definitions.model import FeatureSpec
    from metaxy_cli.definitions.project import Project

_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


class _Style:
    def __init__(self, color: bool):
        self.color = color

    def bold(self, text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if self.color else text

    def dim(self, text: str) -> str:
        return f"{_DIM}{text}{_RESET}" if self.color else text


def _parents_text(project: Project, spec: FeatureSpec, field_key: str) -> str:
    parents = project.graph.field_parents[(spec.key, field_key)]
    return ", ".join(f"{feature}.{key}" for feature, key in parents)


def _edge_note(project: Project, dep, spec: FeatureSpec) -> str:
    """' (optional)', ' (1:N)' (expansion) or ' (N:1)' (aggregated); nothing for identity."""
    kind = edge_lineage(project, dep.feature, spec.key)
    return (" (optional)" if dep.optional else "") + (f" ({kind})" if kind else "")


def _feature_lines(project: Project, spec: FeatureSpec, options: RenderOptions, style: _Style) -> list[str]:
    head = style.bold(spec.key)
    if options.show_versions:
        head += " " + style.dim(project.short(project.versions.feature[spec.key]))
    if spec.deps:
        deps = ", ".join(dep.feature + _edge_note(project, dep, spec) for dep in spec.deps)
        head += f" <- {deps}"
    lines = [head]
    for index, field in enumerate(spec.fields):
        branch = "└── " if index == len(spec.fields) - 1 else "├── "
        line = branch + field.key
        if options.show_versions:
            line += " " + style.dim(project.short(project.versions.field[(spec.key, field.key)]))
        parents = _parents_text(project, spec, field.key)
        if parents:
            line += f" <- {parents}"
        lines.append(line)
    return lines


def render_text(project: Project, options: RenderOptions | None = None) -> str:
    """The tree as text ending with a newline: a project line, then one block per feature."""
    options = options or RenderOptions()
    style = _Style(options.color)
    keys = selected_keys(project, options)
    title = f"project {style.bold(project.name)}"
    if options.show_versions:
        title += " " + style.dim(project.short(project.versions.project))
    shown = f"{len(keys)} of {len(project.features)}" if options.features else str(len(keys))
    lines = [f"{title} ({shown} features)"]
    for key in keys:
        lines.append("")
        lines += _feature_lines(project, project.features[key], options, style)
    return "\n".join(lines) + "\n"
