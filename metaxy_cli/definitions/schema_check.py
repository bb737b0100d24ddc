"""A JSON Schema compiled to one fast yes/no predicate, for the common case: a valid document.

`jsonschema` walks every keyword of every subschema for every value, building a validator object
per step: about 2 s for the feature files of a 10,000-feature project. Most documents are valid,
and a valid document needs no error messages, only a yes. `compile_schema` turns a schema into
nested closures, each specialised to one subschema (its type test, its property table, its
compiled regex), so checking a document is a handful of Python calls per value.

The predicate must never accept a document that `jsonschema` (draft 2020-12) rejects: callers
trust a yes without asking `jsonschema`. So it implements only the keywords listed in
`KEYWORDS`, with `jsonschema`'s semantics (bool is neither integer nor number, 2.0 is an
integer, enum/const/uniqueItems keep True apart from 1, patterns use `re.search`), and
`compile_schema` raises `UnsupportedSchema` for anything else anywhere in the schema ($ref
included), so the caller falls back to `jsonschema` alone. A no is only a hint: the caller runs
`jsonschema` to get the messages.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any

Predicate = Callable[[Any], bool]

KEYWORDS = frozenset(
    [
        "type",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "minItems",
        "uniqueItems",
        "enum",
        "const",
        "pattern",
        "propertyNames",
        "minimum",
        "maximum",
        "oneOf",
        "anyOf",
    ]
)
ANNOTATIONS = frozenset(
    [
        "title",
        "description",
        "examples",
        "default",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
    ]
)
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_OBJECT_KEYWORDS = ("properties", "additionalProperties", "required", "propertyNames")
_ARRAY_KEYWORDS = ("items", "minItems", "uniqueItems")
_NUMBER_KEYWORDS = ("minimum", "maximum")


class UnsupportedSchema(ValueError):
    """The schema uses something the compiler does not implement; validate with jsonschema."""


# --- JSON Schema's notion of types and equality (as jsonschema implements draft 2020-12) ---------


def is_number(value: Any) -> bool:
    kind = type(value)
    if kind is int or kind is float:
        return True
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


def is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


TYPE_TESTS: dict[str, Predicate] = {
    "string": lambda value: isinstance(value, str),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "integer": is_integer,
    "number": is_number,
}


def _unbool(value: Any) -> Any:
    """True and False as values equal to nothing but themselves (so that True != 1)."""
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


_TRUE, _FALSE = object(), object()


def json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON Schema means it: True is not 1, lists and mappings compare item by item."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(json_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(
            key in two and json_equal(item, two[key]) for key, item in one.items()
        )
    return _unbool(one) == _unbool(two)


def all_unique(items: list[Any]) -> bool:
    """`uniqueItems` exactly as jsonschema decides it.

    jsonschema sorts the items and compares neighbours when they sort, else compares every pair;
    the two can disagree on exotic nested values, so the same two steps are taken here.
    """
    if all(type(item) is str for item in items):
        return len(set(items)) == len(items)
    try:
        ordered = sorted(_unbool(item) for item in items)
        return not any(json_equal(a, b) for a, b in pairwise(ordered))
    except (NotImplementedError, TypeError):
        seen: list[Any] = []
        for item in map(_unbool, items):
            if any(json_equal(earlier, item) for earlier in seen):
                return False
            seen.append(item)
        return True


# --- the compiler ---------------------------------------------------------------------------------


def compile_schema(schema: Any) -> Predicate:
    """`is_valid(document) -> bool` for `schema` (a dict or a boolean schema, no `$ref`).

    Raises UnsupportedSchema when any subschema uses a keyword outside `KEYWORDS` (annotations
    aside) or a keyword value of an unexpected shape.
    """
    if isinstance(schema, dict) and "$schema" in schema and schema["$schema"] != DRAFT_2020_12:
        raise UnsupportedSchema(f"only draft 2020-12 is supported, not {schema['$schema']!r}")
    return _compile(
        {key: value for key, value in schema.items() if key != "$schema"}
        if isinstance(schema, dict)
        else schema
    )


def _compile(schema: Any) -> Predicate:
    if schema is True or schema == {}:
        return lambda value: True
    if schema is False:
        return lambda value: False
    if not isinstance(schema, dict):
        raise UnsupportedSchema(f"a schema must be a mapping or a boolean, not {schema!r}")
    unknown = sorted(set(schema) - KEYWORDS - ANNOTATIONS)
    if unknown:
        raise UnsupportedSchema(f"unsupported keyword {unknown[0]!r}")
    type_test = _type_test(schema["type"]) if "type" in schema else None
    by_kind = [
        (dict, _object_check(schema)),
        (list, _array_check(schema)),
        (str, _string_check(schema)),
    ]
    checks = [check for _, check in by_kind if check is not None]
    number = _number_check(schema)
    generic = _generic_checks(schema)
    single = _single_type(schema)
    if single is not None and not generic and number is None and len(checks) <= 1:
        return _typed(single, checks[0] if checks else None)
    gated = [(kind, check) for kind, check in by_kind if check is not None]
    if not gated and number is None:
        if not generic:
            return type_test or (lambda value: True)
        if type_test is None and len(generic) == 1:
            return generic[0]
    return _combined(type_test, gated, number, generic)


def _single_type(schema: dict[str, Any]) -> type | None:
    """dict, list or str when the schema admits exactly that Python type (and no others apply)."""
    kinds = {"object": dict, "array": list, "string": str}
    single = kinds.get(schema.get("type")) if isinstance(schema.get("type"), str) else None
    if single is None:
        return None
    others = {dict: _OBJECT_KEYWORDS, list: _ARRAY_KEYWORDS, str: ("pattern",)}
    foreign = [
        key for kind, keys in others.items() if kind is not single for key in keys if key in schema
    ]
    return None if foreign else single


def _typed(kind: type, check: Predicate | None) -> Predicate:
    """`isinstance(value, kind)` and then the checks of that kind, in one closure."""
    if check is None:
        return lambda value: isinstance(value, kind)
    return lambda value: isinstance(value, kind) and check(value)


def _combined(
    type_test: Predicate | None,
    by_kind: list[tuple[type, Predicate]],
    number: Predicate | None,
    generic: list[Predicate],
) -> Predicate:
    """The general case: a type test, checks gated on the value's kind, kind-free checks."""

    def check(value: Any) -> bool:
        if type_test is not None and not type_test(value):
            return False
        for kind, kind_check in by_kind:
            if isinstance(value, kind) and not kind_check(value):
                return False
        if number is not None and is_number(value) and not number(value):
            return False
        return all(each(value) for each in generic)

    return check


def _type_test(types: Any) -> Predicate:
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names or any(name not in TYPE_TESTS for name in names):
        raise UnsupportedSchema(f"unsupported type {types!r}")
    tests = [TYPE_TESTS[name] for name in names]
    if len(tests) == 1:
        return tests[0]
    return lambda value: any(test(value) for test in tests)


def _object_check(schema: dict[str, Any]) -> Predicate | None:
    """properties, required, additionalProperties and propertyNames, for a dict value."""
    if not any(key in schema for key in _OBJECT_KEYWORDS):
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, dict) or not isinstance(required, list):
        raise UnsupportedSchema("properties must be a mapping and required a list")
    table = {name: _compile(sub) for name, sub in properties.items()}
    extra = schema.get("additionalProperties", True)
    extra_check = (
        None if extra is True or extra == {} else (False if extra is False else _compile(extra))
    )
    names = _compile(schema["propertyNames"]) if "propertyNames" in schema else None
    missing = object()

    def check(value: dict[Any, Any]) -> bool:
        for name in required:
            if name not in value:
                return False
        for key, item in value.items():
            sub = table.get(key, missing)
            if sub is missing:
                if extra_check is None:
                    continue
                if extra_check is False or not extra_check(item):
                    return False
            elif not sub(item):
                return False
        return names is None or all(map(names, value))

    return check


def _array_check(schema: dict[str, Any]) -> Predicate | None:
    """items, minItems and uniqueItems, for a list value."""
    if not any(key in schema for key in _ARRAY_KEYWORDS):
        return None
    if isinstance(schema.get("items"), list):
        raise UnsupportedSchema("items must be a schema in draft 2020-12")
    item = _compile(schema["items"]) if "items" in schema else None
    least = schema.get("minItems", 0)
    unique = schema.get("uniqueItems", False) is True
    if not is_number(least):
        raise UnsupportedSchema("minItems must be a number")

    def check(value: list[Any]) -> bool:
        if len(value) < least:
            return False
        if item is not None and not all(map(item, value)):
            return False
        return not unique or all_unique(value)

    return check


def _string_check(schema: dict[str, Any]) -> Predicate | None:
    if "pattern" not in schema:
        return None
    if not isinstance(schema["pattern"], str):
        raise UnsupportedSchema("pattern must be a string")
    search = re.compile(schema["pattern"]).search
    return lambda value: search(value) is not None


def _number_check(schema: dict[str, Any]) -> Predicate | None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None and high is None:
        return None
    if any(bound is not None and not is_number(bound) for bound in (low, high)):
        raise UnsupportedSchema("minimum and maximum must be numbers")
    if high is None:
        return lambda value: not value < low
    if low is None:
        return lambda value: not value > high
    return lambda value: not value < low and not value > high


def _generic_checks(schema: dict[str, Any]) -> list[Predicate]:
    """enum, const, oneOf and anyOf: they apply to values of every type."""
    checks: list[Predicate] = []
    if "enum" in schema:
        checks.append(_enum_check(schema["enum"]))
    if "const" in schema:
        const = schema["const"]
        checks.append(
            (lambda value: value == const)
            if isinstance(const, str)
            else (lambda value: json_equal(value, const))
        )
    if "oneOf" in schema:
        checks.append(_one_of(_branches(schema["oneOf"])))
    if "anyOf" in schema:
        branches = _branches(schema["anyOf"])
        checks.append(lambda value: any(branch(value) for branch in branches))
    return checks


def _enum_check(options: Any) -> Predicate:
    if not isinstance(options, list):
        raise UnsupportedSchema("enum must be a list")
    if all(type(option) is str for option in options):
        strings = frozenset(options)
        # a non-str value equals a str option only through its own __eq__: ask it, like jsonschema
        return lambda value: (
            value in strings
            if isinstance(value, str)
            else any(option == value for option in options)
        )
    return lambda value: any(json_equal(option, value) for option in options)


def _branches(schemas: Any) -> list[Predicate]:
    if not isinstance(schemas, list) or not schemas:
        raise UnsupportedSchema("oneOf and anyOf must be non-empty lists")
    return [_compile(sub) for sub in schemas]


def _one_of(branches: list[Predicate]) -> Predicate:
    """Valid under exactly one branch."""
    if len(branches) == 2:
        first, second = branches
        return lambda value: bool(first(value)) is not bool(second(value))

    def check(value: Any) -> bool:
        passed = 0
        for branch in branches:
            if branch(value):
                passed += 1
                if passed > 1:
                    return False
        return passed == 1

    return check
