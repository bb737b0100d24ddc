"""Mermaid renderer: exact text on the overview, escaping, ids, and structure on large graphs."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import UnknownFeatureError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.model import FeatureDep, FeatureSpec, FieldSpec
from metaxy_cli.definitions.project import Project
from metaxy_cli.render import RenderOptions
from metaxy_cli.render.mermaid import escape, node_ids, render_mermaid

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

OVERVIEW_MERMAID = """\
---
title: Feature Graph
---
flowchart TB
    %% Project version: 1b826fca
    %%{init: {'flowchart': {'htmlLabels': true, 'curve': 'basis'}, 'themeVariables': {'fontSize': '14px'}}}%%
    example_video["<div style='text-align:left'><b>example/video</b><br/><small>(v: 8fd92b1b)</small><br/>---<br/>• audio <small>(v: 460e3e18)</small><br/>• frames <small>(v: 089e1dd4)</small></div>"]
    example_crop["<div style='text-align:left'><b>example/crop</b><br/><small>(v: 93d346eb)</small><br/>---<br/>• audio <small>(v: 896058be)</small><br/>• frames <small>(v: 651c420c)</small></div>"]
    example_face_detection["<div style='text-align:left'><b>example/face_detection</b><br/><small>(v: 7ce3d918)</small><br/>---<br/>• detections <small>(v: 947c12d6)</small></div>"]
    example_stt["<div style='text-align:left'><b>example/stt</b><br/><small>(v: fa2dd30a)</small><br/>---<br/>• transcription <small>(v: caba0cbb)</small></div>"]
    example_video --> example_crop
    example_crop --> example_face_detection
    example_video --> example_stt
"""

NODE = re.compile(r'^    (\S+)\["(.*)"\]$')
EDGE = re.compile(r"^    (\S+) --> (\S+)$")


def load_generator():
    """benchmarks/generate_graph.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("generate_graph", REPO / "benchmarks" / "generate_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_graph"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def overview() -> Project:
    return load_project(EXAMPLES / "overview")


def test_overview_exact(overview):
    assert render_mermaid(overview) == OVERVIEW_MERMAID


def test_overview_readme_shows_the_real_output(overview):
    readme = (EXAMPLES / "overview" / "README.md").read_text()
    assert f"```mermaid\n{OVERVIEW_MERMAID}```" in readme


def test_multi_upstream_readme_shows_the_real_output():
    project = load_project(EXAMPLES / "multi_upstream")
    readme = (EXAMPLES / "multi_upstream" / "README.md").read_text()
    assert f"```mermaid\n{render_mermaid(project, RenderOptions(direction='LR'))}```" in readme


def test_no_versions_and_direction(overview):
    text = render_mermaid(overview, RenderOptions(direction="LR", show_versions=False))
    assert text.splitlines()[3] == "flowchart LR"
    assert "(v:" not in text and "Project version" not in text
    assert (
        "    example_stt[\"<div style='text-align:left'><b>example/stt</b><br/>---<br/>• transcription</div>\"]"
        in text.splitlines()
    )


def test_subgraph_downstream(overview):
    text = render_mermaid(overview, RenderOptions(features=("example/crop",), downstream=True))
    nodes = [NODE.match(line).group(1) for line in text.splitlines() if NODE.match(line)]
    edges = [EDGE.match(line).groups() for line in text.splitlines() if EDGE.match(line)]
    assert nodes == ["example_crop", "example_face_detection"]
    assert edges == [("example_crop", "example_face_detection")]


def test_unknown_feature_suggests(overview):
    with pytest.raises(UnknownFeatureError, match=r"unknown feature 'example/vide' \(did you mean 'example/video'\?\)"):
        render_mermaid(overview, RenderOptions(features=("example/vide",)))


def test_escape_user_text():
    assert escape('say "hi" <b>&#1;\nnext') == "say #quot;hi#quot; &lt;b&gt;&amp;#35;1; next"


def test_node_ids_are_valid_and_distinct():
    ids = node_ids(["a/b", "a_b", "a-b", "end", "end_", "x/y-z"])
    assert ids == {"a/b": "a_b", "a_b": "a_b_2", "a-b": "a_b_3", "end": "end_", "end_": "end__2", "x/y-z": "x_y_z"}


def test_labels_escaped_in_output(tmp_path):
    # Keys this odd never pass the loader; the renderer must stay safe anyway.
    odd = FeatureSpec(key='a"b<c>', fields=(FieldSpec('f"1'),))
    child = FeatureSpec(key="a_b_c_", fields=(FieldSpec("x"),), deps=(FeatureDep('a"b<c>'),))
    project = Project(name="odd", root=tmp_path, features={odd.key: odd, child.key: child})
    text = render_mermaid(project)
    assert_mermaid_structure(text)
    assert "<b>a#quot;b&lt;c&gt;</b>" in text and "• f#quot;1" in text


def assert_mermaid_structure(text: str) -> None:
    """Each node defined once with a plain id, every edge endpoint defined, no raw quote in labels."""
    defined: list[str] = []
    edges: list[tuple[str, str]] = []
    for line in text.splitlines()[6:]:
        node, edge = NODE.match(line), EDGE.match(line)
        assert node or edge, line
        if node:
            defined.append(node.group(1))
            assert '"' not in node.group(2), line
        else:
            edges.append(edge.groups())
    assert len(defined) == len(set(defined))
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", node) for node in defined)
    assert {end for edge in edges for end in edge} <= set(defined)


def test_large_example_structure():
    project = load_project(EXAMPLES / "large")
    text = render_mermaid(project)
    assert_mermaid_structure(text)
    assert text.count(" --> ") == len(project.graph.edges()) > 150


def test_generated_500_feature_graph_structure(tmp_path):
    load_generator().generate_project(tmp_path, features=500, fields=3, deps=2, seed=3)
    project = load_project(tmp_path)
    text = render_mermaid(project)
    assert_mermaid_structure(text)
    assert len(project.features) == 500


def test_large_example_is_what_the_generator_writes(tmp_path):
    """examples/large is committed output of the documented command; keep the two in step."""
    load_generator().generate_project(tmp_path, features=150, fields=3, deps=2, seed=42, name="large")
    large = EXAMPLES / "large"
    assert (tmp_path / "metaxy.yaml").read_text() == (large / "metaxy.yaml").read_text()
    generated = sorted(p.name for p in (tmp_path / "features").iterdir())
    assert generated == sorted(p.name for p in (large / "features").iterdir())
    for name in generated:
        assert (tmp_path / "features" / name).read_text() == (large / "features" / name).read_text()
