"""The whole-graph plan (spec section 4): predictions agree with what the increments then find, and
`metaxy plan --store` shows them with their cost."""

from __future__ import annotations

import itertools
import json
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sql_reference import bumped, id_row, projects, root_rows, samples_of

from metaxy_cli import engine
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.engine import changes
from metaxy_cli.sql import layout
from tests.backends import MARKS, open_backend

VIDEO, CROP, FACES, STT = "example/video", "example/crop", "example/face_detection", "example/stt"
_outputs = itertools.count()


def materialise(project, store, key: str) -> dict:
    """Compute `key`'s increment the way a pipeline does (write back new and stale samples, every
    override output new) and return the counts the increment had."""
    todo = engine.increment(project, store, key).to_arrow().to_pylist()
    orphaned = len(engine.increment(project, store, key, orphaned=True))
    up_to_date = engine.summary(project, store, key).up_to_date
    spec = project.features[key]
    fields = sorted(spec.field_keys())
    counts = {
        "new": sum(row[layout.STATUS] == layout.NEW for row in todo),
        "stale": sum(row[layout.STATUS] == layout.STALE for row in todo),
        "stale_fields": {f: sum(row[layout.STATUS] == layout.STALE and bool(row[layout.stale_column(f)]) for row in todo) for f in fields},
        "orphaned": orphaned,
        "up_to_date": up_to_date,
    }  # fmt: skip
    if todo:
        ids = [tuple(row[c] for c in spec.id_columns) for row in todo]
        if spec.is_root:  # a root is recomputed by writing its rows again (same values)
            columns = (*spec.id_columns, *(c.name for c in spec.columns if c.name not in spec.id_columns))
            rows = store.fetch_all(f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} FROM "{spec.table}"')
            batch = [dict(zip(columns, row)) for row in rows if tuple(row[: len(spec.id_columns)]) in set(ids)]
        else:
            outputs = spec.column("out") is not None
            batch = [{**id_row(spec, sample), **({"out": f"o{next(_outputs)}"} if outputs else {})} for sample in ids]
        engine.write(project, store, key, batch)
    return counts


def without_overrides(project):
    """Data-version overrides make the plan an upper bound (a recomputed output may come out the
    same and stop the change): the exact-count property is checked without them."""
    import dataclasses

    features = {
        key: dataclasses.replace(spec, fields=tuple(dataclasses.replace(f, data_version=None) for f in spec.fields))
        for key, spec in project.features.items()
    }
    return dataclasses.replace(project, features=features)


def check_plan(project, backend: str, data, folder: Path, *, status: bool = False) -> None:
    """With `status`, the first full run ends with the graph up to date and every feature's
    summary (each records a clean checkpoint, which the plan then starts from)."""
    project = without_overrides(project)
    with open_backend(backend, folder) as store:
        samples = list(samples_of(project))
        for key, spec in project.features.items():  # a first full run
            if spec.is_root:
                engine.write(project, store, key, root_rows(data.draw, spec, data.draw(st.lists(st.sampled_from(samples), min_size=1, unique=True))))
            else:
                materialise(project, store, key)
        if status:  # the graph brought up to date in order, then each feature's status
            for key in project.graph.order:
                materialise(project, store, key)
            for key in project.graph.order:
                engine.summary(project, store, key)
        for _ in range(data.draw(st.integers(1, 3))):  # changes: root data, deletes, code_version bumps
            key = data.draw(st.sampled_from(list(project.features)))
            spec = project.features[key]
            action = data.draw(st.sampled_from(("data", "delete", "bump")))
            if action == "bump":
                project = bumped(project, key, data.draw(st.sampled_from(spec.field_keys())))
            elif action == "data" and spec.is_root:
                chosen = data.draw(st.lists(st.sampled_from(samples), min_size=1, unique=True, max_size=3))
                engine.write(project, store, key, root_rows(data.draw, spec, chosen))
            elif action == "delete" and spec.is_root:
                chosen = data.draw(st.lists(st.sampled_from(samples), min_size=1, unique=True, max_size=2))
                engine.write(project, store, key, root_rows(data.draw, spec, chosen))
                engine.delete(project, store, key, ids=[id_row(spec, s) for s in chosen])
        predicted = {p.key: p for p in engine.plan(project, store)}
        for key in project.graph.order:  # then every feature's turn, in order
            actual = materialise(project, store, key)
            p = predicted[key]
            assert {"new": p.new, "stale": p.stale, "stale_fields": p.stale_fields, "orphaned": p.orphaned,
                    "up_to_date": p.up_to_date} == actual, key  # fmt: skip


PLAN = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@settings(PLAN, max_examples=25)
@given(project=projects(max_features=4), data=st.data())
def test_duckdb_plan_predicts_every_increment(tmp_path_factory, project, data) -> None:
    check_plan(project, "duckdb", data, tmp_path_factory.mktemp("plan"))


@settings(PLAN, max_examples=10)
@given(project=projects(max_features=3), data=st.data())
def test_sqlite_plan_predicts_every_increment(tmp_path_factory, project, data) -> None:
    check_plan(project, "sqlite", data, tmp_path_factory.mktemp("plan"))


@contextmanager
def checkpoints_whenever_clean():
    """Every comparison with a clean checkpoint uses it, however many rows changed since: the
    plan's settled and restricted features (engine/predict.py) on every small history."""
    limit = changes.DELTA_LIMIT
    changes.DELTA_LIMIT = float("inf")
    try:
        yield
    finally:
        changes.DELTA_LIMIT = limit


@settings(PLAN, max_examples=15)
@given(project=projects(max_features=4), data=st.data())
def test_plan_from_checkpoints_predicts_every_increment(tmp_path_factory, project, data) -> None:
    with checkpoints_whenever_clean():
        check_plan(project, "duckdb", data, tmp_path_factory.mktemp("plan"), status=True)


@pytest.mark.slow
@settings(PLAN, max_examples=40)
@given(project=projects(max_features=5), data=st.data(), backend=st.sampled_from(("duckdb", "sqlite")))
def test_plan_predicts_every_increment_many(tmp_path_factory, project, data, backend) -> None:
    check_plan(project, backend, data, tmp_path_factory.mktemp("plan"))


@pytest.mark.parametrize("backend", [pytest.param(name, marks=MARKS.get(name, ())) for name in ("postgres", "clickhouse")])
@settings(PLAN, max_examples=3)
@given(project=projects(max_features=3), data=st.data())
def test_warehouse_plans_predict_every_increment(tmp_path_factory, project, data, backend) -> None:
    """The same property on the warehouse stores, with and without their clean checkpoints."""
    with checkpoints_whenever_clean():
        check_plan(project, backend, data, tmp_path_factory.mktemp("plan"), status=data.draw(st.booleans()))


@pytest.mark.spark
@pytest.mark.slow
@settings(PLAN, max_examples=1)
@given(project=projects(max_features=3), data=st.data())
def test_spark_plan_predicts_every_increment(tmp_path_factory, project, data) -> None:
    """And on Spark (one example per run: a write there takes about a second, a plan's check
    dozens; the SQL is the one the other stores run)."""
    with checkpoints_whenever_clean():
        check_plan(project, "spark", data, tmp_path_factory.mktemp("plan"), status=data.draw(st.booleans()))


# ---- the overview story through the CLI -------------------------------------------------------


def videos(count: int, changed: int = 0) -> list[dict]:
    return [
        {"sample_uid": f"s{i:04d}", "path": f"/v/{i}.mp4", "audio_sha": f"a{i}" + ("-v2" if i < changed else ""),
         "frames_sha": f"f{i}", "frames": i, "duration": 1.0, "size": i}
        for i in range(count)
    ]  # fmt: skip


@pytest.fixture
def story(overview_dir: Path):
    """The overview at 200 samples, everything computed, in a git repository with costs declared."""
    project_file = overview_dir / "metaxy.yaml"
    project_file.write_text(project_file.read_text() + "cost_unit: gpu-seconds\n")
    processing = overview_dir / "features" / "processing.yaml"
    text = processing.read_text()
    text = text.replace("  - key: example/stt\n", "  - key: example/stt\n    cost: 0.5\n")
    text = text.replace("      - key: audio\n        code_version: \"1\"\n", "      - key: audio\n        code_version: \"1\"\n        cost: 2\n", 1)
    text = text.replace("      - key: frames\n        code_version: \"1\"\n", "      - key: frames\n        code_version: \"1\"\n        cost: 3\n", 1)
    processing.write_text(text)
    project = load_project(overview_dir)
    with engine_store(project) as store:
        engine.write(project, store, VIDEO, videos(200))
        for key in (CROP, FACES, STT):
            materialise(project, store, key)
    for args in (["init", "-q"], ["add", "."], ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "v1"]):
        subprocess.run(["git", "-C", str(overview_dir), *args], check=True, capture_output=True)
    return overview_dir


def engine_store(project):
    from metaxy_cli.store.config import open_store

    return open_store(project, "dev")


def bump_audio(folder: Path) -> None:
    video = folder / "features" / "video.yaml"
    video.write_text(video.read_text().replace('      - key: audio\n        code_version: "1"', '      - key: audio\n        code_version: "2"'))


def test_code_version_bump_predicts_stale_audio_everywhere_it_flows(story: Path, invoke) -> None:
    bump_audio(story)
    result = invoke("--project", story, "plan", "--store", "dev", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    by_key = {f["key"]: f for f in document["features"]}
    assert by_key[VIDEO] | {"cost": None} == {"key": VIDEO, "new": 0, "stale": 200, "stale_fields": {"audio": 200, "frames": 0},
                               "orphaned": 0, "up_to_date": 0, "cost": None, "table_exists": True}  # fmt: skip
    assert by_key[CROP]["stale_fields"] == {"audio": 200, "frames": 0} and by_key[CROP]["cost"] == 400.0  # 200 x audio's 2
    assert by_key[STT]["stale"] == 200 and by_key[STT]["cost"] == 100.0  # 200 x the feature's 0.5
    assert by_key[FACES] == {"key": FACES, "new": 0, "stale": 0, "stale_fields": {"detections": 0}, "orphaned": 0,
                             "up_to_date": 200, "cost": None, "table_exists": True}  # fmt: skip
    assert document["total_cost"] == 500.0 and document["cost_unit"] == "gpu-seconds" and document["store"] == "dev"
    assert [f["samples"] for f in document["recompute"]] == [200, 200, 200]
    exit_code = invoke("--project", story, "plan", "--store", "dev", "--detailed-exitcode").exit_code
    assert exit_code == 2


def test_a_data_change_alone_shows_in_the_plan(story: Path, invoke) -> None:
    """1% of the audio rewritten, nothing recomputed: no definition changed, yet crop and stt
    will recompute 2 samples each (status cannot say so until video is rewritten)."""
    project = load_project(story)
    with engine_store(project) as store:
        engine.write(project, store, VIDEO, videos(200, changed=2))
    result = invoke("--project", story, "plan", "--store", "dev")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Samples in store 'dev':" in lines
    assert lines[-1] == ("No definition changes: 4 features keep their versions; "
                         "store 'dev': 4 samples to compute in 2 features (cost 5 gpu-seconds).")  # fmt: skip
    markdown = invoke("--project", story, "plan", "--store", "dev", "--format", "markdown").stdout
    assert "| `example/crop` | 0 | 2 (audio 2) | 0 | 198 | 4 |" in markdown
    assert "class " in markdown and "classDef compute" in markdown


def test_a_change_predicted_upstream_reaches_only_the_fields_that_read_it(story: Path, monkeypatch) -> None:
    """1% of the audio rewritten, the graph's status taken (clean checkpoints): crop's audio is
    predicted stale, but face_detection reads only crop's frames, so nothing reaches it. It is
    answered from its checkpoint, without predicting rows of it (nor of video, unchanged since
    its own checkpoint)."""
    from metaxy_cli.store.duckdb import DuckDBStore

    project = load_project(story)
    with engine_store(project) as store:
        engine.write(project, store, VIDEO, videos(200, changed=2)[:2])  # the two rows alone
        for key in (VIDEO, CROP, FACES, STT):
            engine.summary(project, store, key)
        predicted_for: list[str] = []
        create = DuckDBStore.create_temporary_as
        monkeypatch.setattr(DuckDBStore, "create_temporary_as", lambda self, name, query: (predicted_for.append(name), create(self, name, query))[1])
        by_key = {p.key: p for p in engine.plan(project, store)}
    assert (by_key[CROP].stale, by_key[CROP].stale_fields, by_key[CROP].up_to_date) == (2, {"audio": 2, "frames": 0}, 198)
    assert (by_key[STT].stale, by_key[FACES].stale, by_key[FACES].up_to_date) == (2, 0, 200)
    assert predicted_for == ["metaxy_plan_1"]  # crop's changeable ids alone (stt: its summary)


def test_plan_needs_no_table(overview_dir: Path, invoke) -> None:
    """Only video written: the other features have no table, their samples are all new."""
    for args in (["init", "-q"], ["add", "."], ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "v1"]):
        subprocess.run(["git", "-C", str(overview_dir), *args], check=True, capture_output=True)
    project = load_project(overview_dir)
    with engine_store(project) as store:
        engine.write(project, store, VIDEO, videos(10))
    document = json.loads(invoke("--project", overview_dir, "plan", "--store", "dev", "--format", "json").stdout)
    by_key = {f["key"]: f for f in document["features"]}
    assert (by_key[CROP]["new"], by_key[CROP]["table_exists"]) == (10, False)
    assert (by_key[FACES]["new"], by_key[FACES]["table_exists"]) == (10, False)
    with engine_store(project) as store:  # and the plan changed nothing
        assert not store.table_exists("example__crop")


def test_plan_json_with_predictions_matches_its_schema(story: Path, invoke) -> None:
    from jsonschema import Draft202012Validator

    bump_audio(story)
    document = json.loads(invoke("--project", story, "plan", "--store", "dev", "--format", "json").stdout)
    schema = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "plan.schema.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(document)) == []


def test_costs_never_change_a_version(overview_dir: Path) -> None:
    before = load_project(overview_dir).versions
    processing = overview_dir / "features" / "processing.yaml"
    processing.write_text(processing.read_text().replace("  - key: example/stt\n", "  - key: example/stt\n    cost: 7\n"))
    (overview_dir / "metaxy.yaml").write_text((overview_dir / "metaxy.yaml").read_text() + "cost_unit: USD\n")
    after = load_project(overview_dir).versions
    assert (after.field, after.feature, after.project) == (before.field, before.feature, before.project)
    assert after.metadata["example/stt"] != before.metadata["example/stt"]  # diff reports it as metadata
