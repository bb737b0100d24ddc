"""Fuzzing the definitions: any bytes in metaxy.yaml or a feature file give a loaded project or a
located error, never a traceback. Through the library (`load_project`), the CLI (`validate`) and
`diff` on a git revision holding the same files.

Short by default (CI); `METAXY_FUZZ_EXAMPLES=100000 pytest tests/test_fuzz_loader.py` is the long
run (README, "Tests").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metaxy_cli.definitions.errors import ConfigError, MetaxyError
from metaxy_cli.definitions.loader import load_project

EXAMPLES = int(os.environ.get("METAXY_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES < 1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],  # each example rewrites its files
)  # fmt: skip
OVERVIEW = Path(__file__).resolve().parent.parent / "examples" / "overview"
FILES = {
    "metaxy.yaml": (OVERVIEW / "metaxy.yaml").read_bytes(),
    "features/video.yaml": (OVERVIEW / "features" / "video.yaml").read_bytes(),
    "features/processing.yaml": (OVERVIEW / "features" / "processing.yaml").read_bytes(),
}
# A located problem: `file:line:col: message` or, where no position applies, `file: message`.
LOCATED = re.compile(r"^\S+: \S.*$")  # labels may hold colons: HEAD~1:features/x.yaml:3:7

# ---- mutations of a valid project, at the text level -------------------------------------------

SCALARS = st.sampled_from([
    "1", "1.10", "2024-01-01", "null", "~", "true", "[]", "{}", "''", '"\\u0000"', "*nope", "&a x",
    "!!binary aGk=", "!!python/object:os.system ls", "? complex", "- item", "|\n  block", "'", '"',
    "x" * 100_000, "0x1F", ".inf", "-.nan", "é🎥", "{a: [b, {c: d}]}", "<<: {a: 1}",
])  # fmt: skip


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@st.composite
def mutated(draw) -> dict[str, bytes]:
    """The overview project with a few of: a line dropped, duplicated or retyped, deep nesting,
    anchors and aliases, a huge scalar, stray bytes, a BOM, CRLF line ends."""
    files = dict(FILES)
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(files)))
        lines = _lines(files[name])
        index = draw(st.integers(0, max(len(lines) - 1, 0)))
        kind = draw(st.sampled_from(["drop", "duplicate", "retype", "nest", "alias", "bytes", "bom", "crlf", "swap"]))
        if kind == "drop" and lines:
            del lines[index]
        elif kind == "duplicate" and lines:
            lines.insert(index, lines[index])
        elif kind == "retype" and lines and b":" in lines[index]:
            head = lines[index].split(b":", 1)[0]
            lines[index] = head + b": " + draw(SCALARS).encode()
        elif kind == "nest":
            depth = draw(st.sampled_from([10, 70, 500, 3000]))
            lines.insert(index, b"x-deep: " + b"[" * depth + b"]" * depth)
        elif kind == "alias":
            lines[index:index] = [b"x-a: &a {k: [1, 2]}", b"x-b: [*a, *a, *a]", b"x-c: *missing" if draw(st.booleans()) else b""]
        elif kind == "bytes":
            lines.insert(index, draw(st.binary(min_size=1, max_size=8)))
        elif kind == "bom":
            lines[0] = b"\xef\xbb\xbf" + lines[0] if lines else b"\xef\xbb\xbf"
        elif kind == "crlf":
            lines = [line + b"\r" for line in lines]
        elif kind == "swap" and len(lines) > 1:
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        files[name] = b"\n".join(lines)
    return files


YAML_TOKENS = st.sampled_from([
    "project:", "features:", "include:", " ", "  ", "\n", "- ", "key: ", "fields:", "deps:", "code_version:",
    "[", "]", "{", "}", ",", ":", "&x ", "*x", "!!str ", "? ", "|", ">", "'", '"', "#", "---\n", "...\n",
    "example/video", "a", "1", "\t", "%YAML 1.2\n", "stores:", "type: duckdb", "columns:",
])  # fmt: skip
event_streams = st.lists(YAML_TOKENS, max_size=60).map(lambda tokens: "".join(tokens).encode())


def write_project(folder: Path, files: dict[str, bytes]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def check_load(folder: Path) -> None:
    """Loading gives a project, or a MetaxyError whose every line is a located problem."""
    try:
        load_project(folder)
    except ConfigError as error:
        lines = str(error).splitlines()
        assert lines and all(LOCATED.match(line) for line in lines), lines
    except MetaxyError as error:
        assert "\n" not in str(error).strip() and str(error).strip(), repr(str(error))


def check_cli(invoke, folder: Path, *args: str) -> None:
    result = invoke("--project", folder, *args)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    for line in result.stderr.splitlines():
        assert LOCATED.match(line) or line.startswith("Error: "), line


@pytest.fixture(autouse=True)
def no_disk_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAXY_NO_CACHE", "1")


@pytest.fixture
def scratch():
    with tempfile.TemporaryDirectory(prefix="metaxy-fuzz-") as folder:
        yield Path(folder)


@FUZZ
@given(files=mutated())
def test_mutated_projects_load_or_fail_located(scratch: Path, invoke, files: dict[str, bytes]) -> None:
    folder = scratch / "project"
    write_project(folder, files)
    check_load(folder)
    check_cli(invoke, folder, "validate")


@FUZZ
@given(data=st.binary(max_size=400) | event_streams, target=st.sampled_from(sorted(FILES)))
@example(data=b"? - -", target="features/processing.yaml")  # found by a long run: a list as a key
@example(data=b".\t:", target="features/processing.yaml")  # only the C parser reads it
@example(data=b"features:\t1", target="features/processing.yaml")  # 100,000-example run: features not a list
@example(data=b"features: |\nfeatures: |\n  block\n  - key: x\n", target="features/processing.yaml")  # multi-line message
def test_random_bytes_in_any_file(scratch: Path, invoke, data: bytes, target: str) -> None:
    folder = scratch / "project"
    write_project(folder, {**FILES, target: data})
    check_load(folder)
    check_cli(invoke, folder, "validate")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


@pytest.fixture
def repository(scratch: Path) -> Path:
    """A git repository whose first commit holds the valid overview project."""
    folder = scratch / "repo"
    write_project(folder, FILES)
    _git(folder, "init", "-q")
    _git(folder, "-c", "user.email=f@x", "-c", "user.name=f", "add", ".")
    _git(folder, "-c", "user.email=f@x", "-c", "user.name=f", "commit", "-qm", "valid")
    return folder


@settings(FUZZ, max_examples=max(EXAMPLES // 4, 10))
@given(files=mutated())
def test_diff_against_a_revision_with_mutated_files(repository: Path, invoke, files: dict[str, bytes]) -> None:
    """`metaxy diff HEAD~1 HEAD` where HEAD holds the mutated files: a diff or located errors."""
    for name, data in files.items():
        (repository / name).write_bytes(data)
    _git(repository, "-c", "user.email=f@x", "-c", "user.name=f", "commit", "-qam", "mutated", "--allow-empty")
    try:
        check_cli(invoke, repository, "diff", "HEAD~1", "HEAD")
    finally:
        _git(repository, "reset", "-q", "--hard", "HEAD~1")
