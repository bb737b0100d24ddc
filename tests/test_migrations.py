"""Migrations on every store (spec section 6): the overview story of issue 14 with exact counts.

Everything is materialised, 1% of the videos get new audio (nothing recomputed), then a change
that does not change outputs lands: without a migration it would make every sample stale; with
it, only the samples that really changed stay stale, and nothing else is touched.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from metaxy_cli import engine
from metaxy_cli.definitions.errors import MigrationError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.migration import dump_migration
from metaxy_cli.engine.migration_draft import draft_migration
from metaxy_cli.engine.migrations import migration_status
from tests.backends import backend_params, dump_tables, open_backend

VIDEO, CROP, FACES, STT = "example/video", "example/crop", "example/face_detection", "example/stt"
N = 2_000
CHANGED = N // 100  # 1% of the videos get new audio
CREATED = dt.datetime(2026, 12, 2, 8, 0, 0)


@pytest.fixture(params=backend_params())
def store(request, tmp_path: Path):
    opened = open_backend(request.param, tmp_path / "store")
    yield opened
    opened.close()


def videos(changed: int = 0) -> list[dict]:
    return [
        {
            "sample_uid": f"s{i:05d}", "path": f"/videos/{i}.mp4",
            "audio_sha": f"audio-{i}" + ("-v2" if i < changed else ""),
            "frames_sha": f"frames-{i}", "frames": i, "duration": i / 3, "size": 1000 * i,
        }  # fmt: skip
        for i in range(N)
    ]


def materialised(project_dir: Path, store):
    """Everything computed, then 1% of the videos rewritten with new audio (not recomputed)."""
    project = load_project(project_dir)
    engine.write(project, store, VIDEO, videos())
    for key in (CROP, FACES, STT):
        engine.write(project, store, key, engine.increment(project, store, key).to_arrow())
    engine.write(project, store, VIDEO, videos(CHANGED)[:CHANGED])
    return project


def edit(project_dir: Path, relpath: str, old: str, new: str) -> None:
    path = project_dir / relpath
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def write_migration(old, project_dir: Path, name: str, **options) -> Path:
    new = load_project(project_dir)
    options.setdefault("renames", [])
    options.setdefault("all_changed", False)
    options.setdefault("targets", [])
    draft = draft_migration(old, new, name=name, origin="test", created=CREATED, **options)
    folder = project_dir / "migrations"
    folder.mkdir(exist_ok=True)
    path = folder / f"{draft.document['id']}.yaml"
    path.write_text(dump_migration(draft.document))
    return path


def counts(project, store) -> dict[str, tuple[int, dict[str, int]]]:
    """{feature: (stale samples, stale per field)} with every sample accounted for."""
    found = {}
    for summary in engine.status(project, store):
        assert summary.new == 0 and summary.orphaned == 0
        assert summary.stale + summary.up_to_date == N
        found[summary.feature] = (summary.stale, summary.stale_fields)
    return found


FRAMES_V2 = ('      - key: frames\n        code_version: "1"\n        deps:\n          - feature: example/video',
             '      - key: frames\n        code_version: "2"\n        deps:\n          - feature: example/video')  # fmt: skip


def test_refactor_of_a_field_reconciles_only_up_to_date_samples(overview_dir: Path, store) -> None:
    old = materialised(overview_dir, store)
    edit(overview_dir, "features/processing.yaml", *FRAMES_V2)
    project = load_project(overview_dir)
    assert counts(project, store)[CROP] == (N, {"audio": CHANGED, "frames": N})  # without a migration
    write_migration(old, overview_dir, "refactor crop", targets=[CROP])
    project = load_project(overview_dir)

    [dry] = engine.migrate(project, store, dry_run=True)
    assert not dry.applied and [(c.field, c.reconciled, c.unchanged) for c in dry.fields] == [("frames", N, 0)]
    assert counts(project, store)[CROP] == (N, {"audio": CHANGED, "frames": N})  # the dry run wrote nothing

    [result] = engine.migrate(project, store)
    assert result.applied and result.rows == N
    assert counts(project, store) == {
        VIDEO: (0, {"audio": 0, "frames": 0}),
        CROP: (CHANGED, {"audio": CHANGED, "frames": 0}),
        FACES: (0, {"detections": 0}),
        STT: (CHANGED, {"transcription": CHANGED}),
    }
    before = dump_tables(store)
    assert engine.migrate(project, store) == []  # applying twice is a no-op
    assert dump_tables(store) == before
    assert [m.id for m in migration_status(project, store).applied] == [result.id]


def test_stale_fields_stay_stale_and_increments_carry_on(overview_dir: Path, store) -> None:
    """A sample stale on audio keeps its audio provenance; its frames are reconciled, and the
    pipeline's next write-back makes it up to date."""
    old = materialised(overview_dir, store)
    edit(overview_dir, "features/processing.yaml", *FRAMES_V2)
    edit(overview_dir, "features/processing.yaml",
         '      - key: audio\n        code_version: "1"', '      - key: audio\n        code_version: "2"')  # fmt: skip
    write_migration(old, overview_dir, "refactor crop", targets=[CROP])
    project = load_project(overview_dir)
    [result] = engine.migrate(project, store)
    by_field = {c.field: (c.reconciled, c.unchanged) for c in result.fields}
    assert by_field == {"audio": (N - CHANGED, CHANGED), "frames": (N, 0)}
    todo = engine.increment(project, store, CROP).rows()
    assert len(todo) == CHANGED and all(r["metaxy_stale__audio"] and not r["metaxy_stale__frames"] for r in todo)
    engine.write(project, store, CROP, engine.increment(project, store, CROP).to_arrow())
    assert counts(project, store)[CROP] == (0, {"audio": 0, "frames": 0})
    assert counts(project, store)[FACES] == (0, {"detections": 0})


def test_root_field_refactor(overview_dir: Path, store) -> None:
    old = materialised(overview_dir, store)
    edit(overview_dir, "features/video.yaml", 'key: audio\n        code_version: "1"', 'key: audio\n        code_version: "2"')
    project = load_project(overview_dir)
    assert counts(project, store)[VIDEO] == (N, {"audio": N, "frames": 0})
    write_migration(old, overview_dir, "audio v2 refactor", targets=[f"{VIDEO}.audio"])
    project = load_project(overview_dir)
    [result] = engine.migrate(project, store)
    assert [(c.field, c.reconciled) for c in result.fields] == [("audio", N)]
    assert counts(project, store) == {
        VIDEO: (0, {"audio": 0, "frames": 0}),
        CROP: (CHANGED, {"audio": CHANGED, "frames": 0}),
        FACES: (0, {"detections": 0}),
        STT: (CHANGED, {"transcription": CHANGED}),
    }


def test_feature_rename_keeps_history_and_versions(overview_dir: Path, store) -> None:
    old = materialised(overview_dir, store)
    edit(overview_dir, "features/processing.yaml", "key: example/stt", "key: example/speech")
    project = load_project(overview_dir)
    assert engine.summary(project, store, "example/speech").new == N  # without a migration
    write_migration(old, overview_dir, "rename stt", renames=[(STT, "example/speech")])
    project = load_project(overview_dir)
    planned = {p.key: (p.new, p.stale, p.up_to_date) for p in engine.plan(project, store)}
    assert planned["example/speech"] == (0, CHANGED, N - CHANGED)  # the pending rename, as applied
    [result] = engine.migrate(project, store)
    assert result.renames == ((STT, "example/speech"),)
    speech = engine.summary(project, store, "example/speech")
    assert (speech.new, speech.stale, speech.orphaned, speech.up_to_date) == (0, CHANGED, 0, N - CHANGED)
    assert not store.table_exists("example__stt")
    history = store.fetch_all('SELECT count(*) FROM "example__speech__history"')[0][0]
    assert history == N - CHANGED  # the first write of each reconciled sample, superseded by its reconciled row


def test_all_changed_refuses_nothing_reconcilable(overview_dir: Path, tmp_path: Path) -> None:
    old = load_project(overview_dir)
    edit(overview_dir, "features/processing.yaml", "          - feature: example/video\n            fields: [frames]",
         "          - feature: example/video\n            fields: [frames, audio]")  # fmt: skip
    new = load_project(overview_dir)
    draft = draft_migration(old, new, name="x", targets=[], all_changed=True, renames=[], origin="t", created=CREATED)
    fields = [(f["key"], f["old"]["parents"], f["new"]["parents"]) for f in draft.document["features"][0]["fields"]]
    assert fields == [("frames", ["example/video.frames"], ["example/video.audio", "example/video.frames"])]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("features/processing.yaml", "      - key: audio\n        code_version: \"1\"\n        deps:\n          - feature: example/video\n            fields: [audio]\n", ""),
         r"field\(s\) audio removed"),
        (("metaxy.yaml", "id_columns: [sample_uid]", "id_columns: [sample_uid, other]"), "id columns changed"),
    ],
)  # fmt: skip
def test_unreconcilable_changes_are_refused(overview_dir: Path, change, message: str) -> None:
    old = load_project(overview_dir)
    edit(overview_dir, *change)
    with pytest.raises(MigrationError, match=message):
        write_migration(old, overview_dir, "x", targets=[CROP])


def test_edited_applied_migration_is_refused(overview_dir: Path, tmp_path: Path) -> None:
    store = open_backend("duckdb", tmp_path / "store")
    old = materialised(overview_dir, store)
    edit(overview_dir, "features/processing.yaml", *FRAMES_V2)
    path = write_migration(old, overview_dir, "refactor crop", targets=[CROP])
    project = load_project(overview_dir)
    engine.migrate(project, store)
    path.write_text(path.read_text().replace("code_version: '2'", "code_version: '3'"))
    with pytest.raises(MigrationError, match="has been edited since"):
        engine.migrate(project, store)
    store.close()


def test_a_migration_matching_nothing_reports_zero(overview_dir: Path, tmp_path: Path) -> None:
    store = open_backend("duckdb", tmp_path / "store")
    old = materialised(overview_dir, store)
    edit(overview_dir, "features/processing.yaml", *FRAMES_V2)
    write_migration(old, overview_dir, "refactor crop", targets=[CROP])
    # The crops were recomputed under the new definition before the migration was applied.
    project = load_project(overview_dir)
    engine.write(project, store, CROP, engine.increment(project, store, CROP).to_arrow())
    [result] = engine.migrate(project, store)
    assert [(c.field, c.reconciled) for c in result.fields] == [("frames", 0)]
    store.close()


def test_plan_treats_pending_migrations_as_applied(overview_dir: Path, store) -> None:
    old = materialised(overview_dir, store)
    edit(overview_dir, "features/processing.yaml", *FRAMES_V2)
    project = load_project(overview_dir)
    before = {p.key: (p.stale, p.stale_fields) for p in engine.plan(project, store)}
    assert before[CROP] == (N, {"audio": CHANGED, "frames": N})
    assert before[FACES] == (N, {"detections": N})
    write_migration(old, overview_dir, "refactor crop", targets=[CROP])
    project = load_project(overview_dir)
    planned = {p.key: (p.new, p.stale, p.stale_fields, p.up_to_date) for p in engine.plan(project, store)}
    assert planned[CROP] == (0, CHANGED, {"audio": CHANGED, "frames": 0}, N - CHANGED)
    assert planned[FACES] == (0, 0, {"detections": 0}, N)
    assert planned[STT] == (0, CHANGED, {"transcription": CHANGED}, N - CHANGED)
    engine.migrate(project, store)
    assert {p.key: (p.new, p.stale, p.stale_fields, p.up_to_date) for p in engine.plan(project, store)} == planned


def test_reconciled_rows_equal_a_write_under_the_new_definition(overview_dir: Path, store, tmp_path: Path) -> None:
    """Byte-identical provenance: the migrated store's crops equal crops computed from scratch
    under the new definition (DuckDB), field by field, and for whole up-to-date samples."""
    old = materialised(overview_dir, store)
    edit(overview_dir, "features/processing.yaml", *FRAMES_V2)
    write_migration(old, overview_dir, "refactor crop", targets=[CROP])
    project = load_project(overview_dir)
    engine.migrate(project, store)
    fresh = open_backend("duckdb", tmp_path / "fresh", "fresh")
    engine.write(project, fresh, VIDEO, videos(CHANGED))
    engine.write(project, fresh, CROP, engine.increment(project, fresh, CROP).to_arrow())
    columns = "sample_uid, metaxy_provenance__frames, metaxy_provenance__audio, metaxy_provenance"
    query = f'SELECT {columns} FROM "example__crop" ORDER BY sample_uid'
    migrated, computed = store.fetch_all(query), fresh.fetch_all(query)
    fresh.close()
    assert [row[:2] for row in migrated] == [row[:2] for row in computed]  # frames: every sample
    stale = {f"s{i:05d}" for i in range(CHANGED)}
    assert [row for row in migrated if row[0] not in stale] == [row for row in computed if row[0] not in stale]
