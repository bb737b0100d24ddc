"""`metaxy diff` against real git repositories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from metaxy_cli.definitions.gitsource import load_side
from metaxy_cli.definitions.loader import load_project
from tests.diffseed import apply_seed_edit, expected
from tests.gitrepo import GitRepo, overview_repo, seed_repo


def test_default_is_head_against_the_working_tree(tmp_path: Path, invoke) -> None:
    repo = overview_repo(tmp_path, subdir="examples/overview")
    old = load_project(repo.project)
    apply_seed_edit(repo.project)
    result = invoke("--project", repo.project, "diff")
    assert result.exit_code == 0
    assert result.stdout == expected("diff.txt", old, load_project(repo.project))
    assert result.stderr == ""


def test_every_format_between_two_revisions(tmp_path: Path, invoke) -> None:
    repo = seed_repo(tmp_path)
    (repo.project / "features" / "video.yaml").write_text("not: [valid\n")  # the working tree is not read
    old = load_side(repo.project / "metaxy.yaml", "HEAD~1")
    new = load_side(repo.project / "metaxy.yaml", "HEAD")
    names = {"text": "diff.txt", "json": "diff.json", "markdown": "diff.md", "mermaid": "diff.mmd", "dot": "diff.dot"}
    for fmt, name in names.items():
        result = invoke("--project", repo.project, "diff", "HEAD~1", "HEAD", "--format", fmt)
        assert result.exit_code == 0, result.stderr
        want = expected(name, old, new).replace("working tree", "HEAD").replace('"base": "HEAD"', '"base": "HEAD~1"')
        want = want.replace("diff HEAD -> HEAD", "diff HEAD~1 -> HEAD").replace("`HEAD` → `HEAD`", "`HEAD~1` → `HEAD`")
        assert result.stdout == want, fmt


def test_staged_compares_head_with_the_index(tmp_path: Path, invoke) -> None:
    repo = overview_repo(tmp_path)
    apply_seed_edit(repo.project)
    unstaged = invoke("--project", repo.project, "diff", "--staged", "--format", "json")
    assert json.loads(unstaged.stdout)["has_changes"] is False
    assert json.loads(unstaged.stdout)["head"] == "index"
    repo.git("add", "features/video.yaml")
    staged = json.loads(invoke("--project", repo.project, "diff", "--staged", "--format", "json").stdout)
    assert [f["status"] for f in staged["features"]] == ["changed", "affected", "unchanged", "affected"]


def test_merge_base_expression(tmp_path: Path, invoke) -> None:
    repo = overview_repo(tmp_path)
    repo.git("checkout", "-q", "-b", "topic")
    apply_seed_edit(repo.project)
    repo.commit("topic: audio v2")
    repo.git("checkout", "-q", "main")
    repo.replace("features/processing.yaml", "  - key: example/stt\n", "  - key: example/stt\n    owner: speech\n")
    repo.commit("main: stt owner")
    repo.git("checkout", "-q", "topic")
    # main...HEAD is where topic forked: main's later metadata edit is not part of this change
    document = json.loads(invoke("--project", repo.project, "diff", "main...HEAD", "--format", "json").stdout)
    assert [f["status"] for f in document["features"]] == ["changed", "affected", "unchanged", "affected"]
    assert document["base"] == "main...HEAD"
    direct = json.loads(invoke("--project", repo.project, "diff", "main", "--format", "json").stdout)
    assert direct["features"][3]["status"] == "affected" and direct["features"][3]["metadata_changes"] == ["owner"]


def test_exit_code(tmp_path: Path, invoke) -> None:
    repo = seed_repo(tmp_path)
    assert invoke("--project", repo.project, "diff", "--exit-code").exit_code == 0
    changed = invoke("--project", repo.project, "diff", "HEAD~1", "--exit-code")
    assert changed.exit_code == 1 and changed.stdout.startswith("diff HEAD~1 -> working tree\n")
    assert invoke("--project", repo.project, "diff", "HEAD~1").exit_code == 0


def test_staged_with_two_revisions_is_a_usage_error(tmp_path: Path, invoke) -> None:
    repo = seed_repo(tmp_path)
    result = invoke("--project", repo.project, "diff", "--staged", "HEAD~1", "HEAD")
    assert result.exit_code == 2
    assert "--staged compares with the index: give at most one revision (BASE)" in result.stderr


# --- bad input: one clear line, exit 1 -------------------------------------------------------------


def test_unknown_revision(tmp_path: Path, invoke) -> None:
    repo = seed_repo(tmp_path)
    result = invoke("--project", repo.project, "diff", "nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: unknown revision 'nope' (not a commit, branch or tag of this repository)\n"


def test_revision_before_the_project_existed(tmp_path: Path, invoke) -> None:
    repo = GitRepo(tmp_path / "repo", "proj")
    repo.write("README.md", "hello\n")
    repo.commit("first")
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples/overview", repo.project, dirs_exist_ok=True)
    repo.commit("add metaxy")
    result = invoke("--project", repo.project, "diff", "HEAD~1")
    assert result.exit_code == 1
    assert result.stderr == "Error: proj/metaxy.yaml does not exist at revision HEAD~1\n"


def test_invalid_yaml_at_the_old_revision(tmp_path: Path, invoke) -> None:
    repo = overview_repo(tmp_path)
    repo.replace("features/video.yaml", 'code_version: "1"\n        source: [audio_sha]', "code_version: 1.10\n        source: [audio_sha]")
    repo.commit("unquoted code_version")
    repo.replace("features/video.yaml", "code_version: 1.10", 'code_version: "1.10"')
    repo.commit("quoted")
    result = invoke("--project", repo.project, "diff", "HEAD~1", "HEAD")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("HEAD~1:features/video.yaml:14:23: features[0].fields[0].code_version")
    assert lines[0].endswith('quote it: code_version: "1.10"')


def test_not_a_git_repository(tmp_path: Path, invoke, monkeypatch) -> None:
    folder = tmp_path / "plain"
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples/overview", folder)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    result = invoke("--project", folder, "diff")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: ") and result.stderr.endswith("plain is not inside a git repository\n")


def test_help(invoke) -> None:
    result = invoke("diff", "--help")
    assert result.exit_code == 0
    assert "metaxy diff origin/main...HEAD HEAD --format markdown" in result.stdout
