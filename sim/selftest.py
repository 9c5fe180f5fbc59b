"""Executed verification evidence: the simulator's models against closed forms.

``pground selftest`` runs these checks (the same ones the test suite makes, in well under a
second) and prints, or writes as JSON, each expected value (from the published definition),
the simulator's value, the tolerance and the versions they ran with; ``pground report``
runs them too and puts the table in the report's credibility section.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Verification:
    name: str
    model: str
    expected: float
    actual: float
    tolerance: float
    unit: str
    source: str

    @property
    def passed(self) -> bool:
        return abs(self.actual - self.expected) <= self.tolerance


def _stopping_distance() -> Verification:
    from sim.domains.road import dynamics as dyn

    v, total = np.array([20.0]), 0.0
    while v[0] > 0:
        v, d = dyn.advance_speed(v, np.array([-6.0]), 0.05)
        total += float(d[0])
    return Verification(
        "road: stopping distance at constant deceleration",
        "advance_speed (exact for constant acceleration)",
        20.0**2 / (2 * 6.0),
        total,
        1e-9,
        "m",
        "s = v²/(2a): 20 m/s at 6 m/s²",
    )


def _jerk_limited_stop() -> Verification:
    from sim.domains.road import dynamics as dyn

    dt, a, v, total = 0.05, np.array([0.0]), np.array([25.0]), 0.0
    while v[0] > 0:
        a, mean = dyn.rate_limited(a, np.array([-6.0]), np.array([30.0]), dt)
        v, d = dyn.advance_speed(v, mean, dt)
        total += float(d[0])
    tau = 6.0 / 30.0
    expected = 25.0 * tau - 30.0 * tau**3 / 6 + (25.0 - 6.0 * tau / 2) ** 2 / (2 * 6.0)
    return Verification(
        "road: jerk-limited stop",
        "rate-limited actuator, tick mean",
        expected,
        total,
        0.01,
        "m",
        "continuous ramp: v0·τ − j·τ³/6 + (v0 − a·τ/2)²/(2a), τ = a/j (25 m/s, 6 m/s², 30 m/s³)",
    )


def _cpa() -> Verification:
    from sim.core.pairs import cpa

    # own at the origin heading north at 5 m/s; the target 1 km east and 1.1 km north heading
    # west at 5 m/s: relative position (1000, 1100), relative velocity (−5, −5)
    _, d = cpa(np.array([1000.0]), np.array([1100.0]), np.array([-5.0]), np.array([-5.0]))
    return Verification(
        "water/air: distance at the closest point of approach",
        "pairs.cpa",
        100.0 / math.sqrt(2.0),
        float(d[0]),
        1e-9,
        "m",
        "d_CPA = |s × v|/|v| = |1000·(−5) − 1100·(−5)|/√50",
    )


def _nomoto() -> Verification:
    from sim.domains.water import dynamics as dyn

    def a(x: float) -> np.ndarray:
        return np.array([x])

    r, dt, k, t, delta = a(0.0), 0.01, 0.1, 20.0, 0.2
    for _ in range(round(t / dt)):
        _, _, _, r, _, _ = dyn.advance(
            a(0.0), a(0.0), a(0.0), r, a(5.0), a(delta), a(delta), a(5.0),
            k=a(k), t=a(t), n3=a(0.0), max_rudder=a(1.0), max_rudder_rate=a(10.0),
            t_speed=a(10.0), max_accel=a(1.0), max_decel=a(1.0), drift_e=0.0, drift_n=0.0,
            dt=dt,
        )  # fmt: skip
    return Verification(
        "water: Nomoto turn rate after one time constant",
        "first-order Nomoto",
        k * delta * (1 - math.exp(-1.0)),
        float(r[0]),
        1e-6 * k * delta,
        "rad/s",
        "T·ṙ + r = K·δ: r(T) = K·δ·(1 − e⁻¹) (K 0.1 1/s, T 20 s, δ 0.2 rad)",
    )


def _ttc() -> Verification:
    from metrics.registry import METRICS, RunData
    from sim.core.log import RunLog

    dt, n = 0.1, 21
    t = np.arange(n) * dt
    s = np.stack([20.0 * t, 4.5 + 40.0 + 10.0 * t], axis=1)
    z = np.zeros_like(s)
    arrays = {
        "road": {
            "x_m": s, "y_m": z, "heading_rad": z, "s_m": s, "t_m": z,
            "speed_mps": np.stack([np.full(n, 20.0), np.full(n, 10.0)], axis=1),
            "road": np.zeros(s.shape, np.int32), "valid": np.ones(s.shape, bool),
        }
    }  # fmt: skip
    ref = {"x_m": [0.0, 1e4], "y_m": [0.0, 0.0], "s_m": [0.0, 1e4], "heading_rad": [0.0, 0.0]}
    meta = {
        "domains": {
            "road": {
                "ids": ["ego", "lead"], "kinds": ["car", "car"], "controlled": [True, False],
                "length_m": [4.5, 4.5], "width_m": [1.8, 1.8], "goals": [None, None],
                "map": {"roads": [{"id": "r", "closed": False, "length_m": 1e4,
                                   "reference": ref}]},
            }
        }
    }  # fmt: skip
    value = METRICS["min_ttc_s"].fn(RunData(RunLog(arrays, t, dt, meta), ())).value
    return Verification(
        "road: time to collision",
        "min_ttc_s",
        (40.0 - 10.0 * 2.0) / 10.0,
        float(value),
        1e-9,
        "s",
        "TTC = gap/closing speed: 40 m closing at 10 m/s, after 2 s",
    )


def _r157_braking() -> Verification:
    from agents.road.reference_driver import brake_ramp_integral

    a_max, build = 0.774 * 9.80665, 0.6
    u = np.linspace(0.0, 1.0, 200_001)
    acc = np.maximum(0.4, np.minimum(a_max * u / build, a_max))
    expected = float(np.sum(0.5 * (acc[1:] + acc[:-1]) * np.diff(u)))
    return Verification(
        "road: R157 reference driver's speed lost 1 s after the brake onset",
        "brake_ramp_integral",
        expected,
        brake_ramp_integral(1.0),
        1e-6,
        "m/s",
        "UN R157 Annex 4 App. 3: 0.774 g reached 0.6 s after onset (quadrature)",
    )


def _davis() -> Verification:
    from sim.domains.rail.schema import PRESETS

    p = PRESETS["rb425"]
    v = 100 / 3.6
    # Davis resistance R = A + C·v², fitted through the preset's values at 0 and at v_max
    r0, r1 = p.resistance_0_kn * 1e3, p.resistance_vmax_kn * 1e3
    expected = (r0 + (r1 - r0) * (v / p.max_speed) ** 2) / (p.mass_t * 1e3 * (1 + p.rho))
    actual = _coast_decel("rb425", v)
    return Verification(
        "rail: coasting deceleration (Davis resistance)",
        "rail runtime",
        expected,
        actual,
        2e-3 * expected,
        "m/s²",
        "m(1+ρ)·dv/dt = −(A + C·v²), RB425 at 100 km/h (SUMO MSCFModel_Rail table)",
    )


def _coast_decel(kind: str, v: float) -> float:
    import tempfile
    from pathlib import Path

    from sim.core.rollout import rollout
    from sim.scenario.load import load_scenario

    text = f"""schema_version: 1
id: selftest
name: selftest
description: coasting
dt: 0.01
duration: 0.02
map:
  rail:
    tracks:
      - {{id: line, geometry: [{{line: 10 km}}], speed: [{{at: 0 m, speed: 300 km/h}}]}}
entities:
  - {{id: train, domain: rail, kind: {kind}, path: [line], at: 100 m, speed: {v * 3.6} km/h,
     agent: full-traction}}
"""

    class Coast:
        name, version = "coast", "0"

        def reset(self, briefing: Any, *, rng: Any) -> None:
            pass

        def act(self, obs: Any) -> Any:
            from agents.rail.types import RailAction

            return RailAction(0.0)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coast.yaml"
        path.write_text(text)
        scenario = load_scenario(path).scenario
    res = rollout(scenario, {"train": Coast()})
    return -float(res.log.arrays["rail"]["accel_mps2"][1, 0])


CHECKS: tuple[Callable[[], Verification], ...] = (
    _stopping_distance,
    _jerk_limited_stop,
    _ttc,
    _r157_braking,
    _cpa,
    _nomoto,
    _davis,
)


def run() -> dict[str, Any]:
    """Every check, with the versions it ran with."""
    results = []
    for check in CHECKS:
        v = check()
        results.append({**asdict(v), "passed": v.passed})
    try:
        pg = version("proving-ground")
    except PackageNotFoundError:
        pg = "not installed"
    return {
        "format": "proving-ground-selftest/1",
        "versions": {
            "proving-ground": pg,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "checks": results,
        "passed": all(r["passed"] for r in results),
    }
