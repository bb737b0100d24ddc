"""Graphviz renderer: exact DOT on the overview, escaping, real `dot` on large graphs, images."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import RenderError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.model import FeatureSpec, FieldSpec
from metaxy_cli.definitions.project import Project
from metaxy_cli.render import RenderOptions, render
from metaxy_cli.render.graphviz import INSTALL_HINT, render_dot, render_image

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")

_HEAD = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4"><TR><TD ALIGN="LEFT" BGCOLOR="#E8EEF7">'
_V = '<FONT POINT-SIZE="10" COLOR="#555555">'
OVERVIEW_DOT = f"""\
digraph feature_graph {{
\tgraph [fontname=Helvetica label="Feature Graph: overview (version 1b826fca)" labelloc=t rankdir=TB]
\tnode [fontname=Helvetica shape=plain]
\tedge [color="#555555"]
\t"example/video" [label=<{_HEAD}<B>example/video</B><BR/>{_V}v: 8fd92b1b</FONT></TD></TR><TR><TD ALIGN="LEFT">audio {_V}460e3e18</FONT></TD></TR><TR><TD ALIGN="LEFT">frames {_V}089e1dd4</FONT></TD></TR></TABLE>>]
\t"example/crop" [label=<{_HEAD}<B>example/crop</B><BR/>{_V}v: 93d346eb</FONT></TD></TR><TR><TD ALIGN="LEFT">audio {_V}896058be</FONT></TD></TR><TR><TD ALIGN="LEFT">frames {_V}651c420c</FONT></TD></TR></TABLE>>]
\t"example/face_detection" [label=<{_HEAD}<B>example/face_detection</B><BR/>{_V}v: 7ce3d918</FONT></TD></TR><TR><TD ALIGN="LEFT">detections {_V}947c12d6</FONT></TD></TR></TABLE>>]
\t"example/stt" [label=<{_HEAD}<B>example/stt</B><BR/>{_V}v: fa2dd30a</FONT></TD></TR><TR><TD ALIGN="LEFT">transcription {_V}caba0cbb</FONT></TD></TR></TABLE>>]
\t"example/video" -> "example/crop"
\t"example/crop" -> "example/face_detection"
\t"example/video" -> "example/stt"
}}
"""


@pytest.fixture(scope="module")
def overview() -> Project:
    return load_project(EXAMPLES / "overview")


def run_dot(source: str) -> bytes:
    """Render DOT with the real Graphviz program; fails the test on any syntax error."""
    done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b"", done.stderr.decode()
    return done.stdout


def test_overview_exact(overview):
    assert render_dot(overview) == OVERVIEW_DOT


def test_no_versions_lr(overview):
    source = render_dot(overview, RenderOptions(direction="LR", show_versions=False))
    assert "rankdir=LR" in source and 'label="Feature Graph: overview"' in source
    assert "8fd92b1b" not in source and "v: " not in source


def test_optional_deps_are_dashed():
    source = render_dot(load_project(EXAMPLES / "multi_upstream"))
    assert '\t"media/speakers" -> "asr/transcript" [style=dashed]\n' in source
    assert '\t"media/video" -> "asr/transcript"\n' in source


def test_labels_escaped(tmp_path):
    odd = FeatureSpec(key="a&b<c>", fields=(FieldSpec('f"1'),))
    source = render_dot(Project(name="odd", root=tmp_path, features={odd.key: odd}))
    assert "<B>a&amp;b&lt;c&gt;</B>" in source and "f&quot;1" in source


@needs_dot
def test_odd_labels_render_with_dot(tmp_path):
    odd = FeatureSpec(key="a&b<c>", fields=(FieldSpec('f"1'),))
    run_dot(render_dot(Project(name="odd", root=tmp_path, features={odd.key: odd})))


@needs_dot
def test_large_example_renders_with_dot():
    svg = run_dot(render_dot(load_project(EXAMPLES / "large")))
    assert svg.count(b'class="node"') == 150


@needs_dot
def test_generated_500_features_render_with_dot(tmp_path):
    spec = importlib.util.spec_from_file_location("generate_graph", REPO / "benchmarks" / "generate_graph.py")
    generator = importlib.util.module_from_spec(spec)
    sys.modules["generate_graph"] = generator
    spec.loader.exec_module(generator)
    generator.generate_project(tmp_path, features=500, fields=3, deps=2, seed=5)
    svg = run_dot(render_dot(load_project(tmp_path), RenderOptions(direction="LR")))
    assert svg.count(b'class="node"') == 500


@needs_dot
def test_svg_and_png(overview):
    svg = render(overview, "svg")
    assert isinstance(svg, str) and svg.startswith("<?xml") and "<svg" in svg and "example/face_detection" in svg
    png = render(overview, "png", RenderOptions(features=("example/stt",)))
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")


def test_missing_dot_says_how_to_install(overview, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere
    with pytest.raises(RenderError) as caught:
        render_image(overview, RenderOptions(), "svg")
    assert str(caught.value) == INSTALL_HINT
    assert "apt-get install graphviz" in INSTALL_HINT and "\n" not in INSTALL_HINT
