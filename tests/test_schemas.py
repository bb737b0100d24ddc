"""The JSON Schemas: one copy per place, valid draft 2020-12, described, and matching the examples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from ruamel.yaml import YAML

from metaxy_cli.definitions.schemas import FEATURES_SCHEMA, PROJECT_SCHEMA, SchemaIssue, readable_path, validate

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"
PACKAGED = REPO / "metaxy_cli" / "definitions" / "schemas"
NAMES = sorted(path.name for path in SCHEMAS.glob("*.json"))


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _registry() -> Registry:
    return Registry().with_resources((name, Resource.from_contents(_schema(name))) for name in NAMES)


def test_the_schemas_are_there() -> None:
    assert {PROJECT_SCHEMA, FEATURES_SCHEMA} <= set(NAMES)


def test_packaged_copies_are_byte_identical() -> None:
    assert sorted(path.name for path in PACKAGED.glob("*.json")) == NAMES
    for name in NAMES:
        assert (PACKAGED / name).read_bytes() == (SCHEMAS / name).read_bytes(), name


@pytest.mark.parametrize("name", NAMES)
def test_no_object_repeats_a_key(name: str) -> None:
    """JSON keeps the last of two equal keys silently: a repeated property hides the first one."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), sorted({key for key in keys if keys.count(key) > 1})
        return dict(pairs)

    json.loads((SCHEMAS / name).read_text(encoding="utf-8"), object_pairs_hook=unique)


@pytest.mark.parametrize("name", NAMES)
def test_valid_draft_2020_12(name: str) -> None:
    schema = _schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _subschemas(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (JSON pointer, subschema) below `node`, the root included."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, child in value.items():
                    yield from _subschemas(child, f"{pointer}/{key}/{name}")
            elif key in ("items", "additionalProperties", "propertyNames", "not") and isinstance(value, dict):
                yield from _subschemas(value, f"{pointer}/{key}")
            elif key in ("oneOf", "anyOf", "allOf"):
                for index, child in enumerate(value):
                    yield from _subschemas(child, f"{pointer}/{key}/{index}")


def _examples() -> list[tuple[str, str, Any]]:
    found = []
    for name in NAMES:
        for pointer, sub in _subschemas(_schema(name)):
            for example in sub.get("examples", []):
                found.append((name, pointer, example))
    return found


def test_schemas_have_examples() -> None:
    names = {name for name, _, _ in _examples()}
    assert {PROJECT_SCHEMA, FEATURES_SCHEMA} <= names


@pytest.mark.parametrize(("name", "pointer", "example"), _examples())
def test_every_schema_example_validates(name: str, pointer: str, example: Any) -> None:
    validator = Draft202012Validator({"$ref": f"{name}#{pointer}"}, registry=_registry())
    assert [error.message for error in validator.iter_errors(example)] == []


@pytest.mark.parametrize("name", NAMES)
def test_schemas_have_a_title_and_description(name: str) -> None:
    schema = _schema(name)
    assert schema["title"] and schema["description"]


@pytest.mark.parametrize("name", [PROJECT_SCHEMA, FEATURES_SCHEMA])
def test_every_key_users_write_is_described(name: str) -> None:
    """Editors show these descriptions while completing metaxy.yaml and feature files."""
    schema = _schema(name)
    undescribed = [
        f"{pointer}/properties/{key}"
        for pointer, sub in _subschemas(schema)
        for key, prop in (sub.get("properties") or {}).items()
        if "description" not in prop and "$ref" not in prop
    ]
    undescribed += [f"/$defs/{key}" for key, sub in schema.get("$defs", {}).items() if "description" not in sub]
    assert undescribed == []


def _example_files() -> list[tuple[Path, str]]:
    """Every YAML file under examples/ with the schema it must follow."""
    files = []
    for path in sorted((REPO / "examples").rglob("*.y*ml")):
        files.append((path, PROJECT_SCHEMA if path.name == "metaxy.yaml" else FEATURES_SCHEMA))
    return files


def test_examples_have_yaml_files() -> None:
    assert {p.parent.name for p, schema in _example_files() if schema == PROJECT_SCHEMA} >= {"overview"}


@pytest.mark.parametrize(("path", "name"), _example_files(), ids=lambda v: str(v).rsplit("examples/", 1)[-1])
def test_example_files_validate(path: Path, name: str) -> None:
    document = YAML(typ="safe", pure=False).load(path.read_text(encoding="utf-8"))
    validator = Draft202012Validator(_schema(name), registry=_registry())
    assert [error.message for error in validator.iter_errors(document)] == []
    assert validate(document, name) == []


@pytest.mark.parametrize(("path", "name"), _example_files(), ids=lambda v: str(v).rsplit("examples/", 1)[-1])
def test_editor_schema_comment_points_at_the_right_schema(path: Path, name: str) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    if "large" in path.parts:  # generated files: no editor comment needed
        pytest.skip("generated example")
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    target = (path.parent / first[len(prefix):]).resolve()
    assert target == (SCHEMAS / name).resolve()


def test_readable_path() -> None:
    assert readable_path(("features", 0, "fields", 1, "code_version")) == "features[0].fields[1].code_version"
    assert readable_path(()) == "top level"


def test_validate_reports_every_issue_sorted_by_path() -> None:
    document = {"project": "p", "hash": {"truncate": 2}, "features": [{"key": "a", "owner": 3}], "x": 1}
    assert validate(document, PROJECT_SCHEMA) == [
        SchemaIssue(("features", 0, "owner"), "features[0].owner: expected a string, got integer 3"),
        SchemaIssue(("hash", "truncate"), "hash.truncate: 2 is less than the minimum of 4"),
        SchemaIssue(("x",), "top level: unknown key 'x'", at_key=True),
    ]


def test_code_version_issue_asks_for_a_quote_hint() -> None:
    issues = validate({"features": [{"key": "a", "fields": [{"key": "f", "code_version": 1.1}]}]}, FEATURES_SCHEMA)
    assert issues == [
        SchemaIssue(
            ("features", 0, "fields", 0, "code_version"),
            "features[0].fields[0].code_version: code_version must be a string, but YAML reads this value as a number",
            quote_hint=True,
        )
    ]


def _published_validator(name: str):
    """The schema as published (with its $refs, resolved through a registry)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    from metaxy_cli.definitions.schemas import FEATURES_SCHEMA, PROJECT_SCHEMA, load_schema

    registry = Registry().with_resources(
        (other, Resource.from_contents(load_schema(other))) for other in (PROJECT_SCHEMA, FEATURES_SCHEMA)
    )
    return Draft202012Validator(load_schema(name), registry=registry)


@pytest.mark.parametrize(("path", "name"), _example_files(), ids=lambda v: str(v).rsplit("examples/", 1)[-1])
def test_inlined_schema_agrees_with_published_schema(path: Path, name: str) -> None:
    """The runtime schema (refs inlined, annotations dropped) accepts and rejects the same documents."""
    from metaxy_cli.definitions.schemas import _validator
    from metaxy_cli.definitions.yaml_io import load_fast

    document = load_fast(path.read_text(), str(path))
    assert _validator(name).is_valid(document) and _published_validator(name).is_valid(document)
    broken = dict(document, unexpected_key=1)
    fast_errors = sorted(e.message for e in _validator(name).iter_errors(broken))
    assert fast_errors == sorted(e.message for e in _published_validator(name).iter_errors(broken))
    assert fast_errors


def test_inlined_schema_keeps_properties_named_like_annotations() -> None:
    """`description` and `default` are property names inside `properties`, not annotations there."""
    from metaxy_cli.definitions.schemas import FEATURES_SCHEMA, inlined_schema

    feature = inlined_schema(FEATURES_SCHEMA)["properties"]["features"]["items"]
    assert "description" in feature["properties"]
    assert "$ref" not in json.dumps(inlined_schema(FEATURES_SCHEMA))
    assert "examples" not in json.dumps(inlined_schema(FEATURES_SCHEMA))
