"""The compiled schema check agrees with jsonschema on every document, and refuses what it lacks."""

from __future__ import annotations

import copy
import json
import math
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from strategies import project_docs

from metaxy_cli.definitions.schema_check import UnsupportedSchema, all_unique, compile_schema, json_equal
from metaxy_cli.definitions.schemas import (
    FEATURES_SCHEMA,
    PROJECT_SCHEMA,
    SCHEMA_NAMES,
    inlined_schema,
    validate,
)

REPO = Path(__file__).resolve().parent.parent
Choose = Callable[[list[Any]], Any]


@cache
def _pair(name: str, pointer: str = "") -> tuple[Callable[[Any], bool], Draft202012Validator]:
    schema = inlined_schema(name, pointer)
    return compile_schema(schema), Draft202012Validator(schema)


def _agree(name: str, document: Any, pointer: str = "") -> bool:
    """Assert that both checks give the same answer; return it."""
    fast, validator = _pair(name, pointer)
    expected = validator.is_valid(document)
    assert fast(document) is expected, (name, pointer, document)
    return expected


# --- (1) examples -----------------------------------------------------------------------------------


def _subschemas(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, child in value.items():
                    yield from _subschemas(child, f"{pointer}/{key}/{name}")
            elif key in ("items", "additionalProperties", "propertyNames") and isinstance(
                value, dict
            ):
                yield from _subschemas(value, f"{pointer}/{key}")
            elif key in ("oneOf", "anyOf"):
                for index, child in enumerate(value):
                    yield from _subschemas(child, f"{pointer}/{key}/{index}")


def _schema_examples() -> list[tuple[str, str, Any]]:
    found = []
    for name in SCHEMA_NAMES:
        raw = json.loads((REPO / "schemas" / name).read_text(encoding="utf-8"))
        for pointer, sub in _subschemas(raw):
            found.extend((name, pointer, example) for example in sub.get("examples", []))
    return found


def _example_files() -> list[tuple[Path, str]]:
    return [
        (path, PROJECT_SCHEMA if path.name == "metaxy.yaml" else FEATURES_SCHEMA)
        for path in sorted((REPO / "examples").rglob("*.y*ml"))
    ]


def test_every_packaged_schema_compiles() -> None:
    for name in SCHEMA_NAMES:
        assert callable(compile_schema(inlined_schema(name)))


@pytest.mark.parametrize(("name", "pointer", "example"), _schema_examples())
def test_schema_examples_are_valid_for_both(name: str, pointer: str, example: Any) -> None:
    assert _agree(name, example, pointer) is True


@pytest.mark.parametrize(
    ("path", "name"), _example_files(), ids=lambda v: str(v).rsplit("examples/", 1)[-1]
)
def test_example_files_are_valid_for_both(path: Path, name: str) -> None:
    document = YAML(typ="safe", pure=False).load(path.read_text(encoding="utf-8"))
    assert _agree(name, document) is True
    assert validate(document, name) == []


def test_there_are_examples() -> None:
    assert len(_example_files()) >= 5
    assert {name for name, _, _ in _schema_examples()} >= {PROJECT_SCHEMA, FEATURES_SCHEMA}


# --- (2) random mutations of valid documents --------------------------------------------------------

KEYS = [
    "key",
    "features",
    "fields",
    "deps",
    "feature",
    "optional",
    "code_version",
    "columns",
    "type",
    "description",
    "source",
    "data_version",
    "id_columns",
    "cost",
    "tags",
    "owner",
    "project",
    "include",
    "stores",
    "path",
    "url",
    "schema",
    "default_store",
    "hash",
    "truncate",
    "plan",
    "base",
    "colour",
    "Key",
    "",
    1,
    0,
    True,
    None,
    2.0,
]
STRINGS = [
    "",
    "*",
    "video",
    "a/b",
    "audio/english",
    "Video",
    "9lives",
    "a__b",
    "a/",
    "/a",
    "a b",
    "é",
    "x-y",
    "_p",
    "7z",
    "string",
    "integer",
    "json",
    "sqlite",
    "duckdb",
    "overview",
    "1",
    "1.10",
    "sample_uid",
    "Bad-Col",
    "a\n",
    "col_1",
]
NUMBERS = [
    0,
    1,
    -1,
    3,
    4,
    8,
    64,
    65,
    2.0,
    8.0,
    2.5,
    -0.5,
    0.0,
    -0.0,
    1e300,
    math.inf,
    -math.inf,
    math.nan,
]
SCALARS = [*STRINGS, *NUMBERS, True, False, None]
LISTS = [
    [],
    ["a"],
    ["a", "a"],
    ["sample_uid", "chunk"],
    [1],
    [1, 1.0],
    [True, 1],
    ["*"],
    [None],
    [{}],
    [["a"]],
]
DICTS = [
    {},
    {"type": "string"},
    {"type": "integer", "description": "d"},
    {"feature": "video"},
    {"feature": "video", "optional": 1},
    {"feature": "video", "fields": "*"},
    {"type": "duckdb", "path": "x"},
    {"truncate": 8},
    {"key": "a"},
    {"a": 1, "b": [True]},
]


def _enrich(document: dict[str, Any], choose: Choose) -> dict[str, Any]:
    """Valid optional keys the random projects rarely carry, so mutations reach their schemas."""
    for feature in document.get("features") or []:
        if choose([True, False]):
            feature["id_columns"] = choose([["sample_uid"], ["video_id", "chunk"]])
        if choose([True, False]):
            feature["cost"] = choose([0, 1, 2.5, 1e6])
        if choose([True, False]):
            feature["owner"] = "team"
        if "columns" in feature and choose([True, False]):
            name = next(iter(feature["columns"]))
            feature["columns"][name] = {"type": feature["columns"][name], "description": "d"}
        for field in feature.get("fields") or []:
            if choose([True, False, False]):
                field["data_version"] = "content_sha"
    return document


def _project_extras(document: dict[str, Any], choose: Choose) -> dict[str, Any]:
    options = {
        "description": "A project.",
        "id_columns": ["sample_uid"],
        "include": ["features/*.yaml"],
        "stores": {
            "dev": {"type": "duckdb", "path": ".metaxy/m.duckdb", "threads": 4, "wal": True}
        },
        "default_store": "dev",
        "hash": {"truncate": 8},
        "plan": {"base": "origin/main...HEAD"},
    }
    for key, value in options.items():
        if choose([True, False]):
            document[key] = copy.deepcopy(value)
    return document


def _slots(value: Any, parent: Any = None, key: Any = None) -> Iterator[tuple[Any, Any, Any]]:
    """(container, key, value) for every value in the document; the root has no container."""
    yield parent, key, value
    if isinstance(value, dict):
        for child_key, child in list(value.items()):
            yield from _slots(child, value, child_key)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _slots(child, value, index)


def _bad_pattern(text: str, choose: Choose) -> str:
    return choose(
        [
            text.upper() or "A",
            "9" + text,
            text + "__x",
            text + "/",
            "/" + text,
            text + " ",
            "ü" + text,
        ]
    )


def _replacement(value: Any, choose: Choose) -> Any:
    """Another value for a slot: another type, a near miss of the same type, or a numeric twin."""
    pools: list[list[Any]] = [SCALARS, LISTS, DICTS, NUMBERS]
    if isinstance(value, str):
        pools.append([_bad_pattern(value, choose), value, 1, 1.0, True])
    if isinstance(value, bool):
        pools.append([int(value), float(value), not value])
    elif isinstance(value, (int, float)):
        pools.append(
            [
                float(value),
                -value,
                value + 0.5,
                int(value) if math.isfinite(value) else 0,
                value > 0,
            ]
        )
    if isinstance(value, list) and value:
        pools.append([value[:1], value + value[-1:], [value], value[0], []])
    if isinstance(value, dict):
        pools.append([dict(list(value.items())[:-1]), list(value), [value]])
    return copy.deepcopy(choose(choose(pools)))


def mutate(document: Any, choose: Choose) -> Any:
    """`document` with one random change: a key removed or added, a value replaced, a list changed."""
    document = copy.deepcopy(document)
    parent, key, value = choose(list(_slots(document)))
    operations = ["replace"]
    if isinstance(value, dict):
        operations += ["delete key", "add key"] if value else ["add key"]
    if isinstance(value, list):
        operations += ["duplicate item", "empty", "append"] if value else ["append"]
    operation = choose(operations)
    if operation == "delete key":
        del value[choose(list(value))]
    elif operation == "add key":
        value[choose(KEYS)] = copy.deepcopy(choose([*SCALARS, *LISTS, *DICTS]))
    elif operation == "duplicate item":
        value.append(copy.deepcopy(choose(value)))
    elif operation == "empty":
        value.clear()
    elif operation == "append":
        value.append(copy.deepcopy(choose([*SCALARS, *LISTS, *DICTS])))
    elif parent is None:
        return _replacement(value, choose)
    else:
        parent[key] = _replacement(value, choose)
    return document


def _documents(docs, choose: Choose) -> list[tuple[str, Any]]:
    features = _enrich({"features": copy.deepcopy(docs.features)}, choose)
    project = _project_extras(
        {**copy.deepcopy(docs.project), "features": copy.deepcopy(features["features"])}, choose
    )
    return [(FEATURES_SCHEMA, features), (PROJECT_SCHEMA, project)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=project_docs(max_features=5), data=st.data(), rounds=st.integers(0, 3))
def test_compiled_check_agrees_with_jsonschema_on_mutated_documents(
    docs, data, rounds: int
) -> None:
    def choose(options: list[Any]) -> Any:
        return options[data.draw(st.integers(0, len(options) - 1))]

    for name, document in _documents(docs, choose):
        assert _agree(name, document) is True  # the unmutated document is valid
        for _ in range(rounds):
            document = mutate(document, choose)
        _agree(name, document)


def test_mutations_reach_both_answers_often() -> None:
    """A seeded sweep (no shrinking, many documents): agreement, and not trivially all valid or invalid."""
    rng = random.Random(20240601)
    examples = project_docs(max_features=6)
    outcomes = {True: 0, False: 0}
    for docs in _drawn(examples, 40):
        for name, original in _documents(docs, rng.choice):
            for _ in range(60):
                document = original
                for _ in range(rng.choice([1, 1, 2, 3])):
                    document = mutate(document, rng.choice)
                outcomes[_agree(name, document)] += 1
    assert outcomes[True] >= 300 and outcomes[False] >= 1500, outcomes


def _drawn(strategy, count: int) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=count, database=None, deadline=None, derandomize=True)
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


# --- equality semantics on arbitrary JSON-like values -----------------------------------------------

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 2, 0.0, 1.0, 2.0, 1.5, -0.0]),
    st.sampled_from(["", "a", "ab", "ba", "1", "*"]),
)
json_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["a", "b", "1"]), inner, max_size=3),
    ),
    max_leaves=8,
)
SMALL_SCHEMAS = [
    {"uniqueItems": True},
    {"type": "array", "uniqueItems": True, "minItems": 2},
    {"enum": [1, "a", [1, 2], {"a": 1}, True, None, 2.0, [True]]},
    {"enum": ["a", "*"]},
    {"const": [1, True]},
    {"const": {"a": [0]}},
    {"const": 1},
    {"const": "*"},
    {"type": "integer"},
    {"type": ["integer", "boolean"]},
    {"type": ["number", "null", "string"]},
    {"type": ["array", "null"], "minItems": 1},
    {"type": "integer", "minimum": 1, "maximum": 2},
    {"minimum": 0},
    {"maximum": 1.5},
    {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    {"oneOf": [{"type": "string"}, {"const": "*"}, {"type": "array", "items": {"const": 1}}]},
    {"anyOf": [{"type": "object", "required": ["a"]}, {"type": "array", "minItems": 2}]},
    {"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "array"}},
    {"propertyNames": {"pattern": "^[ab]$"}, "required": ["a"]},
    {"items": {"pattern": "^a"}, "pattern": "b"},
    {"items": False},
    {"additionalProperties": False, "properties": {"a": True, "b": False}},
]


PROBES = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    3,
    0.0,
    1.0,
    2.0,
    1.5,
    -0.5,
    math.nan,
    "",
    "a",
    "ab",
    "ba",
    "*",
    "1",
    [],
    [1],
    [1, 1.0],
    [True, 1],
    [1, True],
    [1.0, True],
    [1, 1],
    ["a", "a"],
    ["a", "b"],
    ["ab", "b"],
    [[1], [True]],
    ["*"],
    {},
    {"a": 1},
    {"a": 1.0, "b": []},
    {"b": [1]},
    {"a": True},
    {"1": "a"},
    {1: "a"},
    {"a": [0]},
    {"a": [0.0]},
    CommentedMap(a="x"),
    CommentedSeq([1, 1]),  # ruamel's round-trip containers subclass dict and list
]


@pytest.mark.parametrize("schema", SMALL_SCHEMAS, ids=lambda schema: json.dumps(schema)[:60])
def test_keywords_agree_with_jsonschema_on_probes(schema: dict[str, Any]) -> None:
    check, validator = compile_schema(schema), Draft202012Validator(schema)
    answers = [check(value) for value in PROBES]
    assert answers == [validator.is_valid(value) for value in PROBES]
    assert True in answers and False in answers  # each schema tells the probes apart


@settings(max_examples=400, deadline=None)
@given(schema=st.sampled_from(SMALL_SCHEMAS), value=json_values)
def test_keywords_agree_with_jsonschema_on_any_value(schema: dict[str, Any], value: Any) -> None:
    assert compile_schema(schema)(value) is Draft202012Validator(schema).is_valid(value)


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        (["a", "b"], True),
        (["a", "a"], False),
        ([1, True], True),
        ([1, 1.0], False),
        ([0, False], True),
        ([[1], [True]], True),
        ([{"a": 1}, {"a": 1.0}], False),
        ([None, None], False),
        ([True, True], False),
        ([[True], [1], [True]], True),  # jsonschema compares sorted neighbours only; so do we
    ],
)
def test_unique_items_semantics(items: list[Any], unique: bool) -> None:
    assert all_unique(items) is unique
    assert Draft202012Validator({"uniqueItems": True}).is_valid(items) is unique


def test_json_equal_keeps_booleans_apart() -> None:
    assert json_equal(1, 1.0) and json_equal([1], [1.0]) and json_equal({"a": [2]}, {"a": [2.0]})
    assert not json_equal(1, True) and not json_equal([0], [False]) and not json_equal("1", 1)


def test_integral_floats_are_integers_and_booleans_are_not() -> None:
    check = compile_schema({"type": "integer", "minimum": 4})
    assert [check(v) for v in (4, 4.0, 4.5, True, 3, -4.0, "4")] == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]


# --- (3) refusing what it does not implement --------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
        {"type": "array", "items": {"type": "object", "properties": {"a": {"format": "date"}}}},
        {"oneOf": [{"type": "string"}, {"not": {"type": "null"}}]},
        {"properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"type": "string"}}},
        {"additionalProperties": {"minLength": 1}},
        {"propertyNames": {"maxLength": 3}},
        {"anyOf": [{"type": "string", "allOf": [{}]}]},
        {"type": "array", "items": [{"type": "string"}]},
        {"type": "decimal"},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"},
    ],
)
def test_refuses_unsupported_keywords(schema: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedSchema):
        compile_schema(schema)


def test_annotations_are_ignored() -> None:
    check = compile_schema(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "t",
            "type": "string",
            "description": "d",
            "examples": [1],
            "default": 0,
        }
    )
    assert check("x") and not check(1)


def test_validating_a_valid_document_does_not_import_jsonschema() -> None:
    code = (
        "import sys; from metaxy_cli.definitions.schemas import validate; "
        "assert validate({'features': [{'key': 'a', 'deps': ['b', {'feature': 'c'}]}]}, 'features.schema.json') == []; "
        "assert 'jsonschema' not in sys.modules; "
        "assert validate({'features': [{'key': 'A'}]}, 'features.schema.json') != []; "
        "assert 'jsonschema' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
