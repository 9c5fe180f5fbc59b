"""Safe YAML/JSON loading that remembers the line of every value (for error messages)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError

Loc = tuple[str | int, ...]


def load_with_lines(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Parse ``path`` (YAML, or JSON which YAML reads too) safely; return data and loc -> line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raw = path.read_bytes()
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    key = (str(path), text)
    hit = _PARSED.get(key)
    if hit is None:
        hit = _PARSED[key] = loads_with_lines(text, str(path))
        while len(_PARSED) > PARSED_CACHE:
            del _PARSED[next(iter(_PARSED))]  # the oldest
    # a copy: callers substitute parameters into what they get
    return copy.deepcopy(hit[0]), hit[1]


#: Files parsed lately, by name and exact text: a campaign or a suite's validation loads
#: one file for every point, and parsing is most of a load (a copy costs a tenth of it).
PARSED_CACHE = 16
_PARSED: dict[tuple[str, str], tuple[Any, dict[Loc, int]]] = {}


#: Bounds on what a file may expand to (alias bombs, deep nesting, self-reference): far
#: above any real scenario or suite (the largest shipped file has a few thousand nodes).
MAX_NODES = 500_000
MAX_ALIASES = 10_000
MAX_DEPTH = 64
#: libyaml's parser when PyYAML has it (marks keep the lines): a 2.7 MB file loads in 4.2 s
#: instead of 13 s; the rest is the line map and the construction, in Python
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for kv in node.value for x in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_shape(root: yaml.Node, name: str) -> None:
    """Refuse a node graph that expands beyond the bounds (each alias counts as a copy of
    what it names), that nests too deep or that refers to itself — before anything walks
    or builds it (a 1 kB file can otherwise expand to 10^9 nodes)."""
    size: dict[int, int | None] = {}  # id -> expanded node count (None: being counted)
    aliases = 0
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        where = f"{name}:{node.start_mark.line + 1}"
        if done:
            total = 1 + sum(size[id(k)] or 0 for k in _children(node))
            if total > MAX_NODES:
                raise ScenarioError(
                    f"{where}: expands to more than {MAX_NODES:,} values (aliases of aliases?)"
                )
            size[id(node)] = total
            continue
        if id(node) in size:  # met before: an alias (or a value inside itself)
            if size[id(node)] is None:
                raise ScenarioError(f"{where}: an alias refers to a value that contains it")
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ScenarioError(f"{where}: more than {MAX_ALIASES:,} aliases")
            continue
        if depth > MAX_DEPTH:
            raise ScenarioError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        size[id(node)] = None
        stack.append((node, depth, True))
        stack.extend((kid, depth + 1, False) for kid in _children(node))


def loads_with_lines(text: str, name: str) -> tuple[Any, dict[Loc, int]]:
    """As :func:`load_with_lines` for a string; ``name`` labels errors."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.reader.ReaderError):  # a control character: no mark, a position
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            problem = f"character U+{code:04X} is not allowed (a control character)"
        where = _line(exc, text)
        raise ScenarioError(f"{name}:{where}: not valid YAML/JSON: {problem}") from None
    if node is None:
        raise ScenarioError(f"{name}:1: the file is empty")
    _check_shape(node, name)
    lines: dict[Loc, int] = {}
    _walk(node, (), lines)
    loader = _LOADER(text)
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        where = f":{_line(exc, text)}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "could not determine a constructor" in problem:
            problem = problem.replace("could not determine a constructor for the tag", "tag")
            problem += " is not allowed (plain YAML only)"
        raise ScenarioError(f"{name}{where}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    return data, lines


def _line(exc: yaml.YAMLError, text: str) -> int:
    """The line a YAML error is on: its mark, or (reader errors) its character position."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return mark.line + 1
    position = getattr(exc, "position", None)
    return text.count("\n", 0, position) + 1 if isinstance(position, int) else 1


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark.line)
            lines[(*loc, k)] = key.start_mark.line + 1
            _walk(value, (*loc, k), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), lines)


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """Line of ``loc``, or of its nearest ancestor that the file shows."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def format_loc(loc: Loc) -> str:
    """``('entities', 1, 'speed')`` -> ``entities[1].speed``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def canonical_json(data: Any) -> str:
    """Deterministic JSON text (sorted keys, no spaces) for hashing and manifests."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
