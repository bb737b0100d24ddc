"""`metaxy plan` against real git repositories."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.schemas import load_schema
from tests.diffseed import apply_seed_edit, expected
from tests.gitrepo import overview_repo


def _seeded_worktree(tmp_path: Path):
    repo = overview_repo(tmp_path)
    old = load_project(repo.project)
    apply_seed_edit(repo.project)
    return repo, old, load_project(repo.project)


def test_plan_formats_on_the_seed_change(tmp_path: Path, invoke) -> None:
    repo, old, new = _seeded_worktree(tmp_path)
    for fmt, name in (("text", "plan.txt"), ("json", "plan.json"), ("markdown", "plan.md")):
        result = invoke("--project", repo.project, "plan", "--format", fmt)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == expected(name, old, new), fmt
    document = json.loads(invoke("--project", repo.project, "plan", "--format", "json").stdout)
    assert list(Draft202012Validator(load_schema("plan.schema.json")).iter_errors(document)) == []


def test_detailed_exitcode(tmp_path: Path, invoke) -> None:
    repo, _, _ = _seeded_worktree(tmp_path)
    assert invoke("--project", repo.project, "plan", "--detailed-exitcode").exit_code == 2
    assert invoke("--project", repo.project, "plan").exit_code == 0
    repo.commit("audio v2")
    result = invoke("--project", repo.project, "plan", "--detailed-exitcode")
    assert result.exit_code == 0
    assert result.stdout.endswith("\nNothing to recompute: 4 features keep their versions.\n")
    assert invoke("--project", repo.project, "plan", "--base", "HEAD~1", "--detailed-exitcode").exit_code == 2
    error = invoke("--project", repo.project, "plan", "--base", "HEAD~7", "--detailed-exitcode")
    assert error.exit_code == 1
    assert error.stderr == "Error: unknown revision 'HEAD~7' (not a commit, branch or tag of this repository)\n"


def test_plan_base_setting(tmp_path: Path, invoke) -> None:
    repo = overview_repo(tmp_path)
    repo.git("branch", "release")
    apply_seed_edit(repo.project)
    repo.commit("audio v2")
    # without a setting the base is HEAD: nothing left to recompute in the working tree
    assert invoke("--project", repo.project, "plan", "--detailed-exitcode").exit_code == 0
    (repo.project / "metaxy.yaml").write_text((repo.project / "metaxy.yaml").read_text() + "plan:\n  base: release...HEAD\n")
    result = invoke("--project", repo.project, "plan", "--detailed-exitcode")
    assert result.exit_code == 2
    assert result.stdout.startswith("plan release...HEAD -> working tree\n")
    assert "Recompute 3 features (1 changed, 2 affected), 3 fields" in result.stdout
    # --base wins over the setting
    assert invoke("--project", repo.project, "plan", "--base", "HEAD", "--detailed-exitcode").exit_code == 0


def test_invalid_working_tree_is_one_located_error(tmp_path: Path, invoke) -> None:
    repo = overview_repo(tmp_path)
    repo.replace("features/video.yaml", "key: frames", "key: Frames")
    result = invoke("--project", repo.project, "plan", "--detailed-exitcode")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert "features/video.yaml:" in result.stderr and "Frames" in result.stderr


def test_help(invoke) -> None:
    result = invoke("plan", "--help")
    assert result.exit_code == 0
    assert "--detailed-exitcode" in result.stdout
