"""Find and build agents: ``module:Class`` paths, entry points (``proving_ground.agents``)
and ``cmd:<command>`` for out-of-process agents (agents/remote.py).

Entry points are read lazily: only the one asked for is imported.
"""

from __future__ import annotations

import importlib
import inspect
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
    spec: str,
    params: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    *,
    from_file: bool = False,
    allow_file_agents: bool = False,
) -> Any:
    """Instantiate the agent ``spec`` with keyword ``params``; errors name the agent.
    ``options`` (a :class:`~agents.remote.RemoteOptions` as a dict) apply to ``cmd:`` agents.

    ``from_file``: the spec comes from a scenario file or a stored campaign, not from the
    person at the command line. Such a spec may name only an installed entry point or a
    ``module:Class`` that is an Agent class (checked before anything is called); a
    ``cmd:`` program or any other callable runs only with ``allow_file_agents``
    (``--allow-file-agents``): a file never executes code by itself."""
    strict = from_file and not allow_file_agents
    if strict and spec.startswith("cmd:"):
        raise AgentError(
            f"agent {spec!r}: a scenario file cannot start a program; run a file's cmd: "
            "agent only with --allow-file-agents (or give the agent with --agent)"
        )
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
    if strict and not (
        inspect.isclass(cls)
        and callable(getattr(cls, "reset", None))
        and callable(getattr(cls, "act", None))
    ):
        raise AgentError(
            f"agent {spec!r}: {target} is not an Agent class (with reset and act); a file may "
            "name only agent classes (--allow-file-agents lifts this)"
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


def check_domain(agent: Any, spec: str, domain: str, entity: str) -> None:
    """Refuse an agent that declares ``domains`` without ``domain`` (before any act())."""
    domains = getattr(agent, "domains", None)
    if domains and domain not in domains:
        raise AgentError(
            f"agent {spec!r} is a {'/'.join(domains)} agent; '{entity}' is a {domain} entity"
        )
