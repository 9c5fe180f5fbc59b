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

    @model_validator(mode="after")
    def _widths(self) -> Coupled:
        bad = [i for i, row in enumerate(self.values) if len(row) != len(self.names)]
        if bad:
            raise ValueError(
                f"values[{bad[0]}] has {len(self.values[bad[0]])} items for {len(self.names)} names"
            )
        return self


class Uniform(StrictModel):
    uniform: tuple[Value, Value]


class NormalSpec(StrictModel):
    mean: Value
    std: Value
    min: Value | None = None
    max: Value | None = None


class Normal(StrictModel):
    normal: NormalSpec


class LogNormalSpec(StrictModel):
    mu: float = Field(description="mean of the underlying normal (of ln x, x in SI)")
    sigma: float = Field(gt=0)


class LogNormal(StrictModel):
    lognormal: LogNormalSpec


class Choice(StrictModel):
    choice: list[Value] | dict[str, float] = Field(
        description="equally likely values, or value: weight"
    )


Distribution = Uniform | Normal | LogNormal | Choice


class Sample(StrictModel):
    n: int = Field(ge=1, le=MAX_RUNS)
    method: Literal["random", "lhs", "sobol", "halton"] = "random"
    seed: int = Field(0, ge=0)
    parameters: dict[str, Distribution] = Field(min_length=1)


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
            for v in dist.model_dump().values():
                for x in v if isinstance(v, list) else [v]:
                    note(name, x)
    return out


def expand(var: Variation, where: str) -> list[dict[str, Value]]:
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
        samples = draw(var.sample, where)
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


def draw(sample: Sample, where: str) -> list[dict[str, Value]]:
    """``sample.n`` points: unit-cube points by the method, then each coordinate through the
    inverse CDF of its parameter's distribution (dimensions in sorted name order)."""
    from scipy.stats import norm, qmc, truncnorm

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
    cols: dict[str, list[Value]] = {}
    for k, name in enumerate(names):
        dist, x = sample.parameters[name], u[:, k]
        try:
            if isinstance(dist, Uniform):
                lo, hi = (_num(v, name) for v in dist.uniform)
                cols[name] = list(lo + x * (hi - lo))
            elif isinstance(dist, Normal):
                p = dist.normal
                mean, std = _num(p.mean, name), _num(p.std, name)
                lo = -np.inf if p.min is None else (_num(p.min, name) - mean) / std
                hi = np.inf if p.max is None else (_num(p.max, name) - mean) / std
                cols[name] = list(truncnorm.ppf(x, lo, hi, loc=mean, scale=std))
            elif isinstance(dist, LogNormal):
                p = dist.lognormal
                cols[name] = list(np.exp(p.mu + p.sigma * norm.ppf(x)))
            else:
                options = dist.choice
                vals = list(options) if isinstance(options, dict) else options
                w = np.array(
                    list(options.values()) if isinstance(options, dict) else [1.0] * len(vals),
                    dtype=float,
                )
                if (w < 0).any() or w.sum() <= 0:
                    raise ValueError("weights must be non-negative with a positive sum")
                idx = np.searchsorted(np.cumsum(w) / w.sum(), x, side="right")
                cols[name] = [si(vals[min(i, len(vals) - 1)]) for i in idx]
        except ValueError as exc:
            raise ScenarioError(f"{where}.sample.parameters.{name}: {exc}") from None
    return [{name: _plain(cols[name][i]) for name in names} for i in range(n)]


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
