"""Property test: on random graphs and random histories of writes, deletes, code_version bumps and
data-version overrides, the SQL increment (DuckDB, and SQLite for some) equals tests/reference.py."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import Reference, stem
from sql_harness import Harness

from metaxy_cli.definitions.model import Column, FeatureDep, FeatureSpec, FieldDep, FieldSpec
from metaxy_cli.definitions.project import Project

FIELD_KEYS = ("a", "b", "sub/c")
OVERRIDES = (None, "", "out-1", "out-2")
# Sample ids: one string column, or a composite id with an integer part (video, chunk).
SIMPLE_IDS = ("sample_uid",)
COMPOSITE_IDS = ("video", "chunk")
SAMPLES = {
    SIMPLE_IDS: tuple((f"s{i}",) for i in range(6)),
    COMPOSITE_IDS: (("v0", 0), ("v0", 1), ("v1", 0), ("v1", 1), ("v2", 0), ("v2", 12)),
}


def samples_of(project: Project) -> tuple[tuple, ...]:
    return SAMPLES[next(iter(project.features.values())).id_columns]


def id_row(spec: FeatureSpec, sample: tuple) -> dict:
    return dict(zip(spec.id_columns, sample))


@st.composite
def projects(draw, max_features: int = 5) -> Project:
    """1-5 features, 1-3 fields each, implicit / '*' / explicit field deps, optional deps, overrides;
    simple or composite ids (every feature declares the integer `chunk`, as the loader would
    resolve it)."""
    features: dict[str, FeatureSpec] = {}
    ids = draw(st.sampled_from((SIMPLE_IDS, COMPOSITE_IDS)))
    id_types = (Column("chunk", "integer"),) if ids == COMPOSITE_IDS else ()
    for index in range(draw(st.integers(1, max_features))):
        key = f"f{index}" if index % 2 else f"g/f{index}"
        earlier = list(features)
        chosen = (
            draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        )
        deps = tuple(
            FeatureDep(k, optional=draw(st.booleans()) and draw(st.booleans())) for k in chosen
        )
        field_keys = draw(
            st.lists(st.sampled_from(FIELD_KEYS), min_size=1, max_size=3, unique=True)
        )
        fields = tuple(_field(draw, f, deps, features) for f in field_keys)
        columns = (
            (Column("x", "string"), Column("n", "integer"))
            if not deps
            else (Column("out", "string"),)
        )
        features[key] = FeatureSpec(key=key, fields=fields, deps=deps, columns=id_types + columns, id_columns=ids)
    return Project(name="random", root=Path("."), features=features)


def _field(
    draw, key: str, deps: tuple[FeatureDep, ...], features: dict[str, FeatureSpec]
) -> FieldSpec:
    code_version = draw(st.sampled_from(("1", "2")))
    override = "out" if deps and draw(st.booleans()) else None
    if not deps:
        source = draw(st.sampled_from((None, ("x",), ("n",), ("n", "x"))))
        return FieldSpec(key=key, code_version=code_version, source=source)
    kind = draw(st.sampled_from(("implicit", "star", "explicit")))
    field_deps: tuple[FieldDep, ...] | str | None = None
    if kind == "star":
        field_deps = "*"
    elif kind == "explicit":
        field_deps = tuple(
            FieldDep(dep.feature, draw(st.none() | st.lists(
                st.sampled_from(features[dep.feature].field_keys()), min_size=1, unique=True
            ).map(tuple)))
            for dep in deps if draw(st.booleans())
        )  # fmt: skip
    return FieldSpec(key=key, code_version=code_version, deps=field_deps, data_version=override)


def bumped(project: Project, key: str, field: str) -> Project:
    spec = project.features[key]
    fields = tuple(
        dataclasses.replace(f, code_version=f.code_version + "+") if f.key == field else f
        for f in spec.fields
    )
    return dataclasses.replace(
        project, features={**project.features, key: dataclasses.replace(spec, fields=fields)}
    )


def root_rows(draw, spec: FeatureSpec, samples: list[tuple]) -> list[dict]:
    return [{**id_row(spec, s), "x": draw(st.sampled_from(("p", "q", None))), "n": draw(st.sampled_from((1, 2, None)))}
            for s in samples]  # fmt: skip


def rewrite(draw, spec: FeatureSpec, ref: Reference) -> list[dict]:
    """Some current rows written again with identical values (new write ids, same data versions),
    for samples whose upstream rows still exist."""
    stored = ref.tables.get(spec.key, {})
    possible = sorted(set(stored) & set(ref.expected(spec.key))) if stored else []
    chosen = draw(st.lists(st.sampled_from(possible), unique=True)) if possible else []
    columns = ("x", "n") if spec.is_root else ("out",)
    return [{**id_row(spec, s), **{c: stored[s].get(c) for c in columns}} for s in chosen]


def step(draw, project: Project, ref: Reference) -> tuple[str, str, object]:
    """One random update: write (root rows, or downstream samples whose upstream exists), rewrite
    with identical values, delete, or a code_version bump."""
    key = draw(st.sampled_from(list(project.features)))
    spec = project.features[key]
    action = draw(st.sampled_from(("write", "write", "write", "rewrite", "delete", "bump")))
    if action == "rewrite":
        return "write", key, rewrite(draw, spec, ref)
    if action == "bump":
        return action, key, draw(st.sampled_from(spec.field_keys()))
    if action == "delete":
        stored = sorted(ref.tables.get(key, {}))
        return action, key, draw(st.lists(st.sampled_from(stored), unique=True)) if stored else []
    if spec.is_root:
        samples = samples_of(project)
        return action, key, root_rows(draw, spec, draw(st.lists(st.sampled_from(samples), unique=True, max_size=4)))
    possible = sorted(ref.expected(key))
    chosen = draw(st.lists(st.sampled_from(possible), unique=True)) if possible else []
    return action, key, [{**id_row(spec, s), "out": draw(st.sampled_from(OVERRIDES))} for s in chosen]


def check(project: Project, engine: str, data, steps: int, on_disk: bool = False) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Harness(project, engine, Path(folder) / f"store.{engine}" if on_disk else ":memory:")
        ref = Reference(project)
        for _ in range(steps):
            action, key, payload = step(data.draw, db.project, ref)
            if action == "bump":
                db.project = ref.project = bumped(db.project, key, payload)
            elif action == "delete":
                db.delete(key, payload)
                ref.delete(key, payload)
            else:
                db.write(key, payload)
                ref.write(key, payload)
            for feature in db.project.features:
                expected = ref.increment(feature)
                assert db.increment(feature) == expected, (action, key, feature)
                assert db.summary(feature) == counts(ref, feature, expected), (action, key, feature)
        for feature, spec in db.project.features.items():
            if spec.is_root:
                listing = root_rows(data.draw, spec, list(samples_of(project)[:4]))
                assert db.increment(feature, listing) == ref.increment(feature, listing)


def counts(ref: Reference, key: str, increment: dict) -> dict[str, int]:
    """The summary the SQL must give, derived from the reference increment."""
    statuses = [status for status, _, _ in increment.values()]
    matched = len(set(ref.tables.get(key, {})) & set(ref.expected(key)))
    result = {status: statuses.count(status) for status in ("new", "stale", "orphaned")}
    result["up_to_date"] = matched - result["stale"]
    for f in sorted(ref.spec(key).field_keys()):
        stale = [flags[f] for status, _, flags in increment.values() if status == "stale"]
        result[f"metaxy_stale__{stem(f)}"] = sum(stale)
    return result


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(project=projects(), data=st.data())
def test_duckdb_increment_equals_reference(project, data):
    check(project, "duckdb", data, steps=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(project=projects(max_features=3), data=st.data())
def test_sqlite_increment_equals_reference(project, data):
    check(project, "sqlite", data, steps=5)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])  # 30 examples each: `-n 2` runs them side by side
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(project=projects(), data=st.data())
def test_increment_equals_reference_many(engine, project, data):
    check(project, engine, data, steps=12, on_disk=True)
