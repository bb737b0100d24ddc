"""YAML reading: a fast C path for valid files, a round-trip path to locate problems.

Valid projects are the common case, so they are parsed with the C-accelerated safe loader;
only when something is wrong is the file parsed again with ruamel's round-trip loader, whose
nodes remember their line and column, to point at `file:line:col`.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from metaxy_cli.definitions.errors import Location, Problem

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
    what = _one_line((error.problem or error.context or "invalid YAML").strip())
    context, start = error.context, error.context_mark
    if error.problem and context and start and (start.line, start.column) != (line - 1, col - 1):
        what += f" ({_one_line(context.strip())} started at line {start.line + 1}, column {start.column + 1})"
    lines = text.splitlines()
    if 0 < line <= len(lines) and lines[line - 1][col - 1 : col] == "\t":
        what += "; YAML does not allow tabs for indentation, use spaces"
    return Problem(Location(label, line, col), f"invalid YAML: {what}")


def _one_line(message: str) -> str:
    """ruamel quotes whole values in some messages (a duplicate key's block scalar): keep the
    first line, so a problem stays one `file:line:col: message` line."""
    first, _, rest = message.partition("\n")
    return f"{first.rstrip()} ..." if rest.strip() else first


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


_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"


class _NotPlain(Exception):
    """The document uses something the event path leaves to ruamel (aliases, tags, merge keys, ...)."""


def _event_loader(text: str) -> Any:
    """ruamel's C parser, constructor and memoised resolver on one object, as ruamel wires them."""
    from _ruamel_yaml import CParser  # ruamel.yaml.clib; without it the event path is skipped

    class EventLoader(CParser, SafeConstructor, _MemoResolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            self._parser = self._composer = self
            SafeConstructor.__init__(self, loader=self)
            _MemoResolver.__init__(self, loadumper=self)

    return EventLoader(text)


def _load_plain(text: str) -> Any:
    """A plain document (maps, lists, untagged scalars, no anchors) built straight from events.

    Skipping ruamel's node tree and generator-based construction halves the loading time of big
    projects. Scalars get their tag from ruamel's resolver and, when not strings, their value from
    ruamel's constructor. Anything else raises, and `load_fast` then lets ruamel load the document,
    so results and errors are exactly ruamel's.
    """
    loader = _event_loader(text)
    get = loader.get_event
    get()  # StreamStartEvent
    event = get()
    if isinstance(event, StreamEndEvent):
        return None
    if not isinstance(event, DocumentStartEvent) or event.explicit or event.version or event.tags:
        raise _NotPlain
    resolve = loader.resolve
    names: dict[tuple[str, Any], str] = {}  # (text, implicit) -> tag name: one resolver call each
    stack: list[tuple[Any, Any, bool]] = []  # the enclosing (container, pending key, is a list)
    container: Any = None  # the innermost open mapping or sequence
    unset = key = result = object()
    in_list = False
    while True:
        event = get()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.ctag is not None:  # .tag: a str() property
                raise _NotPlain
            scalar, implicit = event.value, event.implicit
            name = names.get((scalar, implicit))
            if name is None:
                name = names[(scalar, implicit)] = str(resolve(ScalarNode, scalar, implicit))
            if name == _STR:
                value = scalar
            else:
                tag = resolve(ScalarNode, scalar, implicit)
                node = ScalarNode(tag, scalar, event.start_mark, event.end_mark, style=event.style)
                value = loader.construct_object(node)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.ctag is not None:
                raise _NotPlain
            stack.append((container, key, in_list))
            in_list = kind is SequenceStartEvent
            container, key = ([] if in_list else {}), unset
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = container
            container, key, in_list = stack.pop()
        elif kind is DocumentEndEvent and not stack:
            break
        else:
            raise _NotPlain  # aliases, anything unexpected
        if not stack:
            result = value
        elif in_list:
            container.append(value)
        elif key is unset:
            if kind is not ScalarEvent or name not in (_STR, _INT) or value in container:
                raise _NotPlain  # complex, merge or duplicate keys: ruamel's rules and errors
            key = value
        else:
            container[key] = value
            key = unset
    if not isinstance(get(), StreamEndEvent):
        raise _NotPlain  # a second document: ruamel reports it
    return result


# No definition nests anywhere near this deep; documents that do are refused before anything
# recursive (ruamel's composer, schema validation, error messages) walks them.
MAX_DEPTH = 64
# Values a document may expand to: aliases let a few lines stand for billions of values.
MAX_VALUES = 1_000_000


def load_fast(text: str, label: str) -> Any:
    """Parse YAML into plain Python objects (no positions)."""
    try:
        document = _load_plain(text)
    except Exception:
        document = _load_ruamel(text, label)  # not plain, a syntax error or no C parser
    _check_shape(document, text, label)
    return document


def _load_ruamel(text: str, label: str) -> Any:
    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = _MemoResolver
    try:
        return yaml.load(text)
    except (YAMLError, RecursionError) as error:
        raise YamlSyntaxError(_problem(label, error, text)) from None
    except TypeError:  # a list or mapping as a mapping key (`? - x`): Python cannot hash it
        raise YamlSyntaxError(Problem(Location(label, 1, 1), "invalid YAML: a mapping key must be a plain value, not a list or mapping")) from None


def _problem(label: str, error: Exception, text: str) -> Problem:
    """Any error ruamel raises on a text, located as well as ruamel allows."""
    if isinstance(error, RecursionError):
        return _too_deep(text, label)
    if isinstance(error, MarkedYAMLError):
        return _marked_problem(label, error, text)
    position = getattr(error, "position", None)  # ReaderError: a character ruamel refuses
    if isinstance(position, int) and 0 <= position <= len(text):
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        character = getattr(error, "character", None)
        what = f"character {character!r} is not allowed in YAML" if character is not None else "unreadable text"
        return Problem(Location(label, line, col), f"invalid YAML: {what}")
    return Problem(Location(label, 1, 1), f"invalid YAML: {str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}")


def _check_shape(document: Any, text: str, label: str) -> None:
    """Refuse documents nested deeper than MAX_DEPTH or expanding to more than MAX_VALUES values
    (walked without recursion; shared values through aliases counted each time they are used)."""
    stack = [(document, 1)]
    values = 0
    while stack:
        value, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise YamlSyntaxError(Problem(Location(label, 1, 1), f"the document expands to more than {MAX_VALUES:,} values (aliases of aliases?)"))
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise YamlSyntaxError(_too_deep(text, label))
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _too_deep(text: str, label: str) -> Problem:
    """Where the nesting first goes past MAX_DEPTH, found on the event stream (no recursion)."""
    line = col = 0
    try:
        loader = _event_loader(text)
        depth = 0
        while True:
            event = loader.get_event()
            if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    line, col = event.start_mark.line + 1, event.start_mark.column + 1
                    break
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, StreamEndEvent):
                break
    except Exception:
        pass  # the first too-deep place stays unknown: the file is still named
    return Problem(Location(label, line, col), f"invalid YAML: nested deeper than {MAX_DEPTH} levels")


def load_roundtrip(text: str, label: str) -> Any:
    """Parse YAML keeping line/column information on every mapping and sequence."""
    try:
        return YAML(typ="rt").load(text)
    except (YAMLError, RecursionError) as error:
        raise YamlSyntaxError(_problem(label, error, text)) from None


class PositionIndex:
    """Maps a path inside a document (`("features", 2, "key")`) to a 1-based line and column."""

    def __init__(self, text: str, label: str):
        self.label = label
        self.lines = text.splitlines()
        try:
            self.doc = load_roundtrip(text, label)
        except YamlSyntaxError:
            # The C parser read it but ruamel's round-trip parser refuses it (it is stricter about
            # tabs, for one): problems are then located at the top of the file.
            self.doc = None

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
