"""YAML reading: a fast C path for valid files, a round-trip path to locate problems.

Valid projects are the common case, so they are parsed with the C-accelerated safe loader;
only when something is wrong is the file parsed again with ruamel's round-trip loader, whose
nodes remember their line and column, to point at `file:line:col`.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from metaxy_cli.errors import Location, Problem

PathPart = str | int
DocPath = tuple[PathPart, ...]


class YamlSyntaxError(Exception):
    """A file is not valid YAML; carries the located problem."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def _marked_problem(label: str, error: MarkedYAMLError, text: str = "") -> Problem:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = (error.problem or error.context or "invalid YAML").strip()
    context, start = error.context, error.context_mark
    if error.problem and context and start and (start.line, start.column) != (line - 1, col - 1):
        what += f" ({context.strip()} started at line {start.line + 1}, column {start.column + 1})"
    lines = text.splitlines()
    if 0 < line <= len(lines) and lines[line - 1][col - 1 : col] == "\t":
        what += "; YAML does not allow tabs for indentation, use spaces"
    return Problem(Location(label, line, col), f"invalid YAML: {what}")


class _MemoResolver(VersionedResolver):
    """Resolves each distinct scalar once per load, with ruamel's own rules.

    ruamel re-derives the YAML version (through a caught AttributeError on the C path) for every
    scalar (about 15% of loading a 10,000-feature project). The version cannot
    change during a C-path load, so the same (kind, value, implicit) always gets the same tag.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memo: dict[Any, Any] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        key = (kind, value, implicit)
        try:
            return self._memo[key]
        except KeyError:
            tag = self._memo[key] = super().resolve(kind, value, implicit)
            return tag
        except TypeError:  # an unhashable value: resolve without the memo
            return super().resolve(kind, value, implicit)


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


class _NotPlain(Exception):
    """The document uses something the fast path leaves to ruamel (aliases, merge keys, ...)."""


class _FastConstructor(SafeConstructor):
    """Builds plain documents (maps, lists, scalars) directly from the node tree.

    ruamel's generator-based construction was a third of loading a big project. Anything that is
    not plain (aliases, merge keys, duplicate or complex keys, other tags) or any error makes the
    whole document go through ruamel's own construction, so results and errors are unchanged.
    """

    def construct_document(self, node: Any) -> Any:
        self._tag_names: dict[int, str] = {}  # id(Tag) -> name; every node is alive meanwhile
        try:
            return self._plain(node, set())
        except Exception:
            self.constructed_objects, self.recursive_objects, self.state_generators = {}, {}, []
            return super().construct_document(node)

    def _tag(self, node: Any) -> str:
        """`node.tag`, computed once per Tag object (the memoised resolver shares them)."""
        try:
            return self._tag_names[id(node.ctag)]
        except KeyError:
            name = self._tag_names[id(node.ctag)] = node.tag
            return name

    def _plain(self, node: Any, seen: set[int]) -> Any:
        tag = self._tag(node)
        if isinstance(node, ScalarNode):
            return node.value if tag == _STR else self.construct_object(node)
        if id(node) in seen:
            raise _NotPlain  # an alias: ruamel shares (or recurses into) the object
        seen.add(id(node))
        if tag == _SEQ and isinstance(node, SequenceNode):
            return [self._plain(child, seen) for child in node.value]
        if tag != _MAP or not isinstance(node, MappingNode):
            raise _NotPlain
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or self._tag(key_node) not in (_STR, "tag:yaml.org,2002:int"):
                raise _NotPlain
            key = self._plain(key_node, seen)
            if key in mapping:
                raise _NotPlain  # ruamel reports duplicate keys
            mapping[key] = self._plain(value_node, seen)
        return mapping


def load_fast(text: str, label: str) -> Any:
    """Parse YAML into plain Python objects (no positions)."""
    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = _MemoResolver
    yaml.Constructor = _FastConstructor
    try:
        return yaml.load(text)
    except MarkedYAMLError as error:
        raise YamlSyntaxError(_marked_problem(label, error, text)) from None


def load_roundtrip(text: str, label: str) -> Any:
    """Parse YAML keeping line/column information on every mapping and sequence."""
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        raise YamlSyntaxError(_marked_problem(label, error, text)) from None


class PositionIndex:
    """Maps a path inside a document (`("features", 2, "key")`) to a 1-based line and column."""

    def __init__(self, text: str, label: str):
        self.label = label
        self.lines = text.splitlines()
        self.doc = load_roundtrip(text, label)

    def locate(self, path: DocPath, *, at_key: bool = False) -> Location:
        """Position of the value at `path`, or of its key when `at_key`; nearest parent if gone."""
        node = self.doc
        line, col = 1, 1
        for depth, part in enumerate(path):
            lc = getattr(node, "lc", None)
            try:
                child = node[part]
            except (KeyError, IndexError, TypeError):
                break
            if lc is not None:
                last = depth == len(path) - 1
                try:
                    if isinstance(part, int):
                        pos = lc.item(part)
                    elif last and (at_key or child is None):
                        # an empty value has no position of its own: point at its key.
                        pos = lc.key(part)
                    else:
                        pos = lc.value(part)
                    line, col = pos[0] + 1, pos[1] + 1
                except (KeyError, IndexError, TypeError):
                    pass
            node = child
        else:
            inner = getattr(node, "lc", None)
            if inner is not None and not path:
                line, col = inner.line + 1, inner.col + 1
        return Location(self.label, line, col)

    def raw_token(self, location: Location) -> str:
        """The scalar as written at `location` (to quote it back to the user verbatim)."""
        if not 0 < location.line <= len(self.lines):
            return ""
        rest = self.lines[location.line - 1][location.col - 1 :]
        # a plain scalar ends at a comment, or (in flow style) at `,`, `]` or `}`.
        return re.split(r"\s#|[,\]}]", rest, maxsplit=1)[0].strip()
