"""The versioning queries executed on real DuckDB and SQLite files: the overview story, sample by
sample, checked against exact statuses and the pure-Python reference (tests/reference.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from reference import Reference, md5
from sql_harness import Harness

from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.model import Column, FeatureDep, FeatureSpec, FieldSpec
from metaxy_cli.definitions.project import Project
from metaxy_cli.sql import layout
from metaxy_cli.sql.compare import row_locator
from metaxy_cli.sql.dialects import profile_for
from metaxy_cli.sql.query import expected_query, increment_query, write_query
from metaxy_cli.sql.resolved import field_prefix, resolve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
VIDEO, CROP, FACES, STT = "example/video", "example/crop", "example/face_detection", "example/stt"


@pytest.fixture(scope="module")
def overview() -> Project:
    return load_project(EXAMPLES / "overview")


def videos(n: int, changed: dict[str, str] | None = None) -> list[dict]:
    rows = []
    for i in range(n):
        uid = f"s{i}"
        audio = (changed or {}).get(uid, f"audio-{i}")
        rows.append({"sample_uid": uid, "path": f"v/{i}.mp4", "audio_sha": audio, "frames_sha": f"fr-{i}",
                     "frames": i * 10, "duration": i / 3, "size": 1000 + i})  # fmt: skip
    return rows


def ids(samples) -> list[dict]:
    return [{"sample_uid": uid} for (uid,) in samples]


def bump(project: Project, key: str, field: str, code_version: str) -> Project:
    spec = project.features[key]
    fields = tuple(
        dataclasses.replace(f, code_version=code_version) if f.key == field else f
        for f in spec.fields
    )
    features = {**project.features, key: dataclasses.replace(spec, fields=fields)}
    return dataclasses.replace(project, features=features)


def statuses(increment: dict) -> dict[str, tuple[str, list[str] | None]]:
    """{uid: (status, sorted stale fields)} — the compact view the story asserts on."""
    out = {}
    for (uid,), (status, _, flags) in increment.items():
        out[uid] = (
            status,
            None if flags is None else sorted(f for f, stale in flags.items() if stale),
        )
    return out


@pytest.fixture(params=["duckdb", "sqlite"])
def engine(request) -> str:
    return request.param


def test_overview_story(overview, engine, tmp_path):
    db = Harness(overview, engine, tmp_path / f"store.{engine}")
    ref = Reference(overview)
    for store in (db, ref):
        store.write(VIDEO, videos(6))
    assert statuses(db.increment(CROP)) == {f"s{i}": ("new", ["audio", "frames"]) for i in range(6)}
    assert db.increment(CROP) == ref.increment(CROP)

    for key in (CROP, STT):
        for store in (db, ref):
            store.write(key, ids((s,) for s in [f"s{i}" for i in range(6)]))
    assert db.increment(CROP) == {}  # idempotent: written back, nothing to do
    assert db.summary(CROP) == {"new": 0, "stale": 0, "orphaned": 0, "up_to_date": 6,
                                "metaxy_stale__audio": 0, "metaxy_stale__frames": 0}  # fmt: skip
    for store in (db, ref):
        store.write(FACES, ids((f"s{i}",) for i in range(6)))

    # Change one audio input: exactly that sample is stale, for crop.audio and stt only.
    for store in (db, ref):
        store.write(VIDEO, videos(6, {"s3": "audio-3-new"})[3:4])
    assert statuses(db.increment(CROP)) == {"s3": ("stale", ["audio"])}
    assert statuses(db.increment(STT)) == {"s3": ("stale", ["transcription"])}
    assert db.increment(FACES) == {}
    assert db.summary(CROP)["metaxy_stale__audio"] == 1
    assert db.increment(CROP) == ref.increment(CROP)

    # A deleted upstream sample orphans the downstream one.
    for store in (db, ref):
        store.delete(VIDEO, [("s5",)])
    assert statuses(db.increment(CROP)) == {"s3": ("stale", ["audio"]), "s5": ("orphaned", None)}
    assert db.summary(CROP) == {"new": 0, "stale": 1, "orphaned": 1, "up_to_date": 4,
                                "metaxy_stale__audio": 1, "metaxy_stale__frames": 0}  # fmt: skip

    # A root code_version bump: every stored sample stale on that field only.
    bumped = bump(overview, VIDEO, "audio", "2")
    db.project = ref.project = bumped
    assert statuses(db.increment(VIDEO)) == {f"s{i}": ("stale", ["audio"]) for i in range(5)}
    assert db.increment(VIDEO) == ref.increment(VIDEO)


def test_root_listing_gives_new_and_orphaned(overview, engine, tmp_path):
    db = Harness(overview, engine, tmp_path / f"store.{engine}")
    db.write(VIDEO, videos(3))
    listing = videos(4, {"s1": "other"})[1:]  # s0 gone, s1 changed, s2 same, s3 new
    assert statuses(db.increment(VIDEO, listing)) == {
        "s0": ("orphaned", None), "s1": ("stale", ["audio"]), "s3": ("new", ["audio", "frames"]),
    }  # fmt: skip
    assert db.summary(VIDEO, listing)["up_to_date"] == 1
    ref = Reference(overview)
    ref.write(VIDEO, videos(3))
    assert db.increment(VIDEO, listing) == ref.increment(VIDEO, listing)


def test_provenance_is_the_documented_md5_chain(overview, engine, tmp_path):
    db = Harness(overview, engine, tmp_path / f"store.{engine}")
    [row] = db.write(VIDEO, videos(1))
    audio = md5('["example/video.audio","1"]|audio_sha=' + md5("audio-0"))
    frames = md5('["example/video.frames","1"]|frames_sha=' + md5("fr-0"))
    assert (row["metaxy_provenance__audio"], row["metaxy_provenance__frames"]) == (audio, frames)
    assert row["metaxy_data_version__audio"] is None  # no override: read as the provenance
    assert row["metaxy_provenance"] == md5(f"{audio}|{frames}")
    [crop] = db.write(CROP, [{"sample_uid": "s0"}])
    assert crop["metaxy_provenance__audio"] == md5(
        '["example/crop.audio","1"]|example/video.audio=' + audio
    )


def test_write_query_columns_follow_the_layout(overview):
    profile = profile_for("duckdb")
    for key in overview.features:
        spec = overview.features[key]
        tree = write_query(
            resolve(overview)[key],
            profile,
            "batch",
            written_at=__import__("datetime").datetime(2024, 1, 1),
            write_id=1,
        )
        assert tree.named_selects == [name for name, _ in layout.table_columns(spec)]


def test_increment_and_expected_columns(overview):
    profile = profile_for("duckdb")
    assert increment_query(resolve(overview)[CROP], profile).named_selects == [
        "sample_uid", "metaxy_status", "metaxy_provenance__audio", "metaxy_provenance__frames",
        "metaxy_provenance", "metaxy_stale__audio", "metaxy_stale__frames",
    ]  # fmt: skip
    assert expected_query(resolve(overview)[STT], profile).named_selects == [
        "sample_uid", "metaxy_provenance__transcription", "metaxy_provenance",
    ]  # fmt: skip


def test_field_prefix_is_canonical_json(overview):
    spec = overview.features[CROP]
    assert field_prefix(spec, "audio") == '["example/crop.audio","1"]'


# ---- the fast path: rows whose write had the current definition and older upstream rows ----------

OPTIONAL = Project(
    name="optional",
    root=Path("."),
    features={
        "raw": FeatureSpec(
            key="raw", fields=(FieldSpec(key="default"),), columns=(Column("x", "string"),)
        ),
        "extra": FeatureSpec(
            key="extra", fields=(FieldSpec(key="default"),), columns=(Column("y", "string"),)
        ),
        "out": FeatureSpec(
            key="out",
            deps=(FeatureDep("raw"), FeatureDep("extra", optional=True)),
            fields=(FieldSpec(key="default", data_version="o"),),
            columns=(Column("o", "string"),),
        ),
    },
)


def tamper(db: Harness, key: str, column: str, value: str) -> None:
    """Change a stored value WITHOUT a write (no new write id): only the hashing path sees it."""
    db.con.execute(f'UPDATE "{layout.current_table(key)}" SET "{column}" = ?', [value])


def test_fast_path_trusts_older_upstream_rows_and_hashes_the_rest(overview, engine, tmp_path):
    db = Harness(overview, engine, tmp_path / f"store.{engine}")
    db.write(VIDEO, videos(3))
    db.write(CROP, ids([("s0",), ("s1",), ("s2",)]))
    tamper(db, VIDEO, "metaxy_data_version__audio", "x" * 32)
    assert db.increment(CROP) == {}  # not hashed: the upstream rows are older than crop's
    assert db.summary(CROP)["up_to_date"] == 3
    db.con.execute(
        'UPDATE "example__crop" SET "metaxy_write_id" = NULL WHERE "sample_uid" = \'s1\''
    )
    assert statuses(db.increment(CROP)) == {"s1": ("stale", ["audio"])}  # no write id: hashed
    assert db.summary(CROP)["metaxy_stale__audio"] == 1


def test_upstream_rewritten_with_identical_values_stays_up_to_date(overview, engine, tmp_path):
    db = Harness(overview, engine, tmp_path / f"store.{engine}")
    db.write(VIDEO, videos(3))
    db.write(CROP, ids([("s0",), ("s1",), ("s2",)]))
    db.write(VIDEO, videos(3, {"s2": "audio-2-new"}))  # every row newer than crop's; one changed
    assert statuses(db.increment(CROP)) == {"s2": ("stale", ["audio"])}
    db.write(CROP, ids([("s2",)]))  # crop rewritten, then its upstream rewritten identically
    db.write(VIDEO, videos(3, {"s2": "audio-2-new"}))
    assert db.increment(CROP) == {}
    assert db.summary(CROP)["up_to_date"] == 3


def test_optional_upstream_row_deleted_after_the_write_makes_it_stale(engine, tmp_path):
    db, ref = Harness(OPTIONAL, engine, tmp_path / f"store.{engine}"), Reference(OPTIONAL)
    for store in (db, ref):
        store.write("raw", [{"sample_uid": "a", "x": "1"}, {"sample_uid": "b", "x": "2"}])
        store.write("extra", [{"sample_uid": "a", "y": "1"}])
        store.write("out", [{"sample_uid": "a", "o": "o1"}, {"sample_uid": "b", "o": "o2"}])
    assert db.increment("out") == {}
    for store in (db, ref):
        store.delete("extra", [("a",)])  # leaves no newer row behind
    assert statuses(db.increment("out")) == {"a": ("stale", ["default"])}
    assert db.increment("out") == ref.increment("out")
    for store in (db, ref):
        store.write("extra", [{"sample_uid": "b", "y": "2"}])  # appears after out's write
    assert statuses(db.increment("out")) == {
        "a": ("stale", ["default"]),
        "b": ("stale", ["default"]),
    }


def test_upstream_bump_with_equal_data_versions_stays_up_to_date(engine, tmp_path):
    db = Harness(OPTIONAL, engine, tmp_path / f"store.{engine}")
    db.write("raw", [{"sample_uid": "a", "x": "1"}])
    db.write("out", [{"sample_uid": "a", "o": "o1"}])
    downstream = Project(name="d", root=Path("."), features={**OPTIONAL.features, "last": FeatureSpec(key="last", fields=(FieldSpec(key="default"),), deps=(FeatureDep("out"),))})  # fmt: skip
    db.project = downstream
    db.ensure_table("last")
    db.write("last", [{"sample_uid": "a"}])
    db.project = bump(downstream, "out", "default", "2")  # out's code changes, its output does not
    assert statuses(db.increment("out")) == {"a": ("stale", ["default"])}
    db.write("out", [{"sample_uid": "a", "o": "o1"}])
    assert db.increment("last") == {}  # hashed (out is newer), same data version


def test_root_source_change_is_seen_although_the_feature_version_is_equal(
    overview, engine, tmp_path
):
    db, ref = Harness(overview, engine, tmp_path / f"store.{engine}"), Reference(overview)
    for store in (db, ref):
        store.write(VIDEO, videos(2))
    spec = overview.features[VIDEO]
    fields = tuple(
        dataclasses.replace(f, source=("audio_sha", "path")) if f.key == "audio" else f
        for f in spec.fields
    )
    changed = dataclasses.replace(
        overview, features={**overview.features, VIDEO: dataclasses.replace(spec, fields=fields)}
    )
    assert changed.versions.feature[VIDEO] == overview.versions.feature[VIDEO]
    db.project = ref.project = changed
    assert statuses(db.increment(VIDEO)) == {"s0": ("stale", ["audio"]), "s1": ("stale", ["audio"])}
    assert db.increment(VIDEO) == ref.increment(VIDEO)


def test_root_rows_of_a_write_with_the_current_definition_are_not_rehashed(
    overview, engine, tmp_path
):
    db = Harness(overview, engine, tmp_path / f"store.{engine}")
    db.write(VIDEO, videos(2))
    tamper(db, VIDEO, "audio_sha", "changed without a write")
    assert db.increment(VIDEO) == {}  # the latest write's own rows: fast
    assert db.summary(VIDEO)["up_to_date"] == 2
    db.project = bump(overview, VIDEO, "audio", "2")  # a new definition: every row is hashed
    assert statuses(db.increment(VIDEO)) == {"s0": ("stale", ["audio"]), "s1": ("stale", ["audio"])}


def test_row_locator_unless_a_column_takes_its_name(overview):
    """Restricted reads find rows by DuckDB's rowid; a declared column named `rowid` (in the
    feature or upstream) would shadow it, so then the ids alone restrict the read."""
    assert row_locator(resolve(overview)[CROP], profile_for("duckdb")) == "rowid"
    assert row_locator(resolve(overview)[CROP], profile_for("sqlite")) is None
    video = overview.features[VIDEO]
    shadowed = dataclasses.replace(video, columns=(*video.columns, Column(name="RowId", type="integer")))
    project = dataclasses.replace(overview, features={**overview.features, VIDEO: shadowed})
    features = resolve(project)
    assert row_locator(features[CROP], profile_for("duckdb")) is None
    assert row_locator(features[VIDEO], profile_for("duckdb")) is None
    assert row_locator(features[STT], profile_for("duckdb")) is None  # reads video too
