"""Safe XML reading for the standard formats: lines for every element, one line per problem.

lxml (not the standard library) because its elements know their source line, which every
error message names, and its parser can be told to resolve no entities, load no DTD and
reach no network: a hostile file cannot expand or fetch anything.
"""

from __future__ import annotations

import math
from pathlib import Path

from lxml import etree

from sim.errors import ScenarioError

#: Far above the largest real file (the OSC-ALKS files are 4-30 kB; large OpenDRIVE maps a
#: few tens of MB): a bound on what one file may make the importer read.
MAX_BYTES = 64 * 1024 * 1024

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def parse(path: str | Path) -> etree._Element:
    """Root element of ``path``, or a ScenarioError naming file:line."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ScenarioError(f"{path}: {size:,} bytes: larger than {MAX_BYTES:,}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        msg = str(exc.msg or exc).split(", line ")[0]
        raise ScenarioError(f"{path}:{line}: not well-formed XML: {msg}") from None
    if root is None:
        raise ScenarioError(f"{path}:1: empty XML document")
    for el in root.iter(etree.Entity):  # unresolved entity references: never expanded
        raise ScenarioError(f"{path}:{el.sourceline}: entity references are not supported")
    return root


class Problems:
    """Collects one line per problem, ``file:line: <element> ...: message``."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.lines: list[str] = []
        self.warnings: list[str] = []

    def where(self, el: etree._Element | None) -> str:
        line = el.sourceline if el is not None and el.sourceline else 1
        return f"{self.path}:{line}"

    def add(self, el: etree._Element | None, message: str) -> None:
        tag = f"<{el.tag}> " if el is not None else ""
        self.lines.append(f"{self.where(el)}: {tag}{message}")

    def warn(self, el: etree._Element | None, message: str) -> None:
        tag = f"<{el.tag}> " if el is not None else ""
        self.warnings.append(f"{self.where(el)}: {tag}{message}")

    def raise_if_any(self) -> None:
        if self.lines:
            lines = list(dict.fromkeys(self.lines))
            raise ScenarioError(lines[0], lines)


class Invalid(Exception):
    """An attribute could not be read (already reported)."""


def number(
    problems: Problems, el: etree._Element, name: str, default: float | None = None
) -> float:
    """Attribute ``name`` of ``el`` as a finite float; reports and raises :class:`Invalid`."""
    raw = el.get(name)
    if raw is None:
        if default is not None:
            return default
        problems.add(el, f"missing attribute '{name}'")
        raise Invalid(name)
    try:
        value = float(raw)
    except ValueError:
        problems.add(el, f"{name}='{raw}' is not a number")
        raise Invalid(name) from None
    if not math.isfinite(value):
        problems.add(el, f"{name}='{raw}' is not finite")
        raise Invalid(name)
    return value
