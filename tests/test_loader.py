"""The loader: valid projects, and every load-time error with its exact message and file:line:col."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import ConfigError, ProjectNotFoundError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.model import FeatureDep, FieldDep, FieldSpec


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """errors(project_text, **other_files) -> the problem lines, as the CLI prints them."""
    monkeypatch.chdir(tmp_path)

    def run(project: str, **files: str) -> list[str]:
        write(tmp_path, {"metaxy.yaml": project, **files})
        with pytest.raises(ConfigError) as caught:
            load_project(tmp_path)
        return str(caught.value).splitlines()

    return run


def features(text: str) -> str:
    """A project file with `text` as its inline features list."""
    return "project: p\nfeatures:\n" + textwrap.indent(textwrap.dedent(text), "  ")


# --- valid projects -------------------------------------------------------------------------------


def test_overview_loads_in_topological_order(overview_dir: Path) -> None:
    project = load_project(overview_dir)
    assert project.name == "overview"
    assert list(project.features) == ["example/video", "example/crop", "example/face_detection", "example/stt"]
    crop = project.feature("example/crop")
    assert crop.deps == (FeatureDep("example/video"),)
    assert crop.fields[0] == FieldSpec("audio", "1", (FieldDep("example/video", ("audio",)),))
    assert crop.id_columns == ("sample_uid",)
    assert project.default_store == "dev"
    assert set(project.stores) == {"dev", "lite", "pg", "ch", "spark"}
    video = project.feature("example/video")
    assert video.is_root and video.field("audio").source == ("audio_sha",)
    assert video.column("duration").type == "double"


def test_defaults(tmp_path: Path) -> None:
    write(tmp_path, {"metaxy.yaml": features("""\
        - key: a
          id_columns: [video_id, chunk]
        - key: b
          deps: [{feature: a, optional: true}]
          id_columns: [video_id, chunk]
          fields: [{key: f, deps: "*"}, {key: g, deps: [{feature: a}]}]
        - key: c
        """)})
    project = load_project(tmp_path / "metaxy.yaml")
    a, b = project.feature("a"), project.feature("b")
    assert a.fields == (FieldSpec("default"),)
    assert project.feature("c").id_columns == ("sample_uid",)
    assert b.deps == (FeatureDep("a", optional=True),)
    assert b.id_columns == ("video_id", "chunk")
    assert b.fields == (FieldSpec("f", deps="*"), FieldSpec("g", deps=(FieldDep("a", None),)))
    assert project.default_store is None and project.truncate == 8


def test_project_id_columns_are_the_default(tmp_path: Path) -> None:
    write(tmp_path, {"metaxy.yaml": "project: p\nid_columns: [uid]\nfeatures: [{key: a}]\n"})
    assert load_project(tmp_path).feature("a").id_columns == ("uid",)


def test_inline_and_included_features_together(tmp_path: Path) -> None:
    write(tmp_path, {
        "metaxy.yaml": "project: p\ninclude: ['defs/**/*.yaml', 'defs/*.yaml']\nfeatures: [{key: b, deps: [a]}]\n",
        "defs/one.yaml": "features: [{key: a}]\n",
        "defs/sub/two.yaml": "features: [{key: c, deps: [b]}]\n",
    })
    assert list(load_project(tmp_path).features) == ["a", "b", "c"]


# --- YAML and schema errors -----------------------------------------------------------------------


def test_yaml_syntax_error(errors) -> None:
    assert errors("project: p\nfeatures: [{key: a\n") == [
        "metaxy.yaml:3:1: invalid YAML: did not find expected ',' or '}' "
        "(while parsing a flow mapping started at line 2, column 12)"
    ]


def test_yaml_tab_indentation(errors) -> None:
    assert errors("project: p\nfeatures:\n\t- key: a\n") == [
        "metaxy.yaml:3:1: invalid YAML: found character that cannot start any token; "
        "YAML does not allow tabs for indentation, use spaces"
    ]


def test_yaml_duplicate_mapping_key(errors) -> None:
    assert errors("project: p\nproject: q\n") == [
        'metaxy.yaml:2:1: invalid YAML: found duplicate key "project" with value "q" (original value: "p") '
        "(while constructing a mapping started at line 1, column 1)"
    ]


def test_non_mapping_top_level(errors) -> None:
    assert errors("- project: p\n") == [
        "metaxy.yaml:1:1: expected a YAML mapping with 'project:' at the top level, got a list"
    ]
    assert errors("") == ["metaxy.yaml:1:1: expected a YAML mapping with 'project:' at the top level, got an empty file"]


def test_non_mapping_feature_file(errors) -> None:
    assert errors("project: p\ninclude: [f.yaml]\n", **{"f.yaml": "- key: a\n"}) == [
        "f.yaml:1:1: expected a YAML mapping with a 'features:' list at the top level, got a list"
    ]


def test_unknown_keys_with_did_you_mean(errors) -> None:
    assert errors("project: p\nfeaturs: []\n") == [
        "metaxy.yaml:2:1: top level: unknown key 'featurs' (did you mean 'features'?)"
    ]
    assert errors(features("- key: a\n  fields: [{key: f, code_verison: '2'}]\n")) == [
        "metaxy.yaml:4:23: features[0].fields[0]: unknown key 'code_verison' (did you mean 'code_version'?)"
    ]
    assert errors(features("- key: b\n- key: a\n  deps: [{feature: b, optinal: true}]\n")) == [
        "metaxy.yaml:5:25: features[1].deps[0]: unknown key 'optinal' (did you mean 'optional'?)"
    ]
    assert errors(features("- key: a\n  colour: red\n")) == ["metaxy.yaml:4:5: features[0]: unknown key 'colour' (did you mean 'columns'?)"]


def test_missing_required_keys(errors) -> None:
    assert errors("features: []\n") == ["metaxy.yaml:1:1: top level: missing required key 'project'"]
    assert errors(features("- key: a\n- description: no key\n")) == [
        "metaxy.yaml:4:5: features[1]: missing required key 'key'"
    ]


def test_wrong_types(errors) -> None:
    assert errors(features("- key: a\n  deps: b\n  tags: x\n")) == [
        "metaxy.yaml:4:11: features[0].deps: expected a list, got string 'b'",
        "metaxy.yaml:5:11: features[0].tags: expected a list, got string 'x'",
    ]
    assert errors("project: 3\n") == ["metaxy.yaml:1:10: project: expected a string, got integer 3"]
    assert errors("project: p\nstores: {s: {type: duckdb, path: [1]}}\n") == [
        "metaxy.yaml:2:34: stores.s.path: expected a string, got list"
    ]


def test_bad_enum_with_did_you_mean(errors) -> None:
    assert errors("project: p\nstores:\n  dev: {type: duckbd}\n") == [
        "metaxy.yaml:3:15: stores.dev.type: 'duckbd' is not one of: "
        "duckdb, sqlite, postgres, clickhouse, spark (did you mean 'duckdb'?)"
    ]
    assert errors(features("- key: a\n  columns: {x: strin, y: {type: int}}\n")) == [
        "metaxy.yaml:4:18: features[0].columns.x: 'strin' is not one of: "
        "string, integer, double, boolean, date, timestamp, binary, json (did you mean 'string'?)",
        "metaxy.yaml:4:35: features[0].columns.y.type: 'int' is not one of: "
        "string, integer, double, boolean, date, timestamp, binary, json (did you mean 'integer'?)",
    ]


def test_bad_field_deps_shapes(errors) -> None:
    assert errors(features("- key: b\n- key: a\n  deps: [b]\n  fields: [{key: f, deps: b}, {key: g, deps: [{feature: b, fields: x}]}]\n")) == [
        "metaxy.yaml:6:29: features[1].fields[0].deps: expected '*' or a list of {feature: KEY, fields: [...]}",
        "metaxy.yaml:6:70: features[1].fields[1].deps[0].fields: expected '*' or a list of field keys",
    ]


def test_invalid_column_name(errors) -> None:
    assert errors(features("- key: a\n  columns: {1x: string}\n")) == [
        "metaxy.yaml:4:15: features[0].columns: invalid column name '1x' "
        "(letters, digits and '_', not starting with a digit)"
    ]


# --- invalid keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("Video", "key 'Video': part 'Video' must match [a-z_][a-z0-9_-]*"),
        ("a/B", "key 'a/B': part 'B' must match [a-z0-9_][a-z0-9_-]*"),
        ("'a//b'", "key 'a//b' has an empty part"),
        ("'a/'", "key 'a/' has an empty part"),
        ("1a", "key '1a': part '1a' must match [a-z_][a-z0-9_-]*"),
        ("a.b", "key 'a.b': part 'a.b' must match [a-z_][a-z0-9_-]*"),
    ],
)
def test_invalid_feature_keys(errors, key: str, message: str) -> None:
    assert errors(features(f"- key: {key}\n")) == [f"metaxy.yaml:3:10: features[0].key: {message}"]


def test_double_underscore_inside_a_part(errors) -> None:
    assert errors(features("- key: a/b__c\n  fields: [{key: x__y}]\n")) == [
        "metaxy.yaml:3:10: features[0].key: invalid feature key: key 'a/b__c': part 'b__c' must not contain '__'",
        "metaxy.yaml:4:20: a/b__c.x__y: invalid field key: key 'x__y': part 'x__y' must not contain '__'",
    ]


def test_invalid_field_key(errors) -> None:
    assert errors(features("- key: a\n  fields: [{key: Audio}]\n")) == [
        "metaxy.yaml:4:20: features[0].fields[0].key: key 'Audio': part 'Audio' must match [a-z_][a-z0-9_-]*"
    ]


# --- semantic checks ------------------------------------------------------------------------------


def test_duplicate_feature_in_one_file(errors) -> None:
    assert errors(features("- key: a\n- key: b\n- key: a\n")) == [
        "metaxy.yaml:5:10: duplicate feature 'a' (first defined at metaxy.yaml:3:10)"
    ]


def test_duplicate_feature_across_files(errors) -> None:
    lines = errors(
        "project: p\ninclude: [features/*.yaml]\n",
        **{"features/one.yaml": "features:\n  - key: a\n",
           "features/two.yaml": "features:\n  - key: b\n  - key: a\n"},
    )
    assert lines == ["features/two.yaml:3:10: duplicate feature 'a' (first defined at features/one.yaml:2:10)"]


def test_duplicate_field(errors) -> None:
    assert errors(features("- key: a\n  fields:\n    - key: f\n    - key: g\n    - key: f\n")) == [
        "metaxy.yaml:7:14: a: duplicate field 'f'"
    ]


def test_fields_mapping_to_the_same_column(errors) -> None:
    assert errors(features("- key: a\n  fields: [{key: a-b}, {key: a_b}]\n")) == [
        "metaxy.yaml:4:32: a: fields 'a-b' and 'a_b' map to the same column name 'a_b'"
    ]


def test_feature_table_name_collision(errors) -> None:
    assert errors(features("- key: a_/b\n- key: a/_b\n")) == [
        "metaxy.yaml:4:10: feature 'a/_b' has the same table name as 'a_/b'"
    ]


def test_feature_table_collides_with_another_features_history(errors) -> None:
    assert errors(features("- key: a\n- key: a/history\n")) == [
        "metaxy.yaml:4:10: feature 'a/history' has the same table name as 'a'"
    ]


def test_keys_starting_with_metaxy_are_reserved(errors) -> None:
    assert errors(features("- key: metaxy_writes\n")) == [
        "metaxy.yaml:3:10: feature key 'metaxy_writes': keys starting with 'metaxy' are reserved for metaxy's own tables"
    ]


def test_unknown_dep_with_did_you_mean(errors) -> None:
    assert errors(features("- key: video\n- key: crop\n  deps: [vidoe, other]\n")) == [
        "metaxy.yaml:5:12: crop: unknown dependency 'vidoe' (did you mean 'video'?)",
        "metaxy.yaml:5:19: crop: unknown dependency 'other'",
    ]


def test_self_dep(errors) -> None:
    assert errors(features("- key: a\n  deps: [a]\n")) == ["metaxy.yaml:4:12: feature 'a' depends on itself"]


def test_duplicate_dep(errors) -> None:
    assert errors(features("- key: a\n- key: b\n  deps: [a, {feature: a}]\n")) == [
        "metaxy.yaml:5:15: b: dependency 'a' listed twice"
    ]


def test_field_dep_on_a_feature_that_is_not_a_dep(errors) -> None:
    text = "- key: a\n- key: ab\n- key: c\n  deps: [a]\n  fields: [{key: f, deps: [{feature: ab}]}]\n"
    assert errors(features(text)) == [
        "metaxy.yaml:7:40: c.f: field dep on 'ab', which is not a dep of 'c' (did you mean 'a'?)"
    ]


def test_field_dep_on_unknown_field(errors) -> None:
    text = "- key: a\n  fields: [{key: audio}]\n- key: c\n  deps: [a]\n  fields: [{key: f, deps: [{feature: a, fields: [audi, x]}]}]\n"
    assert errors(features(text)) == [
        "metaxy.yaml:7:52: c.f: unknown field 'audi' of 'a' (did you mean 'audio'?)",
        "metaxy.yaml:7:58: c.f: unknown field 'x' of 'a'",
    ]


def test_explicit_field_deps_on_a_root(errors) -> None:
    text = "- key: a\n  fields:\n    - key: f\n      deps: '*'\n    - key: g\n      deps: [{feature: b}]\n- key: b\n"
    assert errors(features(text)) == [
        "metaxy.yaml:6:15: a.f: field deps on a root feature (it has no deps to take fields from)",
        "metaxy.yaml:8:15: a.g: field deps on a root feature (it has no deps to take fields from)",
    ]


def test_two_cycle(errors) -> None:
    assert errors(features("- key: a\n  deps: [b]\n- key: b\n  deps: [a]\n")) == [
        "metaxy.yaml:4:11: dependency cycle: a -> b -> a"
    ]


def test_three_cycle_in_data_flow_order(errors) -> None:
    # c reads b, b reads a, a reads c: data flows a -> b -> c -> a.
    text = "- key: c\n  deps: [b]\n- key: a\n  deps: [c]\n- key: b\n  deps: [a]\n- key: d\n  deps: [c]\n"
    assert errors(features(text)) == ["metaxy.yaml:6:11: dependency cycle: a -> b -> c -> a"]


def test_every_independent_cycle_is_reported(errors) -> None:
    text = "- {key: a, deps: [b]}\n- {key: b, deps: [a]}\n- {key: x, deps: [y]}\n- {key: y, deps: [x]}\n"
    assert errors(features(text)) == [
        "metaxy.yaml:3:20: dependency cycle: a -> b -> a",
        "metaxy.yaml:5:20: dependency cycle: x -> y -> x",
    ]


def test_non_string_code_versions_show_the_value_as_written(errors) -> None:
    text = "- key: a\n  fields:\n    - key: f\n      code_version: 1.10\n    - key: g\n      code_version: 2024-01-01  # a date\n    - {key: h, code_version: 3, description: x}\n    - key: i\n      code_version:\n"
    assert errors(features(text)) == [
        'metaxy.yaml:6:23: features[0].fields[0].code_version: code_version must be a string, '
        'but YAML reads this value as a number; quote it: code_version: "1.10"',
        'metaxy.yaml:8:23: features[0].fields[1].code_version: code_version must be a string, '
        'but YAML reads this value as a date; quote it: code_version: "2024-01-01"',
        'metaxy.yaml:9:32: features[0].fields[2].code_version: code_version must be a string, '
        'but YAML reads this value as a number; quote it: code_version: "3"',
        'metaxy.yaml:11:9: features[0].fields[3].code_version: empty code_version; '
        'write a string such as code_version: "1"',
    ]


def test_include_pattern_matching_no_file(errors) -> None:
    assert errors("project: p\ninclude:\n  - feature/*.yaml\n") == [
        "metaxy.yaml:3:5: include pattern 'feature/*.yaml' matches no file"
    ]


def test_include_pattern_outside_the_project(errors) -> None:
    assert errors("project: p\ninclude: [/etc/*.yaml, ../x/*.yaml]\n") == [
        "metaxy.yaml:2:11: include pattern '/etc/*.yaml' must be relative to the project folder (no leading '/' or '..')",
        "metaxy.yaml:2:24: include pattern '../x/*.yaml' must be relative to the project folder (no leading '/' or '..')",
    ]


def test_source_and_data_version_columns_must_be_declared(errors) -> None:
    text = "- key: a\n  columns: {audio_sha: string}\n  fields:\n    - {key: f, source: [audio_sh], data_version: sha}\n"
    assert errors(features(text)) == [
        "metaxy.yaml:6:27: a.f: source column 'audio_sh' is not a declared column (did you mean 'audio_sha'?)",
        "metaxy.yaml:6:52: a.f: data_version column 'sha' is not a declared column",
    ]


def test_source_on_a_non_root(errors) -> None:
    text = "- key: a\n- key: b\n  deps: [a]\n  columns: {x: string}\n  fields: [{key: f, source: [x]}]\n"
    assert errors(features(text)) == [
        "metaxy.yaml:7:31: b.f: 'source' is only for root features (its inputs come from deps)"
    ]


def test_default_store_unknown(errors) -> None:
    assert errors("project: p\nstores: {dev: {type: duckdb}}\ndefault_store: dve\n") == [
        "metaxy.yaml:3:16: default_store 'dve' is not a defined store (did you mean 'dev'?)"
    ]


def test_all_errors_at_once_sorted_by_file_and_position(errors) -> None:
    lines = errors(
        "project: p\ninclude: [b.yaml, a.yaml]\nfeatures: [{key: x, deps: [nope]}]\n",
        **{"b.yaml": "features:\n  - key: b\n    colour: red\n  - key: Bad\n", "a.yaml": "features: [{key: a, tags: x}]\n"},
    )
    assert lines == [
        "a.yaml:1:27: features[0].tags: expected a list, got string 'x'",
        "b.yaml:3:5: features[0]: unknown key 'colour' (did you mean 'columns'?)",
        "b.yaml:4:10: features[1].key: key 'Bad': part 'Bad' must match [a-z_][a-z0-9_-]*",
    ]


def test_semantic_errors_across_files_all_reported(errors) -> None:
    lines = errors(
        "project: p\ninclude: [f.yaml]\nfeatures:\n  - {key: x, deps: [x]}\n",
        **{"f.yaml": "features:\n  - {key: y, deps: [z]}\n  - {key: y}\n"},
    )
    assert lines == [
        "f.yaml:2:21: y: unknown dependency 'z'",
        "f.yaml:3:11: duplicate feature 'y' (first defined at f.yaml:2:11)",
        "metaxy.yaml:4:21: feature 'x' depends on itself",
    ]


# --- finding the project --------------------------------------------------------------------------


def test_project_found_walking_upward(overview_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(overview_dir / "features")
    assert load_project().name == "overview"


def test_project_not_found_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectNotFoundError) as caught:
        load_project()
    assert str(caught.value) == f"no metaxy.yaml found in {tmp_path.resolve()} or any parent folder (use --project PATH)"


def test_project_option_pointing_at_a_folder_or_a_file(overview_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_project("overview").name == "overview"
    assert load_project("overview/metaxy.yaml").name == "overview"
    renamed = overview_dir / "other.yaml"
    (overview_dir / "metaxy.yaml").rename(renamed)
    assert load_project("overview/other.yaml").name == "overview"
    with pytest.raises(ProjectNotFoundError) as caught:
        load_project("overview")
    assert str(caught.value) == "overview/metaxy.yaml: project file not found"
    with pytest.raises(ProjectNotFoundError) as caught:
        load_project("missing.yaml")
    assert str(caught.value) == "missing.yaml: project file not found"


# --- id columns across the graph (samples are matched by id) ---------------------------------------


def test_id_column_types_are_inherited_from_upstream(tmp_path: Path) -> None:
    from metaxy_cli.sql.layout import id_columns

    write(tmp_path, {"metaxy.yaml": "project: p\nid_columns: [video_id, chunk]\n" + features("""\
        - key: chunk
          columns: {chunk: integer, blob: string}
        - key: embed
          deps: [chunk]
        - key: index
          deps: [embed]
        """).removeprefix("project: p\n")})  # fmt: skip
    project = load_project(tmp_path)
    for key in ("chunk", "embed", "index"):
        assert id_columns(project.feature(key)) == [("video_id", "string"), ("chunk", "integer")], key
    # Inherited types are not part of the definition: versions are those of the YAML alone.
    assert project.feature("embed").id_types == (("video_id", "string"), ("chunk", "integer"))
    assert project.feature("chunk").id_types == (("video_id", "string"),)


def test_id_columns_must_match_the_deps(errors) -> None:
    text = "- key: a\n  id_columns: [video_id, chunk]\n- key: b\n  deps: [a]\n"
    assert errors(features(text)) == [
        "metaxy.yaml:6:12: b: id columns [sample_uid] differ from those of its dep 'a' [video_id, chunk]"
        " (samples are matched by id: give both the same id_columns, or declare lineage: {kind: expansion|aggregation, on: [...]})"
    ]


def test_id_column_types_must_agree_along_deps(errors) -> None:
    text = (
        "- key: a\n  columns: {sample_uid: integer}\n"
        "- key: b\n"
        "- key: c\n  deps: [a]\n  columns: {sample_uid: string}\n"
        "- key: d\n  deps: [a, b]\n"
    )
    assert errors(features(text)) == [
        "metaxy.yaml:8:27: c: id column 'sample_uid' is string here but integer in its dep 'a'",
        "metaxy.yaml:10:15: d: id column 'sample_uid' is integer in dep 'a' but string in dep 'b' (give it one type in both)",
    ]


# --- inputs that are not clean YAML text (issue 10) -------------------------------------------------


def test_non_utf8_feature_file_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"metaxy.yaml": "project: p\ninclude: [features/*.yaml]\n"})
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "x.yaml").write_bytes(
        b"features:\n  - key: a\n    fields:\n      - key: b\n        description: caf\xe9 au lait\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert str(caught.value) == "features/x.yaml:5:25: not UTF-8 text (byte 0xe9); save the file as UTF-8"


def test_bom_and_crlf_are_plain_utf8(tmp_path: Path) -> None:
    text = "project: p\r\nfeatures:\r\n  - key: a\r\n"
    (tmp_path / "metaxy.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert list(load_project(tmp_path).features) == ["a"]


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_one_located_line(errors, style: str) -> None:
    import time

    depth = 5000
    if style == "flow":
        text = "project: p\nfeatures: " + "[" * depth + "]" * depth + "\n"
        where = "metaxy.yaml:2:74"
    else:
        text = "project: p\nfeatures:\n" + "".join("  " * level + "- \n" for level in range(1, depth))
        where = "metaxy.yaml:66:129"
    started = time.perf_counter()
    assert errors(text) == [f"{where}: invalid YAML: nested deeper than 64 levels"]
    assert time.perf_counter() - started < 5  # no recursion to the interpreter's limit and back


def test_alias_expansion_bomb_is_refused(errors) -> None:
    levels = ["a: &a [" + ", ".join(["x"] * 10) + "]"]
    for index, name in enumerate("bcdefg"):
        previous = "abcdefg"[index]
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    text = "project: p\nfeatures: []\nx-bomb:\n" + "".join(f"  {line}\n" for line in levels)
    assert errors(text) == ["metaxy.yaml:1:1: the document expands to more than 1,000,000 values (aliases of aliases?)"]


def test_include_that_is_not_a_list_or_not_a_glob(errors) -> None:
    """Found by a long fuzz run: `include: 1` followed by an indented item is the string
    '1 - features/*.yaml' (and was globbed character by character)."""
    assert errors("project: p\ninclude: 1\n  - features/*.yaml\n") == ["metaxy.yaml:2:10: include: expected a list, got string '1 - features/*.yaml'"]
    assert errors('project: p\ninclude: ["", "**x"]\n') == [
        "metaxy.yaml:2:11: include pattern '' is not a valid glob (e.g. features/*.yaml)",
        "metaxy.yaml:2:15: include pattern '**x' is not a valid glob (e.g. features/*.yaml)",
    ]


# --- lineage (issue 15) ------------------------------------------------------------------------------

LINEAGE_BASE = """\
- key: video
  columns: {duration: double}
- key: chunks
  id_columns: [sample_uid, chunk_idx]
  columns: {chunk_idx: integer}
"""


def test_lineage_example_loads() -> None:
    project = load_project(Path(__file__).resolve().parent.parent / "examples" / "lineage")
    clips = project.feature("example/clips")
    assert (clips.lineage.kind, clips.lineage.on) == ("expansion", ("sample_uid",))
    assert project.feature("example/clip_embedding").lineage.is_identity


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        ("- key: clips\n  id_columns: [sample_uid, clip_idx]\n  deps: [video]\n  lineage: {kind: expansion}\n",
         "metaxy.yaml:11:14: clips: expansion lineage needs 'on', the id columns shared with its deps"),
        ("- key: clips\n  id_columns: [sample_uid]\n  deps: [video]\n  lineage: {kind: expansion, on: [sample_uid]}\n",
         "metaxy.yaml:9:17: clips: expansion lineage needs id columns beyond 'on' [sample_uid] (such as clip_idx) to tell a parent's children apart"),
        ("- key: clips\n  id_columns: [sample_uid, clip_idx]\n  deps: [video]\n  lineage: {kind: expansion, on: [video_id]}\n",
         "metaxy.yaml:11:37: clips: lineage 'on' column 'video_id' is not one of its id columns [sample_uid, clip_idx] (a child's ids extend its parent's)"),
        ("- key: s\n  deps: [chunks]\n  lineage: {kind: aggregation, on: [chunk_idx]}\n",
         "metaxy.yaml:10:38: s: aggregation lineage 'on' [chunk_idx] must be its id columns [sample_uid] (one sample per group)"),
        ("- key: s\n  id_columns: [video_id]\n  deps: [chunks]\n  lineage: {kind: aggregation, on: [video_id]}\n",
         "metaxy.yaml:11:38: s: aggregation lineage 'on' column(s) video_id are not id columns of its dep 'chunks' [sample_uid, chunk_idx]"),
        ("- key: s\n  deps: [video]\n  lineage: {kind: aggregation, on: [sample_uid]}\n",
         "metaxy.yaml:10:21: s: aggregation lineage needs a dep whose id columns extend 'on' [sample_uid] (its members); every dep here has the group's ids"),
        ("- key: x\n  id_columns: [sample_uid, chunk_idx, k]\n  deps: [chunks]\n  lineage: {kind: expansion, on: [sample_uid]}\n",
         "metaxy.yaml:11:36: x: expansion lineage: its dep 'chunks' has id columns [sample_uid, chunk_idx], not the parent ids 'on' [sample_uid] (every dep of an expansion is a parent)"),
        ("- key: s\n  deps: [{feature: chunks, optional: true}]\n  lineage: {kind: aggregation, on: [sample_uid]}\n",
         "metaxy.yaml:9:12: s: optional deps are for identity lineage only (aggregation needs every upstream sample)"),
        ("- key: r\n  lineage: {kind: aggregation, on: [sample_uid]}\n",
         "metaxy.yaml:9:21: r: aggregation lineage needs deps (a root feature has no upstream samples)"),
        ("- key: s\n  columns: {chunk_idx: string}\n  id_columns: [sample_uid, chunk_idx, k]\n  deps: [video]\n  lineage: {kind: expansion, on: [sample_uid]}\n- key: t\n  id_columns: [sample_uid, chunk_idx]\n  deps: [chunks]\n  lineage: {kind: identity}\n",
         None),
    ],
)
def test_lineage_errors(errors, tmp_path: Path, feature: str, message: str | None) -> None:
    text = features(LINEAGE_BASE + feature)
    if message is None:  # a valid project: an expansion with its own id column types, an explicit identity
        write(tmp_path, {"metaxy.yaml": text})
        assert load_project(tmp_path).feature("s").lineage.kind == "expansion"
        return
    assert errors(text) == [message]


def test_lineage_on_types_must_agree(errors) -> None:
    text = features(LINEAGE_BASE + "- key: c\n  id_columns: [sample_uid, k]\n  columns: {sample_uid: integer}\n  deps: [video]\n  lineage: {kind: expansion, on: [sample_uid]}\n")
    assert errors(text) == ["metaxy.yaml:10:27: c: id column 'sample_uid' is integer here but string in its dep 'video'"]


def test_findings_of_the_100000_example_fuzz_run(errors) -> None:
    """A duplicate key whose value is a block scalar: ruamel quotes the whole value; the problem
    stays one line."""
    [problem] = errors("project: p\nfeatures: |\nfeatures: |\n  block\n  - key: x\n")
    assert "\n" not in problem and problem.startswith("metaxy.yaml:3:1: invalid YAML: found duplicate key \"features\"")

