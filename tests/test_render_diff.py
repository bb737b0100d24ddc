"""Every diff and plan format on the seed scenario, exactly; Mermaid checked for structure, DOT by `dot`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from metaxy_cli.definitions.diff import ProjectDiff, diff_projects
from metaxy_cli.definitions.errors import RenderError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.project import Project
from metaxy_cli.definitions.plan import build_plan
from metaxy_cli.render.diff import diff_mermaid, focus_keys, render_diff, render_plan
from metaxy_cli.definitions.schemas import load_schema
from tests.diffseed import apply_seed_edit, expected

DIFF_FILES = {"text": "diff.txt", "json": "diff.json", "markdown": "diff.md", "mermaid": "diff.mmd", "dot": "diff.dot"}
PLAN_FILES = {"text": "plan.txt", "json": "plan.json", "markdown": "plan.md"}


@pytest.fixture
def seed(overview_dir: Path) -> tuple[Project, Project, ProjectDiff]:
    old = load_project(overview_dir)
    apply_seed_edit(overview_dir)
    new = load_project(overview_dir)
    return old, new, diff_projects(old, new, old_label="HEAD", new_label="working tree")


@pytest.mark.parametrize("fmt", sorted(DIFF_FILES))
def test_diff_formats_exactly(seed, fmt: str) -> None:
    old, new, diff = seed
    assert render_diff(diff, fmt) == expected(DIFF_FILES[fmt], old, new)


@pytest.mark.parametrize("fmt", sorted(PLAN_FILES))
def test_plan_formats_exactly(seed, fmt: str) -> None:
    old, new, diff = seed
    assert render_plan(build_plan(diff), fmt) == expected(PLAN_FILES[fmt], old, new)


def test_json_documents_follow_their_schemas(seed) -> None:
    _, _, diff = seed
    for schema, text in (("diff.schema.json", render_diff(diff, "json")), ("plan.schema.json", render_plan(build_plan(diff), "json"))):
        document = json.loads(text)
        assert document["format_version"] == 1
        errors = [e.message for e in Draft202012Validator(load_schema(schema)).iter_errors(document)]
        assert errors == [], schema


def test_unknown_format_is_a_render_error(seed) -> None:
    with pytest.raises(RenderError, match="unknown diff format 'svg'"):
        render_diff(seed[2], "svg")
    with pytest.raises(RenderError, match="unknown plan format 'dot'"):
        render_plan(build_plan(seed[2]), "dot")


def test_no_differences_text(overview_dir: Path) -> None:
    project = load_project(overview_dir)
    diff = diff_projects(project, project, old_label="HEAD", new_label="working tree")
    assert render_diff(diff, "text") == (
        f"diff HEAD -> working tree\nproject {project.versions.project[:8]}\n\nno differences (4 unchanged)\n"
    )
    assert render_plan(build_plan(diff), "markdown").startswith("### metaxy plan: nothing to recompute\n")
    assert "```mermaid" not in render_plan(build_plan(diff), "markdown")


# --- Mermaid: a structural check of everything we emit ------------------------------------------

_NODE = re.compile(r'^    ([A-Za-z_][A-Za-z0-9_]*)\["([^"]*)"\]$')
_EDGE = re.compile(r"^    ([A-Za-z_][A-Za-z0-9_]*) (-->|==>|-\.->) ([A-Za-z_][A-Za-z0-9_]*)$")
_CLASSDEF = re.compile(r"^    classDef ([a-z]+) ([a-z-]+:[^,\s]+(,[a-z-]+:[^,]+)*)$")
_CLASS = re.compile(r"^    class ([A-Za-z0-9_,]+) ([a-z]+)$")
_TAG = re.compile(r"<(/?)([a-z]+)[^>]*?(/?)>")


def check_mermaid(text: str) -> dict[str, str]:
    """Assert `text` is a well-formed flowchart of the shapes we emit; returns node id -> label."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "---" and lines[2] == "---"
    assert lines[1].startswith("title: ") and isinstance(json.loads(lines[1][7:]), str)
    assert lines[3] in ("flowchart TB", "flowchart LR")
    nodes: dict[str, str] = {}
    classes: set[str] = set()
    for line in lines[4:]:
        if line.strip().startswith("%%"):
            continue
        if match := _NODE.match(line):
            assert match[1] not in nodes, f"node defined twice: {match[1]}"
            nodes[match[1]] = match[2]
            stack = []
            for closing, tag, selfclosing in _TAG.findall(match[2]):
                if selfclosing or tag == "br":
                    continue
                if closing:
                    assert stack and stack.pop() == tag, f"unbalanced </{tag}> in {match[1]}"
                else:
                    stack.append(tag)
            assert stack == [], f"unclosed tags {stack} in {match[1]}"
        elif match := _EDGE.match(line):
            assert match[1] in nodes and match[3] in nodes, line
        elif match := _CLASSDEF.match(line):
            classes.add(match[1])
        elif match := _CLASS.match(line):
            assert match[2] in classes, line
            assert all(node in nodes for node in match[1].split(",")), line
        else:
            raise AssertionError(f"unexpected Mermaid line: {line!r}")
    return nodes


def test_mermaid_is_well_formed(seed) -> None:
    nodes = check_mermaid(render_diff(seed[2], "mermaid"))
    assert list(nodes) == ["example_video", "example_crop", "example_face_detection", "example_stt"]


def test_mermaid_focus_keeps_differing_features_and_neighbours(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    path = overview_dir / "features" / "processing.yaml"
    path.write_text(path.read_text().replace("      - key: detections\n        code_version: \"1\"",
                                             "      - key: detections\n        code_version: \"5\""))
    diff = diff_projects(old, load_project(overview_dir))
    assert focus_keys(diff) == ["example/crop", "example/face_detection"]
    nodes = check_mermaid(diff_mermaid(diff, focus=True))
    assert list(nodes) == ["example_crop", "example_face_detection"]


def test_mermaid_draws_added_and_removed_edges(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    path = overview_dir / "features" / "processing.yaml"
    text = path.read_text().replace("  - key: example/stt\n    deps: [example/video]", "  - key: example/stt\n    deps: [example/video, example/crop]")
    path.write_text(text.replace("  - key: example/face_detection\n", "  - key: example/faces\n", 1))
    diff = diff_projects(old, load_project(overview_dir))
    text = diff_mermaid(diff)
    check_mermaid(text)
    assert "    example_crop ==> example_stt\n" in text
    assert "    example_crop -.-> example_face_detection\n" in text
    assert "    example_crop ==> example_faces\n" in text
    assert "    class example_faces added\n" in text and "    class example_face_detection removed\n" in text
    assert "renamed from example/face_detection?" in text


# --- DOT: rendered by the real Graphviz program -----------------------------------------------------


def _dot_program() -> str:
    program = shutil.which("dot")
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("the Graphviz `dot` program is required in CI")
        pytest.skip("Graphviz `dot` is not installed")
    return program


def test_dot_renders_with_graphviz(seed) -> None:
    done = subprocess.run([_dot_program(), "-Tsvg"], input=render_diff(seed[2], "dot"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count('class="node"') == 4 and done.stdout.count('class="edge"') == 3


def test_dot_escapes_labels(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    path = overview_dir / "features" / "video.yaml"
    path.write_text(path.read_text().replace("description: Video metadata feature (root).", "description: 'a <b> & \"c\"'"))
    diff = diff_projects(old, load_project(overview_dir), old_label='say "hi"', new_label="a\\b")
    done = subprocess.run([_dot_program(), "-Tsvg"], input=render_diff(diff, "dot"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
