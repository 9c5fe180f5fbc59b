"""Safe YAML/JSON loading that remembers the line of every value (for error messages)."""

from __future__ import annotations

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
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    return loads_with_lines(text, str(path))


def loads_with_lines(text: str, name: str) -> tuple[Any, dict[Loc, int]]:
    """As :func:`load_with_lines` for a string; ``name`` labels errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{name}{where}: not valid YAML/JSON: {problem}") from None
    if node is None:
        raise ScenarioError(f"{name}: the file is empty")
    lines: dict[Loc, int] = {}
    _walk(node, (), lines)
    loader = yaml.SafeLoader(text)
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{name}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, lines


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
