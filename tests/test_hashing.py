"""Static versions: golden values of the overview example, the spec §2 encoding, and invariants."""

from __future__ import annotations

from pathlib import Path

from blake3 import blake3
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    ProjectDocs,
    expected_field_downstream,
    expected_field_parents,
    load_docs,
    project_docs,
    shuffled,
)

from metaxy_cli.definitions.versions import Versions, digest
from metaxy_cli.definitions.loader import load_project

PROPERTY = settings(max_examples=60, deadline=None)

# Computed once from the code after checking the encoding against spec section 2.
OVERVIEW_FIELDS = {
    ("example/video", "audio"): "460e3e18bba36c67792cb383c7851681b65d7d6609adb77c1ced53d1debeedd4",
    ("example/video", "frames"): "089e1dd4d6551c6a0ab44466be34835b45db0c2f548202714685e6a6c27de6b7",
    ("example/crop", "audio"): "896058be4ad51732b7f9d7365fa599c79823fa50b07d4539fbd4c390beb373a1",
    ("example/crop", "frames"): "651c420c89c472deb8e1f46116fc6c3eb979c960d0b7f7698216be55fe3ea050",
    ("example/face_detection", "detections"): "947c12d6c92b63a251e473f58cee05668807fdc45687911de0adda3d20807cdb",
    ("example/stt", "transcription"): "caba0cbb7b0378bd74c5e972ded6282d9c4356a6c8d5b19919d2cc1d77e1ba30",
}
OVERVIEW_FEATURES = {
    "example/video": "8fd92b1bc74d0d52fcc1c40ff6fffbf4edc57a34107a744b2d439d0527952595",
    "example/crop": "93d346ebdff2566acc7b288b15230395802fb1d42ea32ee3ef4b679322080466",
    "example/face_detection": "7ce3d918956279f98b842a743c189484a624e2f770bd5d5c3e6a3fa21f5d1660",
    "example/stt": "fa2dd30a890636d2d90126cf702b2286e63c646b01ca7837dbc5a649d23fc833",
}
OVERVIEW_FEATURE_CODE = {
    "example/video": "c51fc71fc36b4d112417c9db51a8e286d679a86183972410e86cbbc7a2472203",
    "example/crop": "8c6073b050ba2e9ff0c2142f41a9f3626546f7475e017b54ba5e2ef3cc766deb",
    "example/face_detection": "7cbbe9a554bf2fbad3e9425c7226f4bd4691b6e763db4122d5e5118f7ccf8abf",
    "example/stt": "271ebd145e0b21e80200455995480ec415a632b55e0c4a282364a9650bc13f30",
}
OVERVIEW_PROJECT = "1b826fca46205078540149446b2e77973e258b8b195b8321ed89446f93e1f6c3"


def test_overview_golden_versions(overview_dir: Path) -> None:
    versions = load_project(overview_dir).versions
    assert versions.field == OVERVIEW_FIELDS
    assert versions.feature == OVERVIEW_FEATURES
    assert versions.feature_code == OVERVIEW_FEATURE_CODE
    assert versions.project == OVERVIEW_PROJECT


def test_digest_is_blake3_of_tag_nul_and_canonical_json() -> None:
    expected = blake3('metaxy/field/v1\0{"a":"é","b":[1,2]}'.encode()).hexdigest()
    assert digest("field", {"b": [1, 2], "a": "é"}) == expected
    assert len(expected) == 64


def test_digest_is_domain_separated() -> None:
    payload = {"feature": "a", "fields": []}
    assert len({digest(kind, payload) for kind in ("field", "feature", "feature_code", "project")}) == 4


def test_overview_versions_follow_the_spec_formulas(overview_dir: Path) -> None:
    versions = load_project(overview_dir).versions
    video_audio = digest(
        "field", {"feature": "example/video", "field": "audio", "code_version": "1", "parents": []}
    )
    crop_audio = digest(
        "field",
        {
            "feature": "example/crop",
            "field": "audio",
            "code_version": "1",
            "parents": [["example/video.audio", video_audio]],
        },
    )
    assert versions.field[("example/crop", "audio")] == crop_audio
    crop = digest(
        "feature",
        {
            "feature": "example/crop",
            "fields": [["audio", crop_audio], ["frames", versions.field[("example/crop", "frames")]]],
        },
    )
    assert versions.feature["example/crop"] == crop
    code = digest("feature_code", {"feature": "example/crop", "fields": [["audio", "1"], ["frames", "1"]]})
    assert versions.feature_code["example/crop"] == code
    project = digest("project", {"project": "overview", "features": sorted(versions.feature.items())})
    assert versions.project == project


def test_parents_are_hashed_in_fq_name_order() -> None:
    # ('a', ...) < ('a-b', ...) as tuples, but 'a-b.default' < 'a.default' as fq names ('-' < '.').
    docs = ProjectDocs(
        {"project": "p"},
        [{"key": "a"}, {"key": "a-b"}, {"key": "c", "deps": ["a", "a-b"]}],
    )
    versions = load_docs(docs).versions
    a, ab = versions.field[("a", "default")], versions.field[("a-b", "default")]
    fq_order = [["a-b.default", ab], ["a.default", a]]
    expected = digest("field", {"feature": "c", "field": "default", "code_version": "1", "parents": fq_order})
    assert versions.field[("c", "default")] == expected
    tuple_order = digest(
        "field", {"feature": "c", "field": "default", "code_version": "1", "parents": fq_order[::-1]}
    )
    assert tuple_order != expected


def _spec_versions(docs: ProjectDocs) -> dict[tuple[str, str], str]:
    """Field versions from the spec §2 formula over independently resolved parents."""
    parents = expected_field_parents(docs)
    code = {
        (doc["key"], f["key"]): f.get("code_version", "1")
        for doc in docs.features
        for f in doc.get("fields") or [{"key": "default"}]
    }
    found: dict[tuple[str, str], str] = {}

    def version(ref: tuple[str, str]) -> str:
        if ref not in found:
            pairs = sorted([f"{pf}.{pk}", version((pf, pk))] for pf, pk in parents[ref])
            payload = {"feature": ref[0], "field": ref[1], "code_version": code[ref], "parents": pairs}
            found[ref] = digest("field", payload)
        return found[ref]

    return {ref: version(ref) for ref in parents}


@PROPERTY
@given(project_docs())
def test_random_field_versions_match_the_spec_formula(docs: ProjectDocs) -> None:
    assert load_docs(docs).versions.field == _spec_versions(docs)


def _all(versions: Versions) -> tuple:
    return (versions.field, versions.feature, versions.feature_code, versions.metadata, versions.project)


@PROPERTY
@given(project_docs(), st.integers(0, 2**16), st.integers(0, 3))
def test_order_comments_and_file_split_change_no_version(docs: ProjectDocs, seed: int, files: int) -> None:
    before = load_docs(docs).versions
    after = load_docs(shuffled(docs, seed), files=files, comments_seed=seed).versions
    assert _all(after) == _all(before)


@PROPERTY
@given(project_docs(), st.data())
def test_descriptive_edits_change_only_that_feature_metadata(docs: ProjectDocs, data: st.DataObject) -> None:
    before = load_docs(docs).versions
    edited = docs.copy()
    target = data.draw(st.sampled_from(edited.features))
    edit = data.draw(st.sampled_from(("description", "owner", "tags", "field description")))
    if edit == "tags":
        target["tags"] = [*target.get("tags", []), "edited"]
    elif edit == "field description" and target.get("fields"):
        field = target["fields"][0]
        field["description"] = "edited " + field.get("description", "")
    else:
        key = "owner" if edit == "owner" else "description"
        target[key] = "edited " + target.get(key, "")
    after = load_docs(edited).versions
    assert (after.field, after.feature, after.feature_code, after.project) == (
        before.field, before.feature, before.feature_code, before.project,
    )
    changed = {key for key in before.metadata if before.metadata[key] != after.metadata[key]}
    assert changed == {target["key"]}


@PROPERTY
@given(project_docs(), st.data())
def test_bumping_a_code_version_changes_exactly_its_downstream_closure(
    docs: ProjectDocs, data: st.DataObject
) -> None:
    before = load_docs(docs).versions
    bumped = docs.copy()
    target = data.draw(st.sampled_from(bumped.features))
    if not target.get("fields"):
        target["fields"] = [{"key": "default"}]
    field = data.draw(st.sampled_from(target["fields"]))
    field["code_version"] = field.get("code_version", "1") + ".bumped"
    after = load_docs(bumped).versions

    start = (target["key"], field["key"])
    expected_fields = {start} | expected_field_downstream(docs, start)
    assert {ref for ref in before.field if before.field[ref] != after.field[ref]} == expected_fields
    expected_features = {key for key, _ in expected_fields}
    assert {key for key in before.feature if before.feature[key] != after.feature[key]} == expected_features
    assert {key for key in before.feature_code if before.feature_code[key] != after.feature_code[key]} == {
        target["key"]
    }
    assert after.metadata == before.metadata
    assert after.project != before.project


def test_bumping_video_audio_in_the_overview(overview_dir: Path) -> None:
    before = load_project(overview_dir).versions
    video = overview_dir / "features" / "video.yaml"
    text = video.read_text()
    marker = '      - key: audio\n        code_version: "1"'
    assert marker in text
    video.write_text(text.replace(marker, '      - key: audio\n        code_version: "2"'))
    after = load_project(overview_dir).versions

    changed_fields = {ref for ref in before.field if before.field[ref] != after.field[ref]}
    assert changed_fields == {
        ("example/video", "audio"),
        ("example/crop", "audio"),
        ("example/stt", "transcription"),
    }
    changed = {key for key in before.feature if before.feature[key] != after.feature[key]}
    assert changed == {"example/video", "example/crop", "example/stt"}
    assert after.feature["example/face_detection"] == before.feature["example/face_detection"]
    assert all(after.field[ref] == before.field[ref] for ref in before.field if ref[1] == "frames")
    assert after.project != before.project


def test_project_name_changes_only_the_project_version(overview_dir: Path) -> None:
    before = load_project(overview_dir).versions
    project_file = overview_dir / "metaxy.yaml"
    project_file.write_text(project_file.read_text().replace("project: overview", "project: renamed"))
    after = load_project(overview_dir).versions
    assert (after.field, after.feature, after.feature_code) == (before.field, before.feature, before.feature_code)
    assert after.project != before.project


def test_comments_in_feature_files_change_no_version(overview_dir: Path) -> None:
    before = load_project(overview_dir).versions
    crop = overview_dir / "features" / "processing.yaml"
    text = crop.read_text().replace("deps: [example/video]", "deps: [example/video]  # upstream")
    crop.write_text("# the processing features\n" + text.replace("\n  - key:", "\n  # next\n  - key:"))
    assert _all(load_project(overview_dir).versions) == _all(before)
