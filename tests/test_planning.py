"""The plan read off a diff: what to recompute, why, and what keeps its version."""

from __future__ import annotations

from pathlib import Path

from metaxy_cli.definitions.diff import diff_projects
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.project import Project
from metaxy_cli.definitions.plan import PlannedField, build_plan


def _edit(folder: Path, relpath: str, old: str, new: str) -> Project:
    path = folder / relpath
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return load_project(folder)


def _plan(old: Project, new: Project):
    return build_plan(diff_projects(old, new, old_label="HEAD", new_label="working tree"))


def test_seed_plan(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    new = _edit(overview_dir, "features/video.yaml", '- key: audio\n        code_version: "1"',
                '- key: audio\n        code_version: "2"')
    plan = _plan(old, new)
    assert plan.needs_recompute
    assert [(f.key, f.status) for f in plan.recompute] == [
        ("example/video", "changed"), ("example/crop", "affected"), ("example/stt", "affected"),
    ]
    video, crop, stt = plan.recompute
    assert video.fields == (PlannedField("audio", "changed", "code_version 1 -> 2"),)
    assert video.kept_fields == ("frames",)
    cause = "caused by example/video.audio (code_version 1 -> 2)"
    assert crop.fields == (PlannedField("audio", "affected", cause, ("example/video.audio",)),)
    assert crop.kept_fields == ("frames",)
    assert stt.fields == (PlannedField("transcription", "affected", cause, ("example/video.audio",)),)
    assert stt.kept_fields == ()
    assert (video.old_version, video.new_version) == (old.versions.feature["example/video"], new.versions.feature["example/video"])
    assert plan.keep == ("example/face_detection",)
    assert plan.removed == ()
    assert plan.field_count == 3
    assert plan.summary == "Recompute 3 features (1 changed, 2 affected), 3 fields; 1 feature keeps its version."
    assert (plan.base_label, plan.head_label) == ("HEAD", "working tree")
    # open for a later stage that reads sample counts and costs from a store
    assert (video.samples, video.cost, plan.total_cost) == (None, None, None)


def test_nothing_to_recompute(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    new = _edit(overview_dir, "features/video.yaml", "description: Video metadata feature (root).", "description: Videos.")
    plan = _plan(old, new)
    assert not plan.needs_recompute
    assert plan.keep == ("example/video", "example/crop", "example/face_detection", "example/stt")
    assert plan.summary == "Nothing to recompute: 4 features keep their versions."


def test_reason_chain_through_several_hops(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    new = _edit(overview_dir, "features/video.yaml", '- key: frames\n        code_version: "1"',
                '- key: frames\n        code_version: "2"')
    plan = _plan(old, new)
    detection = next(f for f in plan.recompute if f.key == "example/face_detection")
    assert detection.fields == (
        PlannedField(
            "detections", "affected",
            "caused by example/video.frames (code_version 1 -> 2) via example/crop.frames",
            ("example/crop.frames", "example/video.frames"),
        ),
    )
    assert plan.keep == ("example/stt",)


def test_added_and_removed_features_and_fields(overview_dir: Path) -> None:
    old = load_project(overview_dir)
    _edit(overview_dir, "features/processing.yaml", "  - key: example/stt\n", "  - key: example/speech\n")
    _edit(overview_dir, "features/video.yaml", "      - key: frames\n", "      - key: thumbnail\n      - key: frames\n")
    new = _edit(overview_dir, "features/processing.yaml",
                "      - key: audio\n        code_version: \"1\"\n        deps:\n          - feature: example/video\n"
                "            fields: [audio]\n", "")
    plan = _plan(old, new)
    by_key = {f.key: f for f in plan.recompute}
    assert by_key["example/speech"].fields == (PlannedField("transcription", "added", "new feature (renamed from example/stt?)"),)
    assert by_key["example/video"].fields == (PlannedField("thumbnail", "added", "new field"),)
    assert by_key["example/video"].kept_fields == ("audio", "frames")
    assert by_key["example/crop"].status == "changed"
    assert by_key["example/crop"].fields == ()
    assert by_key["example/crop"].dropped_fields == ("audio",)
    assert plan.removed == ("example/stt",)
    assert plan.summary.endswith("; 1 feature removed.")
