"""The document cache: a hit is exactly what a fresh parse gives; anything doubtful is a miss."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_cli.definitions.doc_cache import CACHE_FOLDER, DocumentCache
from metaxy_cli.definitions.errors import ConfigError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.schemas import FEATURES_SCHEMA, PROJECT_SCHEMA

TEXT = "features:\n  - key: a\n"
DOCUMENT = {"features": [{"key": "a"}]}


def test_put_then_get_from_disk(tmp_path: Path) -> None:
    DocumentCache(tmp_path).put(FEATURES_SCHEMA, TEXT, DOCUMENT)
    fresh = DocumentCache(tmp_path)  # a new process: nothing in memory
    assert fresh.get(FEATURES_SCHEMA, TEXT) == DOCUMENT
    assert fresh.get(FEATURES_SCHEMA, TEXT + "# edited\n") is None
    assert fresh.get(PROJECT_SCHEMA, TEXT) is None  # checked against another schema: a miss


def test_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    DocumentCache(tmp_path).put(FEATURES_SCHEMA, TEXT, DOCUMENT)
    (entry,) = tmp_path.glob("*.json")
    entry.write_text('{"features": [')
    assert DocumentCache(tmp_path).get(FEATURES_SCHEMA, TEXT) is None


def test_documents_json_cannot_hold_exactly_stay_in_memory(tmp_path: Path) -> None:
    cache = DocumentCache(tmp_path)
    document = {"features": [{"key": "a", "columns": {1: "string"}}]}  # an integer mapping key
    cache.put(FEATURES_SCHEMA, TEXT, document)
    assert cache.get(FEATURES_SCHEMA, TEXT) == document
    assert list(tmp_path.glob("*.json")) == []


def test_unwritable_folder_is_ignored(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = DocumentCache(blocker / "cache")
    cache.put(FEATURES_SCHEMA, TEXT, DOCUMENT)
    assert cache.get(FEATURES_SCHEMA, TEXT) == DOCUMENT


def test_second_load_reads_the_cache_not_the_yaml(overview_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import metaxy_cli.definitions.loader as loader

    first = load_project(overview_dir)
    assert len(list((overview_dir / CACHE_FOLDER).glob("*.json"))) == 3
    monkeypatch.setattr(loader, "load_fast", lambda text, label: pytest.fail(f"parsed {label} again"))
    second = load_project(overview_dir)
    assert second.versions == first.versions


def test_invalid_documents_are_never_cached(overview_dir: Path) -> None:
    video = overview_dir / "features" / "video.yaml"
    video.write_text(video.read_text().replace('code_version: "1"', "code_version: 1.10", 1))
    for _ in range(2):
        with pytest.raises(ConfigError, match="code_version must be a string"):
            load_project(overview_dir)
    assert len(list((overview_dir / CACHE_FOLDER).glob("*.json"))) == 2


def test_no_cache_environment_variable(overview_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAXY_NO_CACHE", "1")
    load_project(overview_dir)
    assert not (overview_dir / ".metaxy").exists()
