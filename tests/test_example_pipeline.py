"""examples/overview/pipeline.py: the README's main job walks the seed story and checks it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES

SCRIPT = EXAMPLES / "overview" / "pipeline.py"
SAMPLES = 300  # 3 changed videos: v0000042, v0000142, v0000242


@pytest.fixture(scope="module")
def pipeline():
    spec = importlib.util.spec_from_file_location("overview_pipeline", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def status_line(output: str, step: str, feature: str) -> str:
    """The status line of `feature` printed last within the step titled `step`."""
    section = output.split(f"== {step}")[1].split("\n== ")[0]
    return [line.strip() for line in section.splitlines() if line.strip().startswith(feature + " ")][-1]


def squeeze(line: str) -> str:
    return " ".join(line.split())


def test_walks_the_seed_story(pipeline, tmp_path: Path, capsys) -> None:
    video_yaml = (EXAMPLES / "overview" / "features" / "video.yaml").read_text()
    assert pipeline.main(["--samples", str(SAMPLES), "--store-dir", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "FAIL" not in output
    assert output.rstrip().endswith("12 of 12 checks passed")
    assert squeeze(status_line(output, "3.", "example/crop")) == (
        "example/crop 0 new 3 stale 0 orphaned 297 up to date stale fields: audio 3, frames 0"
    )
    assert squeeze(status_line(output, "3.", "example/face_detection")).startswith("example/face_detection 0 new 0 stale 0 orphaned 300 up to date")
    assert squeeze(status_line(output, "4.", "example/stt")) == (
        "example/stt 0 new 300 stale 0 orphaned 0 up to date stale fields: transcription 300"
    )
    assert "computed example/crop: 300 samples written back" in output
    assert (EXAMPLES / "overview" / "features" / "video.yaml").read_text() == video_yaml  # bumped in a copy only
    assert pipeline.changed_ids(SAMPLES) == {"v0000042", "v0000142", "v0000242"}


@pytest.mark.parametrize(("store", "engine"), [("ch", "clickhouse"), ("lite", "sqlite")])
def test_same_story_on_a_store_kept_in_files(pipeline, store: str, engine: str, tmp_path: Path, capsys, monkeypatch) -> None:
    """--store ch / lite: the same report, line for line, as the default DuckDB store. Their
    files go in --store-dir, so step 4 (a copy of the project elsewhere) opens the same store,
    not an empty one next to the copy (no METAXY_CH / METAXY_SQLITE set)."""
    for variable in ("METAXY_CH", "METAXY_SQLITE"):
        monkeypatch.delenv(variable, raising=False)
    outputs = []
    for options in ([], ["--store", store]):
        assert pipeline.main(["--samples", "200", "--store-dir", str(tmp_path / "duck"), *options]) == 0
        outputs.append(capsys.readouterr().out.splitlines())
    assert outputs[1][0].startswith(f"metaxy overview pipeline: 200 videos, store {store!r} ({engine}; ")
    assert outputs[1][1:] == outputs[0][1:] and outputs[1][-1] == "12 of 12 checks passed"


def test_each_run_starts_from_a_fresh_store(pipeline, tmp_path: Path, capsys) -> None:
    for _ in range(2):
        assert pipeline.main(["--samples", "100", "--store-dir", str(tmp_path)]) == 0
        assert "12 of 12 checks passed" in capsys.readouterr().out


def test_a_failed_expectation_exits_1(pipeline, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "changed_ids", lambda samples: {"v0000042"})  # the wrong answer
    assert pipeline.main(["--samples", "200", "--store-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "FAIL  example/crop: exactly those, audio only: got" in captured.out
    assert captured.out.rstrip().endswith("9 of 12 checks passed")
    assert captured.err.startswith("failed: example/video listing: exactly those are stale, audio only;")


def test_runs_as_a_script_from_anywhere(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--samples", "100", "--store-dir", str(tmp_path / "store")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"metaxy overview pipeline: 100 videos, DuckDB store {tmp_path / 'store' / 'metadata.duckdb'} (fresh)")
    assert (tmp_path / "store" / "metadata.duckdb").is_file()


def test_too_few_samples_is_a_usage_error(pipeline, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        pipeline.main(["--samples", "10", "--store-dir", str(tmp_path)])
    assert exit_info.value.code == 2


@pytest.mark.spark
def test_same_story_on_spark_and_duckdb(pipeline, tmp_path: Path, capsys) -> None:
    """`--store spark`: the same counts and the same increments, byte for byte, as on DuckDB."""
    import pyarrow.parquet as pq

    from tests.backends import spark_session

    spark_session()  # the test process's session: the story's store joins it
    outputs = {}
    for store in ("dev", "spark"):
        kept = tmp_path / f"increments-{store}"
        chosen = ["--store", store] if store == "spark" else []  # dev: the default, a fresh DuckDB file
        assert pipeline.main(["--samples", "200", "--store-dir", str(tmp_path / store), *chosen, "--increments", str(kept)]) == 0
        printed = capsys.readouterr().out
        assert printed.rstrip().endswith("12 of 12 checks passed")
        outputs[store] = (printed.split("\n", 1)[1], {p.name: pq.read_table(p) for p in sorted(kept.iterdir())})
    assert outputs["spark"][0] == outputs["dev"][0]
    assert list(outputs["spark"][1]) == list(outputs["dev"][1]) and len(outputs["dev"][1]) == 7
    for name, table in outputs["dev"][1].items():
        # metaxy_as_of is the state of the store it was read from (engine/carried.py): per store.
        spark, dev = (t.drop_columns([c for c in t.column_names if c == "metaxy_as_of"]) for t in (outputs["spark"][1][name], table))
        assert spark.to_pylist() == dev.to_pylist(), name
