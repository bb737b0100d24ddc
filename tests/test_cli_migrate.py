"""`metaxy push`, `history`, `migrate new | apply | status` and `snapshot:` sides, through the CLI
in a real git repository (DuckDB: the library tests cover every store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepo import overview_repo

HEADER = "sample_uid,path,audio_sha,frames_sha,frames,duration,size\n"
N = 300


def video_csv(path: Path, changed: int = 0, count: int = N) -> Path:
    rows = [f"v{i:04d},/v/{i}.mp4,a{i}{'-v2' if i < changed else ''},f{i},{i},{i}.5,{100 * i}\n" for i in range(count)]
    path.write_text(HEADER + "".join(rows))
    return path


@pytest.fixture
def repo(tmp_path: Path, invoke):
    """The overview committed, everything computed, then 1% of the videos with new audio."""
    repo = overview_repo(tmp_path)
    repo.write(".gitignore", ".metaxy/\n")
    repo.commit("ignore the store")

    def run(*args: str):
        return invoke("--project", repo.project, *args)

    assert run("write", "example/video", video_csv(tmp_path / "videos.csv")).exit_code == 0
    for key in ("example/crop", "example/face_detection", "example/stt"):
        todo = tmp_path / f"{key.replace('/', '_')}.parquet"
        assert run("increment", key, "--output", todo).exit_code == 0
        assert run("write", key, todo).exit_code == 0
    assert run("write", "example/video", video_csv(tmp_path / "changed.csv", changed=3, count=3)).exit_code == 0
    repo.run = run
    return repo


def status(run) -> dict[str, dict]:
    result = run("status", "--format", "json")
    return {f["feature"]: f for f in json.loads(result.stdout)["features"]}


FRAMES = ('      - key: frames\n        code_version: "1"\n        deps:\n          - feature: example/video',
          '      - key: frames\n        code_version: "2"\n        deps:\n          - feature: example/video')  # fmt: skip


def test_migrate_story(repo) -> None:
    run = repo.run
    repo.replace("features/processing.yaml", *FRAMES)
    repo.commit("crop.frames: refactor, same outputs")
    assert status(run)["example/crop"]["stale_fields"] == {"audio": 3, "frames": N}

    made = run("migrate", "new", "refactor", "--from", "HEAD~1", "--feature", "example/crop")
    assert made.exit_code == 0, made.output
    [path] = (repo.project / "migrations").glob("*.yaml")
    assert "old:" in path.read_text() and "code_version: '2'" in path.read_text()
    assert run("migrate", "status").stdout.startswith("pending")

    dry = run("migrate", "apply", "--dry-run")
    assert "example/crop.frames: would reconcile 300 sample(s), 0 left as stored" in dry.stdout
    assert status(run)["example/crop"]["stale"] == N

    applied = run("migrate", "apply")
    assert applied.exit_code == 0 and "reconciled 300 sample(s)" in applied.stdout
    after = status(run)
    assert after["example/crop"]["stale_fields"] == {"audio": 3, "frames": 0}
    assert after["example/stt"]["stale"] == 3
    assert after["example/face_detection"]["stale"] == 0
    again = run("migrate", "apply")
    assert "no pending migration" in again.stdout
    assert run("migrate", "status").stdout.startswith("applied")


def test_push_history_and_snapshot_sides(repo) -> None:
    run = repo.run
    history = run("history", "--format", "json")
    [first] = json.loads(history.stdout)["snapshots"]  # recorded by the first write
    assert first["git_commit"] == repo.git("rev-parse", "HEAD").strip()
    assert "snapshot" in run("push").stdout and "already" in run("push").stdout

    repo.replace("features/processing.yaml", *FRAMES)
    diff = run("diff", "snapshot:LATEST")
    assert diff.exit_code == 0 and "example/crop" in diff.stdout
    plan = run("plan", "--base", f"snapshot:{first['project_version'][:10]}", "--format", "json")
    assert plan.exit_code == 0, plan.output
    assert "example/crop" in plan.stdout

    assert "recorded snapshot" in run("push").stdout
    lines = run("history").stdout.splitlines()
    assert len(lines) == 2 and "+dirty" not in lines[0] and "example/crop" in lines[1]

    # The migration's old side can come from the snapshot too: no git needed.
    made = run("migrate", "new", "refactor", "--from", "snapshot:" + first["project_version"][:8], "--feature", "example/crop.frames")
    assert made.exit_code == 0, made.output


def test_bad_snapshot_and_migration_inputs(repo, tmp_path: Path) -> None:
    run = repo.run
    missing = run("diff", "snapshot:ffff")
    assert missing.exit_code == 1 and "no snapshot 'ffff'" in missing.stderr
    folder = repo.project / "migrations"
    folder.mkdir()
    (folder / "a.yaml").write_text("id: one\nfeatures:\n  - key: example/crop\n    fields:\n      - key: frames\n        old: {name: x}\n")
    broken = run("migrate", "apply")
    assert broken.exit_code == 1
    assert broken.stderr.splitlines()[0].endswith("migrations/a.yaml:5:9: features[0].fields[0]: missing required key 'new'")
    (folder / "a.yaml").unlink()
    repo.replace("features/processing.yaml", *FRAMES)
    assert run("migrate", "new", "x", "--from", "HEAD", "--feature", "example/crop").exit_code == 0
    [made] = folder.glob("*.yaml")
    (folder / "copy.yaml").write_text(made.read_text())
    duplicate = run("migrate", "apply")
    assert duplicate.exit_code == 1 and "duplicate migration id" in duplicate.stderr
    (folder / "copy.yaml").unlink()
    refused = run("migrate", "new", "y", "--from", "HEAD", "--feature", "example/stt")
    assert refused.exit_code == 1 and "no field changed" in refused.stderr
    onto = run("migrate", "new", "z", "--from", "HEAD", "--rename", "example/stt=example/crop")
    assert onto.exit_code == 1 and "rename onto an existing key" in onto.stderr
