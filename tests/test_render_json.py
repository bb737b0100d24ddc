"""JSON renderer: validates against schemas/graph.schema.json and carries every full version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from metaxy_cli.definitions.loader import load_project
from metaxy_cli.render import RenderOptions
from metaxy_cli.render.graph_json import graph_document, render_json
from metaxy_cli.definitions.schemas import load_schema

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads((REPO / "schemas" / "graph.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert load_schema("graph.schema.json") == schema  # the packaged copy is the same
    return Draft202012Validator(schema)


def errors(validator, document) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("example", ["overview", "multi_upstream", "large"])
@pytest.mark.parametrize("show_versions", [True, False])
def test_output_validates(validator, example, show_versions):
    project = load_project(EXAMPLES / example)
    document = json.loads(render_json(project, RenderOptions(show_versions=show_versions)))
    assert errors(validator, document) == []
    assert [f["key"] for f in document["features"]] == project.graph.order


def test_schema_examples_validate(validator):
    for example in validator.schema["examples"]:
        assert errors(validator, example) == []


def test_full_versions_overview(validator):
    project = load_project(EXAMPLES / "overview")
    versions = project.versions
    document = json.loads(render_json(project))
    assert document["format_version"] == 1
    assert document["project"] == {"name": "overview", "version": versions.project}
    assert document["project"]["version"].startswith("1b826fca") and len(versions.project) == 64
    crop = document["features"][1]
    assert crop["key"] == "example/crop"
    assert crop["version"] == versions.feature["example/crop"]
    assert crop["feature_code_version"] == versions.feature_code["example/crop"]
    assert crop["metadata_version"] == versions.metadata["example/crop"]
    assert crop["deps"] == [{"feature": "example/video", "optional": False}]
    assert crop["fields"][0] == {
        "key": "audio",
        "fq": "example/crop.audio",
        "code_version": "1",
        "description": None,
        "parents": ["example/video.audio"],
        "source": None,
        "data_version": None,
        "deps": [{"feature": "example/video", "fields": ["audio"]}],
        "version": versions.field[("example/crop", "audio")],
    }
    video = document["features"][0]
    assert video["id_columns"] == ["sample_uid"]
    assert video["columns"][1] == {"name": "audio_sha", "type": "string", "description": None}
    assert video["fields"][0]["source"] == ["audio_sha"]
    assert document["edges"] == [
        {"from": "example/video", "to": "example/crop"},
        {"from": "example/crop", "to": "example/face_detection"},
        {"from": "example/video", "to": "example/stt"},
    ]


def test_multi_upstream_deps_and_star():
    project = load_project(EXAMPLES / "multi_upstream")
    features = {f["key"]: f for f in graph_document(project)["features"]}
    assert features["asr/transcript"]["deps"] == [
        {"feature": "media/video", "optional": False},
        {"feature": "media/speakers", "optional": True},
    ]
    assert features["asr/transcript"]["fields"][0]["deps"] == [
        {"feature": "media/video", "fields": ["audio/english"]},
        {"feature": "media/speakers", "fields": "*"},
    ]
    summary = features["qa/report"]["fields"][0]
    assert summary["deps"] == "*"
    assert summary["parents"] == [
        "align/subtitles.text/english",
        "align/subtitles.text/french",
        "embed/clip.frames",
    ]
    assert "deps" not in features["align/subtitles"]["fields"][0]


def test_subgraph_keeps_only_inner_edges():
    project = load_project(EXAMPLES / "overview")
    document = graph_document(project, RenderOptions(features=("example/stt",), upstream=True))
    assert [f["key"] for f in document["features"]] == ["example/video", "example/stt"]
    assert document["edges"] == [{"from": "example/video", "to": "example/stt"}]
    # the project version is the whole project's, even for a subgraph
    assert document["project"]["version"] == project.versions.project


def test_no_versions_leaves_out_every_version():
    document = graph_document(load_project(EXAMPLES / "overview"), RenderOptions(show_versions=False))
    hidden = {"version", "feature_code_version", "metadata_version"}
    assert "version" not in document["project"]
    for feature in document["features"]:
        assert hidden.isdisjoint(feature)
        assert all("version" not in field and field["code_version"] == "1" for field in feature["fields"])
