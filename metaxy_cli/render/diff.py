"""Renderers of a ProjectDiff and of a Plan: text, JSON documents, Markdown, Mermaid and DOT.

Pure string builders in the diff's (topological) order. The graph renderers draw the merged
graph: old -> new versions, fields coloured by status, one node style per feature status, added
edges thick and removed edges dashed. Colours come from `THEME`, shared by Mermaid and DOT.
"""

from __future__ import annotations

import json
from html import escape as html_escape
from typing import Any

from metaxy_cli.definitions.diff import STATUSES, FeatureChange, FieldChange, ProjectDiff
from metaxy_cli.definitions.errors import RenderError
from metaxy_cli.definitions.plan import Plan, Prediction, cost_text, describe_field_change
from metaxy_cli.render.mermaid import INIT, escape, node_ids

FORMAT_VERSION = 1
DIFF_FORMATS = ("text", "json", "markdown", "mermaid", "dot")
PLAN_FORMATS = ("text", "json", "markdown")
THEME = {
    "added": "#00AA00",
    "removed": "#CC0000",
    "changed": "#FFA500",
    "affected": "#1E90FF",
    "metadata": "#888888",
    "old": "#CC0000",
    "new": "#00AA00",
    "compute": "#FFF3CD",  # plan: features with samples to compute
}


# --- shared wording ---------------------------------------------------------------------------


def counts_text(diff: ProjectDiff) -> str:
    """`1 changed, 2 affected, 1 unchanged` (statuses with no feature left out)."""
    return ", ".join(f"{n} {status}" for status, n in diff.counts().items() if n) or "no features"


def _versions(diff: ProjectDiff, old: str | None, new: str | None, arrow: str = "->") -> str:
    if old is None or new is None or old == new:
        return diff.short(old or new)
    return f"{diff.short(old)} {arrow} {diff.short(new)}"


def field_note(change: FieldChange) -> str:
    """Why a field has its status, in a few words."""
    if change.status == "changed":
        return describe_field_change(change)
    if change.status == "affected":
        note = "caused by " + ", ".join(change.root_causes)
        return note + (" via " + " <- ".join(change.chain[:-1]) if len(change.chain) > 1 else "")
    if change.status == "metadata":
        return ", ".join(change.metadata_changes) + " changed"
    return ""


def feature_note(change: FeatureChange) -> str:
    notes = []
    if change.renamed_from:
        notes.append(f"renamed from {change.renamed_from}?")
    if change.renamed_to:
        notes.append(f"renamed to {change.renamed_to}?")
    if change.metadata_changes:
        notes.append(", ".join(change.metadata_changes) + " changed")
    return "; ".join(notes)


# --- text ---------------------------------------------------------------------------------------


def diff_text(diff: ProjectDiff) -> str:
    """Differing features with all their fields; unchanged features only counted."""
    lines = [f"diff {diff.old_label} -> {diff.new_label}", f"project {_versions(diff, diff.old_version, diff.new_version)}"]
    for change in diff.features:
        if change.status == "unchanged":
            continue
        head = f"{change.status} {change.key} {_versions(diff, change.old_version, change.new_version)}"
        note = feature_note(change)
        lines += ["", head + (f" ({note})" if note else "")]
        for field in change.fields:
            line = f"  {field.status} {field.key} {_versions(diff, field.old_version, field.new_version)}"
            note = field_note(field)
            lines.append(line + (f": {note}" if note else ""))
    lines += ["", counts_text(diff) if diff.has_changes else f"no differences ({counts_text(diff)})"]
    return "\n".join(lines) + "\n"


def plan_text(plan: Plan) -> str:
    lines = [f"plan {plan.base_label} -> {plan.head_label}"]
    if plan.recompute:
        lines += ["", "Recompute:"]
        for feature in plan.recompute:
            lines.append(f"  {feature.key} ({feature.status}) {_versions(plan.diff, feature.old_version, feature.new_version)}")
            lines += [f"    {field.key}: {field.reason}" for field in feature.fields]
            if feature.kept_fields:
                lines.append("    keeps: " + ", ".join(feature.kept_fields))
            if feature.dropped_fields:
                lines.append("    drops: " + ", ".join(feature.dropped_fields))
    if plan.keep:
        lines += ["", "Keep their versions:"] + [f"  {key}" for key in plan.keep]
    if plan.removed:
        lines += ["", "Removed (their stored samples are left as they are):"] + [f"  {key}" for key in plan.removed]
    if plan.predictions:
        lines += ["", f"Samples in store {plan.store!r}:"] + _prediction_lines(plan)
    lines += ["", plan.summary]
    return "\n".join(lines) + "\n"


def _stale_fields(prediction: Prediction) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in prediction.stale_fields.items() if count)


def _prediction_lines(plan: Plan) -> list[str]:
    """Aligned columns: feature, new, stale (by field), orphaned, up to date, cost."""
    header = ["feature", "new", "stale", "orphaned", "up to date", "cost" + (f" ({plan.cost_unit})" if plan.cost_unit else "")]
    rows = []
    for p in plan.predictions:
        stale = f"{p.stale:,}" + (f" ({_stale_fields(p)})" if p.stale else "")
        cost = cost_text(p.cost, None) or "-"
        note = "" if p.table_exists else "  (no table yet)"
        rows.append([p.key + note, f"{p.new:,}", stale, f"{p.orphaned:,}", f"{p.up_to_date:,}", cost])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]


# --- JSON ---------------------------------------------------------------------------------------


def _field_dict(change: FieldChange) -> dict[str, Any]:
    return {
        "key": change.key, "status": change.status,
        "old_version": change.old_version, "new_version": change.new_version,
        "old_code_version": change.old_code_version, "new_code_version": change.new_code_version,
        "old_parents": list(change.old_parents), "new_parents": list(change.new_parents),
        "caused_by": list(change.caused_by), "root_causes": list(change.root_causes),
        "chain": list(change.chain), "metadata_changes": list(change.metadata_changes),
    }


def diff_document(diff: ProjectDiff) -> dict[str, Any]:
    """The diff as a JSON-ready document (schemas/diff.schema.json); versions at full length."""
    return {
        "format_version": FORMAT_VERSION,
        "base": diff.old_label,
        "head": diff.new_label,
        "project": {"old_version": diff.old_version, "new_version": diff.new_version},
        "has_changes": diff.has_changes,
        "counts": diff.counts(),
        "features": [
            {
                "key": c.key, "status": c.status, "old_version": c.old_version, "new_version": c.new_version,
                "old_deps": list(c.old_deps), "new_deps": list(c.new_deps),
                "metadata_changes": list(c.metadata_changes),
                "renamed_from": c.renamed_from, "renamed_to": c.renamed_to,
                "fields": [_field_dict(f) for f in c.fields],
            }
            for c in diff.features
        ],
        "edges": [{"from": dep, "to": key, "status": status} for dep, key, status in diff.edges],
    }


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready document (schemas/plan.schema.json)."""
    return {
        "format_version": FORMAT_VERSION,
        "base": plan.base_label,
        "head": plan.head_label,
        "summary": plan.summary,
        "needs_recompute": plan.needs_recompute,
        "recompute": [
            {
                "key": f.key, "status": f.status, "old_version": f.old_version, "new_version": f.new_version,
                "fields": [{"key": p.key, "status": p.status, "reason": p.reason, "chain": list(p.chain)} for p in f.fields],
                "kept_fields": list(f.kept_fields), "dropped_fields": list(f.dropped_fields),
                "samples": f.samples, "cost": f.cost,
            }
            for f in plan.recompute
        ],
        "keep": list(plan.keep),
        "removed": list(plan.removed),
        "total_cost": plan.total_cost,
        # With --store only, so that a plan from git alone stays the document it always was.
        **({"store": plan.store, "cost_unit": plan.cost_unit, "features": [p.as_dict() for p in plan.predictions]}
           if plan.store is not None else {}),
    }


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- Markdown -----------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_md(text)}`"


def diff_markdown(diff: ProjectDiff) -> str:
    lines = [
        f"### metaxy diff: {_code(diff.old_label)} → {_code(diff.new_label)}",
        "",
        f"Project version {_code(_versions(diff, diff.old_version, diff.new_version, '→'))}: {counts_text(diff)}.",
    ]
    shown = [c for c in diff.features if c.status != "unchanged"]
    if shown:
        lines += ["", "| Feature | Status | Version | Fields |", "|---|---|---|---|"]
        for change in shown:
            fields = "<br>".join(
                f"{_code(f.key)} {f.status}" + (f": {_md(field_note(f))}" if field_note(f) else "")
                for f in change.fields if f.status != "unchanged"
            )
            note = feature_note(change)
            status = change.status + (f" ({_md(note)})" if note else "")
            version = _code(_versions(diff, change.old_version, change.new_version, "→"))
            lines.append(f"| {_code(change.key)} | {status} | {version} | {fields} |")
    return "\n".join(lines) + "\n"


def plan_markdown(plan: Plan) -> str:
    """A pull-request comment: summary, table of what to recompute and why, the graph diff."""
    title = f"recompute {len(plan.recompute)} feature{'s' if len(plan.recompute) != 1 else ''}" if plan.recompute else "nothing to recompute"
    lines = [f"### metaxy plan: {title}", "", f"**{_md(plan.summary)}**", "",
             f"Base {_code(plan.base_label)} → head {_code(plan.head_label)}."]
    if plan.recompute:
        lines += ["", "| Feature | Status | Fields to recompute | Why |", "|---|---|---|---|"]
        for feature in plan.recompute:
            fields = ", ".join(_code(f.key) for f in feature.fields)
            why = "<br>".join(f"{_code(f.key)}: {_md(f.reason)}" for f in feature.fields)
            lines.append(f"| {_code(feature.key)} | {feature.status} | {fields} | {why} |")
    if plan.keep:
        lines += ["", "**Keep their versions:** " + ", ".join(_code(key) for key in plan.keep)]
    if plan.removed:
        lines += ["", "**Removed:** " + ", ".join(_code(key) for key in plan.removed)]
    if plan.predictions:
        unit = f" ({_md(plan.cost_unit)})" if plan.cost_unit else ""
        lines += ["", f"Samples in store {_code(plan.store or '')}:", "",
                  f"| Feature | New | Stale (by field) | Orphaned | Up to date | Cost{unit} |", "|---|---:|---|---:|---:|---:|"]
        for p in plan.predictions:
            stale = f"{p.stale:,}" + (f" ({_md(_stale_fields(p))})" if p.stale else "")
            name = _code(p.key) + ("" if p.table_exists else " (no table yet)")
            lines.append(f"| {name} | {p.new:,} | {stale} | {p.orphaned:,} | {p.up_to_date:,} | {cost_text(p.cost, None) or '-'} |")
        total = cost_text(plan.total_cost, plan.cost_unit)
        computed = sum(p.to_compute for p in plan.predictions)
        lines.append(f"| **total** | | | | | **{total or '-'}** |" if total else f"| **total: {computed:,} to compute** | | | | | |")
    if plan.diff.has_changes or any(p.to_compute for p in plan.predictions):
        busy = [p.key for p in plan.predictions if p.to_compute]
        lines += ["", "<details><summary>Graph diff</summary>", "", "```mermaid",
                  diff_mermaid(plan.diff, focus=True, highlight=busy).rstrip("\n"), "```", "", "</details>"]
    return "\n".join(lines) + "\n"


# --- graphs -------------------------------------------------------------------------------------


def focus_keys(diff: ProjectDiff) -> list[str]:
    """Features that differ plus their direct neighbours (context), in diff order."""
    differing = {c.key for c in diff.features if c.status != "unchanged"}
    chosen = set(differing)
    for dep, key, _ in diff.edges:
        if dep in differing or key in differing:
            chosen.update((dep, key))
    return [c.key for c in diff.features if c.key in chosen]


def _font(text: str, color: str) -> str:
    return f"<font color='{color}'>{text}</font>"


def _mermaid_versions(diff: ProjectDiff, old: str | None, new: str | None) -> str:
    if old is None or new is None or old == new:
        return diff.short(old or new)
    return f"{_font(diff.short(old), THEME['old'])} → {_font(diff.short(new), THEME['new'])}"


def _mermaid_label(diff: ProjectDiff, change: FeatureChange) -> str:
    parts = [f"<b>{escape(change.key)}</b>", _mermaid_versions(diff, change.old_version, change.new_version)]
    if change.renamed_from or change.renamed_to:
        parts.append(escape(feature_note(change)))
    parts.append("---")
    for field in change.fields:
        name = escape(field.key)
        if field.status in THEME:
            name = _font(f"<b>{name}</b>" if field.status != "metadata" else name, THEME[field.status])
        parts.append(f"• {name} ({_mermaid_versions(diff, field.old_version, field.new_version)})")
    return "<div style='text-align:left'>" + "<br/>".join(parts) + "</div>"


def diff_mermaid(
    diff: ProjectDiff, *, focus: bool = False, direction: str = "TB", highlight: list[str] | None = None
) -> str:
    """The merged graph as a Mermaid flowchart; `focus` keeps differing features and neighbours;
    `highlight` (the plan's features with samples to compute) are shaded and always shown."""
    marked = set(highlight or ())
    keys = focus_keys(diff) if focus else [c.key for c in diff.features]
    keys = [c.key for c in diff.features if c.key in set(keys) | marked]
    chosen = set(keys)
    ids = node_ids(c.key for c in diff.features)
    title = json.dumps(f"metaxy diff {diff.old_label} -> {diff.new_label}")
    lines = ["---", f"title: {title}", "---", f"flowchart {direction}",
             f"    %% Project version: {_versions(diff, diff.old_version, diff.new_version)}", f"    {INIT}"]
    by_status: dict[str, list[str]] = {}
    for key in keys:
        change = diff.feature(key)
        lines.append(f'    {ids[key]}["{_mermaid_label(diff, change)}"]')
        by_status.setdefault(change.status, []).append(ids[key])
    arrows = {"kept": "-->", "added": "==>", "removed": "-.->"}
    lines += [f"    {ids[dep]} {arrows[s]} {ids[key]}" for dep, key, s in diff.edges if dep in chosen and key in chosen]
    styles = {
        "added": f"stroke:{THEME['added']},stroke-width:3px",
        "removed": f"stroke:{THEME['removed']},stroke-width:3px,stroke-dasharray:5 5",
        "changed": f"stroke:{THEME['changed']},stroke-width:3px",
        "affected": f"stroke:{THEME['affected']},stroke-width:2px",
        "metadata": f"stroke:{THEME['metadata']},stroke-width:2px,stroke-dasharray:2 2",
    }
    for status in STATUSES:
        if status in styles and status in by_status:
            lines.append(f"    classDef {status} {styles[status]}")
            lines.append(f"    class {','.join(by_status[status])} {status}")
    shaded = [ids[key] for key in keys if key in marked]
    if shaded:
        lines.append(f"    classDef compute fill:{THEME['compute']}")
        lines.append(f"    class {','.join(shaded)} compute")
    return "\n".join(lines) + "\n"


def _dot_versions(diff: ProjectDiff, old: str | None, new: str | None) -> str:
    if old is None or new is None or old == new:
        return diff.short(old or new)
    return (f'<FONT COLOR="{THEME["old"]}">{diff.short(old)}</FONT> → '
            f'<FONT COLOR="{THEME["new"]}">{diff.short(new)}</FONT>')


def _dot_label(diff: ProjectDiff, change: FeatureChange) -> str:
    head = f"<B>{html_escape(change.key)}</B><BR/>{_dot_versions(diff, change.old_version, change.new_version)}"
    if change.status != "unchanged":
        head += f'<BR/><FONT POINT-SIZE="10">{html_escape(change.status)}</FONT>'
    rows = [f'<TR><TD ALIGN="LEFT">{head}</TD></TR>', "<HR/>"]
    for field in change.fields:
        name = html_escape(field.key)
        if field.status in THEME:
            name = f'<FONT COLOR="{THEME[field.status]}"><B>{name}</B></FONT>'
        rows.append(f'<TR><TD ALIGN="LEFT">{name} ({_dot_versions(diff, field.old_version, field.new_version)})</TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">' + "".join(rows) + "</TABLE>>"


def diff_dot(diff: ProjectDiff, *, direction: str = "TB") -> str:
    """DOT source of the merged graph, built with the graphviz package (which quotes names)."""
    import graphviz

    title = f"metaxy diff {diff.old_label} -> {diff.new_label}"
    dot = graphviz.Digraph(
        "graph_diff",
        graph_attr={"rankdir": direction, "label": title, "labelloc": "t", "fontname": "Helvetica"},
        node_attr={"shape": "box", "style": "rounded", "fontname": "Helvetica", "margin": "0"},
        edge_attr={"color": "#555555"},
    )
    for change in diff.features:
        attrs = {}
        if change.status in THEME:
            attrs = {"color": THEME[change.status], "penwidth": "3" if change.status != "metadata" else "2"}
            if change.status in ("removed", "metadata"):
                attrs["style"] = "rounded,dashed"
        dot.node(change.key, _dot_label(diff, change), **attrs)
    edge_styles = {"kept": {}, "added": {"color": THEME["added"], "penwidth": "2"},
                   "removed": {"color": THEME["removed"], "style": "dashed"}}
    for dep, key, status in diff.edges:
        dot.edge(dep, key, **edge_styles[status])
    return dot.source


# --- dispatch -----------------------------------------------------------------------------------


def render_diff(diff: ProjectDiff, fmt: str) -> str:
    renderers = {"text": diff_text, "json": lambda d: _json(diff_document(d)), "markdown": diff_markdown,
                 "mermaid": diff_mermaid, "dot": diff_dot}
    if fmt not in renderers:
        raise RenderError(f"unknown diff format {fmt!r}; use one of: {', '.join(DIFF_FORMATS)}")
    return renderers[fmt](diff)


def render_plan(plan: Plan, fmt: str) -> str:
    renderers = {"text": plan_text, "json": lambda p: _json(plan_document(p)), "markdown": plan_markdown}
    if fmt not in renderers:
        raise RenderError(f"unknown plan format {fmt!r}; use one of: {', '.join(PLAN_FORMATS)}")
    return renderers[fmt](plan)
