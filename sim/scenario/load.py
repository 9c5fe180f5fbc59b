"""Load a scenario file: safe YAML, parameters, ``${...}`` substitution, validation, checks.

Every problem becomes one line ``file:line: field.path: what was expected, what was found``.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.errors import ScenarioError, short_repr, suggest
from sim.scenario import expr
from sim.scenario.explain import explain
from sim.scenario.model import ScenarioBase, scenario_model
from sim.scenario.yamlio import Loc, format_loc, line_of, load_with_lines
from sim.units import UnitError, dimension_of, parse_any, parse_quantity

_WHOLE = re.compile(r"^\s*\$\{([^{}]+)\}\s*$")
_PART = re.compile(r"\$\{([^{}]+)\}")


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and what produced it (for manifests and reproduction)."""

    path: Path
    scenario: ScenarioBase
    sha256: str
    parameters: dict[str, Any]
    overrides: dict[str, Any]
    resolved: dict[str, Any] = field(repr=False)
    warnings: tuple[str, ...] = ()  # file:line: field: what looks wrong but can run


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["ego_speed=40 km/h", "gap=30"]`` -> {"ego_speed": "40 km/h", "gap": 30}."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ScenarioError(f"--set {item!r}: expected NAME=VALUE, e.g. ego_speed='40 km/h'")
        parsed = yaml.safe_load(value) if value.strip() else ""
        out[name.strip()] = parsed if isinstance(parsed, int | float | str) else value
    return out


def load_scenario(
    path: str | Path,
    overrides: dict[str, Any] | None = None,
    *,
    entity: str | None = None,
    criteria: str | Path | None = None,
) -> LoadedScenario:
    """Load and validate ``path``; raise :class:`ScenarioError` listing every problem.
    An OpenSCENARIO file (``.xosc``) is translated first (sim.formats.openscenario); its
    ``overrides`` are its own parameters, ``entity`` names the entity under test and
    ``criteria`` is a criteria file (default: ``<stem>.criteria.yaml`` beside it)."""
    path = Path(path)
    overrides = dict(overrides or {})
    if path.suffix.lower() == ".xosc":
        return _load_xosc(path, overrides, entity, criteria)
    data, lines = load_with_lines(path)
    name = str(path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{name}:1: expected a mapping of scenario fields at the top level")
    if "scenarios" in data and "entities" not in data:
        raise ScenarioError(f"{name}:1: this is a suite file: use `pground suite {name}`")
    problems: list[str] = []
    reported: list[Loc] = []

    def report(loc: Loc, msg: str) -> None:
        if any(loc[: len(r)] == r for r in reported):
            return  # one problem per field: a bad substitution is not also a type error
        reported.append(loc)
        ln = line_of(lines, loc)
        problems.append(f"{name}{f':{ln}' if ln else ''}: {format_loc(loc)}: {msg}")

    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        report(("parameters",), "expected a mapping of name: value")
        params = {}
    wrong = [
        f"{name}:{line_of(lines, ('parameters', key))}: parameters.{key}: expected a number, "
        f"a quantity like '60 km/h' or text; got {short_repr(value)}"
        for key, value in params.items()
        if not isinstance(value, int | float | str)
    ]
    if wrong:  # said once, here, not again at every field that uses the parameter
        raise ScenarioError(wrong[0], wrong)
    for key in overrides:
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise ScenarioError(
                f"{name}: --set {key}: the scenario has no parameter '{key}'."
                f"{suggest(key, params)} Parameters: {known}"
            )
    bad = [
        f"{name}: --set {key}: {msg}"
        for key, value in overrides.items()
        if (msg := override_problem(params[key], value))
    ]
    if bad:  # said once, at the flag, not again at every field that uses the parameter
        raise ScenarioError(bad[0], bad)
    params = {**params, **overrides}
    si: dict[str, float] = {}
    for key, value in params.items():
        with contextlib.suppress(ValueError):  # text parameters are substituted as text
            si[key] = parse_any(value)
    resolved = {k: v for k, v in data.items() if k != "parameters"}
    resolved = _substitute(resolved, (), params, si, report)
    resolved["parameters"] = params

    scenario = _validate(resolved, report)
    if scenario is not None and not problems:
        for loc, msg in _semantic_checks(scenario):
            report(loc, msg)
    if problems or scenario is None:
        problems.sort(key=_line_key)  # in file order
        raise ScenarioError(problems[0] if problems else f"{name}: invalid", problems)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    warnings = tuple(
        f"{name}{f':{ln}' if (ln := line_of(lines, loc)) else ''}: {format_loc(loc)}: {msg}"
        for loc, msg in _late_triggers(scenario)
    )
    return LoadedScenario(path, scenario, digest, params, overrides, resolved, warnings)


def _load_xosc(
    path: Path, overrides: dict[str, Any], entity: str | None, criteria: str | Path | None
) -> LoadedScenario:
    from sim.formats.openscenario import load_xosc

    imp = load_xosc(path, overrides, ego=entity, criteria=criteria)
    resolved = dict(imp.data)
    resolved["parameters"] = {
        k: (str(v).lower() if isinstance(v, bool) else v) for k, v in imp.parameters.items()
    }
    scenario = load_resolved(resolved, f"{path}: (translated)")
    return LoadedScenario(
        path,
        scenario,
        imp.digest(),
        resolved["parameters"],
        overrides,
        resolved,
        tuple(imp.warnings),
    )


def load_resolved(resolved: dict[str, Any], where: str) -> ScenarioBase:
    """Validate a scenario whose parameters are already substituted (a translated file, a
    run folder's resolved scenario); problems are reported as ``where: field: ...``."""
    problems: list[str] = []

    def report(loc: Loc, msg: str) -> None:
        problems.append(f"{where} {format_loc(loc)}: {msg}")

    scenario = _validate(resolved, report)
    if scenario is not None and not problems:
        for loc, msg in _semantic_checks(scenario):
            report(loc, msg)
    if problems or scenario is None:
        raise ScenarioError(problems[0] if problems else f"{where} invalid", problems)
    return scenario


def override_problem(default: Any, value: Any) -> str | None:
    """Why ``value`` cannot replace a parameter whose file value is ``default``: a quantity
    takes a quantity of the same dimension (or a bare SI number), a number a number; a text
    parameter takes any text."""
    dimension = dimension_of(default)
    if dimension is not None:
        try:
            parse_quantity(value, dimension)
        except UnitError as exc:
            return str(exc)
        return None
    try:
        parse_any(default)
    except ValueError:
        return None  # a text parameter
    try:
        parse_any(value)
    except ValueError:
        return f"expected a number, got {short_repr(value)}"
    return None


def _late_triggers(scenario: ScenarioBase) -> list[tuple[Loc, str]]:
    """Time triggers at or after the end of the run: their stimulus can never happen (a run
    that misses it is 'invalid')."""
    out: list[tuple[Loc, str]] = []
    end = scenario.duration
    late = "the run ends at {:g} s, so this never happens: the run will be 'invalid'"
    for i, e in enumerate(scenario.entities):
        for k, m in enumerate(getattr(e, "manoeuvres", None) or []):
            at = getattr(getattr(m, "when", None), "at_time", None)
            if at is not None and at >= end:
                out.append((("entities", i, "manoeuvres", k, "when", "at_time"), late.format(end)))
    for k, f in enumerate(getattr(scenario, "faults", None) or []):
        if f.at is not None and f.at >= end:
            out.append((("faults", k, "at"), late.format(end)))
    return out


def _initial_contacts(scenario: ScenarioBase) -> list[tuple[Loc, str]]:
    """A controlled entity whose box touches another at t = 0: such a run judges nothing
    (the scenario's error, not the system's). Builds the world once, as the run would.
    Contacts among background entities (generated traffic) do not touch the system."""
    import numpy as np

    from sim.core.rollout import CollisionMonitor, World

    controlled = {e.id for e in scenario.entities if e.controlled}
    if not controlled:
        return []
    world = World.build(scenario, np.random.SeedSequence(scenario.seed).spawn(4)[0])
    events, _ = CollisionMonitor(world).check(0, 0.0)
    index = {e.id: i for i, e in enumerate(scenario.entities)}
    out: list[tuple[Loc, str]] = []
    for ev in events:
        if not controlled & set(ev.entities):
            continue
        named = [index[x] for x in ev.entities if x in index]
        out.append(
            (
                ("entities", max(named)),
                f"'{ev.entities[0]}' and '{ev.entities[1]}' overlap at t = 0: place them "
                "apart (a run that starts in contact is 'invalid')",
            )
        )
    return out


def _line_key(problem: str) -> int:
    m = re.match(r"^.*?:(\d+): ", problem)
    return int(m.group(1)) if m else 0


def _substitute(value: Any, loc: Loc, params: dict, si: dict, report: Any) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, (*loc, k), params, si, report) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*loc, i), params, si, report) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _WHOLE.match(value)
    try:
        if whole:
            text = whole.group(1).strip()
            if text in params:
                return params[text]  # keep units: the field parses them with its dimension
            return _evaluate(text, params, si)
        return _PART.sub(lambda m: str(_one(m.group(1).strip(), params, si)), value)
    except expr.ExpressionError as exc:
        report(loc, str(exc))
        return value


def _one(text: str, params: dict, si: dict) -> Any:
    return params[text] if text in params else _evaluate(text, params, si)


def _evaluate(text: str, params: dict, si: dict) -> float | bool:
    """``text`` with the numeric parameters; a parameter that is not a number (text, or an
    integer no float holds) is named as such, not as unknown."""
    for k in sorted(expr.names(text) & (params.keys() - si.keys())):
        raise expr.ExpressionError(f"parameter '{k}' is {short_repr(params[k])}, not a number")
    return expr.evaluate(text, si)


def _validate(data: dict[str, Any], report: Any) -> ScenarioBase | None:
    """Validate with the model composed for the domains the file names. Entities of unknown
    domains are reported and left out, so the rest of the file is still checked."""
    from sim.domains import known_domains

    known = known_domains()
    entities = data.get("entities")
    domains: set[str] = set()
    keep: list[int] = []
    if isinstance(entities, list):
        for i, ent in enumerate(entities):
            dom = ent.get("domain") if isinstance(ent, dict) else None
            if not isinstance(dom, str):
                report(("entities", i, "domain"), f"required: one of {', '.join(known)}")
            elif dom not in known:
                report(
                    ("entities", i, "domain"),
                    f"unknown domain '{dom}'.{suggest(dom, known)} Known: {', '.join(known)}",
                )
            else:
                domains.add(dom)
                keep.append(i)
    elif entities is None:
        report(("entities",), "required: a list of entities")
    if isinstance(data.get("map"), dict):
        for d in data["map"]:
            if d not in known:
                report(
                    ("map", d),
                    f"unknown domain '{d}'.{suggest(str(d), known)} Known: {', '.join(known)}",
                )
            else:
                domains.add(d)
    if not domains:
        domains = {known[0]}  # still check the common fields
    checked = dict(data)
    if isinstance(entities, list):
        checked["entities"] = [entities[i] for i in keep]
    model = scenario_model(tuple(sorted(domains)))
    try:
        scenario = model.model_validate(checked)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if len(loc) > 1 and loc[0] == "entities" and isinstance(loc[1], int):
                loc = ("entities", keep[loc[1]], *loc[2:])  # back to the file's numbering
            where, msg = explain(model, {**err, "loc": loc})
            if len(where) > 2 and where[0] == "entities" and where[2] in domains:
                # a mixed file's entities are a union tagged by domain: pydantic names the
                # tag in the path (entities[1].road.colour), the file has no such level
                where = (*where[:2], *where[3:])
            report(where, msg)
        return None
    return scenario if len(keep) == len(entities or []) else None


def _semantic_checks(scenario: ScenarioBase) -> list[tuple[Loc, str]]:
    from metrics.registry import METRICS
    from sim.domains import get_domain

    out: list[tuple[Loc, str]] = []
    for i, crit in enumerate(scenario.criteria):
        if crit.metric not in METRICS:
            out.append(
                (
                    ("criteria", i, "metric"),
                    f"unknown metric '{crit.metric}'.{suggest(crit.metric, METRICS)} "
                    f"Known metrics: {', '.join(sorted(METRICS))}",
                )
            )
    domains = sorted(
        {e.domain for e in scenario.entities} | {k for k, v in scenario.map if v is not None}
    )
    for i, crit in enumerate(scenario.criteria):
        spec = METRICS.get(crit.metric)
        if spec is not None and spec.domains and not set(spec.domains) & set(domains):
            out.append(
                (
                    ("criteria", i, "metric"),
                    f"'{crit.metric}' is computed for {', '.join(spec.domains)} entities; this "
                    f"scenario has {', '.join(domains)}: no run could ever be judged by it",
                )
            )
    for d in domains:
        out.extend(get_domain(d).check(scenario))
    from sim.scenario.faulting import fault_problems
    from sim.scenario.sensing import sensor_problems

    out.extend(sensor_problems(scenario))
    out.extend(fault_problems(scenario))
    if not out:  # the world only builds from a consistent file
        out.extend(_initial_contacts(scenario))
    return out
