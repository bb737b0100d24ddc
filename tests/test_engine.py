"""The seed story end to end on every backend, data-version overrides, cross-backend identity."""

from __future__ import annotations

import datetime as dt
from hashlib import md5 as _md5
from pathlib import Path

import pytest

from metaxy_cli import engine
from metaxy_cli.definitions.errors import DataError, StoreError
from metaxy_cli.definitions.loader import load_project
from tests.backends import LOG_STORES, VIEW_TABLES, backend_params, open_backend, selected_backends

VIDEO, CROP, FACES, STT = "example/video", "example/crop", "example/face_detection", "example/stt"
N = 200
CHANGED = ["s013", "s150"]  # 1% of the samples


@pytest.fixture(params=backend_params())
def store(request, tmp_path: Path):
    opened = open_backend(request.param, tmp_path / "store")
    yield opened
    opened.close()


def videos(changed: tuple[str, ...] = ()) -> list[dict]:
    return [
        {
            "sample_uid": f"s{i:03d}", "path": f"/videos/{i}.mp4",
            "audio_sha": f"audio-{i}" + ("-v2" if f"s{i:03d}" in changed else ""),
            "frames_sha": f"frames-{i}", "frames": 100 + i, "duration": i / 3, "size": 1000 * i,
        }  # fmt: skip
        for i in range(N)
    ]


def todo(project, store, key, **options) -> dict[str, list[str]]:
    """{sample id: sorted stale fields} of an increment."""
    fields = project.feature(key).field_keys()
    found = {}
    for row in engine.increment(project, store, key, **options).rows():
        found[row["sample_uid"]] = sorted(f for f in fields if row[f"metaxy_stale__{f}"])
    return found


def compute(project, store, key) -> None:
    """Fake the pipeline: write back exactly the increment's rows."""
    engine.write(project, store, key, engine.increment(project, store, key).to_arrow())


def all_ids(fields: list[str]) -> dict[str, list[str]]:
    return {f"s{i:03d}": fields for i in range(N)}


def bump_audio(project_dir: Path) -> None:
    video = project_dir / "features" / "video.yaml"
    text = video.read_text()
    old = 'key: audio\n        code_version: "1"'
    assert old in text
    video.write_text(text.replace(old, 'key: audio\n        code_version: "2"'))


def test_seed_story(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos())
    assert todo(project, store, VIDEO) == {}
    assert todo(project, store, CROP) == all_ids(["audio", "frames"])
    for key in (CROP, FACES, STT):
        compute(project, store, key)
        assert todo(project, store, key) == {}

    # 1% of the audio inputs change: the listing shows them, then they are ingested.
    listing = videos(tuple(CHANGED))
    assert todo(project, store, VIDEO, input=listing) == {uid: ["audio"] for uid in CHANGED}
    engine.write(project, store, VIDEO, listing)
    assert todo(project, store, VIDEO, input=listing) == {}
    assert todo(project, store, CROP) == {uid: ["audio"] for uid in CHANGED}
    assert todo(project, store, STT) == {uid: ["transcription"] for uid in CHANGED}
    assert todo(project, store, FACES) == {}
    for key in (CROP, STT):
        compute(project, store, key)
        assert todo(project, store, key) == {}
    assert todo(project, store, FACES) == {}

    # video.audio's code changes: every sample is stale on the audio fields only.
    bump_audio(overview_dir)
    project = load_project(overview_dir)
    assert todo(project, store, VIDEO) == all_ids(["audio"])
    engine.write(project, store, VIDEO, listing)
    assert todo(project, store, VIDEO) == {}
    assert todo(project, store, CROP) == all_ids(["audio"])
    assert todo(project, store, STT) == all_ids(["transcription"])
    assert todo(project, store, FACES) == {}
    for key in (CROP, STT, FACES):
        compute(project, store, key)
    assert [s.pending for s in engine.status(project, store)] == [0, 0, 0, 0]
    assert [s.up_to_date for s in engine.status(project, store)] == [N, N, N, N]


def test_summary_counts_per_field(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos())
    compute(project, store, CROP)
    engine.write(project, store, VIDEO, videos(tuple(CHANGED))[:150])  # s150.. keep old inputs
    summary = engine.summary(project, store, CROP)
    assert (summary.new, summary.stale, summary.orphaned, summary.up_to_date) == (0, 1, 0, N - 1)
    assert summary.stale_fields == {"audio": 1, "frames": 0}


def test_orphaned_after_delete(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos())
    compute(project, store, CROP)
    assert engine.delete(project, store, VIDEO, where="frames >= 298") == 2
    orphans = sorted(engine.increment(project, store, CROP, orphaned=True).rows(), key=lambda r: r["sample_uid"])
    assert orphans == [{"sample_uid": "s198", "metaxy_status": "orphaned"}, {"sample_uid": "s199", "metaxy_status": "orphaned"}]
    assert engine.summary(project, store, CROP).orphaned == 2
    # The deleted rows moved to history with a tombstone each.
    tombstones = store.fetch_all('SELECT sample_uid FROM "example__video__history" WHERE metaxy_deleted ORDER BY 1')
    assert tombstones == [("s198",), ("s199",)]


def test_write_keeps_history(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos()[:3])
    engine.write(project, store, VIDEO, videos(("s001",))[:3])
    assert store.fetch_all('SELECT count(*) FROM "example__video"') == [(3,)]
    # Current rows are the latest; the replaced ones moved to history, which keeps every version.
    history = store.fetch_all('SELECT sample_uid, audio_sha, metaxy_deleted FROM "example__video__history" ORDER BY 1')
    assert [row[:2] for row in history] == [("s000", "audio-0"), ("s001", "audio-1"), ("s002", "audio-2")]
    assert all(not row[2] for row in history)
    current = store.fetch_all('SELECT sample_uid, audio_sha FROM "example__video" ORDER BY 1')
    assert current == [("s000", "audio-0"), ("s001", "audio-1-v2"), ("s002", "audio-2")]


OVERRIDE_PROJECT = """\
project: override
features:
  - key: raw
    columns: {blob_sha: string}
  - key: clean
    deps: [raw]
    columns: {content_sha: string}
    fields:
      - key: default
        data_version: content_sha
  - key: model
    deps: [clean]
"""


def test_data_version_override_stops_propagation(tmp_path: Path, store) -> None:
    (tmp_path / "metaxy.yaml").write_text(OVERRIDE_PROJECT)
    project = load_project(tmp_path)
    raws = [{"sample_uid": f"r{i}", "blob_sha": f"b{i}"} for i in range(4)]
    engine.write(project, store, "raw", raws)
    engine.write(project, store, "clean", [{"sample_uid": f"r{i}", "content_sha": f"c{i}"} for i in range(4)])
    compute(project, store, "model")
    raws[1]["blob_sha"] = "changed"
    raws[2]["blob_sha"] = "changed"
    engine.write(project, store, "raw", raws)
    assert todo(project, store, "clean") == {"r1": ["default"], "r2": ["default"]}
    # r1's output content is unchanged, r2's changed; an empty override falls back to provenance.
    engine.write(project, store, "clean", [{"sample_uid": "r1", "content_sha": "c1"}, {"sample_uid": "r2", "content_sha": "c2-new"}])
    assert todo(project, store, "model") == {"r2": ["default"]}
    engine.write(project, store, "clean", [{"sample_uid": "r3", "content_sha": ""}])
    assert todo(project, store, "model") == {"r2": ["default"], "r3": ["default"]}
    # Stored: the override's md5, or NULL meaning "the provenance" (an empty override, a field
    # without one); the sample data version is stored where the feature declares an override.
    columns = "metaxy_data_version__default, metaxy_provenance__default, metaxy_data_version, metaxy_provenance"
    stored = {row[0]: row[1:] for row in store.fetch_all(f'SELECT sample_uid, {columns} FROM "clean"')}
    assert stored["r1"][0] == md5("c1") and stored["r3"][0] is None
    assert stored["r1"][2] == md5(md5("c1")) and stored["r3"][2] == md5(stored["r3"][1]) == stored["r3"][3]
    nulls = 'SELECT DISTINCT metaxy_data_version__default IS NULL, metaxy_data_version IS NULL FROM "raw"'
    assert [tuple(map(bool, row)) for row in store.fetch_all(nulls)] == [(True, True)]


def md5(text: str) -> str:
    return _md5(text.encode()).hexdigest()


TYPED_PROJECT = """\
project: typed
features:
  - key: media
    columns:
      label: string
      count: integer
      score: double
      flag: boolean
      day: date
      seen: timestamp
      blob: binary
      meta: json
"""


def typed_rows() -> list[dict]:
    return [
        {"sample_uid": "a", "label": "x", "count": -3, "score": 0.1, "flag": True, "day": dt.date(2024, 2, 29),
         "seen": dt.datetime(2024, 1, 2, 3, 4, 5, 6), "blob": b"\x00\xff", "meta": '{"k": [1, 2]}'},
        {"sample_uid": "b", "label": "é ü", "count": 2**40, "score": -1e300, "flag": False, "day": dt.date(1970, 1, 1),
         "seen": dt.datetime(1999, 12, 31, 23, 59, 59), "blob": b"", "meta": "null"},
        {"sample_uid": "c", "label": None, "count": None, "score": None, "flag": None, "day": None,
         "seen": None, "blob": None, "meta": None},
        {"sample_uid": "d", "label": "", "count": 0, "score": 1 / 3, "flag": True, "day": dt.date(2000, 1, 1),
         "seen": dt.datetime(2000, 1, 1), "blob": b"abc", "meta": "{}"},
        {"sample_uid": "e", "score": float("nan")}, {"sample_uid": "f", "score": float("-inf")},
    ]  # fmt: skip


def stored_versions(store, project, key: str) -> list[tuple]:
    columns = [name for name in store.list_columns(key.replace("/", "__")) if name.startswith("metaxy_") and name != "metaxy_written_at"]
    select = ", ".join(f'"{c}"' for c in ["sample_uid", *columns])
    return store.fetch_all(f'SELECT {select} FROM "{key.replace("/", "__")}" ORDER BY sample_uid')


def test_cross_backend_identity(request, tmp_path: Path, overview_dir: Path) -> None:
    (tmp_path / "metaxy.yaml").write_text(TYPED_PROJECT)
    typed = load_project(tmp_path)
    overview = load_project(overview_dir)
    results = []
    for backend in selected_backends(request.config):
        with open_backend(backend, tmp_path / "identity") as store:
            engine.write(typed, store, "media", typed_rows())
            engine.write(overview, store, VIDEO, videos())
            for key in (CROP, FACES, STT):
                compute(overview, store, key)
            engine.write(overview, store, VIDEO, videos(tuple(CHANGED)))
            compute(overview, store, CROP)
            keys = ("media", VIDEO, CROP, FACES, STT)
            projects = (typed, overview, overview, overview, overview)
            results.append([stored_versions(store, p, k) for p, k in zip(projects, keys)])
    assert all(result == results[0] for result in results[1:])
    assert len(results[0][0]) == 6 and len(results[0][2]) == N


def test_nan_is_stored_as_missing(tmp_path: Path, store) -> None:
    """SQLite cannot store NaN: every backend stores (and hashes) it as NULL, like a missing value."""
    (tmp_path / "metaxy.yaml").write_text(TYPED_PROJECT)
    typed = load_project(tmp_path)
    engine.write(typed, store, "media", [{"sample_uid": "e", "score": float("nan")}, {"sample_uid": "c"}], partial=True)
    rows = store.fetch_all('SELECT sample_uid, score, metaxy_provenance FROM "media" ORDER BY 1')
    assert [row[1] for row in rows] == [None, None] and rows[0][2] == rows[1][2]


def test_missing_upstream_is_named(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    with pytest.raises(StoreError, match=f"upstream feature example/video has no data in store '{store.name}'"):
        engine.increment(project, store, CROP)
    assert store.list_columns("example__crop") is None


def test_ids_without_upstream_rows_write_nothing(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos()[:2])
    rows = [{"sample_uid": "s000"}, {"sample_uid": "zz1"}, {"sample_uid": "zz0"}]
    with pytest.raises(DataError, match=r"example/crop: 2 sample\(s\) have no upstream rows in example/video \(samples: sample_uid='zz0'; sample_uid='zz1'\)"):
        engine.write(project, store, CROP, rows)
    assert store.list_columns("example__crop") is None


def test_root_input_listing_new_and_orphaned(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos()[:3])
    listing = videos()[1:4]
    assert todo(project, store, VIDEO, input=listing) == {"s003": ["audio", "frames"]}
    orphans = engine.increment(project, store, VIDEO, input=listing, orphaned=True).rows()
    assert orphans == [{"sample_uid": "s000", "metaxy_status": "orphaned"}]


def test_sql_text_for_many_dialects(overview_dir: Path) -> None:
    project = load_project(overview_dir)
    for dialect in ("duckdb", "sqlite", "postgres", "clickhouse", "spark", "bigquery"):
        text = engine.sql_text(project, CROP, dialect)
        assert text.startswith("SELECT") and "metaxy_stale__audio" in text


def test_declared_column_and_field_added_later(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos()[:2])
    compute(project, store, CROP)
    video = overview_dir / "features" / "video.yaml"
    video.write_text(video.read_text().replace("      size: integer\n", "      size: integer\n      codec: string\n"))
    crop = overview_dir / "features" / "processing.yaml"
    crop.write_text(crop.read_text().replace(
        "      - key: frames\n        code_version: \"1\"\n        deps:\n          - feature: example/video\n            fields: [frames]\n\n  - key: example/face_detection",
        "      - key: frames\n        code_version: \"1\"\n        deps:\n          - feature: example/video\n            fields: [frames]\n      - key: thumbnail\n\n  - key: example/face_detection",
    ))  # fmt: skip
    project = load_project(overview_dir)
    rows = [{**row, "codec": "h264"} for row in videos()[:2]]
    engine.write(project, store, VIDEO, rows)
    assert store.list_columns("example__video")[-1] == "codec"
    assert store.fetch_all('SELECT codec FROM "example__video" ORDER BY sample_uid') == [("h264",), ("h264",)]
    # The new field of crop (default parents: every video field) is stale; the others are not.
    assert todo(project, store, CROP) == {"s000": ["thumbnail"], "s001": ["thumbnail"]}
    compute(project, store, CROP)
    assert todo(project, store, CROP) == {}


OPTIONAL_PROJECT = """\
project: optional
features:
  - key: a
    columns: {x: string}
  - key: b
    columns: {y: string}
  - key: model
    deps: [a, {feature: b, optional: true}]
"""


def test_optional_upstream_without_data(tmp_path: Path, store) -> None:
    (tmp_path / "metaxy.yaml").write_text(OPTIONAL_PROJECT)
    project = load_project(tmp_path)
    engine.write(project, store, "a", [{"sample_uid": "1", "x": "p"}, {"sample_uid": "2", "x": "q"}])
    assert todo(project, store, "model") == {"1": ["default"], "2": ["default"]}
    compute(project, store, "model")
    engine.write(project, store, "b", [{"sample_uid": "2", "y": "z"}])
    assert todo(project, store, "model") == {"2": ["default"]}


def test_write_log_and_tables_from_before_write_ids(overview_dir: Path, store) -> None:
    if store.engine in VIEW_TABLES:
        pytest.skip("tables are views over Parquet files: never without write ids, no ALTER or UPDATE")
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos())
    compute(project, store, CROP)
    assert engine.delete(project, store, CROP, ids=[{"sample_uid": "s000"}]) == 1
    log = store.fetch_all('SELECT write_id, feature, operation, "rows" FROM metaxy_writes ORDER BY 1')
    assert log == [(1, VIDEO, "write", N), (2, CROP, "write", N), (3, CROP, "delete", 1)]
    assert store.fetch_all('SELECT DISTINCT metaxy_write_id FROM "example__crop"') == [(2,)]
    assert store.fetch_all('SELECT metaxy_write_id FROM "example__crop__history" WHERE metaxy_deleted') == [(3,)]


def test_tables_from_before_write_ids(overview_dir: Path, store) -> None:
    """Tables written before write ids existed: the column comes back NULL and those rows are hashed."""
    if store.engine in LOG_STORES:
        pytest.skip("a log store publishes rows by their write id: it never had rows without one")
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos())
    compute(project, store, CROP)
    assert engine.delete(project, store, CROP, ids=[{"sample_uid": "s000"}]) == 1
    for table in ("example__video", "example__crop", "example__crop__history"):
        store.execute(f'ALTER TABLE "{table}" DROP COLUMN metaxy_write_id')
    store.execute("UPDATE \"example__video\" SET metaxy_data_version__audio = 'x' WHERE sample_uid = 's001'")
    assert todo(project, store, CROP) == {"s000": ["audio", "frames"], "s001": ["audio"]}
    summary = engine.summary(project, store, CROP)
    assert (summary.new, summary.stale, summary.up_to_date) == (1, 1, N - 2)


CHUNKS_PROJECT = """\
project: chunks
id_columns: [video_id, chunk]
features:
  - key: chunk
    columns: {chunk: integer, blob: string}
  - key: embed
    deps: [chunk]
"""


def test_composite_ids_with_an_inherited_integer_id(tmp_path: Path, store) -> None:
    """embed does not declare `chunk`: it takes chunk's integer type, so ids join across tables."""
    (tmp_path / "metaxy.yaml").write_text(CHUNKS_PROJECT)
    project = load_project(tmp_path)
    rows = [{"video_id": f"v{i % 3}", "chunk": i // 3, "blob": f"b{i}"} for i in range(9)]
    engine.write(project, store, "chunk", rows)
    engine.write(project, store, "embed", [{"video_id": r["video_id"], "chunk": str(r["chunk"])} for r in rows])
    rows[4]["blob"] = "changed"  # v1, chunk 1
    engine.write(project, store, "chunk", rows[3:6])
    stale = [(r["video_id"], r["chunk"], r["metaxy_status"]) for r in engine.increment(project, store, "embed").rows()]
    assert stale == [("v1", 1, "stale")]
    assert engine.delete(project, store, "chunk", ids=[{"video_id": "v1", "chunk": 1}]) == 1
    orphaned = engine.increment(project, store, "embed", orphaned=True).rows()
    assert [(r["video_id"], r["chunk"]) for r in orphaned] == [("v1", 1)]
    assert store.fetch_all('SELECT count(*) FROM "chunk"') == [(8,)]
    # 3 rows superseded by the rewrite; the delete moves 1 row and appends its tombstone.
    assert store.fetch_all('SELECT count(*) FROM "chunk__history"') == [(5,)]


def test_samples_whose_upstream_changed_after_their_increment_are_not_written(overview_dir: Path, store) -> None:
    """A pipeline computes from an increment while the upstream moves on: writing the results
    back must not stamp the new upstream's provenance on outputs computed from the old one."""
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos())
    compute(project, store, CROP)
    engine.write(project, store, VIDEO, videos(changed=("s001", "s002")))
    batch = engine.increment(project, store, CROP).to_arrow()  # s001, s002: stale audio
    moved = [v | {"audio_sha": v["audio_sha"] + "-v3"} for v in videos() if v["sample_uid"] in ("s002", "s003")]
    engine.write(project, store, VIDEO, moved)
    # s002's audio changed again, s003's for the first time, while crop was being computed.
    result = engine.write(project, store, CROP, batch)
    assert (result.rows, result.outdated, result.outdated_samples) == (1, 1, ("sample_uid='s002'",))
    assert todo(project, store, CROP) == {"s002": ["audio"], "s003": ["audio"]}
    # A carried provenance that metaxy never computed is not trusted either; an empty one is ignored.
    rows = [{"sample_uid": "s002", "metaxy_provenance": "f" * 32}, {"sample_uid": "s003", "metaxy_provenance": None}]
    result = engine.write(project, store, CROP, rows)
    assert (result.rows, result.outdated) == (1, 1)
    assert todo(project, store, CROP) == {"s002": ["audio"]}


def add_subtitles(project_dir: Path) -> None:
    """video gains a field `subtitles` (from its path) and crop a field of the same key."""
    video = project_dir / "features" / "video.yaml"
    video.write_text(video.read_text() + '      - key: subtitles\n        code_version: "1"\n        source: [path]\n')
    processing = project_dir / "features" / "processing.yaml"
    text = processing.read_text()
    anchor = "            fields: [frames]\n"
    processing.write_text(text.replace(anchor, anchor + "      - key: subtitles\n", 1))


def test_field_added_upstream_after_its_rows_were_written(overview_dir: Path, store) -> None:
    """Rows written before a field existed have no version for it: the upstream is stale on it,
    the downstream field is computed now (from an empty parent version) and again once the
    upstream field has been computed."""
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos())
    compute(project, store, CROP)
    add_subtitles(overview_dir)
    project = load_project(overview_dir)
    assert todo(project, store, CROP) == {uid: ["subtitles"] for uid in all_ids([])}
    assert todo(project, store, VIDEO) == {uid: ["subtitles"] for uid in all_ids([])}
    compute(project, store, CROP)
    assert todo(project, store, CROP) == {}
    engine.write(project, store, VIDEO, videos())  # re-ingested: subtitles get their provenance
    assert todo(project, store, VIDEO) == {}
    assert todo(project, store, CROP) == {uid: ["subtitles"] for uid in all_ids([])}
    assert todo(project, store, STT) == all_ids(["transcription"])  # never computed; unaffected


TZ_SCRIPT = """
import datetime as dt, sys, pyarrow as pa
from pathlib import Path
from metaxy_cli import engine
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.store.duckdb import DuckDBStore
from metaxy_cli.store.sqlite import SQLiteStore
from metaxy_cli.store.clickhouse import ClickHouseStore
folder = Path(sys.argv[1])
project = load_project(folder)
seen = pa.array([dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone.utc)], pa.timestamp("us", tz="UTC"))
batch = pa.table({"sample_uid": ["a"], "seen": seen})
for backend in (DuckDBStore, SQLiteStore, ClickHouseStore):
    with backend.open(folder / backend.engine) as store:
        engine.write(project, store, "clip", batch)
        print(store.fetch_all('SELECT metaxy_provenance__default FROM "clip"')[0][0])
"""


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_timezone_aware_input_hashes_the_same_in_every_machine_time_zone(tmp_path: Path, zone: str) -> None:
    """A timezone-aware timestamp is stored (and hashed) as its UTC wall time, whatever the
    local time zone of the machine that writes it."""
    import os
    import subprocess
    import sys

    (tmp_path / "metaxy.yaml").write_text("project: tz\nfeatures:\n  - key: clip\n    columns: {seen: timestamp}\n")
    result = subprocess.run(
        [sys.executable, "-c", TZ_SCRIPT, str(tmp_path)], env=os.environ | {"TZ": zone},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    expected = md5('["clip.default","1"]|seen=' + md5("2024-01-01 12:00:00.000000"))
    assert result.stdout.split() == [expected, expected, expected]


def test_an_increment_known_to_be_empty_writes_its_columns_and_no_rows(overview_dir: Path, store, tmp_path: Path) -> None:
    """Nothing touched since crop's clean checkpoint: the file still has the increment's columns,
    with the types a non-empty increment's file has (the store writes it without running it)."""
    import pyarrow.parquet as pq

    project = load_project(overview_dir)
    engine.write(project, store, "example/video", videos())
    full = tmp_path / "full.parquet"
    assert engine.increment(project, store, "example/crop").write_to(full, "parquet") == N
    non_empty = engine.increment(project, store, "example/crop").to_arrow().schema
    compute(project, store, "example/crop")
    engine.summary(project, store, "example/crop")  # records the clean checkpoint where stores keep them
    empty = tmp_path / "empty.parquet"
    increment = engine.increment(project, store, "example/crop")
    assert increment.empty == store.tracks_changes  # known without running it where checkpoints are kept
    assert increment.write_to(empty, "parquet") == 0
    assert increment.write_to(tmp_path / "empty.csv", "csv") == 0
    written, expected = pq.read_schema(empty), pq.read_schema(full)
    assert pq.read_table(empty).num_rows == 0
    assert [(f.name, str(f.type)) for f in written if f.name != "metaxy_as_of"] == [
        (f.name, str(f.type)) for f in expected if f.name != "metaxy_as_of"
    ]
    # In memory too, with each store's own types (no engine asked for the empty one's schema).
    in_memory = increment.to_arrow()
    assert in_memory.num_rows == 0
    assert [(f.name, f.type) for f in in_memory.schema] == [(f.name, f.type) for f in non_empty]


def test_the_fast_path_is_left_out_only_when_no_stored_row_can_take_it(overview_dir: Path, store) -> None:
    """fast_path_possible: true while a stored row can be up to date without hashing; false
    after every upstream row was rewritten (a code_version bump upstream) and after a change of
    the feature's own definition, until it is written again. Either way the counts are exact."""
    from metaxy_cli.engine.tables import fast_path_possible
    from metaxy_cli.sql.resolved import resolve

    def possible(key: str) -> bool:
        return fast_path_possible(store, resolve(load_project(overview_dir))[key])

    project = load_project(overview_dir)
    engine.write(project, store, "example/video", videos())
    assert not possible("example/crop")  # never written
    compute(project, store, "example/crop")
    assert possible("example/crop") and possible("example/video")
    one = [row for row in videos(changed=("s001",)) if row["sample_uid"] == "s001"]
    engine.write(project, store, "example/video", one)  # older video rows stay: crop's can be up to date
    assert possible("example/crop")
    bump_audio(overview_dir)
    project = load_project(overview_dir)
    assert possible("example/crop")  # crop's definition is its own: video's rows are not rewritten yet
    assert not possible("example/video")  # its definition changed
    engine.write(project, store, "example/video", videos(changed=("s001",)))  # every row, under v2
    assert possible("example/video") and not possible("example/crop")
    summary = engine.summary(project, store, "example/crop", full=True)
    assert (summary.new, summary.stale, summary.up_to_date, summary.stale_fields["audio"]) == (0, N, 0, N)
    compute(project, store, "example/crop")
    assert possible("example/crop")
    assert engine.summary(project, store, "example/crop", full=True).up_to_date == N
