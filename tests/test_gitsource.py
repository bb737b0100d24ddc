"""Reading definitions at a git revision and from the index, without a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import ConfigError, GitRevisionError
from metaxy_cli.definitions.gitsource import GitRevisionSource, IndexSource, Repository, glob_match, load_side, side_label
from metaxy_cli.definitions.sources import WorktreeSource
from tests.gitrepo import GitRepo, overview_repo, seed_repo

AUDIO = ("example/video", "audio")


def test_reads_each_commit_without_checkout(tmp_path: Path) -> None:
    repo = seed_repo(tmp_path)
    project_file = repo.project / "metaxy.yaml"
    before = load_side(project_file, "HEAD~1")
    after = load_side(project_file, "HEAD")
    assert before.features["example/video"].field("audio").code_version == "1"
    assert after.features["example/video"].field("audio").code_version == "2"
    assert before.source_label == "HEAD~1:metaxy.yaml"
    assert repo.git("status", "--porcelain") == ""  # nothing was checked out or written


def test_project_in_a_subfolder_is_labelled_from_the_repository_root(tmp_path: Path) -> None:
    repo = seed_repo(tmp_path, subdir="examples/overview")
    with GitRevisionSource(repo.project, "HEAD~1") as source:
        assert source.glob("features/*.yaml") == ["features/processing.yaml", "features/video.yaml"]
        assert source.label("features/video.yaml") == "HEAD~1:examples/overview/features/video.yaml"
        assert 'code_version: "1"' in source.read_text("features/video.yaml")
    project = load_side(repo.project / "metaxy.yaml", "HEAD~1")
    assert list(project.features) == ["example/video", "example/crop", "example/face_detection", "example/stt"]
    assert project.root == repo.project.resolve()


def test_files_outside_the_project_folder_are_invisible(tmp_path: Path) -> None:
    repo = overview_repo(tmp_path, subdir="project")
    repo.write("../elsewhere/features/extra.yaml", "features: []\n")
    repo.commit("a sibling folder")
    with GitRevisionSource(repo.project, "HEAD") as source:
        assert source.glob("**/*.yaml") == ["features/processing.yaml", "features/video.yaml", "metaxy.yaml"]
        with pytest.raises(FileNotFoundError):
            source.read_text("../elsewhere/features/extra.yaml")


def test_merge_base_expression(tmp_path: Path) -> None:
    repo = overview_repo(tmp_path)
    fork = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "topic")
    repo.apply(Path(__file__).resolve().parent.parent / "examples/overview/patches/01-video-audio-v2.patch")
    repo.commit("topic change")
    repo.git("checkout", "-q", "main")
    repo.replace("features/video.yaml", "Video metadata feature (root).", "Videos.")
    repo.commit("main moves on")
    source = GitRevisionSource(repo.project, "main...topic")
    assert source.commit == fork
    assert source.label("metaxy.yaml") == f"{repo.git('rev-parse', '--short', fork).strip()}:metaxy.yaml"
    assert Repository(repo.project).resolve("topic...") == fork  # an empty side means HEAD (main)
    source.close()


def test_index_source_reads_what_is_staged(tmp_path: Path) -> None:
    repo = overview_repo(tmp_path)
    repo.apply(Path(__file__).resolve().parent.parent / "examples/overview/patches/01-video-audio-v2.patch")
    repo.git("add", "features/video.yaml")
    repo.replace("features/video.yaml", 'code_version: "2"', 'code_version: "3"')  # not staged
    staged = load_side(repo.project / "metaxy.yaml", None, staged=True)
    worktree = load_side(repo.project / "metaxy.yaml", None)
    assert staged.features["example/video"].field("audio").code_version == "2"
    assert worktree.features["example/video"].field("audio").code_version == "3"
    assert staged.source_label == ":metaxy.yaml"
    with IndexSource(repo.project) as source:
        assert source.label("features/video.yaml") == ":features/video.yaml"


def test_side_labels() -> None:
    assert side_label(None) == "working tree"
    assert side_label(None, staged=True) == "index"
    assert side_label("origin/main...HEAD") == "origin/main...HEAD"


# --- errors: one clear line each -----------------------------------------------------------------


def test_unknown_revision(tmp_path: Path) -> None:
    repo = seed_repo(tmp_path)
    with pytest.raises(GitRevisionError) as error:
        load_side(repo.project / "metaxy.yaml", "no-such-branch")
    assert str(error.value) == "unknown revision 'no-such-branch' (not a commit, branch or tag of this repository)"
    with pytest.raises(GitRevisionError, match=r"^unknown revision 'HEAD~9'"):
        load_side(repo.project / "metaxy.yaml", "HEAD~9")
    with pytest.raises(GitRevisionError, match=r"^invalid revision '--all'$"):
        load_side(repo.project / "metaxy.yaml", "--all")


def test_revision_without_project_file(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo", "proj")
    repo.write("README.md", "before metaxy\n")
    repo.commit("no project yet")
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples/overview", repo.project, dirs_exist_ok=True)
    repo.commit("add the project")
    with pytest.raises(GitRevisionError) as error:
        load_side(repo.project / "metaxy.yaml", "HEAD~1")
    assert str(error.value) == "proj/metaxy.yaml does not exist at revision HEAD~1"


def test_invalid_yaml_at_old_revision_is_located_there(tmp_path: Path) -> None:
    repo = overview_repo(tmp_path, subdir="p")
    repo.replace("features/video.yaml", "      - key: frames\n", "      - key: frames\n     bad: [\n")
    repo.commit("broken")
    repo.git("revert", "--no-edit", "HEAD")
    with pytest.raises(ConfigError) as error:
        load_side(repo.project / "metaxy.yaml", "HEAD~1")
    lines = str(error.value).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("HEAD~1:p/features/video.yaml:")
    assert "invalid YAML" in lines[0]
    load_side(repo.project / "metaxy.yaml", "HEAD")  # the revert is fine


def test_not_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "plain"
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples/overview", folder)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # in case tmp is inside a repository
    with pytest.raises(GitRevisionError) as error:
        load_side(folder / "metaxy.yaml", "HEAD")
    assert str(error.value).endswith("plain is not inside a git repository")


def test_git_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = seed_repo(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GitRevisionError, match=r"^git is not installed \(or not on PATH\)$"):
        load_side(repo.project / "metaxy.yaml", "HEAD")


# --- globs behave as pathlib's on the working tree ------------------------------------------------

PATTERNS = [
    "features/*.yaml", "*.yaml", "**/*.yaml", "features/**/*.yaml", "features/**", "**",
    "features/[pv]*.yaml", "features/?ideo.yaml", "features/sub/*.yaml", ".hidden/*", "*/*.yml",
    "features/*/*.yaml", "./features/*.yaml", "Features/*.yaml", "features/video.yaml", "nothing/*",
]


def test_glob_matches_pathlib_on_the_same_tree(tmp_path: Path) -> None:
    repo = overview_repo(tmp_path, subdir="proj")
    repo.write("features/sub/deep/more.yaml", "features: []\n")
    repo.write("features/sub/one.yaml", "features: []\n")
    repo.write(".hidden/x.yaml", "features: []\n")
    repo.write("features/notes.yml", "x\n")
    repo.write("features/.dot.yaml", "features: []\n")
    repo.commit("more files")
    worktree = WorktreeSource(repo.project)
    with GitRevisionSource(repo.project, "HEAD") as source:
        for pattern in PATTERNS:
            assert source.glob(pattern) == worktree.glob(pattern), pattern


def test_glob_match_edge_cases() -> None:
    assert glob_match("**/*.yaml", "a.yaml")
    assert glob_match("**/*.yaml", "a/b/c.yaml")
    assert not glob_match("a/*.yaml", "a/b/c.yaml")
    assert not glob_match("/abs/*.yaml", "abs/x.yaml")
    assert not glob_match("", "x.yaml")


def test_symlinked_feature_file_is_followed(tmp_path: Path) -> None:
    repo = overview_repo(tmp_path)
    (repo.project / "features" / "shared").mkdir()
    shutil.move(repo.project / "features" / "video.yaml", repo.project / "features" / "shared" / "video.yaml")
    os.symlink("shared/video.yaml", repo.project / "features" / "video.yaml")
    repo.commit("video through a symlink")
    project = load_side(repo.project / "metaxy.yaml", "HEAD")
    assert "example/video" in project.features


def test_blobs_are_read_by_one_cat_file_process(tmp_path: Path) -> None:
    repo = seed_repo(tmp_path)
    with GitRevisionSource(repo.project, "HEAD") as source:
        first = source.read_text("metaxy.yaml")
        process = source._blobs._process
        assert process is not None
        source.read_text("features/video.yaml")
        source.read_text("features/processing.yaml")
        assert source._blobs._process is process
        assert first == subprocess.run(["git", "show", "HEAD:metaxy.yaml"], cwd=repo.root, capture_output=True,
                                       text=True, check=True).stdout
    assert process.returncode == 0


def test_load_pair_parses_files_shared_by_both_sides_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import metaxy_cli.definitions.loader as loader
    from metaxy_cli.definitions.gitsource import load_pair

    repo = seed_repo(tmp_path)
    repo.replace("features/processing.yaml", "  - key: example/stt\n", "  - key: example/stt\n    owner: speech\n")
    parsed: list[str] = []
    real = loader.load_fast
    monkeypatch.setattr(loader, "load_fast", lambda text, label: parsed.append(label) or real(text, label))
    old, new = load_pair(repo.project / "metaxy.yaml", "HEAD~1", None)
    # metaxy.yaml is the same on both sides (parsed once); video.yaml and processing.yaml differ
    assert parsed[:3] == ["HEAD~1:metaxy.yaml", "HEAD~1:features/processing.yaml", "HEAD~1:features/video.yaml"]
    assert [Path(label).as_posix().rsplit("/", 2)[-2:] for label in parsed[3:]] == [
        ["features", "processing.yaml"], ["features", "video.yaml"],
    ]
    assert new.features["example/stt"].owner == "speech" and old.features["example/stt"].owner is None
    assert new.features["example/video"].field("audio").code_version == "2"
    assert old.features["example/video"].field("audio").code_version == "1"
    assert "versions" in vars(old) and "versions" in vars(new)
