"""The packaged JSON Schemas, loaded once, and their errors turned into readable problems."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from metaxy_cli.keys import key_problem
from metaxy_cli.suggest import did_you_mean

PROJECT_SCHEMA = "project.schema.json"
FEATURES_SCHEMA = "features.schema.json"
SCHEMA_NAMES = (PROJECT_SCHEMA, FEATURES_SCHEMA, "graph.schema.json")


@dataclass(frozen=True)
class SchemaIssue:
    """A schema violation at a document path; `at_key` points at a mapping key, not its value."""

    path: tuple[str | int, ...]
    message: str
    at_key: bool = False
    quote_hint: bool = False


def load_schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("metaxy_cli").joinpath("schemas", name).read_text())


@cache
def _validator(name: str):
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry = Registry().with_resources(
        (other, Resource.from_contents(load_schema(other)))
        for other in (PROJECT_SCHEMA, FEATURES_SCHEMA)
    )
    return Draft202012Validator(load_schema(name), registry=registry)


def readable_path(path: tuple[str | int, ...]) -> str:
    """`features[0].fields[1].code_version` for `("features", 0, "fields", 1, "code_version")`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def validate(document: Any, schema_name: str) -> list[SchemaIssue]:
    """Every violation of `schema_name` in `document`, not just the first."""
    issues: list[SchemaIssue] = []
    for error in _validator(schema_name).iter_errors(document):
        issues.extend(_translate(error))
    return sorted(issues, key=lambda issue: [str(p) for p in issue.path])


def _translate(error) -> list[SchemaIssue]:
    from jsonschema.exceptions import best_match

    if error.validator in ("oneOf", "anyOf") and error.context:
        deepest = best_match(error.context)
        if deepest is not None and len(deepest.absolute_path) > len(error.absolute_path):
            return _translate(deepest)
    path = tuple(error.absolute_path)
    where = readable_path(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        return [
            SchemaIssue(path + (extra,), f"{where}: unknown key {extra!r}{did_you_mean(str(extra), known)}", at_key=True)
            for extra in error.instance
            if extra not in known
        ]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [SchemaIssue(path, f"{where}: missing required key {missing!r}")]
    if path and path[-1] == "code_version" and error.validator == "type":
        value = error.instance
        return [SchemaIssue(path, f"{where}: code_version must be a string, got {type(value).__name__} {value!r}", quote_hint=True)]
    if path and path[-1] in ("key", "feature") and error.validator == "pattern":
        reason = key_problem(str(error.instance)) or f"invalid key {error.instance!r}"
        return [SchemaIssue(path, f"{where}: {reason}")]
    if error.validator == "enum":
        options = ", ".join(str(option) for option in error.validator_value)
        hint = did_you_mean(str(error.instance), [str(o) for o in error.validator_value])
        return [SchemaIssue(path, f"{where}: {error.instance!r} is not one of: {options}{hint}")]
    if error.validator == "oneOf" and path and isinstance(path[-1], int) and "deps" in path:
        return [SchemaIssue(path, f"{where}: expected a feature key or a mapping with 'feature' (and 'optional')")]
    if error.validator == "oneOf" and path and path[-1] == "deps":
        return [SchemaIssue(path, f"{where}: expected '*' or a list of {{feature: KEY, fields: [...]}}")]
    return [SchemaIssue(path, f"{where}: {error.message}")]
