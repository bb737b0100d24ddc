"""Temporary git repositories with real commits, for diff and plan tests.

Git runs with a fixed identity and no user or system configuration, so tests behave the same on a
CI machine without a global git identity and on a developer's machine with signing hooks.

    repo = seed_repo(tmp_path)            # examples/overview committed, then video.audio 1 -> 2
    repo.project                          # the folder holding metaxy.yaml inside the repository
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OVERVIEW = REPO_ROOT / "examples" / "overview"
SEED_PATCH = OVERVIEW / "patches" / "01-video-audio-v2.patch"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "metaxy tests",
    "GIT_AUTHOR_EMAIL": "tests@metaxy.invalid",
    "GIT_COMMITTER_NAME": "metaxy tests",
    "GIT_COMMITTER_EMAIL": "tests@metaxy.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


class GitRepo:
    """A repository at `root` whose metaxy project lives in `root / subdir`."""

    def __init__(self, root: Path, subdir: str = ""):
        self.root = root
        self.project = root / subdir if subdir else root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        done = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", *args], cwd=self.root, env=env,
            capture_output=True, text=True, check=True,
        )
        return done.stdout

    def write(self, relpath: str, text: str) -> Path:
        """Write a file relative to the project folder."""
        path = self.project / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def read(self, relpath: str) -> str:
        return (self.project / relpath).read_text(encoding="utf-8")

    def replace(self, relpath: str, old: str, new: str, count: int = 1) -> None:
        text = self.read(relpath)
        assert text.count(old) >= count, f"{old!r} not in {relpath}"
        self.write(relpath, text.replace(old, new, count))

    def commit(self, message: str) -> str:
        """Stage everything and commit; returns the new commit id."""
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def apply(self, patch: Path) -> None:
        """Apply a patch written relative to the project folder."""
        directory = self.project.relative_to(self.root).as_posix()
        args = ["apply"] + ([f"--directory={directory}"] if directory != "." else []) + [str(patch)]
        self.git(*args)


def overview_repo(tmp_path: Path, subdir: str = "") -> GitRepo:
    """A repository whose first commit is a copy of examples/overview (at `subdir`)."""
    repo = GitRepo(tmp_path / "repo", subdir)
    shutil.copytree(OVERVIEW, repo.project, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".metaxy", "__pycache__", "patches", "README.md"))
    repo.commit("overview example")
    return repo


def seed_repo(tmp_path: Path, subdir: str = "") -> GitRepo:
    """The overview example committed, then the seed change (video.audio 1 -> 2) committed on top."""
    repo = overview_repo(tmp_path, subdir)
    repo.apply(SEED_PATCH)
    repo.commit("video: audio code_version 2")
    return repo
