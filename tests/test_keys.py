"""Feature and field keys, and the names derived from them (spec section 1)."""

from __future__ import annotations

import pytest

from metaxy_cli.definitions.keys import column_stem, fq_field, key_problem, table_name


@pytest.mark.parametrize(
    "key",
    ["video", "example/video", "audio/english", "_private", "a-b", "x/1080p", "a/b/c", "face_detection", "v2/_x"],
)
def test_valid_keys(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "a key cannot be empty"),
        ("/video", "key '/video' has an empty part"),
        ("video/", "key 'video/' has an empty part"),
        ("a//b", "key 'a//b' has an empty part"),
        ("Video", "key 'Video': part 'Video' must match [a-z_][a-z0-9_-]*"),
        ("1video", "key '1video': part '1video' must match [a-z_][a-z0-9_-]*"),
        ("-video", "key '-video': part '-video' must match [a-z_][a-z0-9_-]*"),
        ("a/-b", "key 'a/-b': part '-b' must match [a-z0-9_][a-z0-9_-]*"),
        ("a b", "key 'a b': part 'a b' must match [a-z_][a-z0-9_-]*"),
        ("a.b", "key 'a.b': part 'a.b' must match [a-z_][a-z0-9_-]*"),
        ("vidéo", "key 'vidéo': part 'vidéo' must match [a-z_][a-z0-9_-]*"),
        ("a__b", "key 'a__b': part 'a__b' must not contain '__'"),
        ("x/a__b", "key 'x/a__b': part 'a__b' must not contain '__'"),
        ("__", "key '__': part '__' must not contain '__'"),
    ],
)
def test_invalid_keys(key: str, problem: str) -> None:
    assert key_problem(key) == problem


def test_later_parts_may_start_with_a_digit() -> None:
    assert key_problem("video/1080p") is None
    assert key_problem("1080p/video") is not None


def test_fq_field() -> None:
    assert fq_field("example/video", "audio") == "example/video.audio"
    assert fq_field("a", "audio/english") == "a.audio/english"


@pytest.mark.parametrize(
    ("feature", "table"),
    [("video", "video"), ("example/video", "example__video"), ("a/b-c/d", "a__b-c__d")],
)
def test_table_name(feature: str, table: str) -> None:
    assert table_name(feature) == table


def test_distinct_valid_keys_without_edge_underscores_have_distinct_tables() -> None:
    keys = ["a/b", "a_b", "ab", "a/b/c", "a/b_c", "a_b/c"]
    assert all(key_problem(key) is None for key in keys)
    assert len({table_name(key) for key in keys}) == len(keys)


@pytest.mark.parametrize(
    ("field", "stem"),
    [("audio", "audio"), ("audio/english", "audio__english"), ("meta-data", "meta_data")],
)
def test_column_stem(field: str, stem: str) -> None:
    assert column_stem(field) == stem
