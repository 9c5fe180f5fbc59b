"""OpenSCENARIO 1.x variation files (``ParameterValueDistribution``) as lists of runs.

Deterministic distributions expand to every combination (the Cartesian product of each
single-parameter distribution and each multi-parameter value set); ``DistributionRange``
gives lower, lower + step, ... up to the upper limit. Stochastic distributions draw
``numberOfTestRuns`` samples with numpy's ``default_rng(randomSeed)`` (or our seed when the
file gives none); with both, every deterministic combination gets every stochastic sample.
Combinations that break the template's ``ConstraintGroup``s are dropped and counted: groups
are OR'ed, the constraints inside a group AND'ed (ASAM OpenSCENARIO 1.2, "ValueConstraint-
Group": a value is valid if it fulfils all constraints of at least one group).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from sim.errors import ScenarioError
from sim.formats.openscenario import Unsupported, _Reader, convert
from sim.formats.xmlio import Invalid, Problems, number, parse

#: Steps a DistributionRange may have (a typo in stepWidth must not make a billion runs).
MAX_RANGE_STEPS = 100_000
#: Combinations a file may expand to before its constraints (a suite's largest run count).
MAX_COMBINATIONS = 1_000_000


@dataclass
class VariationSet:
    """The runs of a variation file."""

    path: Path
    template: Path
    runs: list[dict[str, Any]]  # parameter values of each run that meets the constraints
    total: int  # combinations before the constraints
    dropped: int  # combinations the template's constraints refuse
    stochastic: dict[str, Any] | None  # {"runs": n, "seed": s} when sampled

    @property
    def summary(self) -> str:
        how = (
            f"{self.stochastic['runs']} draws (seed {self.stochastic['seed']}) x "
            if self.stochastic
            else ""
        )
        return (
            f"{self.total:,} combinations ({how}deterministic), {self.dropped:,} dropped by "
            f"{self.template.name}'s constraints (groups OR'ed, constraints AND'ed, ASAM OSC "
            f"1.2), {len(self.runs):,} runs"
        )


def is_variation(path: Path) -> bool:
    try:
        return parse(path).find("ParameterValueDistribution") is not None
    except ScenarioError:
        return False


def load_variation(path: str | Path, *, seed: int = 0) -> VariationSet:
    """Expand a variation file; ScenarioError with one line per problem."""
    path = Path(path)
    root = parse(path)
    pr = Problems(path)
    pvd = root.find("ParameterValueDistribution")
    if pvd is None:
        raise ScenarioError(f"{path}:1: not a variation file (no ParameterValueDistribution)")
    sf = pvd.find("ScenarioFile")
    if sf is None or not sf.get("filepath"):
        raise ScenarioError(
            f"{path}:{pvd.sourceline}: <ParameterValueDistribution> no ScenarioFile"
        )
    template = (path.parent / sf.get("filepath")).resolve()
    if not template.is_file():
        raise ScenarioError(f"{path}:{sf.sourceline}: <ScenarioFile> {template} does not exist")
    troot = parse(template)
    decls = {d.get("name"): d for d in troot.findall("ParameterDeclarations/ParameterDeclaration")}
    axes: list[list[dict[str, Any]]] = []
    det = pvd.find("Deterministic")
    if det is not None:
        for d in det:
            if not isinstance(d.tag, str):
                continue
            try:
                axes.append(_deterministic(pr, d, decls))
            except Invalid:
                continue
    sto = pvd.find("Stochastic")
    stochastic = None
    if sto is not None:
        try:
            draws, stochastic = _stochastic(pr, sto, decls, seed)
            axes.append(draws)
        except Invalid:
            pass
    if det is None and sto is None:
        pr.add(pvd, "no Deterministic or Stochastic distribution")
    pr.raise_if_any()
    names = [n for axis in axes for n in (axis[0] if axis else {})]
    repeated = {n for n in names if names.count(n) > 1}
    if repeated:
        raise ScenarioError(f"{path}:{pvd.sourceline}: parameters varied twice: {sorted(repeated)}")
    total = math.prod(len(a) for a in axes) if axes else 1
    if total > MAX_COMBINATIONS:
        raise ScenarioError(
            f"{path}: {total:,} combinations: more than {MAX_COMBINATIONS:,} (sample the space "
            "with a Stochastic distribution instead)"
        )
    check = _Constraints(template, troot)
    runs = []
    for combo in itertools.product(*axes):
        values: dict[str, Any] = {}
        for part in combo:
            values.update(part)
        if check.holds(values):
            runs.append(values)
    return VariationSet(path, template, runs, total, total - len(runs), stochastic)


class _Constraints:
    """The template's parameters and constraints, evaluated for many value sets."""

    def __init__(self, template: Path, root: etree._Element) -> None:
        self.template, self.decls = template, root.find("ParameterDeclarations")

    def holds(self, values: dict[str, Any]) -> bool:
        rd = _Reader(self.template, values)
        decls = rd.declare(self.decls)
        if rd.pr.lines:  # a value the declaration cannot take (or a broken expression)
            raise ScenarioError(rd.pr.lines[0], rd.pr.lines)
        rd.constraints(decls)
        return not rd.pr.lines


def _typed(pr: Problems, el: etree._Element, name: str, raw: str, decls: dict) -> Any:
    d = decls.get(name)
    if d is None:
        known = ", ".join(sorted(decls))
        pr.add(el, f"parameter '{name}' is not declared in the scenario ({known})")
        raise Unsupported(name)
    try:
        return convert(raw, d.get("parameterType", "double"))
    except ValueError as exc:
        pr.add(el, f"{name}='{raw}': {exc}")
        raise Unsupported(name) from None


def _range(pr: Problems, el: etree._Element | None, parent: etree._Element) -> tuple[float, float]:
    if el is None:
        pr.add(parent, "no <Range>")
        raise Unsupported("range")
    lo, hi = number(pr, el, "lowerLimit"), number(pr, el, "upperLimit")
    if lo > hi:
        pr.add(el, f"lowerLimit {lo:g} exceeds upperLimit {hi:g}")
        raise Unsupported("range")
    return lo, hi


def _deterministic(pr: Problems, d: etree._Element, decls: dict) -> list[dict[str, Any]]:
    if d.tag == "DeterministicSingleParameterDistribution":
        name = d.get("parameterName", "")
        kids = [c for c in d if isinstance(c.tag, str)]
        if len(kids) != 1:
            pr.add(d, "expected one DistributionSet, DistributionRange")
            raise Unsupported(name)
        k = kids[0]
        if k.tag == "DistributionSet":
            elems = k.findall("Element")
            if not elems:
                pr.add(k, "an empty DistributionSet")
                raise Unsupported(name)
            return [{name: _typed(pr, e, name, e.get("value", ""), decls)} for e in elems]
        if k.tag == "DistributionRange":
            step = number(pr, k, "stepWidth")
            lo, hi = _range(pr, k.find("Range"), k)
            if step <= 0:
                pr.add(k, f"stepWidth={step:g}: must be positive")
                raise Unsupported(name)
            n = math.floor((hi - lo) / step + 1e-9)
            if n + 1 > MAX_RANGE_STEPS:
                pr.add(k, f"{n + 1:,} steps: more than {MAX_RANGE_STEPS:,}")
                raise Unsupported(name)
            # lower + i·step, rounded to the step's decimals (0.1·3 is 0.3, not 0.30000000000000004)
            digits = max(0, -math.floor(math.log10(step)) + 6)
            return [
                {name: _typed(pr, k, name, repr(round(lo + i * step, digits)), decls)}
                for i in range(n + 1)
            ]
        pr.add(k, f"{k.tag} is not supported (DistributionSet, DistributionRange)")
        raise Unsupported(name)
    if d.tag == "DeterministicMultiParameterDistribution":
        vsd = d.find("ValueSetDistribution")
        if vsd is None:
            pr.add(d, "expected a ValueSetDistribution")
            raise Unsupported(d.tag)
        out = []
        for pvs in vsd.findall("ParameterValueSet"):
            values = {}
            for pa in pvs.findall("ParameterAssignment"):
                name = pa.get("parameterRef", "")
                values[name] = _typed(pr, pa, name, pa.get("value", ""), decls)
            out.append(values)
        if not out:
            pr.add(vsd, "an empty ValueSetDistribution")
            raise Unsupported(d.tag)
        if len({tuple(sorted(v)) for v in out}) != 1:
            pr.add(vsd, "every ParameterValueSet must assign the same parameters")
            raise Unsupported(d.tag)
        return out
    pr.add(d, f"{d.tag} is not a deterministic distribution")
    raise Unsupported(d.tag)


def _stochastic(
    pr: Problems, sto: etree._Element, decls: dict, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    n = int(number(pr, sto, "numberOfTestRuns"))
    if not 1 <= n <= 1_000_000:
        pr.add(sto, f"numberOfTestRuns={n}: 1 to 1,000,000")
        raise Unsupported("n")
    file_seed = sto.get("randomSeed")
    used = int(number(pr, sto, "randomSeed")) if file_seed is not None else seed
    rng = np.random.default_rng(used)
    columns: dict[str, list[Any]] = {}
    for d in sto.findall("StochasticDistribution"):
        name = d.get("parameterName", "")
        kids = [c for c in d if isinstance(c.tag, str)]
        if len(kids) != 1:
            pr.add(d, "expected one distribution")
            raise Unsupported(name)
        raw = _draw(pr, kids[0], rng, n)
        columns[name] = [
            _typed(pr, d, name, repr(float(v)) if isinstance(v, float) else v, decls) for v in raw
        ]
    if not columns:
        pr.add(sto, "no StochasticDistribution")
        raise Unsupported("stochastic")
    draws = [{k: col[i] for k, col in columns.items()} for i in range(n)]
    return draws, {"runs": n, "seed": used}


def _weighted(
    pr: Problems, k: etree._Element, items: list, rng: np.random.Generator, n: int
) -> np.ndarray:
    """``n`` indices into ``items`` (histogram bins, set elements) drawn by their weights."""
    if not items:
        pr.add(k, f"an empty {k.tag}")
        raise Unsupported(k.tag)
    w = np.array([number(pr, e, "weight") for e in items])
    if (w < 0).any() or w.sum() <= 0:
        pr.add(k, "weights must be non-negative and not all zero")
        raise Unsupported(k.tag)
    return rng.choice(len(items), size=n, p=w / w.sum())


def _draw(pr: Problems, k: etree._Element, rng: np.random.Generator, n: int) -> list[Any]:
    """``n`` values of one stochastic distribution; a Range truncates by redrawing."""
    rng_el = k.find("Range")
    lo, hi = _range(pr, rng_el, k) if rng_el is not None else (-math.inf, math.inf)

    def truncated(draw) -> list[float]:
        out: list[float] = []
        for _ in range(1000):
            x = draw(max(n - len(out), 1) * 2)
            out.extend(float(v) for v in x[(x >= lo) & (x <= hi)])
            if len(out) >= n:
                return out[:n]
        pr.add(k, "its Range holds (almost) none of the distribution: nothing could be drawn")
        raise Unsupported(k.tag)

    if k.tag == "UniformDistribution":
        if rng_el is None:
            pr.add(k, "no <Range>")
            raise Unsupported(k.tag)
        return [float(v) for v in rng.uniform(lo, hi, n)]
    if k.tag == "NormalDistribution":
        mean, var = number(pr, k, "expectedValue"), number(pr, k, "variance")
        if var < 0:
            pr.add(k, "a negative variance")
            raise Unsupported(k.tag)
        return truncated(lambda m: rng.normal(mean, math.sqrt(var), m))
    if k.tag == "LogNormalDistribution":
        # expectedValue and variance of the log-normal variable itself
        mean, var = number(pr, k, "expectedValue"), number(pr, k, "variance")
        if mean <= 0 or var < 0:
            pr.add(k, "expectedValue must be positive and variance not negative")
            raise Unsupported(k.tag)
        s2 = math.log1p(var / mean**2)
        mu = math.log(mean) - s2 / 2
        return truncated(lambda m: rng.lognormal(mu, math.sqrt(s2), m))
    if k.tag == "PoissonDistribution":
        lam = number(pr, k, "expectedValue")
        if lam < 0:
            pr.add(k, "a negative expectedValue")
            raise Unsupported(k.tag)
        return truncated(lambda m: rng.poisson(lam, m).astype(float))
    if k.tag == "Histogram":
        bins = k.findall("HistogramBin")
        ranges = [_range(pr, b.find("Range"), b) for b in bins]
        pick = _weighted(pr, k, bins, rng, n)
        u = rng.uniform(0.0, 1.0, n)
        return [
            ranges[b][0] + ui * (ranges[b][1] - ranges[b][0]) for b, ui in zip(pick, u, strict=True)
        ]
    if k.tag == "ProbabilityDistributionSet":
        elems = k.findall("Element")
        return [elems[i].get("value", "") for i in _weighted(pr, k, elems, rng, n)]
    pr.add(k, f"{k.tag} is not supported (Uniform, Normal, LogNormal, Poisson, Histogram, "
           "ProbabilityDistributionSet)")  # fmt: skip
    raise Unsupported(k.tag)
