"""Air domain: closed-form oracles, vectorised-vs-scalar properties, shipped scenarios."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.geometry import grid_pairs
from sim.core.pairs import all_pairs, pairs_within
from sim.domains.air import dynamics as dyn
from sim.domains.air import separation as sep
from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from sim.units import G0_MPS2, parse_altitude
from tests.conftest import SCENARIOS, passed_and_saveable

AIR_SUITE = SCENARIOS / "suites" / "air.yaml"
ENTRIES = load_suite(AIR_SUITE).entries
A = np.array


def test_cpa_of_two_straight_tracks():
    """Ownship at the origin; intruder 10 km east flying north-west at 100 m/s relative:
    closest approach when the relative track passes nearest the origin."""
    sx, sy, vx, vy = A([10_000.0]), A([0.0]), A([-100.0]), A([100.0])
    t, d = sep.cpa(sx, sy, vx, vy)
    assert t[0] == pytest.approx(50.0)  # −(s·v)/(v·v) = 1e6 / 2e4
    assert d[0] == pytest.approx(10_000 / math.sqrt(2))


def test_taumod_of_a_head_on_pair():
    """Head-on at range d closing at V: τ_mod = (d² − DMOD²)/(d·V)."""
    d, v, dmod = 9000.0, 150.0, 1219.2
    tm = sep.taumod(A([0.0]), A([d]), A([0.0]), A([-v]), dmod)
    assert tm[0] == pytest.approx((d * d - dmod * dmod) / (d * v))
    assert sep.taumod(A([0.0]), A([d]), A([0.0]), A([v]), dmod)[0] == -1.0  # diverging


def test_los_interval_entry_and_exit_times():
    """Head-on, co-altitude, range d, closing V: inside R from (d − R)/V to (d + R)/V."""
    d, v, r = 20_000.0, 200.0, 9260.0
    t_in, t_out = sep.cylinder_interval(
        A([0.0]), A([d]), A([0.0]), A([0.0]), A([-v]), A([0.0]), r, 304.8
    )
    assert t_in[0] == pytest.approx((d - r) / v)
    assert t_out[0] == pytest.approx((d + r) / v)
    # 2000 ft apart vertically: never inside a 1000 ft slab
    t_in, t_out = sep.cylinder_interval(
        A([0.0]), A([d]), A([609.6]), A([0.0]), A([-v]), A([0.0]), r, 304.8
    )
    assert t_in[0] > t_out[0]


def test_turn_radius_is_v_squared_over_g_tan_bank():
    """A full turn at the bank limit traces a circle of radius V²/(g·tan φ)."""
    v, bank, dt = 100.0, math.radians(30), 0.05
    x, y, alt, hdg, tas, vs = (A([0.0]) for _ in range(6))
    tas = A([v])
    xs, ys = [], []
    for _ in range(4000):
        x, y, alt, hdg, tas, vs, _, _ = dyn.advance(
            x, y, alt, hdg, tas, vs, hdg + 1.0, A([v]), A([0.0]),
            max_bank=A([bank]), max_turn_rate_radps=A([1.0]), max_accel=A([1.0]),
            max_vaccel=A([1.0]), wind_e=0.0, wind_n=0.0, dt=dt,
        )  # fmt: skip
        xs.append(x[0])
        ys.append(y[0])
    r = v * v / (G0_MPS2 * math.tan(bank))
    cx, cy = r, 0.0  # turning right from north around (r, 0)
    dist = np.hypot(np.array(xs) - cx, np.array(ys) - cy)
    assert np.allclose(dist, r, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-5000, 5000), st.floats(-5000, 5000), st.floats(-300, 300), st.floats(-300, 300),
    st.floats(-500, 500), st.floats(-20, 20),
)  # fmt: skip
def test_wcv_interval_agrees_with_the_pointwise_definition(sx, sy, vx, vy, sz, vz):
    """Inside [t_in, t_out] the pair is in DO-365 WCV; outside (sampled) it is not."""
    dthr, zthr, tthr = 1219.2, 137.16, 35.0
    t_in, t_out = sep.wcv_interval(
        A([sx]), A([sy]), A([sz]), A([vx]), A([vy]), A([vz]), dthr, zthr, tthr
    )
    ts = np.linspace(0.0, 200.0, 401)
    px, py, pz = sx + vx * ts, sy + vy * ts, sz + vz * ts
    hor = sep.horizontal_wcv(px, py, np.full_like(ts, vx), np.full_like(ts, vy), dthr, tthr)
    inside = hor & (np.abs(pz) <= zthr)
    predicted = (ts >= t_in[0]) & (ts <= t_out[0])
    # ignore samples within a hair of the interval ends (floating point at the boundary)
    edge = (np.abs(ts - t_in[0]) < 1e-6) | (np.abs(ts - t_out[0]) < 1e-6)
    assert np.array_equal(inside[~edge], predicted[~edge])


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 400), st.integers(0, 2**32 - 1), st.floats(100.0, 20_000.0))
def test_spatial_index_path_equals_all_pairs(n, seed, radius):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 100_000, n), rng.uniform(0, 100_000, n)
    valid = rng.random(n) > 0.1
    a = set(
        zip(*(v.tolist() for v in pairs_within(x, y, valid, radius, spatial=True)), strict=True)
    )
    b = set(
        zip(*(v.tolist() for v in pairs_within(x, y, valid, radius, spatial=False)), strict=True)
    )
    assert a == b


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 300), st.integers(0, 2**32 - 1))
def test_swept_pairs_hold_every_conflict_of_all_pairs(n, seed):
    """The index may return extra candidates but never misses a conflict within lookahead."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 300_000, n), rng.uniform(0, 300_000, n)
    z = rng.choice(np.arange(8) * 304.8, n)
    hd, v = rng.uniform(-np.pi, np.pi, n), rng.uniform(50, 260, n)
    ve, vn, vz = v * np.sin(hd), v * np.cos(hd), rng.uniform(-10, 10, n)
    valid = np.ones(n, dtype=bool)
    r, h, look = 9260.0, 304.8, 300.0

    def conflicts(i, j):
        t_in, t_out = sep.cylinder_interval(
            x[j] - x[i], y[j] - y[i], z[j] - z[i], ve[j] - ve[i], vn[j] - vn[i], vz[j] - vz[i], r, h
        )
        c = (t_in <= t_out) & (t_out > 0) & (t_in < look)
        return set(zip(i[c].tolist(), j[c].tolist(), strict=True))

    ref = conflicts(*all_pairs(valid))
    got = conflicts(
        *sep.swept_pairs(x, y, ve, vn, valid, look, r, z=z, vz=vz, height=h, spatial=True)
    )
    assert ref == got


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 200), st.integers(0, 2**32 - 1), st.floats(10.0, 5000.0))
def test_grid_pairs_equal_brute_force_box_overlap(n, seed, cell):
    rng = np.random.default_rng(seed)
    x, y, z = rng.uniform(0, 10_000, (3, n))
    hx, hy, hz = rng.uniform(0, 800, (3, n))
    valid = rng.random(n) > 0.2
    i, j = grid_pairs(
        x - hx, y - hy, x + hx, y + hy, valid, cell, zmin=z - hz, zmax=z + hz, zcell=cell
    )
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(got) == i.size  # each pair once
    a, b = all_pairs(valid)
    hit = (np.abs(x[a] - x[b]) <= hx[a] + hx[b]) & (np.abs(y[a] - y[b]) <= hy[a] + hy[b])
    hit &= np.abs(z[a] - z[b]) <= hz[a] + hz[b]
    assert got == set(zip(a[hit].tolist(), b[hit].tolist(), strict=True))


@settings(max_examples=50, deadline=None)
@given(
    st.floats(0, 250), st.floats(-math.pi, math.pi), st.floats(0, 250),
    st.floats(-math.pi, math.pi), st.floats(-15, 15), st.floats(0.01, 1.0),
)  # fmt: skip
def test_kinematics_respect_every_limit(tas, hdg, tgt_tas, tgt_hdg, tgt_vs, dt):
    """Invariants of one step: speed, turn rate and vertical acceleration within limits."""
    lim = {
        "max_bank": A([0.6]),
        "max_turn_rate_radps": A([0.1]),
        "max_accel": A([1.0]),
        "max_vaccel": A([1.5]),
    }
    out = dyn.advance(
        A([0.0]), A([0.0]), A([1000.0]), A([hdg]), A([tas]), A([0.0]), A([tgt_hdg]), A([tgt_tas]),
        A([tgt_vs]), wind_e=0.0, wind_n=0.0, dt=dt, **lim,
    )  # fmt: skip
    x, y, _, _, tas2, _, omega, vacc = (o[0] for o in out)
    assert abs(tas2 - tas) <= 1.0 * dt + 1e-9
    w_max = dyn.max_turn_rate(A([0.5 * (tas + tas2)]), A([0.6]), A([0.1]))[0]
    assert abs(omega) <= w_max + 1e-12
    assert abs(vacc) <= 1.5 + 1e-9
    assert math.hypot(x, y) <= max(tas, tas2) * dt + 1e-9  # no wind: never faster than V


def test_flight_levels_and_lat_lon():
    assert parse_altitude("FL350") == pytest.approx(35_000 * 0.3048)
    from sim.domains.geo import Origin, Position, to_local

    x, y = to_local(Position(lat=52.01, lon=4.01), Origin(lat=52.0, lon=4.0))
    assert y == pytest.approx(1111.95, rel=1e-4)  # 0.01° of latitude
    assert x == pytest.approx(1111.95 * math.cos(math.radians(52.0)), rel=1e-4)


def _heavy_slow(entries: list) -> list:
    """The 1,000-aircraft sector (about 9 s a run) goes to the slow set."""
    return [pytest.param(e, marks=pytest.mark.slow) if e.name == "sector_1000" else e
            for e in entries]  # fmt: skip


@pytest.mark.parametrize("entry", _heavy_slow(ENTRIES), ids=lambda e: e.name)
def test_daa_pilot_passes_every_shipped_air_scenario(entry):
    out = run_loaded(load_scenario(entry.path, entry.overrides))
    passed_and_saveable(out)


REACTIVE = [e for e in ENTRIES if "reactive" in load_scenario(e.path, e.overrides).scenario.tags]


@pytest.mark.parametrize("entry", _heavy_slow(REACTIVE), ids=lambda e: e.name)
def test_plan_only_fails_every_encounter(entry):
    out = run_loaded(load_scenario(entry.path, entry.overrides), agent="plan-only")
    assert out.verdict == "fail"


def test_air_suite_has_the_scenarios_the_issue_asks_for():
    assert len(ENTRIES) >= 10 and len(REACTIVE) >= 8


@pytest.mark.slow  # 11 s; the road's determinism is in the default run (test_rollout)
def test_same_seed_same_trajectories():
    path = SCENARIOS / "air" / "urban_drones.yaml"
    a = run_loaded(load_scenario(path)).result.log.digest()
    b = run_loaded(load_scenario(path)).result.log.digest()
    assert a == b


def test_every_air_metric_computes_on_an_air_log():
    from metrics.registry import METRICS

    out = run_loaded(
        load_scenario(SCENARIOS / "air" / "geofence_activation.yaml"), agent="plan-only"
    )
    air = {n for n, s in METRICS.items() if "air" in s.domains}
    assert air <= set(out.metrics) and len(air) >= 18
    assert "min_ttc_s" not in out.metrics  # road-only metrics do not apply
    assert out.metrics["geofence_breaches"].value == 1
    assert out.metrics["geofence_breach_depth_m"].value > 50
    assert out.metrics["geofence_breach_time_s"].value > 10


def _traffic_scenario(write_yaml, n: int, box_m: float, extra_map: str = "", seed: int = 0):
    text = f"""schema_version: 1
id: t
name: t
description: t
dt: 0.5
duration: 10
seed: {seed}
map:
  air:
    separation: {{horizontal: 600 m, vertical: 100 m}}
    well_clear: {{dthr: 400 m, zthr: 60 m, tthr: 20 s}}
    nmac: {{horizontal: 150 m, vertical: 30 m}}
{extra_map}    traffic:
      - count: {n}
        kind: general_aviation
        x_range: [0 m, {box_m} m]
        y_range: [0 m, {box_m} m]
        altitude_range: [900 m, 1100 m]
        speed_range: [30 m/s, 60 m/s]
entities:
  - id: own
    domain: air
    kind: general_aviation
    position: {{x: 0, y: 0}}
    altitude: 1000 m
    agent: plan-only
    plan: [{{position: {{x: 1000, y: 1000}}}}]
"""
    return load_scenario(write_yaml(text)).scenario


def _runtime(scenario):
    from sim.core.rollout import World

    return World.build(scenario, np.random.SeedSequence(scenario.seed)).runtimes["air"]


# the fixture only writes a file, rewritten for every example
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10_000), st.sampled_from([20, 450]))
def test_vectorised_monitors_equal_a_scalar_reference(write_yaml, seed, n):
    """LoS, NMAC and well-clear flags of the runtime (spatial index past 300 aircraft)
    equal plain-Python loops over every pair, straight from the definitions."""
    rt = _runtime(_traffic_scenario(write_yaml, n, 8000.0 if n > 100 else 2000.0, seed=seed))
    rt.monitor(0)
    los = np.zeros(rt.n, bool)
    nmac = np.zeros(rt.n, bool)
    wcv = np.zeros(rt.n, bool)
    for a in range(rt.n):
        for b in range(a + 1, rt.n):
            sx, sy = rt.x[b] - rt.x[a], rt.y[b] - rt.y[a]
            vx, vy = rt.ve[b] - rt.ve[a], rt.vn[b] - rt.vn[a]
            d, dz = math.hypot(sx, sy), abs(rt.alt[b] - rt.alt[a])
            hit_los = d < 600 and dz < 100
            hit_nmac = d < 150 and dz < 30
            sv = sx * vx + sy * vy
            v2 = vx * vx + vy * vy
            tcpa = -sv / v2 if v2 > 0 else 0.0
            dcpa = math.hypot(sx + tcpa * vx, sy + tcpa * vy)
            tau = (400**2 - d * d) / sv if sv < 0 else -1.0
            hit_wcv = dz <= 60 and (d <= 400 or (dcpa <= 400 and 0 <= tau <= 20))
            for flag, hit in ((los, hit_los), (nmac, hit_nmac), (wcv, hit_wcv)):
                if hit:
                    flag[a] = flag[b] = True
    assert np.array_equal(rt.in_los, los)
    assert np.array_equal(rt.in_nmac, nmac)
    assert np.array_equal(rt.in_wcv, wcv)


def test_alert_levels_rise_as_the_intruder_closes():
    """The alerting service goes corrective (≤ 55 s to LoWC) then warning (≤ 25 s), with
    the predicted time to LoWC shrinking in step with time."""
    out = run_loaded(load_scenario(SCENARIOS / "air" / "head_on.yaml"), agent="plan-only")
    alerts = [e for e in out.result.events if e.kind == "daa_alert"]
    assert [e.details["level"] for e in alerts] == ["corrective", "warning"]
    first, second = alerts
    assert 0 < first.details["time_to_lowc_s"] <= 55
    assert 0 < second.details["time_to_lowc_s"] <= 25
    lowc = next(e for e in out.result.events if e.kind == "loss_of_well_clear")
    assert lowc.time_s == pytest.approx(first.time_s + first.details["time_to_lowc_s"], abs=0.2)


def test_low_altitude_and_geofence_ceiling(write_yaml):
    """An aircraft descending through the minimum altitude raises low_altitude once."""
    text = """schema_version: 1
id: t
name: t
description: t
duration: 60
map:
  air:
    min_altitude: 500 ft
entities:
  - id: own
    domain: air
    kind: general_aviation
    position: {x: 0, y: 0}
    altitude: 200 m
    vertical_rate: -500 fpm
    agent: plan-only
    plan: [{position: {x: 0, y: 5000}, altitude: 100 m}]
"""
    out = run_loaded(load_scenario(write_yaml(text)))
    low = [e for e in out.result.events if e.kind == "low_altitude"]
    assert len(low) == 1 and low[0].details["altitude_m"] < 500 * 0.3048
    assert out.metrics["low_altitude_time_s"].value > 10


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("position: {lat: 52.0, lon: 4.0}", "needs map.air.origin"),
        ("position: {x: 0}", "give either x and y"),
        ("position: {x: 0, y: 0}\n    speed: 400 kt", "outside the general_aviation's speed range"),
        ("position: {x: 0, y: 0}\n    altitude_ft: 3", "altitude_ft"),
    ],
)
def test_bad_air_input_gets_one_clear_line(write_yaml, snippet, message):
    from sim.errors import ScenarioError

    text = f"""schema_version: 1
id: t
name: t
description: t
duration: 10
entities:
  - id: own
    domain: air
    kind: general_aviation
    {snippet}
    altitude: 1000 ft
    agent: plan-only
    plan: [{{position: {{x: 0, y: 5000}}}}]
"""
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write_yaml(text))


def test_nan_action_is_an_agent_fault(write_yaml):
    from agents.air.types import AirAction

    class Broken:
        name, version = "broken", "0"

        def reset(self, briefing, *, rng):
            pass

        def act(self, obs):
            return AirAction(float("nan"), 50.0, 0.0)

    lo = load_scenario(SCENARIOS / "air" / "head_on.yaml")
    from sim.core.rollout import rollout

    res = rollout(lo.scenario, {"ownship": Broken()})
    assert res.status == "error"
    assert (
        res.events[-1].kind == "agent_fault" and "non-finite" in res.events[-1].details["message"]
    )


def test_rate_commands_fly_the_turn_they_ask_for(write_yaml):
    """An agent commanding a turn rate ω at constant speed flies a circle of radius V/ω;
    a turn rate beyond the bank limit is clipped (and recorded)."""
    from agents.air.types import AirRateAction
    from sim.core.rollout import rollout

    class Turner:
        name, version = "turner", "0"

        def __init__(self, rate: float) -> None:
            self.rate = rate

        def reset(self, briefing, *, rng):
            pass

        def act(self, obs):
            return AirRateAction(self.rate, 0.0, 0.0)

    text = """schema_version: 1
id: t
name: t
description: t
dt: 0.05
duration: 120
entities:
  - id: own
    domain: air
    kind: general_aviation
    position: {x: 0, y: 0}
    altitude: 1000 m
    speed: 50 m/s
    agent: plan-only
    plan: [{position: {x: 0, y: 9000}}]
"""
    sc = load_scenario(write_yaml(text)).scenario
    res = rollout(sc, {"own": Turner(0.05)})
    a = res.log.arrays["air"]
    x, y = a["x_m"][20:, 0], a["y_m"][20:, 0]
    r = 50.0 / 0.05  # V/ω
    cx, cy = r, 0.0  # a right turn from north, after the first second
    d = np.hypot(x - cx, y - cy)
    assert np.allclose(d, r, rtol=2e-3)
    res = rollout(sc, {"own": Turner(1.0)})
    assert any(e.kind == "action_clipped" for e in res.events)
    w = np.abs(np.diff(np.unwrap(res.log.arrays["air"]["hdg_rad"][:, 0]))) / 0.05
    w_max = G0_MPS2 * math.tan(math.radians(30)) / 50.0
    assert w.max() <= w_max * (1 + 1e-9)


def test_sector_counts_and_capacity(write_yaml):
    text = """schema_version: 1
id: t
name: t
description: t
dt: 1
duration: 20
map:
  air:
    sectors:
      - {id: s, polygon: [{x: 0, y: 0}, {x: 10 km, y: 0}, {x: 10 km, y: 10 km}, {x: 0, y: 10 km}],
         floor: 0, ceiling: 3000 m, capacity: 2}
    traffic:
      - {count: 5, kind: general_aviation, x_range: [1 km, 9 km], y_range: [1 km, 9 km],
         altitude_range: [1000 m, 2000 m], speed_range: [40, 40]}
      - {id: high, count: 4, kind: general_aviation, x_range: [1 km, 9 km],
         y_range: [1 km, 9 km], altitude_range: [5000 m, 6000 m], speed_range: [40, 40]}
entities:
  - id: own
    domain: air
    kind: general_aviation
    position: {x: 20 km, y: 20 km}
    altitude: 1000 m
    agent: plan-only
    plan: [{position: {x: 30 km, y: 30 km}}]
"""
    out = run_loaded(load_scenario(write_yaml(text)))
    c = out.result.log.arrays["air"]["sector_count"][:, 0]
    assert c[0] == 5  # the four above the ceiling and the ownship outside do not count
    assert out.metrics["sector_peak_count"].value == 5
    assert out.metrics["sector_over_capacity_s"].value > 0


@pytest.mark.parametrize("cell", [1e-3, 1.0])
def test_grid_pairs_with_cells_far_smaller_than_the_boxes_stays_small_and_exact(cell):
    """Boxes a kilometre wide on cells of a millimetre (or a world 10^8 m wide, whose cell
    keys would wrap around int64) would register each box in 10^12 cells: the grid coarsens
    itself, and the pairs are still exactly the overlapping boxes."""
    rng = np.random.default_rng(7)
    n = 60
    x, y, z = rng.uniform(-1e8, 1e8, (3, n)) if cell == 1.0 else rng.uniform(0, 5e3, (3, n))
    h = np.full(n, 1000.0)
    valid = np.ones(n, dtype=bool)
    i, j = grid_pairs(x - h, y - h, x + h, y + h, valid, cell, zmin=z - h, zmax=z + h, zcell=cell)
    a, b = all_pairs(valid)
    hit = (np.abs(x[a] - x[b]) <= 2000) & (np.abs(y[a] - y[b]) <= 2000)
    hit &= np.abs(z[a] - z[b]) <= 2000
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == sorted(
        zip(a[hit].tolist(), b[hit].tolist(), strict=True)
    )
