"""Domain plugins: built-ins registered explicitly, third parties by entry point.

Entry point group ``proving_ground.domains``: ``name = "package.module:OBJECT"`` where OBJECT is a
:class:`sim.domains.base.Domain`. Domains are imported lazily, only when a scenario names them.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from sim.domains.base import Domain
from sim.errors import ScenarioError, suggest

BUILTIN: dict[str, str] = {
    "road": "sim.domains.road:DOMAIN",
    "air": "sim.domains.air:DOMAIN",
    "rail": "sim.domains.rail:DOMAIN",
    "water": "sim.domains.water:DOMAIN",
}


@cache  # installed plugins do not change while a process runs (each lookup reads every
# installed distribution's metadata: ~9 ms, once per scenario loaded otherwise)
def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group="proving_ground.domains")}


def known_domains() -> list[str]:
    """Names of every domain that can be loaded (built-in first)."""
    return sorted({*BUILTIN, *_entry_points()})


@cache
def get_domain(name: str) -> Domain:
    """The domain plugin called ``name``; unknown names get a suggestion and the list."""
    target = BUILTIN.get(name) or _entry_points().get(name)
    if target is None:
        known = known_domains()
        raise ScenarioError(
            f"unknown domain '{name}'.{suggest(name, known)} Known domains: {', '.join(known)}"
        )
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
