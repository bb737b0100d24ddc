"""YAML reading: the fast path, located syntax errors, and positions of paths inside documents."""

from __future__ import annotations

import datetime

import pytest

from metaxy_cli.definitions.errors import Location
from metaxy_cli.definitions.yaml_io import PositionIndex, YamlSyntaxError, load_fast, load_roundtrip

TEXT = """\
# a comment
project: p   # trailing
features:
  - key: a
    fields:
      - {key: f, code_version: 1.10, description: x}
      - key: g
        code_version: 2024-01-01
        deps:
  - key: b
"""


def test_load_fast_gives_plain_python_values() -> None:
    document = load_fast(TEXT, "m.yaml")
    assert document["project"] == "p"
    fields = document["features"][0]["fields"]
    assert fields[0] == {"key": "f", "code_version": 1.1, "description": "x"}
    assert fields[1]["code_version"] == datetime.date(2024, 1, 1)
    assert fields[1]["deps"] is None
    assert type(document) is dict and type(document["features"]) is list


def test_yaml_1_2_booleans() -> None:
    assert load_fast("a: yes\nb: true\nc: off\n", "m.yaml") == {"a": "yes", "b": True, "c": "off"}


def test_fast_and_roundtrip_agree() -> None:
    assert load_roundtrip(TEXT, "m.yaml") == load_fast(TEXT, "m.yaml")


@pytest.mark.parametrize(
    ("path", "at_key", "line", "col"),
    [
        ((), False, 2, 1),
        (("project",), False, 2, 10),
        (("project",), True, 2, 1),
        (("features", 0), False, 4, 5),
        (("features", 0, "key"), False, 4, 10),
        (("features", 0, "fields", 0, "code_version"), False, 6, 32),
        (("features", 0, "fields", 0, "code_version"), True, 6, 18),
        (("features", 0, "fields", 1, "code_version"), False, 8, 23),
        (("features", 0, "fields", 1, "deps"), False, 9, 9),  # empty value: its key
        (("features", 1, "key"), False, 10, 10),
        (("features", 0, "missing"), False, 4, 5),  # gone: the nearest parent
        (("features", 7, "key"), False, 4, 3),  # no such item: the list
    ],
)
def test_locate(path: tuple, at_key: bool, line: int, col: int) -> None:
    assert PositionIndex(TEXT, "m.yaml").locate(path, at_key=at_key) == Location("m.yaml", line, col)


@pytest.mark.parametrize(
    ("path", "token"),
    [
        (("features", 0, "fields", 0, "code_version"), "1.10"),
        (("features", 0, "fields", 1, "code_version"), "2024-01-01"),
        (("project",), "p"),
    ],
)
def test_raw_token_is_the_value_as_written(path: tuple, token: str) -> None:
    index = PositionIndex(TEXT, "m.yaml")
    assert index.raw_token(index.locate(path)) == token


def test_raw_token_outside_the_file() -> None:
    assert PositionIndex(TEXT, "m.yaml").raw_token(Location("m.yaml", 99, 1)) == ""


@pytest.mark.parametrize("loader", [load_fast, load_roundtrip])
def test_syntax_errors_are_located(loader) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        loader("a: 1\nb: 'open\n", "m.yaml")
    assert str(caught.value) == (
        "m.yaml:3:1: invalid YAML: found unexpected end of stream "
        "(while scanning a quoted scalar started at line 2, column 4)"
    )
    assert caught.value.problem.location == Location("m.yaml", 3, 1)


_PLAIN_AND_SPECIAL = [
    "a: yes\nb: 010\nc: 1.10\nd: 2024-01-01\ne: ~\nf: 0o7\ng: .inf\nh: [1, '1', true, True, null, '']\ni: !!str 5\n",
    "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n",
    "a: &x [1]\nb: *x\n",
    "? [1, 2]\n: v\n",
    "a: 1\n1: b\n",
    "",
    "a: !!binary aGVsbG8=\n",
    "x: !!float 1\n",
    "[a, {b: c}]\n",
]


@pytest.mark.parametrize("text", _PLAIN_AND_SPECIAL)
def test_fast_path_matches_ruamel(text: str) -> None:
    """The event path (or its fallback) gives exactly what ruamel's safe loader gives."""
    from ruamel.yaml import YAML

    assert load_fast(text, "x.yaml") == YAML(typ="safe", pure=False).load(text)


_PLAIN = (
    "a: yes\nb: 010\nc: 1.10\nd: 2024-01-01\ne: ~\nf: 0o7\ng: .inf\nh: [1, '1', true, null, '']\n"
    "j: 2024-01-01T10:00:00Z\nk: |\n  block\n  text\nl: >-\n  folded\n  line\nm: {x: [y, {z: 1}]}\n"
)


def test_plain_documents_take_the_event_path() -> None:
    from ruamel.yaml import YAML

    from metaxy_cli.definitions.yaml_io import _load_plain

    assert _load_plain(_PLAIN) == YAML(typ="safe", pure=False).load(_PLAIN)
    assert _load_plain(TEXT) == YAML(typ="safe", pure=False).load(TEXT)


@pytest.mark.parametrize("text", ["a: &x 1\nb: *x\n", "a: !!str 5\n", "<<: {a: 1}\n", "a: 1\na: 2\n", "a\n---\nb\n"])
def test_other_documents_leave_the_event_path(text: str) -> None:
    from metaxy_cli.definitions.yaml_io import _load_plain

    with pytest.raises(Exception):
        _load_plain(text)


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "1: a\ntrue: b\n", "a: !custom 1\n"])
def test_fast_path_keeps_ruamel_errors(text: str) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    with pytest.raises(MarkedYAMLError) as expected:
        YAML(typ="safe", pure=False).load(text)
    with pytest.raises(YamlSyntaxError) as caught:
        load_fast(text, "x.yaml")
    assert expected.value.problem.strip() in str(caught.value)
