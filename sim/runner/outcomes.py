"""One definition of "preventable" for generated suites: the reference agent itself.

A suite entry may keep only the parameter points where a reference agent passes the
scenario's criteria (UN R157 §5.2.5: the ALKS must avoid a collision wherever the careful and
competent human driver of Annex 4 Appendix 3 would; here the same criteria the system is held
to — no collision, the scenario's TTC bound, its mission — decide whether the careful driver
got through)::

    - path: ../road/alks_cut_in.yaml
      grid: {...}
      avoidable_by: {agent: r157-driver, outcomes: alks_cut_in.r157.json}

Running the reference on every candidate point each time a suite is loaded would cost
minutes, so its outcomes are computed once (``pground reference-outcomes SUITE``) and kept in
the named JSON file beside the suite, keyed by a digest of each point (parameters and seed)
and stamped with the digests of the scenario file and the reference agent's source. Loading
refuses a stale file (either digest changed, or a point is missing) with the command that
rebuilds it: the suite can never silently disagree with the reference it names.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import Field

from sim.errors import ScenarioError
from sim.scenario.model import StrictModel
from sim.scenario.yamlio import canonical_json

FORMAT = "proving-ground-reference-outcomes/1"


def is_outcomes_file(path: Path) -> bool:
    """True for a stored reference-outcomes file (JSON whose ``format`` is :data:`FORMAT`)."""
    if path.suffix != ".json":
        return False
    with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
        with path.open(encoding="utf-8") as fh:
            head = fh.read(4096)  # the format key is written first; never parse a big file
        return f'"format": "{FORMAT}"' in head or f'"format":"{FORMAT}"' in head
    return False


class AvoidableBy(StrictModel):
    """Keep only the points where ``agent`` passes (outcomes cached in a file)."""

    agent: str = Field(description="the reference agent, e.g. 'r157-driver'")
    outcomes: str = Field(description="JSON file of its outcomes, relative to the suite file")


def point_key(overrides: dict[str, Any], seed: int) -> str:
    """Digest of what makes a point: its parameter values and seed."""
    return hashlib.sha256(canonical_json([overrides, seed]).encode()).hexdigest()[:16]


def agent_sources(spec: str) -> list[tuple[str, Path]]:
    """(module, file) of the agent's module and of every module of the same top-level
    package it imports, transitively (the R157 driver's control laws live in
    agents/road/control.py)."""
    import ast
    import importlib.util

    from agents.loading import load_agent

    first = type(load_agent(spec)).__module__
    root = first.split(".")[0]
    todo, out = [first], {}
    while todo:
        name = todo.pop()
        found = importlib.util.find_spec(name) if name not in out else None
        if found is None or not found.origin or not found.origin.endswith(".py"):
            continue
        out[name] = Path(found.origin)
        for node in ast.walk(ast.parse(out[name].read_bytes())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                todo.append(node.module)
            elif isinstance(node, ast.Import):
                todo.extend(a.name for a in node.names)
        todo = [m for m in todo if m.split(".")[0] == root]
    return sorted(out.items())


def agent_source_sha256(spec: str) -> str:
    """SHA-256 of the agent's version and of the sources :func:`agent_sources` lists. The
    simulator's own code is not stamped: the slow test that re-runs every point of the
    shipped sweep catches a change there."""
    from agents.loading import load_agent

    h = hashlib.sha256(str(getattr(load_agent(spec), "version", "?")).encode())
    for name, path in agent_sources(spec):
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _outcome(args: tuple[str, dict[str, Any], int, str]) -> tuple[str, dict[str, Any]]:
    from sim.runner.run import run_loaded
    from sim.scenario.load import load_scenario

    path, overrides, seed, agent = args
    out = run_loaded(load_scenario(path, overrides), agent=agent, seed=seed)
    return point_key(overrides, seed), {
        "collisions": int(out.metrics["collisions"].value),
        "impact_speed_mps": round(float(out.metrics["collision_impact_speed_mps"].value), 6),
        "verdict": out.verdict,
        "params": overrides,
    }


def compute(
    file: Path,
    points: Iterable[tuple[dict[str, Any], int]],
    agent: str,
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run ``agent`` on every point of ``file``; the outcomes document."""
    jobs = [(str(file), ov, seed, agent) for ov, seed in points]
    results: dict[str, Any] = {}
    with ProcessPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as ex:
        mapped = ex.map(_outcome, jobs, chunksize=8) if ex else map(_outcome, jobs)
        for i, (key, res) in enumerate(mapped, 1):
            results[key] = res
            if progress:
                progress(i, len(jobs))
    return {
        "format": FORMAT,
        "agent": agent,
        "agent_source_sha256": agent_source_sha256(agent),
        "scenario_sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
        "rule": "kept: points where the reference agent's verdict is 'pass'",
        "outcomes": dict(sorted(results.items())),
    }


def dumps(doc: dict[str, Any]) -> str:
    """The outcomes document as JSON with one line per point (reviewable diffs)."""
    head = {k: v for k, v in doc.items() if k != "outcomes"}
    lines = [
        f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in doc["outcomes"].items()
    ]
    body = json.dumps(head, indent=1, sort_keys=True)[:-2]
    return body + ',\n "outcomes": {\n' + ",\n".join(lines) + "\n }\n}\n"


def keep(
    spec: AvoidableBy,
    suite_path: Path,
    file: Path,
    points: list[tuple[dict[str, Any], int]],
    where: str,
) -> list[bool]:
    """Which points the reference avoids, from the outcomes file (refusing a stale one)."""
    target = suite_path.parent / spec.outcomes
    rebuild = f"rebuild it with `pground reference-outcomes {suite_path}`"
    if not target.is_file():
        raise ScenarioError(f"{where}.avoidable_by.outcomes: no file {target}; {rebuild}")
    try:
        doc = json.loads(target.read_text())
        if doc.get("format") != FORMAT:
            raise ValueError(f"format is {doc.get('format')!r}, expected {FORMAT!r}")
        stored = doc["outcomes"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"{where}.avoidable_by.outcomes: {target}: {exc}; {rebuild}") from None
    stale = []
    if doc.get("agent") != spec.agent:
        stale.append(f"it holds outcomes of '{doc.get('agent')}', not '{spec.agent}'")
    if doc.get("scenario_sha256") != hashlib.sha256(file.read_bytes()).hexdigest():
        stale.append(f"{file.name} changed since")
    if doc.get("agent_source_sha256") != agent_source_sha256(spec.agent):
        stale.append(f"the agent '{spec.agent}' changed since")
    keys = [point_key(ov, seed) for ov, seed in points]
    missing = sum(k not in stored for k in keys)
    if missing:
        stale.append(f"{missing} of {len(keys)} points have no outcome")
    if stale:
        raise ScenarioError(
            f"{where}.avoidable_by: {target} is stale ({'; '.join(stale)}); {rebuild}"
        )
    return [stored[k]["verdict"] == "pass" for k in keys]


def in_scope(agent: str, scenario_file: str | Path, cache: dict | None = None) -> bool:
    """Whether the reference ``agent`` has a model of the scenario's type: its
    ``scenario_tags`` (e.g. the R157 driver: r157, euro-ncap) meet the file's tags; an agent
    that declares none is taken to cover every scenario."""
    cache = {} if cache is None else cache
    if agent not in cache:
        from agents.loading import load_agent
        from sim.errors import ProvingGroundError

        try:
            tags = getattr(load_agent(agent), "scenario_tags", None)
        except ProvingGroundError:
            tags = None
        cache[agent] = tuple(tags) if tags is not None else None
    scope = cache[agent]
    return scope is None or bool(set(scope) & _tags_of(scenario_file))


_XOSC_TAGS: dict[str, set[str]] = {}


def _tags_of(scenario_file: str | Path) -> set[str]:
    """A scenario file's tags, read without validating (an OpenSCENARIO file's: those its
    translation gets, e.g. r157 for an ALKS template; once per file)."""
    from sim.errors import ScenarioError
    from sim.scenario.yamlio import load_with_lines

    path = Path(scenario_file)
    if path.suffix.lower() == ".xosc":
        key = str(path.resolve())
        if key not in _XOSC_TAGS:
            from sim.formats.openscenario import load_xosc

            try:
                _XOSC_TAGS[key] = set(load_xosc(path).data["tags"])
            except ScenarioError:
                _XOSC_TAGS[key] = set()
        return _XOSC_TAGS[key]
    try:
        data, _ = load_with_lines(path)
    except ScenarioError:
        return set()
    tags = data.get("tags") if isinstance(data, dict) else None
    return {str(x) for x in tags} if isinstance(tags, list) else set()
