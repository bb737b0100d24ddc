"""Graph snapshots: a project's definitions as one document (definitions/snapshot.py), kept in
every store (engine/snapshots.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_cli import engine
from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.snapshot import load_snapshot, snapshot_text
from metaxy_cli.engine.snapshots import find_snapshot, snapshot_project
from tests.backends import backend_params, open_backend

EXAMPLES = sorted(p.parent for p in (Path(__file__).resolve().parent.parent / "examples").glob("*/metaxy.yaml"))


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_a_snapshot_rebuilds_the_same_versions(folder: Path) -> None:
    project = load_project(folder)
    text = snapshot_text(project)
    rebuilt = load_snapshot(text, "snapshot:test")
    assert rebuilt.versions.project == project.versions.project
    assert rebuilt.versions.field == project.versions.field
    assert snapshot_text(rebuilt) == text  # canonical: the same definitions, the same text
    assert "stores" not in text  # settings (credentials) are never kept


@pytest.fixture(params=backend_params())
def store(request, tmp_path: Path):
    opened = open_backend(request.param, tmp_path / "store")
    yield opened
    opened.close()


def test_push_is_idempotent_and_history_lists_changes(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    assert engine.history(store) == []
    with pytest.raises(StoreError, match="no graph snapshot yet"):
        find_snapshot(store, "snapshot:LATEST")
    assert engine.push(project, store) is True
    assert engine.push(project, store) is False
    video = overview_dir / "features" / "video.yaml"
    video.write_text(video.read_text().replace('key: audio\n        code_version: "1"', 'key: audio\n        code_version: "2"'))
    changed = load_project(overview_dir)
    engine.write(changed, store, "example/video", [{"sample_uid": "a", "path": "p", "audio_sha": "x", "frames_sha": "y",
                                                    "frames": 1, "duration": 1.0, "size": 1}])  # fmt: skip
    first, second = engine.history(store)
    assert first.project_version == project.versions.project
    assert second.project_version == changed.versions.project
    assert second.changed_since(first) == ["example/crop", "example/stt", "example/video"]
    latest = snapshot_project(store, "snapshot:LATEST")
    assert latest.versions.project == changed.versions.project
    older = snapshot_project(store, "snapshot:" + project.versions.project[:6])
    assert older.versions.project == project.versions.project
    with pytest.raises(StoreError, match="no snapshot"):
        find_snapshot(store, "snapshot:zz")
