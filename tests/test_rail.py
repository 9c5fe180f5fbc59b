"""Rail domain: closed-form dynamics and braking curves, interlocking invariants, shipped
verdicts with the reference and the null agent, the mixed road-rail world."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.domains.rail.runtime import adhesion_coefficient, curve_speed, margin
from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from sim.units import G0_MPS2
from tests.conftest import SCENARIOS, passed_and_saveable

ENTRIES = load_suite(SCENARIOS / "suites" / "rail.yaml").entries
MIXED = load_suite(SCENARIOS / "suites" / "mixed.yaml").entries
KMH = 1 / 3.6


def _line(
    write_yaml,
    body: str,
    *,
    gradient: float = 0.0,
    extra_map: str = "",
    dt: str = "0.1",
    duration: float = 600,
) -> object:
    text = f"""schema_version: 1
id: t
name: t
description: t
dt: {dt}
duration: {duration}
map:
  rail:
    tracks:
      - id: line
        geometry: [{{line: 30 km}}]
        speed: [{{at: 0 m, speed: 300 km/h}}]
        gradient: [{{at: 0 m, gradient: {gradient}}}]
entities:
{body}"""
    return load_scenario(write_yaml(text)).scenario


class Const:
    """A test driver that holds one demand."""

    name, version = "const", "0"

    def __init__(self, demand: float) -> None:
        self.demand = demand

    def reset(self, briefing, *, rng):
        pass

    def act(self, obs):
        from agents.rail.types import RailAction

        return RailAction(self.demand)


def _run(scenario, demand: float):
    from sim.core.rollout import rollout

    return rollout(scenario, {"train": Const(demand)})


#: SUMO MSCFModel_Rail.h tables, typed here from the source (not read from the project):
#: mass (kg), mass factor, decl (m/s²), v_max (m/s), resistance at 0 and at v_max (N).
SUMO_TRAINS = {
    "rb425": (138_000.0, 1.04, 1.0, 160 * KMH, 2_600.0, 18_700.0),
    "ice3": (420_000.0, 1.04, 0.5, 300 * KMH, 7_400.0, 71_800.0),
    "freight": (1_440_000.0, 1.06, 0.3, 120 * KMH, 1_900.0, 140_200.0),
}
BRAKE_TAU_S = {"rb425": 2.0, "ice3": 2.0, "freight": 10.0}


def _sumo_stop_distance(kind: str, v0: float) -> float:
    """SUMO's definition, integrated in plain Python (RK4, 1 ms): the brake decelerates by
    decl·(1 − e^(−t/τ)) and the Davis resistance R(v) = A + C·v² adds R/(m·mf)."""
    m, mf, decl, vmax, r0, r1 = SUMO_TRAINS[kind]
    tau = BRAKE_TAU_S[kind]

    def acc(t: float, v: float) -> float:
        return -decl * (1 - math.exp(-t / tau)) - (r0 + (r1 - r0) * (v / vmax) ** 2) / (m * mf)

    h, t, v, x = 1e-3, 0.0, v0, 0.0
    while True:
        k1 = acc(t, v)
        k2 = acc(t + h / 2, v + h / 2 * k1)
        k3 = acc(t + h / 2, v + h / 2 * k2)
        k4 = acc(t + h, v + h * k3)
        v_next = v + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if v_next <= 0:  # the last partial step at the mean deceleration
            return x + v * v / (2 * -k1)
        x += h * (v + v_next) / 2
        t, v = t + h, v_next


@pytest.mark.parametrize("kind", ["rb425", "ice3", "freight"])
def test_a_built_up_service_brake_delivers_its_stated_deceleration(write_yaml, kind):
    """Once built up (8 τ), full service braking on level track decelerates by
    decl + R(v)/(m·mf): the stated deceleration is delivered, resistance on top (SUMO)."""
    m, mf, decl, vmax, r0, r1 = SUMO_TRAINS[kind]
    tau = BRAKE_TAU_S[kind]
    v0 = min(vmax, 118.5 * KMH)
    body = (
        f"  - {{id: train, domain: rail, kind: {kind}, path: [line], at: 100 m, "
        f"speed: {v0 * 3.6} km/h, agent: full-traction}}\n"
    )
    res = _run(_line(write_yaml, body, duration=8 * tau + 1), -1.0)
    a = res.log.arrays["rail"]
    k = round(8 * tau / 0.1)
    v = 0.5 * (a["speed_mps"][k, 0] + a["speed_mps"][k - 1, 0])  # the tick's mean speed
    assert v > 1.0
    expected = decl + (r0 + (r1 - r0) * (v / vmax) ** 2) / (m * mf)
    assert -a["accel_mps2"][k, 0] == pytest.approx(expected, rel=2e-3)


@pytest.mark.parametrize("kind", ["rb425", "ice3"])
def test_stopping_distance_matches_sumo_with_the_same_build_up(write_yaml, kind):
    """Full service braking from 118.5 km/h on level track stops where SUMO's definition
    (the continuous model, integrated independently and finely) stops: RB425 575.7 m
    (592.7 m when the brake gave b/(1+ρ)); within 0.1 % at dt = 0.1 s."""
    v0 = 118.5 * KMH
    body = (
        f"  - {{id: train, domain: rail, kind: {kind}, path: [line], at: 100 m, "
        "speed: 118.5 km/h, agent: full-traction}\n"
    )
    res = _run(_line(write_yaml, body, duration=150), -1.0)
    a = res.log.arrays["rail"]
    stop = int(np.argmax(a["speed_mps"][:, 0] <= 0))
    assert stop > 0
    expected = _sumo_stop_distance(kind, v0)
    if kind == "rb425":
        assert expected == pytest.approx(575.7, abs=0.1)
    assert a["p_m"][stop, 0] - 100.0 == pytest.approx(expected, rel=1e-3)


def test_davis_resistance_at_a_given_speed(write_yaml):
    """Coasting on level track: m(1+ρ)·dv/dt = −(A + C·v²) with A, C fitted to the preset's
    resistance at 0 and at v_max (RB425: 2.6 kN and 18.7 kN at 160 km/h)."""
    body = (
        "  - {id: train, domain: rail, kind: rb425, path: [line], at: 100 m, "
        "speed: 160 km/h, agent: full-traction}\n"
    )
    sc = _line(write_yaml, body, dt="0.01", duration=0.05)
    res = _run(sc, 0.0)
    a = res.log.arrays["rail"]
    m, rho = 138_000.0, 0.04
    decel = -a["accel_mps2"][1, 0]
    v = a["speed_mps"][0, 0]
    r = 2600.0 + (18_700.0 - 2600.0) * (v / (160 * KMH)) ** 2
    assert decel == pytest.approx(r / (m * (1 + rho)), rel=2e-3)


def test_traction_power_limit(write_yaml):
    """Full traction at high speed: F = min(F_max, P/v) with P = F(v_max)·v_max; ICE3 at
    200 km/h: F = 96 kN · 300/200."""
    body = (
        "  - {id: train, domain: rail, kind: ice3, path: [line], at: 100 m, "
        "speed: 200 km/h, agent: full-traction}\n"
    )
    sc = _line(write_yaml, body, dt="0.01", duration=5)
    res = _run(sc, 1.0)
    a = res.log.arrays["rail"]
    v = a["speed_mps"][0, 0]
    m, rho = 420_000.0, 0.04
    f = min(300_000.0, 96_000.0 * 300 / 200)
    r = 7400.0 + (71_800.0 - 7400.0) * (v / (300 * KMH)) ** 2
    assert a["accel_mps2"][1, 0] == pytest.approx((f - r) / (m * (1 + rho)), rel=5e-3)
    # traction work: the energy counter equals ∫ F·v dt
    e = a["energy_j"][-1, 0]
    assert e > 0 and np.all(np.diff(a["energy_j"][:, 0]) >= 0)


def test_ebd_and_intervention_curves_hand_computed():
    """v·t + v²/(2a) = d: a = 1.04 m/s² (0.8 × 1.3), T_be = 3 s, d = 1000 m →
    v = −3.12 + √(3.12² + 2080) = 42.61 m/s; with v_t = 10 m/s the root grows accordingly."""
    v = curve_speed(np.array([1000.0]), np.array([0.0]), np.array([1.04]), 3.0)[0]
    assert v == pytest.approx(-3.12 + math.sqrt(3.12**2 + 2080.0), rel=1e-12)
    v2 = curve_speed(np.array([1000.0]), np.array([10.0]), np.array([1.04]), 3.0)[0]
    assert v2 * 3.0 + (v2**2 - 100.0) / 2.08 == pytest.approx(1000.0, rel=1e-9)
    # SUBSET-026 ceiling margins: 7.5 km/h EBI at or below 110 km/h, 15 at 210 km/h and above
    assert margin("ebi", np.array([100 * KMH]))[0] == pytest.approx(7.5 * KMH)
    assert margin("ebi", np.array([160 * KMH]))[0] == pytest.approx(11.25 * KMH)
    assert margin("ebi", np.array([250 * KMH]))[0] == pytest.approx(15 * KMH)


def test_curtius_kniffler_adhesion():
    mu0 = adhesion_coefficient(np.array([0.0]), np.array([1.0]))[0]
    assert mu0 == pytest.approx(0.161 + 7.5 / 44.0)
    assert adhesion_coefficient(np.array([100 * KMH]), np.array([0.5]))[0] == pytest.approx(
        0.5 * (0.161 + 7.5 / 144.0)
    )
    # braking on low adhesion is capped at μ·g
    assert mu0 * 0.3 * G0_MPS2 < 1.0


@pytest.mark.slow  # 25 s
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.floats(60, 160),
    st.floats(-25, 25),
    st.floats(0.3, 1.0),
    st.floats(1500, 5000),
)
def test_a_sane_agent_with_protection_never_passes_a_red_signal(
    write_yaml, speed, gradient, adhesion, signal
):
    """With the protection on, the reference ATO stops before a signal held at danger for any
    approach speed, gradient and adhesion from which stopping is possible at all (the signal
    beyond the braking distance it plans with)."""
    v = speed * KMH
    decel = 0.6 * 1.0 * min(1.0, adhesion / 0.6) + G0_MPS2 * min(gradient, 0.0) / 1000.0
    assume(decel > 0.05 and signal - 100.0 > 1.1 * (v * v / (2 * decel) + 4.0 * v))
    # long enough to reach the signal at line speed, brake, and be seen standing for 60 s
    duration = min(500.0, (signal - 100.0) / v + v / decel + 60.0)
    text = f"""schema_version: 1
id: t
name: t
description: t
dt: 0.2
duration: {duration:.0f}
map:
  rail:
    tracks:
      - id: line
        geometry: [{{line: 12 km}}]
        speed: [{{at: 0 m, speed: 160 km/h}}]
        gradient: [{{at: 0 m, gradient: {gradient:.2f}}}]
    signals:
      - {{id: S2, track: line, at: {signal:.1f} m}}
      - {{id: S3, track: line, at: {signal + 3000:.1f} m}}
    adhesion: [{{track: line, start: 0 m, end: 12 km, factor: {adhesion:.3f}}}]
    protection: {{enabled: true}}
entities:
  - {{id: train, domain: rail, kind: rb425, path: [line], at: 100 m,
      speed: {speed:.1f} km/h, agent: supervised-ato}}
  - {{id: blocker, domain: rail, kind: obstacle, path: [line], at: {signal + 1500:.1f} m}}
"""
    out = run_loaded(load_scenario(write_yaml(text)))
    assert out.metrics["spads"].value == 0
    assert out.metrics["collisions"].value == 0


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(0, 20), min_size=2, max_size=6, unique=True), st.integers(0, 1000))
def test_interlocking_never_gives_two_trains_overlapping_routes(write_yaml, blocks, seed):
    """Trains starting in different blocks, at random speeds: no track interval is ever
    claimed (body or locked route) by two trains at once, so they never meet."""
    from sim.core.rollout import World

    rng = np.random.default_rng(seed)
    starts = [300.0 + 1200.0 * b + 700.0 for b in sorted(blocks)]
    sigs = "".join(
        f"      - {{id: S{k}, track: line, at: {300 + 1200 * k} m}}\n" for k in range(24)
    )
    trains = "".join(
        f"  - {{id: t{k}, domain: rail, kind: rb425, path: [line], at: {s:.1f} m, "
        f"speed: {rng.uniform(0, 120):.1f} km/h}}\n"
        for k, s in enumerate(starts)
    )
    text = f"""schema_version: 1
id: t
name: t
description: t
dt: 0.5
duration: 100
map:
  rail:
    tracks:
      - id: line
        geometry: [{{line: 32 km}}]
        speed: [{{at: 0 m, speed: 140 km/h}}]
    signals:
{sigs}entities:
  - {{id: own, domain: rail, kind: rb425, path: [line], at: 31900 m, agent: full-traction}}
{trains}"""
    lo = load_scenario(write_yaml(text))
    rt = World.build(lo.scenario, np.random.SeedSequence(0)).runtimes["rail"]
    for tick in range(200):
        rt.monitor(tick)
        rt.step(tick)
        claims = [(k, c) for k in range(rt.n) for c in rt._claims(k)]
        for i, (ka, (ta, a0, a1)) in enumerate(claims):
            for kb, (tb, b0, b1) in claims[i + 1 :]:
                if ka != kb and ta == tb:
                    assert not (a0 < b1 - 1e-6 and b0 < a1 - 1e-6), (tick, ka, kb)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_supervised_ato_passes_every_shipped_rail_scenario(entry):
    out = run_loaded(load_scenario(entry.path, entry.overrides))
    passed_and_saveable(out)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_full_traction_fails_every_rail_scenario(entry):
    out = run_loaded(load_scenario(entry.path, entry.overrides), agent="full-traction")
    assert out.verdict == "fail"


@pytest.mark.parametrize("entry", MIXED, ids=lambda e: e.name)
def test_mixed_road_rail_scenarios(entry):
    lo = load_scenario(entry.path, entry.overrides)
    assert set(lo.scenario.map.model_dump(exclude_none=True)) == {"road", "rail"}
    out = run_loaded(lo)
    assert out.verdict == "pass", [c for c in out.criteria if not c.passed]


def test_stalled_car_on_the_crossing_is_hit_by_a_train_that_ignores_it():
    """The cross-domain contact check catches a train hitting a road vehicle."""
    from agents.loading import load_agent
    from sim.core.rollout import rollout

    lo = load_scenario(SCENARIOS / "mixed" / "level_crossing_stalled_car.yaml")
    res = rollout(
        lo.scenario,
        {"train": load_agent("full-traction"), "car": load_agent("acc", {"set_speed": 13.9})},
    )
    hits = [e for e in res.events if e.kind == "collision"]
    assert hits and set(hits[0].entities) == {"train", "stalled"}


def test_barriers_close_before_the_train_and_stop_the_car():
    out = run_loaded(load_scenario(SCENARIOS / "mixed" / "level_crossing.yaml"))
    a = out.result.log.arrays["rail"]
    closed = a["crossing_closed"][:, 0]
    assert closed.any() and not closed[0]
    road = out.result.log.arrays["road"]
    assert out.metrics["red_lights_passed"].value == 0
    assert (road["signal_state"][:, 0] == 2).any()


@pytest.mark.slow  # 11 s; the road's determinism is in the default run (test_rollout)
def test_same_seed_same_trajectories():
    path = SCENARIOS / "rail" / "timetable_three_trains.yaml"
    assert (
        run_loaded(load_scenario(path)).result.log.digest()
        == run_loaded(load_scenario(path)).result.log.digest()
    )


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("path: [lin]", "no track 'lin'"),
        ("path: [line, line]", "does not follow 'line'"),
        ("path: [line]\n    timetable: [{station: nowhere}]", "no station 'nowhere'"),
        ("path: [line]\n    timetable: [{station: far}]", "not on this train's path"),
    ],
)
def test_bad_rail_input_gets_one_clear_line(write_yaml, snippet, message):
    from sim.errors import ScenarioError

    text = f"""schema_version: 1
id: t
name: t
description: t
duration: 10
map:
  rail:
    tracks:
      - {{id: line, geometry: [{{line: 5 km}}], speed: [{{at: 0 m, speed: 100 km/h}}]}}
      - {{id: other, geometry: [{{line: 5 km}}], speed: [{{at: 0 m, speed: 100 km/h}}]}}
    stations: [{{id: far, track: other, at: 100 m}}]
entities:
  - id: train
    domain: rail
    agent: full-traction
    at: 10 m
    {snippet}
"""
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write_yaml(text))
