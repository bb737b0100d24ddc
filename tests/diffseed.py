"""The seed scenario (video.audio 1 -> 2 on examples/overview) and its golden outputs.

Golden files in tests/data/diff_seed/ hold every output format with `$NAME` placeholders for
versions (`$VA0`: video.audio before, 8 characters; `${VA0_full}`: full length), so that they pin
the layout of each format exactly without pinning the hash function (tests/test_hashing.py does).
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from metaxy_cli.definitions.project import Project

GOLDEN = Path(__file__).resolve().parent / "data" / "diff_seed"
SEED_EDIT = ('      - key: audio\n        code_version: "1"', '      - key: audio\n        code_version: "2"')

_FEATURES = {"V": "example/video", "C": "example/crop", "FD": "example/face_detection", "S": "example/stt"}
_FIELDS = {
    "VA": ("example/video", "audio"), "VF": ("example/video", "frames"),
    "CA": ("example/crop", "audio"), "CF": ("example/crop", "frames"),
    "FDD": ("example/face_detection", "detections"), "ST": ("example/stt", "transcription"),
}


def apply_seed_edit(project_dir: Path) -> None:
    path = project_dir / "features" / "video.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(SEED_EDIT[0]) == 1
    path.write_text(text.replace(*SEED_EDIT), encoding="utf-8")


def placeholders(old: Project, new: Project) -> dict[str, str]:
    """`$V0`/`$V1` (feature before/after), `$VA0`..., `$P0`/`$P1`, each also as `_full`."""
    values: dict[str, str] = {"P0": old.versions.project, "P1": new.versions.project}
    for name, key in _FEATURES.items():
        values[f"{name}0"], values[f"{name}1"] = old.versions.feature[key], new.versions.feature[key]
    for name, ref in _FIELDS.items():
        values[f"{name}0"], values[f"{name}1"] = old.versions.field[ref], new.versions.field[ref]
    result = {}
    for name, value in values.items():
        result[f"{name}_full"] = value
        result[name] = value[:8]
    return result


def expected(name: str, old: Project, new: Project, **labels: str) -> str:
    """The golden output `name` with real versions (and optional label replacements) filled in."""
    text = Template((GOLDEN / name).read_text(encoding="utf-8")).substitute(placeholders(old, new))
    for before, after in labels.items():
        text = text.replace(before, after)
    return text


def to_template(text: str, old: Project, new: Project) -> str:
    """The inverse of `expected` (used once to write the golden files; kept for regenerating them)."""
    values = placeholders(old, new)
    for name in sorted(values, key=lambda n: -len(values[n])):
        token = "${" + name + "}" if name.endswith("_full") else "$" + name
        text = text.replace(values[name], token)
    return text
