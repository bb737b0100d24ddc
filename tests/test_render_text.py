"""Text renderer: exact tree on the overview, colours only on request, no padding."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_cli.definitions.loader import load_project
from metaxy_cli.render import RenderOptions
from metaxy_cli.render.text import render_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

OVERVIEW_TEXT = """\
project overview 1b826fca (4 features)

example/video 8fd92b1b
├── audio 460e3e18
└── frames 089e1dd4

example/crop 93d346eb <- example/video
├── audio 896058be <- example/video.audio
└── frames 651c420c <- example/video.frames

example/face_detection 7ce3d918 <- example/crop
└── detections 947c12d6 <- example/crop.frames

example/stt fa2dd30a <- example/video
└── transcription caba0cbb <- example/video.audio
"""


@pytest.fixture(scope="module")
def overview():
    return load_project(EXAMPLES / "overview")


def test_overview_exact(overview):
    assert render_text(overview) == OVERVIEW_TEXT


def test_readme_shows_the_real_output(overview):
    assert f"```text\n{OVERVIEW_TEXT}```" in (EXAMPLES / "overview" / "README.md").read_text()


def test_no_colour_no_padding_by_default(overview):
    text = render_text(overview)
    assert "\033" not in text
    assert all(line == line.rstrip() and "  " not in line for line in text.splitlines())


def test_colour_on_request(overview):
    text = render_text(overview, RenderOptions(color=True))
    assert text.splitlines()[2] == "\033[1mexample/video\033[0m \033[2m8fd92b1b\033[0m"


def test_subgraph_without_versions(overview):
    text = render_text(overview, RenderOptions(features=("example/crop",), upstream=True, show_versions=False))
    assert text == (
        "project overview (2 of 4 features)\n"
        "\n"
        "example/video\n"
        "├── audio\n"
        "└── frames\n"
        "\n"
        "example/crop <- example/video\n"
        "├── audio <- example/video.audio\n"
        "└── frames <- example/video.frames\n"
    )


def test_optional_deps_and_nested_keys():
    text = render_text(load_project(EXAMPLES / "multi_upstream"), RenderOptions(show_versions=False))
    assert "asr/transcript <- media/video, media/speakers (optional)\n" in text
    assert "└── frames <- media/subtitles.text/english, media/subtitles.text/french, media/video.frames\n" in text
