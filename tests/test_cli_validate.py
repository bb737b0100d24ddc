"""`metaxy validate`: silent success, every problem on stderr with exit 1, usage errors exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXAMPLES

EXAMPLE_NAMES = sorted(path.parent.name for path in EXAMPLES.glob("*/metaxy.yaml"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_are_valid(invoke, name: str) -> None:
    result = invoke("--project", EXAMPLES / name, "validate")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_found_upward_from_a_subfolder(invoke, overview_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(overview_dir / "features")
    result = invoke("validate")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_project_option_accepts_the_file(invoke, overview_dir: Path) -> None:
    result = invoke("--project", overview_dir / "metaxy.yaml", "validate")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_errors_on_stderr_sorted_and_exit_1(invoke, overview_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(overview_dir)
    processing = overview_dir / "features" / "processing.yaml"
    text = processing.read_text()
    text = text.replace("deps: [example/crop]", "deps: [example/crp]")
    text = text.replace('code_version: "1"\n        deps:\n          - feature: example/video\n            fields: [audio]\n', 'code_version: 1.10\n        deps:\n          - feature: example/video\n            fields: [audio]\n', 1)
    processing.write_text(text)
    video = overview_dir / "features" / "video.yaml"
    video.write_text(video.read_text().replace("source: [audio_sha]", "source: [audio_sah]"))
    result = invoke("validate")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        'features/processing.yaml:7:23: features[0].fields[0].code_version: code_version must be a string, '
        'but YAML reads this value as a number; quote it: code_version: "1.10"',
    ]
    # schema problems come first; once fixed, the semantic ones are all reported together.
    processing.write_text(text.replace("code_version: 1.10", 'code_version: "1.10"'))
    result = invoke("validate")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "features/processing.yaml:18:12: example/face_detection: unknown dependency 'example/crp' "
        "(did you mean 'example/crop'?)",
        "features/processing.yaml:23:22: example/face_detection.detections: field dep on 'example/crop', "
        "which is not a dep of 'example/face_detection' (did you mean 'example/crp'?)",
        "features/video.yaml:15:18: example/video.audio: source column 'audio_sah' is not a declared column "
        "(did you mean 'audio_sha'?)",
    ]


def test_validate_writes_nothing_but_its_cache(invoke, overview_dir: Path) -> None:
    before = sorted(path for path in overview_dir.rglob("*"))
    assert invoke("--project", overview_dir, "validate").exit_code == 0
    after = sorted(path for path in overview_dir.rglob("*"))
    cache = overview_dir / ".metaxy" / "cache"
    assert [p for p in after if p != cache.parent and cache not in (p, *p.parents)] == before
    assert (cache / ".gitignore").read_text() == "*\n"


def test_validate_with_cache_disabled_writes_nothing(invoke, overview_dir: Path) -> None:
    before = sorted(path for path in overview_dir.rglob("*"))
    assert invoke("--project", overview_dir, "validate", env={"METAXY_NO_CACHE": "1"}).exit_code == 0
    assert sorted(path for path in overview_dir.rglob("*")) == before


def test_usage_error_exits_2(invoke, overview_dir: Path) -> None:
    result = invoke("--project", overview_dir, "validate", "extra")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Error: Got unexpected extra argument (extra)" in result.stderr
