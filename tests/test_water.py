"""Water domain: Nomoto closed forms, IMO manoeuvring gates for every preset, encounter
classification at the sector boundaries, vectorised-vs-scalar monitors, shipped verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.domains.water import colreg as cr
from sim.domains.water import dynamics as dyn
from sim.domains.water.schema import PRESETS
from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS, passed_and_saveable

WATER_SUITE = SCENARIOS / "suites" / "water.yaml"
ENTRIES = load_suite(WATER_SUITE).entries
A = np.array
DEG = math.radians


def _manoeuvre(preset, rudder_fn, seconds: float, dt: float = 0.1, speed: float | None = None):
    """Integrate one ship of ``preset`` with rudder command rudder_fn(heading, t)."""
    p = preset
    u = p.service_speed if speed is None else speed
    tab = np.full((1, 3), np.nan)
    tu, tk, tt = tab.copy(), tab.copy(), tab.copy()
    if p.table:
        tu[0], tk[0], tt[0] = zip(*[(r[0], r[1], r[2]) for r in p.table], strict=True)
    x = y = psi = r = delta = 0.0
    out = []
    for k in range(int(seconds / dt)):
        kk, tc = dyn.nomoto_constants(
            A([u]), A([p.length]), A([p.k_prime]), A([p.t_prime]), tu, tk, tt, A([bool(p.table)])
        )
        n3 = np.interp(u, [r_[0] for r_ in p.table], [r_[3] for r_ in p.table]) if p.table else p.n3
        res = dyn.advance(
            A([x]), A([y]), A([psi]), A([r]), A([u]), A([delta]), A([rudder_fn(psi, k * dt)]),
            A([u]), k=kk, t=tc, n3=A([n3]), max_rudder=A([p.max_rudder]),
            max_rudder_rate=A([p.max_rudder_rate]), t_speed=A([p.speed_time_constant]),
            max_accel=A([p.max_accel]), max_decel=A([p.max_decel]), drift_e=0.0, drift_n=0.0,
            dt=dt,
        )  # fmt: skip
        x, y, psi, r, u, delta = (float(v[0]) for v in res)
        out.append((k * dt, x, y, psi, r))
    return out


def test_nomoto_steady_turn_rate_and_time_constant():
    """T·ṙ + r = K·δ with the rudder at δ from t = 0: r(t) = Kδ(1 − e^(−t/T)), so
    r(T) = 63.2 % of the steady rate Kδ (first-order Nomoto, n3 = 0)."""
    k, t, delta, dt = A([0.1]), A([20.0]), 0.2, 0.01
    r = A([0.0])
    rs = []
    for _ in range(int(100 / dt)):
        _, _, _, r, _, _ = dyn.advance(
            A([0.0]), A([0.0]), A([0.0]), r, A([5.0]), A([delta]), A([delta]), A([5.0]),
            k=k, t=t, n3=A([0.0]), max_rudder=A([1.0]), max_rudder_rate=A([10.0]),
            t_speed=A([10.0]), max_accel=A([1.0]), max_decel=A([1.0]), drift_e=0.0,
            drift_n=0.0, dt=dt,
        )  # fmt: skip
        rs.append(r[0])
    assert rs[-1] == pytest.approx(0.1 * delta * (1 - math.exp(-100 / 20)), rel=1e-6)
    assert rs[round(20.0 / dt) - 1] == pytest.approx(0.1 * delta * (1 - math.exp(-1)), rel=1e-6)


def test_norrbin_steady_state():
    """With the cubic term the steady rate solves r + n3·r³ = K·δ."""
    k, n3, delta = 0.2, 0.5, 0.3
    r = A([0.0])
    for _ in range(20_000):
        _, _, _, r, _, _ = dyn.advance(
            A([0.0]), A([0.0]), A([0.0]), r, A([5.0]), A([delta]), A([delta]), A([5.0]),
            k=A([k]), t=A([10.0]), n3=A([n3]), max_rudder=A([1.0]), max_rudder_rate=A([10.0]),
            t_speed=A([10.0]), max_accel=A([1.0]), max_decel=A([1.0]), drift_e=0.0,
            drift_n=0.0, dt=0.05,
        )  # fmt: skip
    assert r[0] + n3 * r[0] ** 3 == pytest.approx(k * delta, rel=1e-6)


@pytest.mark.parametrize("kind", sorted(PRESETS))
def test_every_preset_passes_the_imo_msc137_gates(kind):
    """IMO MSC.137(76) §5.3: advance ≤ 4.5 L and tactical diameter ≤ 5 L (35° turning
    circle), 10° rudder gives 10° heading change within 2.5 L, 10/10 zig-zag first
    overshoot ≤ 10° (L/V < 10 s), 5 + ½·L/V (10-30 s) or 20° (≥ 30 s)."""
    p = PRESETS[kind]
    L = p.length
    tr = _manoeuvre(p, lambda psi, t: p.max_rudder, 4000)
    cum = np.unwrap([o[3] for o in tr])
    i90, i180 = int(np.argmax(cum >= math.pi / 2)), int(np.argmax(cum >= math.pi))
    assert tr[i90][2] <= 4.5 * L  # advance: distance along the original course
    assert tr[i180][1] <= 5.0 * L  # tactical diameter: lateral distance at 180°
    it = _manoeuvre(p, lambda psi, t: DEG(10), 900)
    j = int(np.argmax(np.array([o[3] for o in it]) >= DEG(10)))
    track = sum(math.dist(it[k][1:3], it[k + 1][1:3]) for k in range(j))
    assert 0 < track <= 2.5 * L
    side = {"s": 1}

    def zigzag(psi: float, t: float) -> float:
        h = math.degrees(math.remainder(psi, 2 * math.pi))
        if side["s"] == 1 and h >= 10:
            side["s"] = -1
        elif side["s"] == -1 and h <= -10:
            side["s"] = 1
        return side["s"] * DEG(10)

    z = _manoeuvre(p, zigzag, 2000)
    h = np.degrees([math.remainder(o[3], 2 * math.pi) for o in z])
    i = int(np.argmax(h >= 10))
    j = i + int(np.argmax(h[i:] < 10))
    lv = L / p.service_speed
    limit = 10.0 if lv < 10 else 20.0 if lv >= 30 else 5 + 0.5 * lv
    assert h[i:j].max() - 10 <= limit


def test_ship_domain_radii_on_the_axes():
    L, B = A([100.0]), A([20.0])
    r = [cr.domain_radius(A([DEG(b)]), L, B, 3.5, 1.0, 1.5, 3.0)[0] for b in (0, 90, 180, 270)]
    assert r == pytest.approx([350.0, 310.0, 150.0, 110.0])


def _scalar_class(beta_own: float, beta_tgt: float, closing: bool, ho: float) -> int:
    """Plain reading of Rules 13-15 (the reference for the vectorised classifier)."""
    if not closing:
        return cr.NONE
    abaft = lambda b: DEG(112.5) <= b <= DEG(247.5)  # noqa: E731
    if abaft(beta_own):
        return cr.OVERTAKEN
    if abaft(beta_tgt):
        return cr.OVERTAKING
    # Rule 14(a): reciprocal or nearly reciprocal courses. Build the geometry: own at the
    # origin heading north sees the target at β_own; the target's heading ψ_t makes it see
    # own (bearing β_own + 180° from it) at β_tgt, so ψ_t = β_own + 180° − β_tgt.
    psi_t = (beta_own + math.pi - beta_tgt) % (2 * math.pi)
    reciprocal = abs(psi_t - math.pi) <= ho
    ahead = lambda b: min(b, 2 * math.pi - b) <= ho  # noqa: E731
    if ahead(beta_own) and ahead(beta_tgt) and reciprocal:
        return cr.HEAD_ON
    return cr.CROSS_GIVE_WAY if beta_own < DEG(112.5) else cr.CROSS_STAND_ON


BOUNDARIES = [0.0, 13.0, 112.5, 180.0, 247.5, 347.0, 360.0]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.floats(0, 359.999),
        st.sampled_from(BOUNDARIES).flatmap(lambda b: st.floats(b - 1e-6, b + 1e-6)),
    ),
    st.one_of(
        st.floats(0, 359.999),
        st.sampled_from(BOUNDARIES).flatmap(lambda b: st.floats(b - 1e-6, b + 1e-6)),
    ),
    st.booleans(),
)
def test_classification_equals_the_scalar_reading_at_and_around_every_boundary(bo, bt, closing):
    bo, bt = DEG(bo % 360), DEG(bt % 360)
    got = cr.classify(A([bo]), A([bt]), A([closing]), head_on_sector=DEG(13))[0]
    assert got == _scalar_class(bo, bt, closing, DEG(13))


@settings(max_examples=300, deadline=None)
@given(st.floats(-20, 20), st.floats(-20, 20))
def test_near_dead_ahead_head_on_needs_nearly_reciprocal_courses(bo, bt):
    """Where head-on and fine crossings meet: both bearings within 20° of the bow."""
    bo, bt = DEG(bo % 360), DEG(bt % 360)
    got = cr.classify(A([bo]), A([bt]), A([True]), head_on_sector=DEG(13))[0]
    assert got == _scalar_class(bo, bt, True, DEG(13))


def test_hand_placed_encounters_get_their_names():
    cases = {
        (DEG(2), DEG(358)): cr.HEAD_ON,
        (DEG(45), DEG(300)): cr.CROSS_GIVE_WAY,
        (DEG(300), DEG(45)): cr.CROSS_STAND_ON,
        (DEG(5), DEG(180)): cr.OVERTAKING,
        (DEG(180), DEG(5)): cr.OVERTAKEN,
        (DEG(112.4), DEG(300)): cr.CROSS_GIVE_WAY,
        (DEG(112.6), DEG(300)): cr.OVERTAKEN,
        # each sees the other 12° on the same bow: courses 180° ± 0 apart → head-on
        (DEG(348), DEG(348)): cr.HEAD_ON,
        (DEG(12), DEG(12)): cr.HEAD_ON,
        # on opposite bows: courses 156° apart, a fine crossing (Rule 15), not head-on
        (DEG(348), DEG(12)): cr.CROSS_STAND_ON,
        (DEG(12), DEG(348)): cr.CROSS_GIVE_WAY,
        # opposite bows but within 13° of reciprocal together (5° + 6°) → head-on
        (DEG(355), DEG(6)): cr.HEAD_ON,
    }
    for (bo, bt), want in cases.items():
        assert cr.classify(A([bo]), A([bt]), A([True]), head_on_sector=DEG(13))[0] == want


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-170, 170), st.floats(0.3, 2.5), st.floats(60, 3600), st.floats(-2000, 2000),
    st.floats(0, 359),
)  # fmt: skip
def test_placement_gives_the_requested_tcpa_dcpa_and_bearing(bearing, ratio, tcpa, dcpa, course):
    from sim.core.pairs import cpa

    b = DEG(bearing)
    if abs(math.sin(b)) > ratio - 1e-6:
        with pytest.raises(ValueError):
            cr.place_encounter(0, 0, DEG(course), 6.0, speed_ratio=ratio, tcpa=tcpa, bearing=b)
        return
    try:
        tx, ty, c, u = cr.place_encounter(
            0, 0, DEG(course), 6.0, speed_ratio=ratio, tcpa=tcpa, dcpa=dcpa, bearing=b
        )
    except ValueError as exc:  # |sin β| ≤ k is necessary, not sufficient (e.g. k = 1 abeam)
        assert "no target course" in str(exc)
        return
    vx = u * math.sin(c) - 6.0 * math.sin(DEG(course))
    vy = u * math.cos(c) - 6.0 * math.cos(DEG(course))
    t, d = cpa(A([tx]), A([ty]), A([vx]), A([vy]))
    assert u == pytest.approx(ratio * 6.0)
    if math.hypot(vx, vy) > 1e-3:
        assert t[0] == pytest.approx(tcpa, rel=1e-6, abs=1e-6)
        assert d[0] == pytest.approx(abs(dcpa), abs=1e-6)
    if dcpa == 0:
        got = math.degrees(math.atan2(tx, ty) - DEG(course))
        assert math.remainder(got - bearing, 360) == pytest.approx(0, abs=1e-6)


def _traffic(write_yaml, n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    ships = "".join(
        f"""  - id: s{k}
    domain: water
    kind: usv
    position: {{x: {rng.uniform(0, 4000):.1f}, y: {rng.uniform(0, 4000):.1f}}}
    heading: {rng.uniform(0, 6.28):.4f}
    speed: {rng.uniform(1, 8):.2f}
"""
        for k in range(n)
    )
    return f"""schema_version: 1
id: t
name: t
description: t
dt: 0.5
duration: 5
map:
  water:
    pair_range: 2500 m
entities:
  - id: own
    domain: water
    kind: usv
    position: {{x: 2000, y: 2000}}
    agent: keep-course
    route: [{{position: {{x: 2000, y: 9000}}}}]
{ships}"""


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10_000), st.sampled_from([15, 320]))
def test_vectorised_pair_monitor_equals_a_scalar_reference(write_yaml, seed, n):
    """Nearest range, smallest DCPA ahead, ship-domain flags of every ship (grid index past
    300 ships) equal plain loops over every pair."""
    from sim.core.rollout import World

    lo = load_scenario(write_yaml(_traffic(write_yaml, n, seed)))
    rt = World.build(lo.scenario, np.random.SeedSequence(0)).runtimes["water"]
    rt.monitor(0)
    m = rt.n
    nearest = np.full(m, np.inf)
    dcpa = np.full(m, np.inf)
    dom = np.zeros(m, bool)
    sd, cg = rt.sd, rt.cg
    for a in range(m):
        for b in range(m):
            if a == b:
                continue
            sx, sy = rt.x[b] - rt.x[a], rt.y[b] - rt.y[a]
            d = math.hypot(sx, sy)
            if d > 2500:
                continue
            nearest[a] = min(nearest[a], d)
            vx, vy = rt.ve[b] - rt.ve[a], rt.vn[b] - rt.vn[a]
            v2 = vx * vx + vy * vy
            t = -(sx * vx + sy * vy) / v2 if v2 > 1e-12 else 0.0
            if sx * vx + sy * vy < 0 and 0 < t < cg.tcpa_risk:
                dcpa[a] = min(dcpa[a], math.hypot(sx + t * vx, sy + t * vy))
            beta = (math.atan2(sx, sy) - rt.psi[a]) % (2 * math.pi)
            fwd, stbd = math.cos(beta) >= 0, math.sin(beta) >= 0
            long_ = (sd.ahead if fwd else sd.astern) * rt.length[a]
            lat = (sd.starboard if stbd else sd.port) * rt.length[a] + 0.5 * rt.beam[a]
            radius = 1 / math.sqrt((math.sin(beta) / lat) ** 2 + (math.cos(beta) / long_) ** 2)
            dom[a] |= d < radius
    assert np.allclose(rt.nearest, nearest)
    assert np.allclose(rt.dcpa, dcpa)
    assert np.array_equal(rt.in_domain, dom)


def test_grounding_stops_the_ship_and_reports_ukc(write_yaml):
    text = """schema_version: 1
id: t
name: t
description: t
dt: 0.5
duration: 300
map:
  water:
    default_depth: 30 m
    depth_areas:
      - depth: 2 m
        polygon: [{x: -500, y: 500}, {x: 500, y: 500}, {x: 500, y: 900}, {x: -500, y: 900}]
entities:
  - id: own
    domain: water
    kind: coaster
    agent: keep-course
    route: [{position: {x: 0, y: 5000}}]
"""
    out = run_loaded(load_scenario(write_yaml(text)))
    g = [e for e in out.result.events if e.kind == "grounding"]
    assert len(g) == 1 and g[0].details["ukc_m"] == pytest.approx(2.0 - 5.5)
    assert out.metrics["min_ukc_m"].value == pytest.approx(2.0 - 5.5)
    a = out.result.log.arrays["water"]
    assert a["stw_mps"][-1, 0] == 0.0 and a["grounded"][-1, 0]
    near = [e for e in out.result.events if e.kind == "near_grounding"]
    assert not near  # 30 m → 2 m: no margin band crossed on the way (a step in depth)


def test_turning_to_port_in_a_head_on_is_a_rule_14_finding():
    from agents.water.types import WaterAction

    class PortTurner:
        name, version = "port-turner", "0"

        def reset(self, briefing, *, rng):
            pass

        def act(self, obs):
            turn = -DEG(40) if obs.time_s > 60 else 0.0
            return WaterAction(obs.own.speed_mps, heading_rad=turn)

    from sim.core.rollout import rollout

    lo = load_scenario(SCENARIOS / "water" / "head_on.yaml")
    res = rollout(lo.scenario, {"own": PortTurner()})
    rules = [e.details["rule"] for e in res.events if e.kind == "colreg_finding"]
    assert "14" in rules


def test_a_fine_crossing_is_not_head_on_and_the_stand_on_ship_keeps_course(write_yaml):
    """Courses 156° apart at equal speeds on a collision course: own sees the target 12° on
    her port bow, the target sees own 12° on her starboard bow. Under Rules 14/15 that is a
    crossing in which the target gives way and own stands on (Rule 17(a)(i)): keeping course
    and speed earns no finding (it was classified head-on, with a Rule 8/16 finding)."""
    text = """schema_version: 1
id: t
name: t
description: t
dt: 0.5
duration: 1500
map: {water: {default_depth: 80 m}}
entities:
  - {id: own, domain: water, kind: coaster, position: {x: 0, y: 0}, heading: 0 deg,
     speed: 12 kn, agent: keep-course, route: [{position: {x: 0, y: 12 km}}]}
  - id: target
    domain: water
    kind: coaster
    placement: {to: own, bearing: -12 deg, speed_ratio: 1, tcpa: 15 min, dcpa: 0 m}
    manoeuvres:
      - {when: {tcpa_below: 10 min, to: own}, turn: 60 deg}
"""
    out = run_loaded(load_scenario(write_yaml(text)))
    a = out.result.log.arrays["water"]
    course_diff = math.degrees(
        abs(math.remainder(a["psi_rad"][0, 1] - a["psi_rad"][0, 0], 2 * math.pi))
    )
    assert course_diff == pytest.approx(156.0, abs=0.01)
    enc = [e for e in out.result.events if e.kind == "encounter" and e.entities[0] == "own"]
    assert [e.details["type"] for e in enc] == ["crossing stand-on"]
    assert [e for e in out.result.events if e.kind == "colreg_finding"] == []
    assert out.metrics["colreg_findings"].value == 0


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_colreg_pilot_passes_every_shipped_water_scenario(entry):
    out = run_loaded(load_scenario(entry.path, entry.overrides))
    passed_and_saveable(out)


REACTIVE = [e for e in ENTRIES if "reactive" in load_scenario(e.path, e.overrides).scenario.tags]


@pytest.mark.parametrize("entry", REACTIVE, ids=lambda e: e.name)
def test_keep_course_fails_where_it_must_act(entry):
    out = run_loaded(load_scenario(entry.path, entry.overrides), agent="keep-course")
    assert out.verdict == "fail"


def test_suite_size():
    assert len(ENTRIES) >= 10 and len(REACTIVE) >= 8


@pytest.mark.slow  # 12 s; the road's determinism is in the default run (test_rollout)
def test_same_seed_same_trajectories():
    path = SCENARIOS / "water" / "three_ship.yaml"
    assert (
        run_loaded(load_scenario(path)).result.log.digest()
        == run_loaded(load_scenario(path)).result.log.digest()
    )


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (
            "placement: {to: own, bearing: 80 deg, speed_ratio: 0.5, tcpa: 600}",
            "no target course meets",
        ),
        (
            "placement: {to: nobody, bearing: 0 deg, speed_ratio: 1, tcpa: 600}",
            "no vessel 'nobody'",
        ),
        ("position: {lat: 52, lon: 4}", "needs map.water.origin"),
        ("position: {x: 0, y: 0}\n    speed: 30 kn", "above the coaster's maximum"),
    ],
)
def test_bad_water_input_gets_one_clear_line(write_yaml, snippet, message):
    from sim.errors import ScenarioError

    text = f"""schema_version: 1
id: t
name: t
description: t
duration: 10
entities:
  - id: own
    domain: water
    kind: coaster
    agent: keep-course
    route: [{{position: {{x: 0, y: 5000}}}}]
  - id: other
    domain: water
    kind: coaster
    {snippet}
"""
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write_yaml(text))
