"""Parameter variation: turn one logical scenario entry of a suite into concrete runs.

An entry may combine
- ``grid``: per parameter ``{range: [lo, hi], step: s}`` or ``{values: [...]}``;
- ``coupled``: value tuples that go together (``names: [a, b]``, ``values: [[a1, b1], ...]``,
  as in the R157 speed/time-gap table);
- ``sample``: ``n`` points from distributions (uniform, normal with optional truncation,
  log-normal, weighted choice) drawn by plain random sampling, Latin hypercube, Sobol or
  Halton sequences (``scipy.stats.qmc``), seeded;
- ``constraints``: expressions that must hold (``ego_speed + delta_v > 0``), in the safe
  expression language of scenario files;
- ``repetitions``: the same parameters with derived seeds.
The full factorial of grid axes and coupled sets is crossed with the samples; values are SI
numbers (units are parsed once here) or text (e.g. a vehicle kind).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.errors import ScenarioError
from sim.scenario import expr
from sim.scenario.model import StrictModel
from sim.units import parse_any, unit_of

Value = float | str

#: Most runs one suite may expand to (grid × coupled × samples × repetitions, every entry):
#: counted before anything is built, so a step of 1e-300 is an error, not a hang. A suite
#: of more runs can be split; estimates of rare failures need far fewer (``pground estimate``).
MAX_RUNS = 1_000_000


def si(value: Value) -> Value:
    """A number or a quantity as an SI float; other text stays text."""
    try:
        return parse_any(value)
    except ValueError:
        return value


#: Where a distribution comes from (a traffic study, a regulation, an assumption): an
#: estimate of a failure rate is only as good as the operating distribution it integrates.
SOURCE = Field(None, description="where this distribution comes from (study, regulation, ...)")


class RangeAxis(StrictModel):
    range: tuple[Value, Value]
    step: Value

    def values(self) -> list[Value]:
        lo, hi, step = (si(v) for v in (*self.range, self.step))
        if not all(isinstance(v, float) for v in (lo, hi, step)):
            raise ValueError("range and step must be numbers or quantities")
        if step <= 0 or hi < lo:
            raise ValueError(f"need lo <= hi and step > 0, got [{lo:g}, {hi:g}] step {step:g}")
        n = math.floor((hi - lo) / step + 1e-9) + 1
        if n > MAX_RUNS:
            raise ValueError(
                f"[{lo:g}, {hi:g}] in steps of {step:g} is {n:.3g} values (at most {MAX_RUNS:,})"
            )
        return [round(lo + k * step, 12) for k in range(n)]


class ValuesAxis(StrictModel):
    values: list[Value] = Field(min_length=1)

    def values_si(self) -> list[Value]:
        return [si(v) for v in self.values]


class Coupled(StrictModel):
    names: list[str] = Field(min_length=2)
    values: list[list[Value]] = Field(min_length=1)
    weights: list[float] | None = Field(
        None, description="probability of each row (pground estimate draws rows by them)"
    )
    source: str | None = SOURCE

    @model_validator(mode="after")
    def _widths(self) -> Coupled:
        bad = [i for i, row in enumerate(self.values) if len(row) != len(self.names)]
        if bad:
            raise ValueError(
                f"values[{bad[0]}] has {len(self.values[bad[0]])} items for {len(self.names)} names"
            )
        if self.weights is not None and (
            len(self.weights) != len(self.values)
            or any(w < 0 or not math.isfinite(w) for w in self.weights)
            or sum(self.weights) <= 0
        ):
            raise ValueError(
                f"weights: one non-negative weight per row ({len(self.values)}), positive sum"
            )
        return self


class Uniform(StrictModel):
    uniform: tuple[Value, Value]
    source: str | None = SOURCE


class NormalSpec(StrictModel):
    mean: Value
    std: Value
    min: Value | None = None
    max: Value | None = None


class Normal(StrictModel):
    normal: NormalSpec
    source: str | None = SOURCE


class LogNormalSpec(StrictModel):
    mu: float = Field(description="mean of the underlying normal (of ln x, x in SI)")
    sigma: float = Field(gt=0)


class LogNormal(StrictModel):
    lognormal: LogNormalSpec
    source: str | None = SOURCE


class Choice(StrictModel):
    choice: list[Value] | dict[str, float] = Field(
        description="equally likely values, or value: weight"
    )
    source: str | None = SOURCE


class EmpiricalSpec(StrictModel):
    file: str = Field(description="CSV file with a header row, relative to the suite file")
    column: str = Field(description="the column of observed values")
    weight: str | None = Field(None, description="a column of non-negative weights")
    unit: str | None = Field(None, description="the unit the values are in, e.g. km/h")


class Empirical(StrictModel):
    """The empirical distribution of observed values (each row equally likely, or weighted):
    its quantile function is the step function of the sorted values."""

    empirical: EmpiricalSpec
    source: str | None = SOURCE


Distribution = Uniform | Normal | LogNormal | Choice | Empirical


class Copula(StrictModel):
    """Dependence between sampled parameters: a Gaussian copula with this correlation
    matrix (of the normal scores; each parameter keeps its own distribution)."""

    names: list[str] = Field(min_length=2)
    correlation: list[list[float]]
    source: str | None = SOURCE

    @model_validator(mode="after")
    def _matrix(self) -> Copula:
        r = np.array(self.correlation, dtype=float)
        k = len(self.names)
        if r.shape != (k, k):
            raise ValueError(f"correlation must be {k}×{k} (one row and column per name)")
        if len(set(self.names)) != k:
            raise ValueError("names repeat")
        if not np.allclose(r, r.T) or not np.allclose(np.diag(r), 1.0) or (np.abs(r) > 1).any():
            raise ValueError("correlation must be symmetric with a unit diagonal, |r| <= 1")
        if np.linalg.eigvalsh(r).min() <= 1e-10:
            raise ValueError("correlation must be positive definite")
        return self

    def cholesky(self) -> np.ndarray:
        return np.linalg.cholesky(np.array(self.correlation, dtype=float))


class Sample(StrictModel):
    n: int = Field(ge=1, le=MAX_RUNS)
    method: Literal["random", "lhs", "sobol", "halton"] = "random"
    seed: int = Field(0, ge=0)
    parameters: dict[str, Distribution] = Field(min_length=1)
    copula: Copula | None = None

    @model_validator(mode="after")
    def _copula_names(self) -> Sample:
        if self.copula is not None:
            unknown = [n for n in self.copula.names if n not in self.parameters]
            if unknown:
                raise ValueError(f"copula names '{unknown[0]}', which is not sampled here")
        return self


class Variation(StrictModel):
    """The variation part of a suite entry."""

    set: dict[str, Value] = Field(default_factory=dict, description="fixed values")
    grid: dict[str, Annotated[RangeAxis | ValuesAxis, Field(union_mode="left_to_right")]] = Field(
        default_factory=dict
    )
    coupled: list[Coupled] = Field(default_factory=list)
    sample: Sample | None = None
    constraints: list[str] = Field(default_factory=list)
    repetitions: int = Field(1, ge=1, le=100_000)


def display_units(var: Variation) -> dict[str, str]:
    """The unit each varied parameter is written in in the suite file (the first quantity
    given for it), so reports show '60 km/h' where the file says so, not 16.67."""
    out: dict[str, str] = {}

    def note(name: str, value: Any) -> None:
        unit = unit_of(value)
        if unit and name not in out:
            out[name] = unit

    for name, v in var.set.items():
        note(name, v)
    for name, axis in var.grid.items():
        for v in [*axis.range, axis.step] if isinstance(axis, RangeAxis) else axis.values:
            note(name, v)
    for c in var.coupled:
        for row in c.values:
            for name, v in zip(c.names, row, strict=True):
                note(name, v)
    if var.sample:
        for name, dist in var.sample.parameters.items():
            if isinstance(dist, Empirical):
                if dist.empirical.unit and name not in out:
                    out[name] = dist.empirical.unit
                continue
            for key, v in dist.model_dump(exclude={"source"}).items():
                if isinstance(v, dict):  # a choice's keys are values; a normal's values
                    v = list(v) if key == "choice" else list(v.values())
                for x in v if isinstance(v, list | tuple) else [v]:
                    note(name, x)
    return out


def expand(var: Variation, where: str, base: Path | None = None) -> list[dict[str, Value]]:
    """Concrete parameter sets of ``var`` (before repetitions), constraints applied.
    ``where`` prefixes error messages (file:line: path)."""
    axes: list[list[dict[str, Value]]] = []
    try:
        for name, axis in var.grid.items():
            vals = axis.values() if isinstance(axis, RangeAxis) else axis.values_si()
            axes.append([{name: v} for v in vals])
    except ValueError as exc:
        raise ScenarioError(f"{where}.grid: {exc}") from None
    for c in var.coupled:
        axes.append([dict(zip(c.names, (si(v) for v in row), strict=True)) for row in c.values])
    names = [n for ax in axes for n in ax[0]]
    dup = sorted(
        {n for n in names if names.count(n) > 1}
        | (set(names) & set(var.sample.parameters if var.sample else {}))
    )
    if dup:
        raise ScenarioError(f"{where}: parameters varied twice: {', '.join(dup)}")
    total = math.prod(len(ax) for ax in axes) * (var.sample.n if var.sample else 1)
    if total * var.repetitions > MAX_RUNS:
        raise ScenarioError(
            f"{where}: {total * var.repetitions:,} runs (grid × coupled × sample × repetitions"
            f"); a suite may have at most {MAX_RUNS:,}: split it or sample the space"
        )
    combos = [{k: v for part in p for k, v in part.items()} for p in itertools.product(*axes)]
    if var.sample is not None:
        samples = draw(var.sample, where, base)
        combos = [{**c, **s} for c in combos for s in samples]
    fixed = {k: si(v) for k, v in var.set.items()}
    combos = [{**fixed, **c} for c in combos]
    for text in var.constraints:
        try:
            combos = [
                c
                for c in combos
                if expr.evaluate(text, {k: v for k, v in c.items() if isinstance(v, float)})
            ]
        except expr.ExpressionError as exc:
            raise ScenarioError(f"{where}.constraints: {exc}") from None
    return combos


def draw(sample: Sample, where: str, base: Path | None = None) -> list[dict[str, Value]]:
    """``sample.n`` points: unit-cube points by the method, then each coordinate through the
    inverse CDF of its parameter's distribution (dimensions in sorted name order; a copula
    couples their normal scores first)."""
    from scipy.stats import qmc

    names = sorted(sample.parameters)
    d, n = len(names), sample.n
    if sample.method == "random":
        u = np.random.default_rng(sample.seed).random((n, d))
    elif sample.method == "lhs":
        u = qmc.LatinHypercube(d=d, seed=np.random.default_rng(sample.seed)).random(n)
    elif sample.method == "sobol":
        engine = qmc.Sobol(d=d, scramble=True, seed=np.random.default_rng(sample.seed))
        m = math.ceil(math.log2(n))
        u = engine.random_base2(m)[:n]  # balanced in powers of two; the first n are kept
    else:
        u = qmc.Halton(d=d, scramble=True, seed=np.random.default_rng(sample.seed)).random(n)
    if sample.copula is not None:
        from scipy.special import ndtr, ndtri

        idx = [names.index(c) for c in sample.copula.names]
        u[:, idx] = ndtr(ndtri(np.clip(u[:, idx], U_MIN, U_MAX)) @ sample.copula.cholesky().T)
    cols = {
        name: quantile(sample.parameters[name], u[:, k], f"{where}.sample.parameters.{name}", base)
        for k, name in enumerate(names)
    }
    return [{name: _plain(cols[name][i]) for name in names} for i in range(n)]


#: unit-cube coordinates are kept off 0 and 1 (an infinite quantile of a normal or a
#: log-normal); beyond 8.2 standard deviations, so no probability of note is cut
U_MIN, U_MAX = 1e-16, 1.0 - 2.0**-53


def quantile(dist: Any, u: np.ndarray, where: str, base: Path | None = None) -> list[Value]:
    """The values of ``dist`` at probabilities ``u`` (its inverse CDF); ``where`` prefixes
    errors and ``base`` is the folder an empirical table's file is relative to."""
    from scipy.stats import norm, truncnorm

    x = np.clip(u, U_MIN, U_MAX)
    name = where.rsplit(".", 1)[-1]
    try:
        if isinstance(dist, Uniform):
            lo, hi = (_num(v, name) for v in dist.uniform)
            return list(lo + x * (hi - lo))
        if isinstance(dist, Normal):
            p = dist.normal
            mean, std = _num(p.mean, name), _num(p.std, name)
            lo = -np.inf if p.min is None else (_num(p.min, name) - mean) / std
            hi = np.inf if p.max is None else (_num(p.max, name) - mean) / std
            return list(truncnorm.ppf(x, lo, hi, loc=mean, scale=std))
        if isinstance(dist, LogNormal):
            p = dist.lognormal
            return list(np.exp(p.mu + p.sigma * norm.ppf(x)))
        if isinstance(dist, Empirical):
            values, w = empirical_table(dist.empirical, base)
            return [float(v) for v in values[_steps(w, x)]]
        options = dist.choice
        vals = list(options) if isinstance(options, dict) else options
        w = np.array(
            list(options.values()) if isinstance(options, dict) else [1.0] * len(vals),
            dtype=float,
        )
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        return [si(vals[i]) for i in _steps(w, x)]
    except ValueError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _steps(w: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the category each probability falls in (weights ``w``)."""
    idx = np.searchsorted(np.cumsum(w) / w.sum(), u, side="right")
    return np.minimum(idx, len(w) - 1)


def empirical_table(spec: EmpiricalSpec, base: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values (SI) and weights of an empirical table (ValueError names the row)."""
    import csv

    path = (base or Path(".")) / spec.file
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not rows or spec.column not in rows[0]:
        have = ", ".join(rows[0]) if rows else "no rows"
        raise ValueError(f"{path} has no column '{spec.column}' (columns: {have})")
    if spec.weight is not None and spec.weight not in rows[0]:
        raise ValueError(f"{path} has no weight column '{spec.weight}'")
    values, weights = [], []
    for k, row in enumerate(rows, 2):
        try:
            text = row[spec.column].strip()
            v = parse_any(f"{text} {spec.unit}" if spec.unit else text)
            w = float(row[spec.weight]) if spec.weight else 1.0
        except (ValueError, TypeError, AttributeError):
            raise ValueError(f"{path}:{k}: {spec.column} is not a number") from None
        if not (math.isfinite(v) and math.isfinite(w) and w >= 0):
            raise ValueError(f"{path}:{k}: a value or weight is not finite and non-negative")
        values.append(v)
        weights.append(w)
    order = np.argsort(values, kind="stable")
    w = np.array(weights)[order]
    if w.sum() <= 0:
        raise ValueError(f"{path}: the weights sum to 0")
    return np.array(values)[order], w


def _num(v: Value, name: str) -> float:
    out = si(v)
    if not isinstance(out, float):
        raise ValueError(f"expected a number or quantity, got {v!r}")
    return out


def _plain(v: Any) -> Value:
    return float(v) if isinstance(v, np.floating | float | int) else v


def repetition_seed(base: int, rep: int) -> int:
    """Seed of repetition ``rep`` (0 keeps ``base``, so one run equals ``pground run``)."""
    if rep == 0:
        return base
    return int(np.random.SeedSequence([base, rep]).generate_state(1, dtype=np.uint32)[0])
