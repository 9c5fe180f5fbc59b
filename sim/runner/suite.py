"""Suites: a YAML file listing scenario files (paths or globs, relative to the suite file),
each with optional parameter variation (see variation.py), or a folder of scenario files.
Loading a suite expands it into concrete jobs; campaign.py runs them.

    name: road
    description: every shipped road scenario
    scenarios:
      - ../road/*.yaml
      - path: ../road/ncap_ccrb.yaml
        name: ncap-ccrb-6mps2-12m
        set: {target_decel: 6 m/s^2, headway: 12 m}
      - path: ../road/alks_cut_in.yaml
        grid:
          ego_speed: {range: [20 km/h, 60 km/h], step: 10 km/h}
        constraints: ["ego_speed + delta_v > 0"]
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError

from sim.errors import ScenarioError, suggest
from sim.runner.outcomes import AvoidableBy
from sim.runner.variation import MAX_RUNS, Variation, display_units, expand, repetition_seed
from sim.scenario.explain import explain
from sim.scenario.model import SAFE_NAME, StrictModel
from sim.scenario.yamlio import canonical_json, format_loc, line_of, load_with_lines

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")


class SuiteEntryModel(Variation):
    path: str = Field(description="scenario file or glob, relative to the suite file")
    name: str | None = Field(
        None,
        pattern=SAFE_NAME,
        description="family name (default: the file's stem); it names run folders, so "
        "letters, digits, '_', '-', '.' only, not starting with '.'",
    )
    seed: int | None = Field(None, ge=0, description="base seed (default: the scenario's)")
    avoidable_by: AvoidableBy | None = Field(
        None,
        description="keep only the points this reference agent passes (its outcomes cached "
        "in a file: `pground reference-outcomes SUITE`)",
    )


class SuiteModel(StrictModel):
    schema_version: Literal[1] = 1
    name: str
    description: str = ""
    scenarios: list[str | SuiteEntryModel] = Field(min_length=1)


@dataclass(frozen=True)
class Job:
    """One concrete run: a scenario file, parameter values, a seed (and, when the campaign
    sets them, an agent and the entity it drives)."""

    name: str
    family: str
    path: Path
    overrides: dict[str, Any]
    seed: int
    file_sha256: str
    agent: str | None = None
    entity: str | None = None
    role: str = "sut"  # or "reference": the same run driven by a reference agent

    @property
    def id(self) -> str:
        """Hash of what determines the result: the file's bytes, parameters, seed, agent."""
        key = canonical_json([self.file_sha256, self.overrides, self.seed, self.agent, self.entity])
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "path": str(self.path),
            "overrides": self.overrides,
            "seed": self.seed,
            "agent": self.agent,
            "entity": self.entity,
            "file_sha256": self.file_sha256,
            "id": self.id,
            "role": self.role,
        }


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    entries: list[Job]
    path: Path | None = None
    sha256: str | None = None
    reference: str | None = None  # the reference agent of the campaign, if any
    #: family -> parameter -> the unit the suite file writes it in (reports use it)
    units: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    #: set by :meth:`sample`: how many of how many runs, drawn how, and the whole suite's
    #: parameter ranges per family (a report shows both)
    sampled: dict[str, Any] | None = None

    def with_agent(self, agent: str | None, entity: str | None) -> Suite:
        jobs = [dataclasses.replace(j, agent=agent, entity=entity) for j in self.entries]
        return dataclasses.replace(self, entries=jobs)

    def with_reference(self, agent: str, entity: str | None = None) -> Suite:
        """Each run again with a reference agent (R157's careful and competent driver):
        a failure the reference could not avoid either is 'not preventable'. Scenario types
        outside the agent's declared ``scenario_tags`` get no reference run (its model says
        nothing there)."""
        from sim.runner.outcomes import in_scope

        scopes: dict = {}
        refs = [
            dataclasses.replace(
                j, name=f"{j.name}~ref", agent=agent, entity=entity, role="reference"
            )
            for j in self.entries
            if j.role == "sut" and in_scope(agent, j.path, scopes)
        ]
        return dataclasses.replace(self, entries=[*self.entries, *refs], reference=agent)

    def sample(self, k: int, seed: int) -> Suite:
        """A seeded random subset of ``k`` runs, in suite order (the same every time)."""
        if k >= len(self.entries):
            return self
        pick = np.sort(np.random.default_rng(seed).choice(len(self.entries), k, replace=False))
        ranges: dict[str, dict[str, Any]] = {}
        for j in self.entries:
            for name, v in j.overrides.items():
                if isinstance(v, int | float):
                    r = ranges.setdefault(j.family, {}).setdefault(name, {"values": set()})
                    r["values"].add(float(v))
        full = {
            fam: {
                n: {"min": min(r["values"]), "max": max(r["values"]), "distinct": len(r["values"])}
                for n, r in params.items()
            }
            for fam, params in ranges.items()
        }
        sampled = {
            "runs": k,
            "of": len(self.entries),
            "seed": seed,
            "method": "uniform random subset without replacement (numpy default_rng(seed))",
            "suite_parameters": full,
        }
        return dataclasses.replace(self, entries=[self.entries[i] for i in pick], sampled=sampled)


def _xosc_suite(path: Path) -> Suite:
    """An OpenSCENARIO variation file's runs (sim.formats.oscvariation), or one scenario."""
    from sim.formats.openscenario import load_xosc
    from sim.formats.oscvariation import is_variation, load_variation

    if not is_variation(path):
        seed = load_xosc(path).data["seed"]  # as `pground run` would use
        job = Job(path.stem, path.stem, path, {}, seed, _file_sha(path))
        return Suite(path.stem, f"the scenario {path}", [job], path, _file_sha(path))
    vs = load_variation(path)
    seed = load_xosc(vs.template).data["seed"]
    if len(vs.runs) > MAX_RUNS:
        raise ScenarioError(f"{path}: {len(vs.runs):,} runs; a suite may have at most {MAX_RUNS:,}")
    if not vs.runs:
        raise ScenarioError(f"{path}: no combination meets the template's constraints")
    family = vs.template.stem
    sha = _file_sha(vs.template)
    width = len(str(len(vs.runs)))
    jobs = [
        Job(f"{family}-{k:0{width}d}", family, vs.template, values, seed, sha)
        for k, values in enumerate(vs.runs)
    ]
    return Suite(path.stem, vs.summary, jobs, path, _file_sha(path))


def is_suite_file(path: Path) -> bool:
    """True for a folder, a file whose top level has a 'scenarios' key, or an OpenSCENARIO
    variation file."""
    if path.is_dir():
        return True
    if path.suffix.lower() == ".xosc":
        from sim.formats.oscvariation import is_variation

        return is_variation(path)
    try:
        data, _ = load_with_lines(path)
    except ScenarioError:
        return False
    return isinstance(data, dict) and "scenarios" in data


def _looks_like_scenario(path: Path) -> bool:
    try:
        data, _ = load_with_lines(path)
    except ScenarioError:
        return False
    return isinstance(data, dict) and "scenarios" not in data and "entities" in data


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_suite(path: str | Path, *, apply_outcomes: bool = True) -> Suite:
    """Load a suite file or folder and expand every entry into concrete runs; raise
    :class:`ScenarioError` with one line per problem. ``apply_outcomes=False`` keeps every
    point of entries filtered by ``avoidable_by`` (to compute their outcomes)."""

    path = Path(path)
    if path.suffix.lower() == ".xosc" and path.is_file():
        return _xosc_suite(path)
    # a single scenario file is a suite of one run, as a folder is a suite of its files
    single = not path.is_dir() and _looks_like_scenario(path)
    if path.is_dir() or single:
        files = (
            [path] if single else sorted(p for p in path.iterdir() if p.suffix in SCENARIO_SUFFIXES)
        )
        if not files:
            raise ScenarioError(f"{path}: no scenario files (*.yaml, *.yml, *.json) in folder")
        jobs = []
        for p in files:
            try:  # a broken file becomes an 'invalid' run, not a broken suite
                data, _ = load_with_lines(p)
            except ScenarioError:
                data = {}
            seed = data.get("seed", 0) if isinstance(data, dict) else 0
            jobs.append(
                Job(p.stem, p.stem, p, {}, seed if isinstance(seed, int) else 0, _file_sha(p))
            )
        if single:
            return Suite(path.stem, f"the scenario {path}", jobs, path, _file_sha(path))
        return Suite(path.name, f"all scenarios in {path}", jobs, path, None)
    data, lines = load_with_lines(path)

    def at(loc: tuple) -> str:
        ln = line_of(lines, loc)
        return f"{path}{f':{ln}' if ln else ''}: {format_loc(loc)}"

    try:
        model = SuiteModel.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            # a union of str | entry reports both branches; keep the entry's complaint
            if len(loc) > 2 and loc[0] == "scenarios" and loc[2] == "str":
                continue
            loc = tuple(p for p in loc if p != "SuiteEntryModel")
            loc, msg = explain(SuiteModel, {**err, "loc": loc})
            if err["type"] == "string_pattern_mismatch" and loc[-1] == "name":
                msg = (
                    f"{err['input']!r} cannot name run folders: letters, digits, '_', '-', "
                    "'.' only, not starting with '.'"
                )
            problems.append(f"{at(loc)}: {msg}")
        raise ScenarioError(problems[0], problems) from None
    jobs: list[Job] = []
    entry_of: list[int] = []  # the entry each job comes from (for the line of a problem)
    units: dict[str, dict[str, str]] = {}
    problems = []
    for i, item in enumerate(model.scenarios):
        spec = item if isinstance(item, SuiteEntryModel) else SuiteEntryModel(path=item)
        pattern = str(path.parent / spec.path)
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        # an entry may also name an OpenSCENARIO template: its parameters are varied as ours
        matches = [m for m in matches if Path(m).suffix in (*SCENARIO_SUFFIXES, ".xosc")]
        if not matches or not all(Path(m).is_file() for m in matches):
            problems.append(
                f"{at(('scenarios', i))}: no scenario file matches '{spec.path}' "
                "(paths are relative to the suite file)"
            )
            continue
        for m in matches:
            family = spec.name if (spec.name and len(matches) == 1) else Path(m).stem
            try:
                where = at(("scenarios", i))
                new = _entry_jobs(spec, Path(m), family, where, path, apply_outcomes)
                jobs.extend(new)
                entry_of.extend([i] * len(new))
                units[family] = display_units(spec)
            except ScenarioError as exc:
                problems.extend(exc.problems)
            if len(jobs) > MAX_RUNS:
                raise ScenarioError(
                    f"{where}: the suite reaches {len(jobs):,} runs here; a suite may have at "
                    f"most {MAX_RUNS:,}: split it or sample the space"
                )
    if problems:
        raise ScenarioError(problems[0], problems)
    seen: set[str] = set()
    for j, i in zip(jobs, entry_of, strict=True):
        if j.name in seen:
            raise ScenarioError(
                f"{at(('scenarios', i))}: run name '{j.name}' repeats an earlier entry's; give "
                "entries that share a file their own 'name'"
            )
        seen.add(j.name)
    return Suite(model.name, model.description, jobs, path, _file_sha(path), units=units)


def _entry_jobs(
    spec: SuiteEntryModel,
    file: Path,
    family: str,
    where: str,
    suite_path: Path,
    apply_outcomes: bool = True,
) -> list[Job]:
    from sim.scenario.load import load_scenario

    base = load_scenario(file)  # once per entry: its parameters and seed
    params = base.parameters
    varied = [
        *spec.set,
        *spec.grid,
        *(n for c in spec.coupled for n in c.names),
        *(spec.sample.parameters if spec.sample else {}),
    ]
    unknown = [n for n in varied if n not in params]
    if unknown:
        raise ScenarioError(
            f"{where}: {file.name} has no parameter '{unknown[0]}'."
            f"{suggest(unknown[0], params)} Parameters: {', '.join(sorted(params)) or 'none'}"
        )
    combos = expand(spec, where, suite_path.parent)
    if not combos:
        raise ScenarioError(f"{where}: the constraints leave no run")
    from sim.scenario.load import override_problem

    for name, value in {(k, v) for c in combos for k, v in c.items()}:
        msg = override_problem(params[name], value)
        if msg:
            raise ScenarioError(f"{where}: parameter {name}: {msg}")
    seed0 = base.scenario.seed if spec.seed is None else spec.seed
    single = len(combos) == 1 and spec.repetitions == 1
    sha = base.sha256
    out = []
    for k, combo in enumerate(combos):
        for r in range(spec.repetitions):
            name = (
                family
                if single
                else f"{family}-{k:05d}" + (f"-r{r}" if spec.repetitions > 1 else "")
            )
            out.append(Job(name, family, file, combo, repetition_seed(seed0, r), sha))
    if spec.avoidable_by is not None and apply_outcomes:
        from sim.runner.outcomes import keep

        points = [(j.overrides, j.seed) for j in out]
        kept = keep(spec.avoidable_by, suite_path, file, points, where)
        out = [j for j, k in zip(out, kept, strict=True) if k]
        if not out:
            raise ScenarioError(f"{where}: the reference '{spec.avoidable_by.agent}' passes no run")
    return out


def reference_points(path: str | Path) -> list[tuple[AvoidableBy, Path, list[Job]]]:
    """Entries of the suite at ``path`` filtered by ``avoidable_by``: (spec, scenario file,
    every candidate job before the filter)."""
    path = Path(path)
    data, _ = load_with_lines(path)
    model = SuiteModel.model_validate(data)
    everything = load_suite(path, apply_outcomes=False).entries
    out = []
    for item in model.scenarios:
        if isinstance(item, SuiteEntryModel) and item.avoidable_by is not None:
            file = (path.parent / item.path).resolve()
            family = item.name or file.stem
            jobs = [j for j in everything if j.path.resolve() == file and j.family == family]
            out.append((item.avoidable_by, file, jobs))
    return out
