"""`metaxy render` through click's CliRunner: every format, selection, output file and errors."""

from __future__ import annotations

import json
import shutil

import pytest

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def test_help(invoke):
    result = invoke("render", "--help")
    assert result.exit_code == 0
    assert "metaxy render --format mermaid" in result.stdout
    assert "--no-versions" in result.stdout


def test_mermaid_default(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("---\ntitle: Feature Graph\n---\nflowchart TB\n")
    assert "    example_video --> example_crop\n" in result.stdout
    assert result.stderr == ""


def test_dot(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "--format", "dot")
    assert result.exit_code == 0
    assert result.stdout.startswith("digraph feature_graph {\n")
    assert '\t"example/video" -> "example/stt"\n' in result.stdout


def test_json(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "--format", "json")
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    assert len(document["project"]["version"]) == 64
    assert [f["key"] for f in document["features"]] == [
        "example/video", "example/crop", "example/face_detection", "example/stt"
    ]


def test_text(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "--format", "text")
    assert result.exit_code == 0
    assert result.stdout.startswith("project overview 1b826fca (4 features)\n\nexample/video 8fd92b1b\n")
    assert "\033" not in result.stdout  # not a terminal: no colours


@needs_dot
def test_svg_to_stdout(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "--format", "svg")
    assert result.exit_code == 0
    assert result.stdout.startswith("<?xml") and "</svg>" in result.stdout


@needs_dot
def test_png_to_file(invoke, overview_dir, tmp_path):
    target = tmp_path / "graph.png"
    result = invoke("--project", overview_dir, "render", "--format", "png", "--output", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_svg_to_file(invoke, overview_dir, tmp_path):
    target = tmp_path / "graph.svg"
    result = invoke("--project", overview_dir, "render", "-f", "svg", "-o", target, "--direction", "LR")
    assert result.exit_code == 0
    assert target.read_bytes().startswith(b"<?xml")


def test_output_file_matches_stdout(invoke, overview_dir, tmp_path):
    target = tmp_path / "graph.mmd"
    to_file = invoke("--project", overview_dir, "render", "--output", target)
    assert to_file.exit_code == 0 and to_file.stdout == ""
    assert target.read_text() == invoke("--project", overview_dir, "render").stdout


def test_feature_upstream(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "-f", "text", "--no-versions",
                    "--feature", "example/face_detection", "--upstream")
    assert result.stdout == (
        "project overview (3 of 4 features)\n\n"
        "example/video\n├── audio\n└── frames\n\n"
        "example/crop <- example/video\n├── audio <- example/video.audio\n└── frames <- example/video.frames\n\n"
        "example/face_detection <- example/crop\n└── detections <- example/crop.frames\n"
    )


def test_feature_downstream(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "-f", "json",
                    "--feature", "example/video", "--downstream")
    keys = [f["key"] for f in json.loads(result.stdout)["features"]]
    assert keys == ["example/video", "example/crop", "example/face_detection", "example/stt"]


def test_several_features_without_closure(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "-f", "json",
                    "--feature", "example/stt", "--feature", "example/crop")
    document = json.loads(result.stdout)
    assert [f["key"] for f in document["features"]] == ["example/crop", "example/stt"]
    assert document["edges"] == []


def test_unknown_feature(invoke, overview_dir, tmp_path):
    target = tmp_path / "never.mmd"
    result = invoke("--project", overview_dir, "render", "--feature", "example/crp", "--output", target)
    assert result.exit_code == 1
    assert result.stderr == "Error: unknown feature 'example/crp' (did you mean 'example/crop'?)\n"
    assert result.stdout == "" and not target.exists()


def test_closure_without_feature_is_a_usage_error(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "--upstream")
    assert result.exit_code == 2
    assert "--upstream/--downstream need at least one --feature KEY" in result.stderr


def test_no_versions(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "--no-versions")
    assert result.exit_code == 0
    assert "(v:" not in result.stdout and "Project version" not in result.stdout
    assert "• frames</div>" in result.stdout


def test_direction_lr(invoke, overview_dir):
    mermaid = invoke("--project", overview_dir, "render", "--direction", "LR")
    assert mermaid.stdout.splitlines()[3] == "flowchart LR"
    dot = invoke("--project", overview_dir, "render", "-f", "dot", "--direction", "LR")
    assert "rankdir=LR" in dot.stdout


def test_bad_format_is_a_usage_error(invoke, overview_dir):
    result = invoke("--project", overview_dir, "render", "--format", "pdf")
    assert result.exit_code == 2
    assert "'pdf' is not one of" in result.stderr


def test_invalid_project_reports_and_writes_nothing(invoke, overview_dir, tmp_path):
    processing = overview_dir / "features" / "processing.yaml"
    processing.write_text(processing.read_text().replace("fields: [audio]", "fields: [audi]", 1))
    target = tmp_path / "graph.txt"
    result = invoke("--project", overview_dir, "render", "-f", "text", "-o", target)
    assert result.exit_code == 1
    assert "unknown field 'audi' of 'example/video' (did you mean 'audio'?)" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not target.exists()
