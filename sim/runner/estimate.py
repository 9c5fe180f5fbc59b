"""`pground estimate`: how often a system fails over a declared operating distribution.

The distribution is a suite entry's ``sample:`` block: every varied parameter has one
(uniform, truncated normal, log-normal, weighted choice, an empirical CSV table), a
Gaussian ``copula`` may couple some of them, and a ``coupled`` set of rows needs ``weights``;
each states its ``source``. A grid axis is a test matrix, not a distribution, and is refused.
The estimators (sim/runner/rare.py) work in independent standard normal coordinates z; this
module maps z to parameter values (u = Φ(z), the copula's Cholesky factor first, then each
parameter's inverse CDF in sorted name order — the same map ``pground suite`` samples with),
runs each wave of points as an ordinary campaign in ``--out`` and feeds back each run's
robustness (search.py's: the smallest normalised criterion margin, < 0 exactly when it fails;
runs that end in error or invalid have none and count as not failing, reported apart).

Each run's scenario seed is drawn too (SeedSequence([seed, index])): sensor noise and
random traffic are part of the operating conditions. Constraints cut the domain: points
outside are not run and the estimate is divided by the domain's probability, itself
computed from 200,000 nominal draws (no simulation needed). ``estimate.json`` records every
point (z, parameters, seed, weight or level, robustness, verdict); ``pground verify
--recompute`` replays the estimator on the stored results and must reproduce every point and
the estimate exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ScenarioError, UsageError
from sim.runner import rare
from sim.runner.search import job_rows, robustness
from sim.runner.suite import Job, Suite, SuiteEntryModel, SuiteModel, load_suite
from sim.runner.variation import Copula, Coupled, quantile, si
from sim.scenario import expr
from sim.scenario.yamlio import format_loc, line_of, load_with_lines

FORMAT = "proving-ground-estimate/1"
DOMAIN_DRAWS = 200_000


@dataclass(frozen=True)
class Marginal:
    """One coordinate of z: a sampled parameter, or a weighted coupled set of rows."""

    name: str
    dist: Any  # a variation.Distribution, or a Coupled set with weights
    source: str | None

    def values(self, u: np.ndarray, where: str, base: Path) -> list[dict[str, Any]]:
        if isinstance(self.dist, Coupled):
            w = np.array(self.dist.weights, dtype=float)
            idx = np.minimum(np.searchsorted(np.cumsum(w) / w.sum(), u, side="right"), len(w) - 1)
            rows = [dict(zip(self.dist.names, map(si, r), strict=True)) for r in self.dist.values]
            return [dict(rows[i]) for i in idx]
        return [{self.name: _plain(v)} for v in quantile(self.dist, u, where, base)]

    def describe(self) -> dict[str, Any]:
        body = self.dist.model_dump(exclude={"source"}, mode="json")
        return {"parameter": self.name, "distribution": body, "source": self.source}


@dataclass(frozen=True)
class OperatingDistribution:
    suite: Suite
    family: str
    path: Path  # the scenario file
    file_sha256: str
    base: Path  # the suite's folder (empirical tables are relative to it)
    where: str  # suite file:line of the entry
    fixed: dict[str, Any]
    marginals: tuple[Marginal, ...]
    copula: Copula | None
    constraints: tuple[str, ...]

    @property
    def d(self) -> int:
        return len(self.marginals)

    def params(self, z: np.ndarray) -> list[dict[str, Any]]:
        """Parameter values of each row of z."""
        from scipy.special import ndtr

        y = np.array(z, dtype=float, copy=True)
        if self.copula is not None:
            idx = [self._index(n) for n in self.copula.names]
            y[:, idx] = y[:, idx] @ self.copula.cholesky().T
        u = ndtr(y)
        out = [dict(self.fixed) for _ in range(len(z))]
        for k, m in enumerate(self.marginals):
            for row, v in zip(
                out,
                m.values(u[:, k], f"{self.where}.sample.parameters.{m.name}", self.base),
                strict=True,
            ):
                row.update(v)
        return out

    def _index(self, name: str) -> int:
        return next(k for k, m in enumerate(self.marginals) if m.name == name)

    def allowed(self, params: dict[str, Any]) -> bool:
        numbers = {k: v for k, v in params.items() if isinstance(v, float)}
        return all(expr.evaluate(text, numbers) for text in self.constraints)

    def domain_share(self, seed: int) -> float:
        """P(constraints hold) under the nominal distribution (1 without constraints)."""
        if not self.constraints:
            return 1.0
        z = np.random.default_rng([seed, 1]).standard_normal((DOMAIN_DRAWS, self.d))
        return float(np.mean([self.allowed(p) for p in self.params(z)]))


def operating_distribution(path: str | Path, family: str | None = None) -> OperatingDistribution:
    """The operating distribution of the suite entry ``family`` (the one varied entry when
    not given); :class:`ScenarioError` (file:line: field) when a varied parameter has none."""
    path = Path(path)
    suite = load_suite(path)
    data, lines = load_with_lines(path)
    model = SuiteModel.model_validate(data)
    found = [
        (i, item.name or Path(item.path).stem, item)
        for i, item in enumerate(model.scenarios)
        if isinstance(item, SuiteEntryModel) and (item.grid or item.coupled or item.sample)
    ]
    if not found:
        raise UsageError(f"{path}: no entry declares a distribution (sample: parameters: ...)")
    if family is None and len(found) > 1:
        names = ", ".join(f for _, f, _ in found)
        raise UsageError(f"{path}: several entries vary parameters; choose one: --family {names}")
    pick = [x for x in found if family is None or x[1] == family]
    if not pick:
        names = ", ".join(f for _, f, _ in found)
        raise UsageError(f"{path}: no varied entry '{family}'; varied entries: {names}")
    i, fam, entry = pick[0]

    def at(*loc: Any) -> str:
        full = ("scenarios", i, *loc)
        ln = line_of(lines, full)
        return f"{path}{f':{ln}' if ln else ''}: {format_loc(full)}"

    for name in entry.grid:
        raise ScenarioError(
            f"{at('grid', name)}: a grid axis is a test matrix, not a distribution; pground "
            f"estimate needs one for every varied parameter (sample: parameters: {name}: "
            "{uniform: [lo, hi], source: ...})"
        )
    marginals: list[Marginal] = []
    for k, c in enumerate(entry.coupled):
        if c.weights is None:
            raise ScenarioError(
                f"{at('coupled', k)}: a coupled set needs weights (the probability of each row) "
                "to be a distribution"
            )
        marginals.append(Marginal("+".join(c.names), c, c.source))
    sample = entry.sample
    if sample is not None:
        marginals.extend(
            Marginal(n, sample.parameters[n], sample.parameters[n].source)
            for n in sorted(sample.parameters)
        )
    job = next(j for j in suite.entries if j.family == fam)
    return OperatingDistribution(
        suite,
        fam,
        job.path,
        job.file_sha256,
        path.parent,
        at(),
        {k: si(v) for k, v in entry.set.items()},
        tuple(marginals),
        sample.copula if sample else None,
        tuple(entry.constraints),
    )


def _plain(v: Any) -> Any:
    return float(v) if isinstance(v, np.floating | float | int) else v


def run_seed(seed: int, index: int) -> int:
    """The scenario seed of the estimate's run ``index``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint32)[0])


# ---------------------------------------------------------------------------- the loop
@dataclass
class Point:
    index: int
    z: list[float]
    tag: dict[str, Any]
    params: dict[str, Any]
    seed: int
    job: Job | None  # None: outside the constraints (never run)
    g: float = math.inf
    verdict: str | None = None
    reference: Job | None = None
    reference_verdict: str | None = None

    @property
    def fail(self) -> bool:
        return self.verdict == "fail"

    @property
    def preventable(self) -> bool:
        return self.fail and self.reference_verdict == "pass"


@dataclass
class EstimateResult:
    dist: OperatingDistribution
    method: str
    seed: int
    points: list[Point]
    estimator: rare.Estimator
    out: Path
    share: float
    summary: Any = None
    interrupted: bool = False
    reference: str | None = None

    @property
    def runs(self) -> int:
        return sum(p.job is not None for p in self.points)


def performance(row: dict[str, Any] | None, criterion: str | None = None) -> float:
    """g of a stored run: its robustness, kept on the side of 0 its verdict is on (a failed
    run is < 0, a passed one >= 0); +inf for a run without a verdict of pass or fail."""
    if row is None or row.get("verdict") not in ("pass", "fail"):
        return math.inf
    r = robustness(row.get("criteria"), criterion)
    if row["verdict"] == "fail":
        return r if r < 0 else -1e-12
    return max(r, 0.0)


def run_estimate(
    path: str | Path,
    out: Path,
    *,
    method: str = "is",
    budget: int = 10_000,
    target: float | None = 0.2,
    confidence: float = 0.95,
    wave: int = 100,
    level_size: int | None = None,
    seed: int = 0,
    family: str | None = None,
    agent: str | None = None,
    entity: str | None = None,
    reference: str | None = None,
    campaign: Callable[..., Any],
    evaluate: Callable[[list[Point]], None] | None = None,
    resume: bool = False,
    force: bool = False,
) -> EstimateResult:
    """Estimate P(fail) (and with ``reference`` P(preventable fail)) of the suite entry's
    operating distribution with ``method`` (mc, is, ss), at most ``budget`` runs of the
    system; ``campaign(suite, resume=..., force=...)`` runs jobs into ``out``."""
    check_estimate_args(method, budget, target, confidence, wave, level_size)
    dist = operating_distribution(path, family)
    missing = [m.name for m in dist.marginals if not m.source]
    est = rare.make(
        method,
        dist.d,
        seed,
        budget=budget,
        target=target,
        confidence=confidence,
        wave=wave,
        level_size=level_size or LEVEL_SIZE[method],
    )
    share = dist.domain_share(seed)
    if share <= 0:
        raise UsageError(f"{dist.where}: the constraints exclude every point of the distribution")
    points: list[Point] = []
    jobs: list[Job] = []
    refs: list[Job] = []
    result = EstimateResult(dist, method, seed, points, est, out, share, reference=reference)
    first = True
    while not est.done:
        z, tags = est.ask()
        if len(z) == 0:
            break
        new = []
        for row, tag, params in zip(z, tags, dist.params(z), strict=True):
            k = len(points)
            s = run_seed(seed, k)
            job = None
            if dist.allowed(params):
                job = Job(
                    f"{dist.family}-e{k:06d}",
                    dist.family,
                    dist.path,
                    params,
                    s,
                    dist.file_sha256,
                    agent,
                    entity,
                )
                jobs.append(job)
            p = Point(k, row.tolist(), tag, params, s, job)
            points.append(p)
            new.append(p)
        if evaluate is not None:  # tests: an analytic system instead of campaigns
            evaluate(new)
        else:
            summary = _run(dist, jobs, refs, campaign, first, resume, force, reference)
            first = False
            rows = job_rows(out)
            for p in new:
                if p.job is not None and p.job.id in rows:
                    p.verdict = rows[p.job.id]["verdict"]
                    p.g = performance(rows[p.job.id])
            if reference is not None:
                fails = [p for p in new if p.fail]
                for p in fails:
                    assert p.job is not None
                    p.reference = dataclasses.replace(
                        p.job,
                        name=f"{p.job.name}~ref",
                        agent=reference,
                        entity=None,
                        role="reference",
                    )
                    refs.append(p.reference)
                if fails:
                    summary = _run(dist, jobs, refs, campaign, False, resume, force, reference)
                    rows = job_rows(out)
                    for p in fails:
                        assert p.reference is not None
                        got = rows.get(p.reference.id)
                        p.reference_verdict = got["verdict"] if got else None
            result.summary = summary
            if summary is not None and getattr(summary, "interrupted", False):
                result.interrupted = True
                break
        est.tell(np.array([p.g for p in new]), _events(new, reference))
    if missing:
        est.warnings.append(
            "no source stated for the distribution of "
            + ", ".join(missing)
            + ": the estimate is only as good as the distribution it integrates"
        )
    if not result.interrupted:
        write_record(result)
    return result


def _events(points: list[Point], reference: str | None) -> rare.Events:
    ev = {"fail": np.array([p.fail for p in points], dtype=bool)}
    if reference is not None:
        ev["preventable"] = np.array([p.preventable for p in points], dtype=bool)
    return ev


def _run(
    dist: OperatingDistribution,
    jobs: list[Job],
    refs: list[Job],
    campaign: Callable[..., Any],
    first: bool,
    resume: bool,
    force: bool,
    reference: str | None,
) -> Any:
    suite = dataclasses.replace(
        dist.suite, entries=[*jobs, *refs], sampled=None, reference=reference
    )
    return campaign(suite, resume=resume or not first, force=force and first)


LEVEL_SIZE = {"mc": 0, "is": 300, "ss": 1000}


# ---------------------------------------------------------------------------- the record
def summarise(result: EstimateResult) -> dict[str, Any]:
    """The estimate(s) with intervals, runs, speed-up and warnings (P conditioned on the
    constraints' domain)."""
    est = result.estimator
    runs = result.runs
    events = {}
    for k, e in est.estimates().items():
        d = e.to_dict(runs)
        if result.share < 1.0:
            for key in ("p", "low", "high"):
                if d.get(key) is not None and math.isfinite(d[key]):
                    d[key] = d[key] / result.share
        events[k] = d
    warnings = list(est.warnings)
    if isinstance(est, rare.ImportanceSampling):
        warnings.extend(est.diagnostics())
    other = {
        v: sum(p.verdict == v for p in result.points)
        for v in ("error", "invalid")
        if any(p.verdict == v for p in result.points)
    }
    if other:
        warnings.append(
            "runs without a pass or fail: "
            + ", ".join(f"{n} {v}" for v, n in other.items())
            + " (counted as not failing; see the campaign table)"
        )
    if "fail" in events and events["fail"].get("rel_error") and result.estimator.target:
        rel = events["fail"]["rel_error"]
        if rel > result.estimator.target:
            warnings.append(
                f"the relative error {rel:.2f} is above the target {result.estimator.target:g}: "
                "the budget ran out first"
            )
    return {
        "events": events,
        "runs": runs,
        "reference_runs": sum(p.reference is not None for p in result.points),
        "interval": est.interval_method,
        "confidence": est.confidence,
        "domain_share": result.share,
        "warnings": warnings,
    }


def write_record(result: EstimateResult) -> dict[str, Any]:
    """estimate.json: the settings, the distribution with sources, every point and the
    estimate; the digest and signature cover it like every file of the folder."""
    est = result.estimator
    doc = {
        "format": FORMAT,
        "method": result.method,
        "seed": result.seed,
        "budget": est.budget,
        "target_rel_error": est.target,
        "confidence": est.confidence,
        "wave": est.wave,
        "level_size": getattr(est, "level_size", None),
        "family": result.dist.family,
        "scenario": str(result.dist.path),
        "agent": next((p.job.agent for p in result.points if p.job), None),
        "reference": result.reference,
        "distribution": [m.describe() for m in result.dist.marginals],
        "copula": result.dist.copula.model_dump(mode="json") if result.dist.copula else None,
        "fixed": result.dist.fixed,
        "constraints": list(result.dist.constraints),
        "transform": "u = Φ(z) per coordinate (a copula's Cholesky factor applied to its "
        "coordinates first), then each parameter's inverse CDF, in sorted name order",
        "failure": "a run whose verdict is 'fail'; the estimators steer by its robustness "
        "(min over criteria of margin / scale, < 0 exactly when it fails)",
        "units": result.dist.suite.units.get(result.dist.family, {}),
        "state": est.state(),
        "result": summarise(result),
        "points": [
            {
                "index": p.index,
                "job_id": p.job.id if p.job else None,
                "name": p.job.name if p.job else None,
                "z": p.z,
                "params": p.params,
                "seed": p.seed,
                **p.tag,
                "g": p.g if math.isfinite(p.g) else None,
                "verdict": p.verdict if p.job else "excluded",
                "reference_verdict": p.reference_verdict,
            }
            for p in result.points
        ],
    }
    result.out.mkdir(parents=True, exist_ok=True)
    (result.out / "estimate.json").write_text(json.dumps(doc, indent=1) + "\n")
    return doc


# ---------------------------------------------------------------------------- verification
def recompute(folder: Path, rows: dict[str, dict[str, Any]]) -> list[str]:
    """Replay the recorded estimate from the stored runs (``rows`` by job id, as verify
    recomputed them): every point's z, parameters, seed and weight must come out again and
    the estimate must be the same. Problems as lines (none: reproduced)."""
    rec = json.loads((folder / "estimate.json").read_text())
    problems: list[str] = []
    est = rare.make(
        rec["method"],
        len(rec["distribution"]),
        rec["seed"],
        budget=rec["budget"],
        target=rec["target_rel_error"],
        confidence=rec["confidence"],
        wave=rec["wave"],
        level_size=rec["level_size"],
    )
    points = rec["points"]
    k = 0
    while not est.done and k < len(points):
        z, tags = est.ask()
        if len(z) == 0:
            break
        batch = points[k : k + len(z)]
        if len(batch) != len(z) or not np.array_equal(z, np.array([p["z"] for p in batch])):
            problems.append(f"estimate.json: point {k}: the estimator proposes other points")
            return problems
        for p, tag in zip(batch, tags, strict=True):
            lw = tag.get("log_weight")
            if lw is not None and p.get("log_weight") != lw:
                problems.append(f"estimate.json: point {p['index']}: its weight differs")
            if p["seed"] != run_seed(rec["seed"], p["index"]):
                problems.append(f"estimate.json: point {p['index']}: its seed differs")
        g, fail, prev = [], [], []
        for p in batch:
            row = rows.get(p["job_id"]) if p["job_id"] else None
            if p["job_id"] and row is None:
                problems.append(f"estimate.json: point {p['index']}: run {p['name']} not stored")
            gi = performance(row)
            recorded = p["g"] if p["g"] is not None else math.inf
            if gi != recorded:
                problems.append(
                    f"estimate.json: point {p['index']}: robustness {recorded} recorded, "
                    f"{gi} from the stored run"
                )
            g.append(gi)
            fail.append(bool(row and row.get("verdict") == "fail"))
            prev.append(fail[-1] and p.get("reference_verdict") == "pass")
        k += len(z)
        ev = {"fail": np.array(fail, dtype=bool)}
        if rec.get("reference"):
            ev["preventable"] = np.array(prev, dtype=bool)
        est.tell(np.array(g), ev)
    if k != len(points):
        problems.append(f"estimate.json: {len(points)} points recorded, the replay made {k}")
    again = {
        name: e.to_dict(sum(p["job_id"] is not None for p in points))
        for name, e in est.estimates().items()
    }
    share = rec["result"]["domain_share"]
    for name, d in rec["result"]["events"].items():
        p_again = again.get(name, {}).get("p")
        if p_again is not None and share < 1.0:
            p_again /= share
        if p_again != d.get("p") and not (
            isinstance(p_again, float) and math.isnan(p_again) and d.get("p") is None
        ):
            problems.append(f"estimate.json: P({name}) recorded {d.get('p')}, recomputed {p_again}")
    return problems


def check_estimate_args(
    method: str,
    budget: int,
    target: float | None,
    confidence: float,
    wave: int,
    level_size: int | None,
) -> None:
    """Bad arguments, before anything loads or runs (the budget against the first level
    is checked when the estimator is made, also before any run)."""
    if method not in rare.METHODS:
        raise UsageError(f"unknown method '{method}'; choose one of {', '.join(rare.METHODS)}")
    if budget < 1:
        raise UsageError(f"--budget {budget}: must be at least 1")
    if target is not None and not 0 < target < 1:
        raise UsageError(f"--target-rel-error {target}: must be between 0 and 1")
    if not 0.5 <= confidence < 1:
        raise UsageError(f"--confidence {confidence}: must be in [0.5, 1)")
    if wave < 1:
        raise UsageError(f"--wave {wave}: must be at least 1")
    if level_size is not None and level_size < 20:
        raise UsageError(f"--level-size {level_size}: must be at least 20")


__all__ = ["OperatingDistribution", "operating_distribution", "recompute", "run_estimate"]
