"""`pground search`: seeded falsification over a suite entry's varied parameters.

The space is what the suite entry declares: each ``grid`` range and ``uniform`` (or bounded
``normal``) sample is a continuous interval, each ``values`` list, ``choice`` and ``coupled``
set a discrete choice; ``set`` values are fixed and ``constraints`` exclude points (they are
never run). A method proposes a *wave* of candidates in the unit cube; each becomes an
ordinary job of a campaign in ``--out`` (same run folders, store, report and verify); their
results steer the next wave. Everything random comes from ``--seed``, and a method's state is
rebuilt from the stored results in order, so ``--resume`` after an interruption proposes the
same candidates and ends with the same results as an uninterrupted search, on any number of
workers.

Objective (minimised): the robustness of a run, the smallest normalised signed margin over
its criteria, ``min_k margin_k / scale_k`` with the criterion's ``scale`` where the scenario
states one, else ``max(|threshold_k|, 1)`` (a margin in the criterion's own units, scaled so
that criteria of different units compare; fixed, so a method's comparisons never change as
data arrive); < 0 exactly when a criterion fails. An
equality criterion that holds is left out (its margin is 0 at every pass). With
``--criterion ID`` only that criterion counts. Runs that end in error or are invalid have no
robustness (+inf: the search does not steer towards them) and are reported apart. With
``--objective preventable`` each candidate also runs with the ``--reference`` agent and only
points the reference passes count (elsewhere +inf): the search looks for failures a careful
driver would have avoided.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.errors import UsageError
from sim.runner.suite import Job, Suite, SuiteEntryModel, SuiteModel, load_suite
from sim.runner.variation import (
    Choice,
    Empirical,
    LogNormal,
    Normal,
    RangeAxis,
    Uniform,
    ValuesAxis,
    empirical_table,
    si,
)
from sim.scenario import expr
from sim.scenario.yamlio import load_with_lines

METHODS = ("random", "halton", "ce", "de", "ga", "cmaes", "bo")
#: Cross-entropy: the elite share, the smoothing of the fitted distribution, its floor (a
#: wide floor keeps it from settling early: measured on a 0.5 % corner of the unit square,
#: 48.5 evaluations to the first hit, median of 20 seeds, against 165 for random search).
CE_ELITE, CE_SMOOTH, CE_MIN_STD = 0.1, 0.5, 0.1
#: Differential evolution (rand/1/bin): differential weight and crossover rate (Storn &
#: Price 1997's common setting).
DE_F, DE_CR = 0.7, 0.9
#: Genetic algorithm: tournament size, BLX-α blend (Eshelman & Schaffer 1993's BLX-0.5),
#: mutation scale (a share of the range).
GA_TOURNAMENT, GA_ALPHA, GA_SIGMA = 2, 0.5, 0.1
#: Bayesian optimisation: candidate pool per wave, least spacing of a wave's picks.
BO_POOL, BO_SPACING = 2000, 0.05


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: an SI interval, or a list of choices (each a dict of values:
    one parameter, or a coupled row of several)."""

    name: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple[dict[str, Any], ...] = ()

    def value(self, u: float) -> dict[str, Any]:
        if self.choices:
            return dict(self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)])
        return {self.name: float(f"{self.low + u * (self.high - self.low):.9g}")}


@dataclass(frozen=True)
class Space:
    """The searched space of one suite entry."""

    suite: Suite  # the suite loaded (validated), for names, units and the seed
    family: str
    path: Path
    file_sha256: str
    seed: int
    fixed: dict[str, Any]
    dims: tuple[Dimension, ...]
    constraints: tuple[str, ...]

    def params(self, u: np.ndarray) -> dict[str, Any]:
        out = dict(self.fixed)
        for d, x in zip(self.dims, u, strict=True):
            out.update(d.value(float(x)))
        return out

    def allowed(self, params: dict[str, Any]) -> bool:
        numbers = {k: v for k, v in params.items() if isinstance(v, float)}
        return all(expr.evaluate(text, numbers) for text in self.constraints)


def search_space(path: str | Path, family: str | None = None) -> Space:
    """The space of the entry of the suite at ``path`` whose family is ``family`` (the one
    entry that varies something, when not given)."""
    path = Path(path)
    suite = load_suite(path)  # every problem of the file is reported the usual way
    data, _ = load_with_lines(path)
    model = SuiteModel.model_validate(data)
    found = []
    for item in model.scenarios:
        if not isinstance(item, SuiteEntryModel):
            continue
        fam = item.name or Path(item.path).stem
        if item.grid or item.coupled or item.sample:
            found.append((fam, item))
    if not found:
        raise UsageError(f"{path}: no entry varies a parameter (grid, coupled or sample)")
    if family is None and len(found) > 1:
        names = ", ".join(f for f, _ in found)
        raise UsageError(f"{path}: several entries vary parameters; choose one: --family {names}")
    pick = [(f, e) for f, e in found if family is None or f == family]
    if not pick:
        names = ", ".join(f for f, _ in found)
        raise UsageError(f"{path}: no varied entry '{family}'; varied entries: {names}")
    fam, entry = pick[0]
    job = next(j for j in suite.entries if j.family == fam)
    dims: list[Dimension] = []
    for name, axis in entry.grid.items():
        if isinstance(axis, RangeAxis):
            lo, hi = (float(si(v)) for v in axis.range)
            dims.append(Dimension(name, lo, hi))
        elif isinstance(axis, ValuesAxis):
            dims.append(Dimension(name, choices=tuple({name: v} for v in axis.values_si())))
    for c in entry.coupled:
        rows = tuple(dict(zip(c.names, (si(v) for v in row), strict=True)) for row in c.values)
        dims.append(Dimension("+".join(c.names), choices=rows))
    for name, dist in (entry.sample.parameters if entry.sample else {}).items():
        dims.append(_sampled(path, name, dist))
    fixed = {k: si(v) for k, v in entry.set.items()}
    seed = entry.seed if entry.seed is not None else job.seed
    return Space(
        suite, fam, job.path, job.file_sha256, seed, fixed, tuple(dims), tuple(entry.constraints)
    )


def _sampled(path: Path, name: str, dist: Any) -> Dimension:
    if isinstance(dist, Uniform):
        lo, hi = (float(si(v)) for v in dist.uniform)
        return Dimension(name, lo, hi)
    if isinstance(dist, Normal) and dist.normal.min is not None and dist.normal.max is not None:
        return Dimension(name, float(si(dist.normal.min)), float(si(dist.normal.max)))
    if isinstance(dist, Choice):
        values = list(dist.choice)
        return Dimension(name, choices=tuple({name: si(v)} for v in values))
    if isinstance(dist, Empirical):  # the range the observations span
        values, _ = empirical_table(dist.empirical, path.parent)
        return Dimension(name, float(values[0]), float(values[-1]))
    kind = "log-normal" if isinstance(dist, LogNormal) else "unbounded normal"
    raise UsageError(
        f"{path}: {name}: a {kind} parameter has no bounds to search; give it a range "
        "(grid range, uniform, or a normal with min and max)"
    )


# ---------------------------------------------------------------------------- objective
def robustness(criteria: Sequence[dict[str, Any]] | None, criterion: str | None = None) -> float:
    """The smallest normalised margin (module docstring); +inf without judged criteria. An
    equality criterion (``collisions == 0``) counts only when it fails: when it holds its
    margin is 0 wherever it holds, which would flatten the objective to 0 at every pass."""
    best = math.inf
    for c in criteria or []:
        if (
            criterion is not None
            and c.get("requirement") != criterion
            and c.get("metric") != criterion
        ):
            continue
        margin = c.get("margin")
        if margin is None or (isinstance(margin, float) and math.isnan(margin)):
            continue
        if c.get("op") == "==" and c.get("passed"):
            continue  # an equality that holds is 0 from failing everywhere: no gradation
        scale = c.get("scale") or max(abs(float(c.get("expected") or 0.0)), 1.0)
        best = min(best, float(margin) / scale)
    return best


# ---------------------------------------------------------------------------- methods
class Method:
    """Proposes waves of points in [0, 1]^d from the history of (point, robustness)."""

    def __init__(self, d: int, wave: int, rng: np.random.Generator) -> None:
        self.d, self.wave, self.rng = d, wave, rng

    def propose(self, n: int) -> np.ndarray:
        raise NotImplementedError

    def tell(self, u: np.ndarray, f: np.ndarray) -> None:
        """The results of the last wave (rows of ``u``, robustness ``f``)."""


class HistoryMethod(Method):
    """A method that steers by every run so far (``seen_u``, ``seen_f``)."""

    def __init__(self, d: int, wave: int, rng: np.random.Generator) -> None:
        super().__init__(d, wave, rng)
        self.seen_u: list[np.ndarray] = []
        self.seen_f: list[float] = []

    def tell(self, u: np.ndarray, f: np.ndarray) -> None:
        self.seen_u.extend(u)
        self.seen_f.extend(f.tolist())


class RandomSearch(Method):
    def propose(self, n: int) -> np.ndarray:
        return self.rng.random((n, self.d))


class HaltonSearch(Method):
    """Scrambled Halton points (scipy.stats.qmc), seeded: even coverage, no feedback."""

    def __init__(self, d: int, wave: int, rng: np.random.Generator) -> None:
        from scipy.stats import qmc

        super().__init__(d, wave, rng)
        self.engine = qmc.Halton(d=d, scramble=True, seed=rng)

    def propose(self, n: int) -> np.ndarray:
        return self.engine.random(n)


class CrossEntropy(HistoryMethod):
    """Cross-entropy method (Rubinstein 1999, as VerifAI's CE sampler uses it for
    falsification): a Gaussian per dimension, refitted after each wave to the elite
    (the lowest-robustness ``CE_ELITE`` share of everything evaluated), smoothed."""

    def __init__(self, d: int, wave: int, rng: np.random.Generator) -> None:
        super().__init__(d, wave, rng)
        self.mean = np.full(d, 0.5)
        self.std = np.full(d, 0.5)

    def propose(self, n: int) -> np.ndarray:
        if not self.seen_f:
            return self.rng.random((n, self.d))
        return np.clip(self.mean + self.std * self.rng.standard_normal((n, self.d)), 0.0, 1.0)

    def tell(self, u: np.ndarray, f: np.ndarray) -> None:
        super().tell(u, f)
        f_all = np.array(self.seen_f)
        finite = np.flatnonzero(np.isfinite(f_all))
        if finite.size == 0:
            return
        k = max(2, int(CE_ELITE * finite.size))
        elite = np.array(self.seen_u)[finite[np.argsort(f_all[finite], kind="stable")[:k]]]
        self.mean = CE_SMOOTH * elite.mean(axis=0) + (1 - CE_SMOOTH) * self.mean
        self.std = np.maximum(
            CE_SMOOTH * elite.std(axis=0) + (1 - CE_SMOOTH) * self.std, CE_MIN_STD
        )


class DifferentialEvolution(Method):
    """Differential evolution, rand/1/bin (Storn & Price 1997) with a population of one
    wave: each wave is a trial vector per member; a trial replaces its member when its
    robustness is not worse."""

    def __init__(self, d: int, wave: int, rng: np.random.Generator) -> None:
        super().__init__(d, wave, rng)
        self.pop: np.ndarray | None = None
        self.fit: np.ndarray | None = None
        self.trial_of: np.ndarray | None = None

    def propose(self, n: int) -> np.ndarray:
        if self.pop is None:
            return self.rng.random((n, self.d))
        size = len(self.pop)
        members = np.arange(n) % size
        trials = np.empty((n, self.d))
        for row, i in enumerate(members):
            others = self.rng.choice([j for j in range(size) if j != i], 3, replace=size <= 3)
            a, b, c = self.pop[others]
            mutant = np.clip(a + DE_F * (b - c), 0.0, 1.0)
            cross = self.rng.random(self.d) < DE_CR
            cross[self.rng.integers(self.d)] = True
            trials[row] = np.where(cross, mutant, self.pop[i])
        self.trial_of = members
        return trials

    def tell(self, u: np.ndarray, f: np.ndarray) -> None:
        f = np.where(np.isfinite(f), f, np.inf)
        if self.pop is None or self.trial_of is None:
            self.pop, self.fit = u.copy(), f.copy()
            return
        assert self.fit is not None
        for row, i in enumerate(self.trial_of[: len(u)]):
            if f[row] <= self.fit[i]:
                self.pop[i], self.fit[i] = u[row], f[row]


class GeneticAlgorithm(HistoryMethod):
    """A real-coded genetic algorithm: parents by binary tournament on robustness among
    everything run so far, BLX-0.5 blend crossover (Eshelman & Schaffer 1993), Gaussian
    mutation of each coordinate with probability 1/d (σ 0.1 of the range), clipped to the
    cube; a wave is a generation."""

    def propose(self, n: int) -> np.ndarray:
        if not self.seen_f:
            return self.rng.random((n, self.d))
        u = np.array(self.seen_u)
        f = np.where(np.isfinite(self.seen_f), self.seen_f, np.inf)
        out: list[np.ndarray] = []  # the parents are every run so far: elitism is implicit
        while len(out) < n:
            pick = self.rng.integers(len(u), size=(2, GA_TOURNAMENT))
            a, b = (u[row[np.argmin(f[row])]] for row in pick)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            span = hi - lo
            child = self.rng.uniform(lo - GA_ALPHA * span, hi + GA_ALPHA * span)
            flip = self.rng.random(self.d) < 1.0 / self.d
            child = child + flip * GA_SIGMA * self.rng.standard_normal(self.d)
            out.append(np.clip(child, 0.0, 1.0))
        return np.array(out)


class CMAES(Method):
    """CMA-ES (Hansen 2016) from the ``cmaes`` package, bounded to the unit cube: a
    generation is a wave (the population size); its seed is drawn from the search seed."""

    def __init__(self, d: int, wave: int, rng: np.random.Generator) -> None:
        from cmaes import CMA

        super().__init__(d, wave, rng)
        if d < 2:
            raise UsageError("--method cmaes needs at least two searched parameters")
        self.cma = CMA(
            mean=np.full(d, 0.5),
            sigma=0.3,
            bounds=np.tile([0.0, 1.0], (d, 1)),
            seed=int(rng.integers(2**31 - 1)),
            population_size=wave,
        )
        self.asked = np.empty((0, d))

    def propose(self, n: int) -> np.ndarray:
        self.asked = np.array([self.cma.ask() for _ in range(n)])
        return self.asked.copy()

    def tell(self, u: np.ndarray, f: np.ndarray) -> None:
        if len(u) != self.cma.population_size:
            return  # the last, short wave: the search ends after it anyway
        finite = f[np.isfinite(f)]
        worst = float(finite.max()) + 1.0 if finite.size else 1.0
        values = np.where(np.isfinite(f), f, worst)  # no result: worse than every result
        self.cma.tell(list(zip(self.asked, values.tolist(), strict=True)))


class BayesianOptimisation(HistoryMethod):
    """Bayesian optimisation with a Gaussian-process surrogate (sim/runner/surrogate.py).
    After a random first wave, each wave picks from 2,000 seeded random points, alternately
    the lowest lower confidence bound μ − 2σ (exploit: the most likely failures) and the
    largest straddle 1.96σ − |μ| (explore the boundary, Bryan et al. 2005), skipping points
    within ``BO_SPACING`` of those already picked in the wave."""

    def propose(self, n: int) -> np.ndarray:
        from sim.runner.surrogate import CLIP, GaussianProcess

        pool = self.rng.random((BO_POOL, self.d))
        if len(self.seen_f) < 3:
            return pool[:n]
        f = np.array(self.seen_f)  # +inf (no margin: error, invalid, unavoidable) as a pass
        gp = GaussianProcess(np.array(self.seen_u), np.where(np.isfinite(f), f, CLIP[1]))
        mean, std = gp.predict(pool)
        scores = [mean - 2.0 * std, -(1.96 * std - np.abs(mean))]  # both minimised
        picked: list[int] = []
        free = np.ones(len(pool), dtype=bool)
        for k in range(n):
            score = np.where(free, scores[k % 2], np.inf)
            i = int(np.argmin(score))
            picked.append(i)
            free &= np.abs(pool - pool[i]).max(axis=1) > BO_SPACING
            if not free.any():
                free[:] = True
        return pool[picked]


MAKERS: dict[str, Callable[[int, int, np.random.Generator], Method]] = {
    "random": RandomSearch,
    "halton": HaltonSearch,
    "ce": CrossEntropy,
    "de": DifferentialEvolution,
    "ga": GeneticAlgorithm,
    "cmaes": CMAES,
    "bo": BayesianOptimisation,
}


# ---------------------------------------------------------------------------- the loop
@dataclass
class Candidate:
    index: int
    wave: int
    u: list[float]
    params: dict[str, Any]
    job: Job | None  # None: excluded by a constraint (never run)
    robustness: float = math.inf
    verdict: str | None = None
    row: dict[str, Any] | None = None
    reference: Job | None = None  # the same point driven by the reference agent
    reference_verdict: str | None = None


@dataclass
class SearchResult:
    space: Space
    method: str
    seed: int
    candidates: list[Candidate]
    out: Path
    summary: Any = None
    counterexamples: list[Path] = dataclasses.field(default_factory=list)
    objective: str = "margin"

    @property
    def failures(self) -> list[Candidate]:
        """Failures of the system under test; with the preventable objective only those
        the reference agent did not fail too."""
        return [
            c
            for c in self.candidates
            if c.verdict == "fail"
            and (self.objective != "preventable" or c.reference_verdict == "pass")
        ]

    @property
    def first_failure(self) -> int | None:
        """1-based count of runs up to the first failure (None: none found)."""
        ran = [c for c in self.candidates if c.job is not None]
        fails = {id(c) for c in self.failures}
        return next((k + 1 for k, c in enumerate(ran) if id(c) in fails), None)


def run_search(
    path: str | Path,
    out: Path,
    *,
    method: str = "ce",
    budget: int = 100,
    wave: int | None = None,
    seed: int = 0,
    family: str | None = None,
    criterion: str | None = None,
    agent: str | None = None,
    entity: str | None = None,
    reference: str | None = None,
    objective: str = "margin",
    campaign: Callable[..., Any],
    resume: bool = False,
    force: bool = False,
) -> SearchResult:
    """Search the entry's space with ``budget`` runs of the system under test in waves of
    ``wave`` (default: 10, at least 2 per dimension). With ``reference`` each candidate
    also runs with that agent (not counted in the budget); the ``preventable`` objective
    then steers only by the points the reference passes. ``campaign(suite, resume=...)``
    runs a suite's jobs into ``out`` (the CLI's ``run_campaign`` and its options)."""
    check_search_args(method, budget, objective, reference)
    space = search_space(path, family)
    if reference is not None:
        from sim.runner.outcomes import in_scope

        if not in_scope(reference, space.path):
            raise UsageError(
                f"{reference} has no model of {space.path.name} (its scenario tags); "
                "choose a reference for this kind of scenario"
            )
    d = len(space.dims)
    wave = wave or max(10, 2 * d)
    if wave < 2:
        raise UsageError(f"--wave {wave}: must be at least 2")
    rng = np.random.default_rng(seed)
    searcher = MAKERS[method](d, wave, rng)
    candidates: list[Candidate] = []
    jobs: list[Job] = []
    refs: list[Job] = []
    waves = 0
    summary = None
    first = True
    while sum(c.job is not None for c in candidates) < budget:
        n = min(wave, budget - sum(c.job is not None for c in candidates))
        u = searcher.propose(n)
        new = []
        for row in u:
            params = space.params(row)
            job = None
            if space.allowed(params):
                k = len(jobs)
                job = Job(
                    f"{space.family}-s{k:05d}",
                    space.family,
                    space.path,
                    params,
                    space.seed,
                    space.file_sha256,
                    agent,
                    entity,
                )
                jobs.append(job)
            cand = Candidate(len(candidates), waves, row.tolist(), params, job)
            if job is not None and reference is not None:
                cand.reference = dataclasses.replace(
                    job, name=f"{job.name}~ref", agent=reference, entity=None, role="reference"
                )
                refs.append(cand.reference)
            new.append(cand)
        candidates.extend(new)
        suite = dataclasses.replace(
            space.suite, entries=[*jobs, *refs], sampled=None, reference=reference
        )
        summary = campaign(suite, resume=resume or not first, force=force and first)
        first = False
        rows = job_rows(out)
        f = []
        for c in new:
            if c.job is not None and c.job.id in rows:
                c.row = rows[c.job.id]
                c.verdict = c.row["verdict"]
                c.robustness = (
                    robustness(c.row.get("criteria"), criterion)
                    if c.verdict in ("pass", "fail")
                    else math.inf
                )
            if c.reference is not None and c.reference.id in rows:
                c.reference_verdict = rows[c.reference.id]["verdict"]
            unavoidable = objective == "preventable" and c.reference_verdict != "pass"
            f.append(math.inf if unavoidable else c.robustness)
        if summary is not None and getattr(summary, "interrupted", False):
            break
        searcher.tell(u, np.array(f))
        waves += 1
        if all(c.job is None for c in new) and waves > 50:
            raise UsageError(f"{path}: the constraints exclude every candidate the search tries")
    result = SearchResult(space, method, seed, candidates, out, summary, objective=objective)
    result.counterexamples = write_counterexamples(result)
    _write_record(result, budget, wave, criterion)
    return result


def job_rows(out: Path) -> dict[str, dict[str, Any]]:
    """The stored rows of the campaign in ``out``, by job id."""
    from sim.runner.store import ResultsStore

    store = ResultsStore(out / "results.sqlite")
    try:
        return {r["job_id"]: r for r in store.rows()}
    finally:
        store.close()


# ---------------------------------------------------------------------------- outputs
MAX_COUNTEREXAMPLES = 10
#: Failures closer than this (largest coordinate difference in the unit cube) are one region.
MODE_LINK = 0.25


def failed_criteria(row: dict[str, Any]) -> list[str]:
    """The criteria a stored run failed (requirement id, else metric), sorted."""
    return sorted(
        str(k.get("requirement") or k.get("metric"))
        for k in row.get("criteria") or []
        if not k.get("passed")
    )


def mode_key(row: dict[str, Any]) -> tuple[str, str]:
    """How a failed run is grouped: a run a terminating event ended by that event
    (('', 'terminated: collision'): the criteria it fails besides follow from it, a collision
    fails the TTC and progress criteria too), any other by the criteria it failed and how it
    ended (('min_distance_m', 'truncated'))."""
    reason = str(row.get("reason") or "")
    ended = row.get("status") or "-"
    if ended == "terminated" and reason:
        return "", f"terminated: {reason.split(' at ')[0]}"
    return ", ".join(failed_criteria(row)), ended


def failure_modes(result: SearchResult) -> list[dict[str, Any]]:
    """Failures grouped by how they failed (``mode_key``: the terminating event, else the
    failed criteria and how the run ended) and where (single-linkage
    regions in the unit cube, members within ``MODE_LINK`` in every coordinate chained);
    per mode its size, the representative nearest the nominal parameters (the scenario
    file's values, else the centre of the space) and its extent per parameter."""
    nominal = _nominal(result.space)
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for c in result.failures:
        assert c.row is not None
        groups.setdefault(mode_key(c.row), []).append(c)
    modes = []
    for (_, ended), members in sorted(groups.items()):
        for region in _regions(members):
            failed = ", ".join(sorted({k for c in region for k in failed_criteria(c.row or {})}))
            u = np.array([c.u for c in region])
            rep = region[int(np.argmin(np.abs(u - nominal).max(axis=1)))]
            extent = {}
            for name in sorted({k for c in region for k in c.params}):
                values = [c.params[name] for c in region if isinstance(c.params[name], float)]
                if values:
                    extent[name] = [min(values), max(values)]
            modes.append(
                {
                    "failed": failed,
                    "ended": ended,
                    "runs": len(region),
                    "representative": rep.job.name if rep.job else None,
                    "params": rep.params,
                    "robustness": rep.robustness,
                    "extent": extent,
                }
            )
    return sorted(modes, key=lambda m: (-m["runs"], m["failed"], m["ended"]))


BOUNDARY_GRID = 30


def boundary(result: SearchResult) -> dict[str, Any] | None:
    """A pass/fail classifier over the space: Gaussian-process regression on the verdicts
    as ±1 (least-squares classification, Rasmussen & Williams 2006 §6.5: fail where the
    mean is < 0; the length scale that classifies the runs best when each is left out),
    its leave-one-out accuracy against the runs' verdicts, and its map over the two most
    influential parameters (the largest swing of the mean along each axis through the
    nominal point; the others held there). Labels, not robustness: the margins jump at the
    boundary (a collision is −1, a near miss −0.3), which a smooth fit of them blurs. None
    with fewer than 5 judged runs or only one verdict."""
    fails = {id(c) for c in result.failures}
    judged = [c for c in result.candidates if c.verdict in ("pass", "fail")]
    truth = np.array([id(c) in fails for c in judged])
    if len(judged) < 5 or truth.all() or not truth.any():
        return None
    gp, accuracy = classifier(np.array([c.u for c in judged]), truth)
    space = result.space
    nominal = _nominal(space)
    sweep = np.linspace(0.0, 1.0, 21)
    swing = []
    for k in range(len(space.dims)):
        line = np.tile(nominal, (len(sweep), 1))
        line[:, k] = sweep
        mean, _ = gp.predict(line)
        swing.append(float(np.ptp(mean)))
    axes = sorted(np.argsort(swing)[::-1][: min(2, len(space.dims))].tolist())
    grid = None
    if len(axes) == 2:
        g = (np.arange(BOUNDARY_GRID) + 0.5) / BOUNDARY_GRID
        a, b = np.meshgrid(g, g)  # rows: second axis, columns: first
        pts = np.tile(nominal, (a.size, 1))
        pts[:, axes[0]], pts[:, axes[1]] = a.ravel(), b.ravel()
        mean, _ = gp.predict(pts)
        grid = (mean < 0).reshape(a.shape).astype(int).tolist()
    held = {d.name: d.value(float(x)) for d, x in zip(space.dims, nominal, strict=True)}
    return {
        "method": "Gaussian-process least-squares classification of the verdicts as ±1 "
        "(squared-exponential kernel, a length scale per parameter chosen by the "
        "leave-one-out accuracy); fail where the mean is below 0",
        "runs": len(judged),
        "length_scale": dict(
            zip((dd.name for dd in space.dims), np.ravel(gp.length).tolist(), strict=True)
        ),
        "accuracy_loo": accuracy,
        "axes": [space.dims[k].name for k in axes],
        "swing": {space.dims[k].name: swing[k] for k in range(len(space.dims))},
        "grid": grid,  # 1 = predicted fail; rows follow axes[1], columns axes[0]
        "held_at": {k: v for part in held.values() for k, v in part.items()},
        "points": [
            {"u": [c.u[k] for k in axes], "fail": bool(t)}
            for c, t in zip(judged, truth, strict=True)
        ],
        "ranges": [[space.dims[k].low, space.dims[k].high] for k in axes],
    }


def classifier(u: np.ndarray, fail: np.ndarray) -> tuple[Any, float]:
    """The boundary's classifier fitted to points ``u`` (unit cube) with verdicts ``fail``:
    a GaussianProcess on the labels ±1 (fail where its mean < 0) and its leave-one-out
    accuracy. Length scales by that accuracy (ties: the smaller leave-one-out squared
    error): first one for every dimension, then each dimension's in turn over two sweeps
    (automatic relevance determination: a parameter the verdict does not depend on gets a
    long scale, so the others are resolved finely)."""
    from sim.runner.surrogate import ARD_LENGTHS, LENGTHS, GaussianProcess

    labels = np.where(fail, -1.0, 1.0)

    def fit(length: np.ndarray) -> tuple[tuple[float, float], Any]:
        gp = GaussianProcess(u, labels, length)
        mean = gp.loo()[0]
        return (float(((mean < 0) == fail).mean()), -float(((mean - labels) ** 2).mean())), gp

    d = u.shape[1]
    best_score, best_gp = max((fit(np.full(d, ell)) for ell in LENGTHS), key=lambda f: f[0])
    lengths = np.array(best_gp.length, dtype=float)
    for _ in range(2 if d > 1 else 0):
        for k in range(d):
            for ell in ARD_LENGTHS:
                trial = lengths.copy()
                trial[k] = ell
                score, gp = fit(trial)
                if score > best_score:
                    best_score, best_gp, lengths = score, gp, trial
    return best_gp, best_score[0]


def _regions(members: list[Candidate]) -> list[list[Candidate]]:
    """Single-linkage clusters (Chebyshev distance in the unit cube <= MODE_LINK)."""
    from sim.runner.rare import single_linkage

    groups = single_linkage(np.array([c.u for c in members]), MODE_LINK)
    return [[members[i] for i in g] for g in groups]


def _nominal(space: Space) -> np.ndarray:
    """The scenario file's own parameter values in the unit cube (0.5 where it has none or
    the dimension is a choice)."""
    from sim.units import parse_any

    data, _ = load_with_lines(space.path)
    params = (data.get("parameters") or {}) if isinstance(data, dict) else {}
    out = np.full(len(space.dims), 0.5)
    for k, d in enumerate(space.dims):
        if d.choices or d.name not in params or d.high <= d.low:
            continue
        with contextlib.suppress(ValueError, TypeError):  # a text parameter: the centre
            out[k] = np.clip((parse_any(params[d.name]) - d.low) / (d.high - d.low), 0.0, 1.0)
    return out


def write_counterexamples(result: SearchResult) -> list[Path]:
    """The lowest-robustness failures as concrete scenario files: the scenario with the
    candidate's parameter values and seed written in, so that ``pground run FILE`` replays
    the run bit for bit (values in SI, exactly as run; the header gives them in the suite's
    units, since a unit conversion there could change the last bit)."""
    from metrics.report import param_text

    folder = result.out / "counterexamples"
    fails = sorted(result.failures, key=lambda c: (c.robustness, c.index))[:MAX_COUNTEREXAMPLES]
    if not fails:
        return []
    folder.mkdir(exist_ok=True)
    osc = result.space.path.suffix.lower() == ".xosc"
    data = None if osc else load_with_lines(result.space.path)[0]
    units = result.space.suite.units.get(result.space.family, {})
    paths = []
    for k, c in enumerate(fails, 1):
        if osc:  # an OpenSCENARIO template: its translation with the candidate's values
            doc = _osc_counterexample(result.space.path, c.params, folder, result, k)
        else:
            doc = json.loads(json.dumps(data))  # a deep copy of plain data
            params = dict(doc.get("parameters") or {})
            params.update(c.params)
            doc["parameters"] = params
        doc["seed"] = result.space.seed
        target = folder / f"{result.space.family}-{k}.yaml"
        agent = f" --agent {c.job.agent}" if c.job and c.job.agent else ""
        shown = ", ".join(
            f"{n} = {param_text(v, units.get(n))}" for n, v in sorted(c.params.items())
        )
        head = (
            f"# counterexample {k} of pground search ({result.method}, seed {result.seed}): "
            f"robustness {c.robustness:.4g}\n"
            f"# {shown} (written below in SI units, exactly as run)\n"
            f"# from {result.space.path}; reproduce: pground run {target}{agent}\n"
        )
        target.write_text(head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        paths.append(target)
    return paths


def _osc_counterexample(
    template: Path, params: dict[str, Any], folder: Path, result: SearchResult, k: int
) -> dict[str, Any]:
    """The translated scenario of an OpenSCENARIO template at ``params`` (our YAML), and the
    same counterexample as OpenSCENARIO + OpenDRIVE beside it, to replay in other players."""
    from sim.errors import ScenarioError
    from sim.formats.export import export_xosc
    from sim.scenario.load import load_scenario

    lo = load_scenario(template, params)
    doc = json.loads(json.dumps(lo.resolved))
    # not every scenario can be written back (a walker on a path): the YAML stays
    with contextlib.suppress(ScenarioError):
        export_xosc(lo.scenario, folder / f"{result.space.family}-{k}.xosc")
    return doc


def _write_record(result: SearchResult, budget: int, wave: int, criterion: str | None) -> None:
    """search.json: the method, seed and every candidate (the error table)."""
    units = result.space.suite.units.get(result.space.family, {})
    doc = {
        "format": "proving-ground-search/1",
        "method": result.method,
        "seed": result.seed,
        "budget": budget,
        "wave": wave,
        "criterion": criterion,
        "search_objective": result.objective,
        "reference": next((c.reference.agent for c in result.candidates if c.reference), None),
        "family": result.space.family,
        "scenario": str(result.space.path),
        "objective": "min over criteria of margin / scale (the criterion's scale, else "
        "max(|threshold|, 1)); equalities that hold left out; < 0 fails",
        "dimensions": [
            {"name": d.name, "low": d.low, "high": d.high, "choices": list(d.choices) or None}
            for d in result.space.dims
        ],
        "units": units,
        "runs": sum(c.job is not None for c in result.candidates),
        "failures": len(result.failures),
        "first_failure_at": result.first_failure,
        "candidates": [
            {
                "index": c.index,
                "wave": c.wave,
                "name": c.job.name if c.job else None,
                "job_id": c.job.id if c.job else None,
                "params": c.params,
                "robustness": c.robustness if math.isfinite(c.robustness) else None,
                "verdict": c.verdict if c.job else "excluded",
                "reference_verdict": c.reference_verdict,
            }
            for c in result.candidates
        ],
        "modes": failure_modes(result),
        "boundary": boundary(result),
        "mode_rule": "failures grouped by the event that ended the run (a collision), else by "
        "the criteria failed and how the run ended, then "
        f"single-linkage regions (every coordinate within {MODE_LINK} of the unit cube); "
        "representative: the member nearest the scenario file's parameter values",
        "counterexamples": [str(p) for p in result.counterexamples],
    }
    (result.out / "search.json").write_text(json.dumps(doc, indent=2) + "\n")


OBJECTIVES = ("margin", "preventable")


def check_search_args(
    method: str, budget: int, objective: str = "margin", reference: str | None = None
) -> None:
    """Bad arguments, before anything loads or runs."""
    if method not in MAKERS:
        raise UsageError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")
    if budget < 1:
        raise UsageError(f"--budget {budget}: must be at least 1")
    if objective not in OBJECTIVES:
        raise UsageError(f"unknown objective '{objective}'; choose margin or preventable")
    if objective == "preventable" and reference is None:
        raise UsageError(
            "--objective preventable needs --reference SPEC (e.g. r157-driver): a failure is "
            "preventable where the reference agent passes"
        )


__all__ = ["METHODS", "OBJECTIVES", "robustness", "run_search", "search_space"]
