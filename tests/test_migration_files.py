"""Migration files (definitions/migration.py): parsed and checked with file:line:col errors,
a checksum of their content, and drafts that parse back to themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import ConfigError
from metaxy_cli.definitions.migration import checksum, dump_migration, load_migrations, parse_migration

VALID = """\
id: 20261202-refactor
description: same outputs
features:
  - key: example/crop
    fields:
      - key: frames
        old: {name: example/crop.frames, code_version: "1", parents: [example/video.frames]}
        new: {name: example/crop.frames, code_version: "2", parents: [example/video.frames]}
  - key: example/video
    fields:
      - key: audio
        old: {name: example/video.audio, code_version: "1", source: {audio_sha: string}}
        new: {name: example/video.audio, code_version: "2", source: {audio_sha: string}}
"""


def test_a_valid_file_parses() -> None:
    migration = parse_migration(VALID.encode(), "m.yaml")
    assert migration.id == "20261202-refactor"
    [crop, video] = migration.features
    assert crop.fields[0].old.prefix == '["example/crop.frames","1"]'
    assert video.fields[0].new.source == (("audio_sha", "string"),)
    assert parse_migration(dump_migration(migration.as_document()).encode(), "m.yaml").checksum == migration.checksum


def test_checksum_ignores_comments_and_description_but_not_definitions() -> None:
    base = parse_migration(VALID.encode(), "m.yaml").checksum
    edited = "# a note\n" + VALID.replace("same outputs", "the very same outputs")
    assert parse_migration(edited.encode(), "m.yaml").checksum == base
    changed = VALID.replace('code_version: "2", parents', 'code_version: "3", parents')
    assert parse_migration(changed.encode(), "m.yaml").checksum != base


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VALID.replace("id: 20261202-refactor\n", ""), "m.yaml:1:1: top level: missing required key 'id'"),
        (VALID.replace('code_version: "1", parents', "code_version: 1, parents"), "m.yaml:7:56: features[0].fields[0].old.code_version: code_version must be a string"),
        (VALID.replace("key: audio", "key: frames").replace("key: example/video\n", "key: example/crop\n"), "m.yaml:9:10: feature example/crop is listed twice"),
        (VALID.replace("old: {name: example/video.audio, code_version: \"1\", source: {audio_sha: string}}",
                       "old: {name: example/video.audio, code_version: \"1\", parents: []}"), "both `source`"),
        (VALID.replace("new: {name: example/crop.frames", "new: {name: example/crop.other"), "the new name must be example/crop.frames"),
        ("id: [x\n", "m.yaml:2:1: invalid YAML"),
        (b"id: \xff\n", "not UTF-8"),
    ],
)  # fmt: skip
def test_bad_files_name_file_line_and_key(text, message: str) -> None:
    data = text if isinstance(text, bytes) else text.encode()
    with pytest.raises(ConfigError) as error:
        parse_migration(data, "m.yaml")
    assert message in str(error.value)


def test_folder_loading_orders_by_id_and_refuses_duplicates(tmp_path: Path) -> None:
    assert load_migrations(tmp_path / "missing") == []
    (tmp_path / "b.yaml").write_text(VALID)
    (tmp_path / "a.yaml").write_text(VALID.replace("20261202-refactor", "20261201-first"))
    (tmp_path / "notes.txt").write_text("not a migration")
    assert [m.id for m in load_migrations(tmp_path)] == ["20261201-first", "20261202-refactor"]
    (tmp_path / "c.yaml").write_text(VALID)
    with pytest.raises(ConfigError, match="c.yaml:1:5: duplicate migration id '20261202-refactor'"):
        load_migrations(tmp_path)


def test_checksum_is_a_pure_function_of_content() -> None:
    document = {"id": "x", "features": []}
    assert checksum(document) == checksum(dict(reversed(list(document.items()))))
    assert checksum(document) == "d44d775b9a09dfeb43b285e9a4570c0ab370180b68bba849b305a134db0926ec"  # golden: an accidental change would refuse applied files
