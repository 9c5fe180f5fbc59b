"""Find and build agents: ``module:Class`` paths, entry points (``proving_ground.agents``)
and ``cmd:<command>`` for out-of-process agents (agents/remote.py).

Entry points are read lazily: only the one asked for is imported.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from sim.errors import AgentError, suggest

GROUP = "proving_ground.agents"


@dataclass(frozen=True)
class AgentSpec:
    name: str
    target: str  # "module:Class"
    source: str  # "entry point (dist)" or "path"


def available_agents() -> list[AgentSpec]:
    """Every agent registered under the ``proving_ground.agents`` entry point group."""
    out = []
    for ep in entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        out.append(AgentSpec(ep.name, ep.value, f"entry point ({dist})"))
    return sorted(out, key=lambda a: a.name)


def resolve(spec: str) -> str:
    """``module:Class`` for an agent spec (an entry-point name or a path)."""
    if ":" in spec:
        return spec
    known = {a.name: a.target for a in available_agents()}
    if spec not in known:
        raise AgentError(
            f"no agent named {spec!r}.{suggest(spec, known)} Registered: "
            f"{', '.join(sorted(known)) or 'none'}; or give a 'module:Class' path"
        )
    return known[spec]


def load_agent(
    spec: str, params: dict[str, Any] | None = None, options: dict[str, Any] | None = None
) -> Any:
    """Instantiate the agent ``spec`` with keyword ``params``; errors name the agent.
    ``options`` (a :class:`~agents.remote.RemoteOptions` as a dict) apply to ``cmd:`` agents."""
    if spec.startswith("cmd:"):
        from agents.remote import RemoteAgent, RemoteOptions

        if params:
            raise AgentError(
                f"agent {spec!r}: an out-of-process agent takes no --agent-param; pass its "
                "options on its command line"
            )
        return RemoteAgent(spec[4:].strip(), RemoteOptions(**(options or {})))
    target = resolve(spec)
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise AgentError(f"agent {spec!r}: cannot import module '{module_name}' ({exc})") from None
    except Exception as exc:
        raise AgentError(
            f"agent {spec!r}: importing '{module_name}' failed: {type(exc).__name__}: {exc}"
        ) from None
    cls = getattr(module, attr, None)
    if cls is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        raise AgentError(
            f"agent {spec!r}: module '{module_name}' has no '{attr}'.{suggest(attr, public)}"
        )
    try:
        agent = cls(**(params or {}))
    except TypeError as exc:
        raise AgentError(f"agent {spec!r}: bad parameters {params or {}}: {exc}") from None
    except Exception as exc:
        raise AgentError(
            f"agent {spec!r}: constructor raised {type(exc).__name__}: {exc}"
        ) from None
    missing = [m for m in ("reset", "act") if not callable(getattr(agent, m, None))]
    if missing:
        raise AgentError(f"agent {spec!r}: {target} is not an Agent (no {', '.join(missing)})")
    return agent
