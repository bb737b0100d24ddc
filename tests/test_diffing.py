"""The diff model: statuses per feature and field, root causes, rename hints, and its invariant."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaxy_cli.definitions.diff import ProjectDiff, diff_projects
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.project import Project
from tests.strategies import ProjectDocs, load_docs, project_docs

SEED_PATCH = ('      - key: audio\n        code_version: "1"', '      - key: audio\n        code_version: "2"')


def _edit(folder: Path, relpath: str, old: str, new: str) -> Project:
    path = folder / relpath
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return load_project(folder)


def _statuses(diff: ProjectDiff) -> dict[str, str]:
    return {change.key: change.status for change in diff.features}


def test_seed_scenario(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    new = _edit(overview_dir, "features/video.yaml", *SEED_PATCH)
    diff = diff_projects(old, new, old_label="HEAD", new_label="working tree")
    assert _statuses(diff) == {
        "example/video": "changed",
        "example/crop": "affected",
        "example/face_detection": "unchanged",
        "example/stt": "affected",
    }
    audio = diff.feature("example/video").field("audio")
    assert (audio.status, audio.old_code_version, audio.new_code_version) == ("changed", "1", "2")
    assert audio.old_version == old.versions.field[("example/video", "audio")]
    assert audio.new_version == new.versions.field[("example/video", "audio")]
    for key, field in (("example/crop", "audio"), ("example/stt", "transcription")):
        change = diff.feature(key).field(field)
        assert change.status == "affected"
        assert change.caused_by == change.root_causes == change.chain == ("example/video.audio",)
    frames = [f for c in diff.features for f in c.fields if f.key in ("frames", "detections")]
    assert [(f.key, f.status) for f in frames] == [("frames", "unchanged")] * 2 + [("detections", "unchanged")]
    assert diff.feature("example/face_detection").old_version == diff.feature("example/face_detection").new_version
    assert diff.counts() == {"added": 0, "removed": 0, "changed": 1, "affected": 2, "metadata": 0, "unchanged": 1}
    assert diff.has_changes and diff.old_version != diff.new_version
    assert (diff.old_label, diff.new_label) == ("HEAD", "working tree")
    assert diff.edges == (
        ("example/video", "example/crop", "kept"),
        ("example/crop", "example/face_detection", "kept"),
        ("example/video", "example/stt", "kept"),
    )


def test_identical_projects_have_no_changes(overview_dir: Path) -> None:
    diff = diff_projects(load_project(overview_dir), load_project(overview_dir))
    assert not diff.has_changes
    assert set(_statuses(diff).values()) == {"unchanged"}
    assert diff.old_label == diff.new_label == load_project(overview_dir).source_label


def test_multi_hop_chain_back_to_the_root_cause(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    new = _edit(overview_dir, "features/video.yaml", '- key: frames\n        code_version: "1"',
                '- key: frames\n        code_version: "7"')
    diff = diff_projects(old, new)
    assert _statuses(diff) == {"example/video": "changed", "example/crop": "affected",
                               "example/face_detection": "affected", "example/stt": "unchanged"}
    detections = diff.feature("example/face_detection").field("detections")
    assert detections.caused_by == ("example/crop.frames",)
    assert detections.root_causes == ("example/video.frames",)
    assert detections.chain == ("example/crop.frames", "example/video.frames")
    assert diff.feature("example/face_detection").root_causes == ("example/video.frames",)


def test_metadata_only_change_keeps_versions(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    new = _edit(overview_dir, "features/video.yaml", "description: Video metadata feature (root).",
                "description: Raw videos.\n    owner: media-team\n    tags: [raw]")
    diff = diff_projects(old, new)
    video = diff.feature("example/video")
    assert video.status == "metadata"
    assert video.metadata_changes == ("description", "owner", "tags")
    assert video.old_version == video.new_version
    assert [c.status for c in diff.features[1:]] == ["unchanged"] * 3
    assert diff.has_changes and diff.old_version == diff.new_version


def test_field_description_is_field_metadata(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    new = _edit(overview_dir, "features/processing.yaml", "      - key: transcription\n",
                "      - key: transcription\n        description: Whisper output.\n")
    change = diff_projects(old, new).feature("example/stt")
    assert change.status == "metadata"
    assert (change.field("transcription").status, change.field("transcription").metadata_changes) == ("metadata", ("description",))


def test_field_deps_change_is_a_change_of_the_field(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    new = _edit(overview_dir, "features/processing.yaml",
                "            fields: [audio]\n      - key: frames",
                "            fields: [audio, frames]\n      - key: frames")
    diff = diff_projects(old, new)
    audio = diff.feature("example/crop").field("audio")
    assert audio.status == "changed"
    assert (audio.old_code_version, audio.new_code_version) == ("1", "1")
    assert audio.parents_added == ("example/video.frames",) and audio.parents_removed == ()
    assert _statuses(diff)["example/crop"] == "changed"
    assert _statuses(diff)["example/face_detection"] == "unchanged"  # it reads crop.frames only


def test_added_removed_fields_and_features(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    _edit(overview_dir, "features/processing.yaml", "  - key: example/stt\n", "  - key: example/speech\n")
    new = _edit(overview_dir, "features/video.yaml", "      - key: frames\n",
                "      - key: subtitles\n      - key: frames\n")
    diff = diff_projects(old, new)
    statuses = _statuses(diff)
    assert statuses["example/stt"] == "removed" and statuses["example/speech"] == "added"
    assert diff.feature("example/speech").renamed_from == "example/stt"
    assert diff.feature("example/stt").renamed_to == "example/speech"
    video = diff.feature("example/video")
    assert video.status == "changed"
    assert [(f.key, f.status) for f in video.fields] == [("audio", "unchanged"), ("subtitles", "added"), ("frames", "unchanged")]
    assert [f.status for f in diff.feature("example/speech").fields] == ["added"]
    assert [f.status for f in diff.feature("example/stt").fields] == ["removed"]
    # merged order is topological: speech and stt both after video
    order = [c.key for c in diff.features]
    assert order.index("example/video") < order.index("example/speech")


def test_no_rename_hint_when_ambiguous(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    _edit(overview_dir, "features/processing.yaml", "  - key: example/stt\n", "  - key: example/speech\n")
    (overview_dir / "features" / "extra.yaml").write_text(
        "features:\n  - key: example/speech2\n    deps: [example/video]\n    fields:\n      - key: transcription\n"
        "        deps:\n          - feature: example/video\n            fields: [audio]\n"
    )
    diff = diff_projects(old, load_project(overview_dir))
    assert diff.feature("example/speech").renamed_from is None
    assert diff.feature("example/stt").renamed_to is None


# --- property: statuses agree with versions --------------------------------------------------------

_NEW_CODE = st.sampled_from(("1", "2", "9", "v10"))


@st.composite
def edited(draw) -> tuple[ProjectDocs, ProjectDocs]:
    """A random project and a random valid edit of it (a few steps)."""
    base = draw(project_docs(max_features=7))
    docs = base.copy()
    with_fields = [doc for doc in docs.features if doc.get("fields")]
    if with_fields:  # always one code_version bump, so that something downstream is affected
        bumped = draw(st.sampled_from(with_fields))["fields"]
        bumped[draw(st.integers(0, len(bumped) - 1))]["code_version"] = draw(st.sampled_from(("8", "9")))
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(("code_version", "code_version", "description", "add_field", "add_root", "remove_leaf")))
        feature = docs.features[draw(st.integers(0, len(docs.features) - 1))]
        fields = feature.get("fields") or []
        if kind == "code_version" and fields:
            fields[draw(st.integers(0, len(fields) - 1))]["code_version"] = draw(_NEW_CODE)
        elif kind == "description":
            feature["description"] = draw(st.sampled_from(("edited", "Raw videos.")))
        elif kind == "add_field" and fields:
            key = draw(st.sampled_from(("extra", "audio", "frames", "text")))
            if key not in [f["key"] for f in fields]:
                fields.append({"key": key})
        elif kind == "add_root":
            if not any(doc["key"] == "zz_new" for doc in docs.features):
                docs.features.append({"key": "zz_new", "fields": [{"key": "audio"}]})
        elif kind == "remove_leaf" and len(docs.features) > 1:
            used = {d if isinstance(d, str) else d["feature"] for doc in docs.features for d in doc.get("deps") or []}
            if feature["key"] not in used:
                docs.features.remove(feature)
    return base, docs


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited())
def test_changed_and_affected_are_exactly_the_version_changes(pair: tuple[ProjectDocs, ProjectDocs]) -> None:
    old, new = load_docs(pair[0]), load_docs(pair[1])
    diff = diff_projects(old, new)
    common = set(old.features) & set(new.features)
    differing = {k for k in common if old.versions.feature[k] != new.versions.feature[k]}
    assert {c.key for c in diff.with_status("changed", "affected")} == differing
    assert {c.key for c in diff.with_status("added")} == set(new.features) - set(old.features)
    assert {c.key for c in diff.with_status("removed")} == set(old.features) - set(new.features)
    field_status = {f"{c.key}.{f.key}": f.status for c in diff.features for f in c.fields}
    for change in diff.features:
        for field in change.fields:
            if field.status in ("changed", "affected", "unchanged", "metadata"):
                moved = field.old_version != field.new_version
                assert moved == (field.status in ("changed", "affected")), (change.key, field)
            if field.status != "affected":
                assert field.chain == field.root_causes == ()
                continue
            assert field.chain and field_status[field.chain[-1]] == "changed"
            assert field.chain[0] in field.caused_by
            assert all(field_status[link] == "affected" for link in field.chain[:-1])
            assert all(field_status[root] == "changed" for root in field.root_causes)
            assert field.chain[-1] in field.root_causes
            parents = new.graph.field_parents
            refs = [tuple(link.rsplit(".", 1)) for link in field.chain]
            # each link of the chain is a parent of the one before it
            assert refs[0] in parents[(change.key, field.key)]
            for child, parent in zip(refs, refs[1:]):
                assert parent in parents[child]  # type: ignore[index]
