"""Road vehicle models: closed-form oracles and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.domains.road import dynamics as dyn

speeds = arrays(np.float64, 16, elements=st.floats(0, 70))
accels = arrays(np.float64, 16, elements=st.floats(-12, 6))


def test_constant_speed_distance():
    """20 m/s for 2 s is 40 m."""
    v, total = np.array([20.0]), 0.0
    for _ in range(40):
        v, d = dyn.advance_speed(v, np.array([0.0]), 0.05)
        total += d[0]
    assert total == pytest.approx(40.0, abs=1e-9)


@pytest.mark.parametrize(
    ("v0", "a", "dt"), [(20.0, -6.0, 0.05), (13.9, -9.0, 0.1), (33.3, -2.0, 0.01)]
)
def test_stopping_distance_is_v2_over_2a(v0, a, dt):
    """Braking at constant a from v0 stops after exactly v0²/2|a|, and stays stopped."""
    v, total = np.array([v0]), 0.0
    for _ in range(int(2 * v0 / -a / dt) + 10):
        v, d = dyn.advance_speed(v, np.array([a]), dt)
        total += d[0]
    assert v[0] == 0.0
    assert total == pytest.approx(v0 * v0 / (2 * -a), rel=1e-12)


@given(speeds, accels, st.floats(0.001, 0.5))
def test_speed_never_negative_and_braking_never_speeds_up(v, a, dt):
    v2, d = dyn.advance_speed(v, a, dt)
    assert np.all(v2 >= 0) and np.all(d >= 0) and np.all(np.isfinite(v2))
    assert np.all(v2[a <= 0] <= v[a <= 0])


@given(speeds, accels, arrays(np.float64, 16, elements=st.floats(-0.6, 0.6)), st.floats(0.01, 0.2))
def test_bicycle_moves_no_further_than_its_speed_allows(v, a, delta, dt):
    """Displacement ≤ distance travelled; heading changes by at most d·tan(δ)/L bound."""
    z = np.zeros(16)
    x, y, psi, v2, _ = dyn.bicycle_step(z, z, z, v, a, delta, np.full(16, 2.7), dt)
    _, d = dyn.advance_speed(v, a, dt)
    assert np.all(np.hypot(x, y) <= d + 1e-9)
    assert np.all(np.abs(psi) <= d * np.abs(np.tan(delta)) / 2.7 * 1.0001 + 1e-12)
    assert np.all(np.isfinite(x)) and np.all(v2 >= 0)


def test_bicycle_straight_and_circle():
    """δ = 0 goes straight; constant δ drives a circle of radius lr / sin β."""
    x, y, psi, _, _ = dyn.bicycle_step(
        np.zeros(1),
        np.zeros(1),
        np.zeros(1),
        np.array([10.0]),
        np.zeros(1),
        np.zeros(1),
        np.array([2.7]),
        1.0,
    )
    assert (x[0], y[0], psi[0]) == (10.0, 0.0, 0.0)
    delta, wb, v, dt = 0.1, 2.7, 10.0, 0.01
    beta = math.atan(0.5 * math.tan(delta))
    radius = 0.5 * wb / math.sin(beta)
    st_ = [np.zeros(1), np.zeros(1), np.zeros(1), np.array([v])]
    pts = []
    for _ in range(int(2 * math.pi * radius / v / dt)):
        out = dyn.bicycle_step(*st_, np.zeros(1), np.array([delta]), np.array([wb]), dt)
        st_ = list(out[:4])
        pts.append((st_[0][0], st_[1][0]))
    pts = np.array(pts)
    centre = pts.mean(axis=0)
    r = np.hypot(*(pts - centre).T)
    assert r.mean() == pytest.approx(radius, rel=1e-3)


def test_idm_free_road_and_equilibrium():
    """Free road: a_max(1 − (v/v0)^δ). Equilibrium gap s* = s0 + vT gives a = −a_max(v/v0)^δ·…
    and at v = v0 with that gap the acceleration is −a_max."""
    one = np.ones(1)
    a = dyn.idm_accel(
        one * 15,
        one * 30,
        one * 1e9,
        0 * one,
        np.array([False]),
        one * 3,
        one * 5,
        one * 5,
        one * 1.5,
        one * 4,
    )
    assert a[0] == pytest.approx(3 * (1 - 0.5**4))
    gap = 5 + 30 * 1.5
    a = dyn.idm_accel(
        one * 30,
        one * 30,
        one * gap,
        0 * one,
        np.array([True]),
        one * 3,
        one * 5,
        one * 5,
        one * 1.5,
        one * 4,
    )
    assert a[0] == pytest.approx(-3.0)


@given(
    arrays(np.float64, 8, elements=st.floats(-4, 4)),
    arrays(np.float64, 8, elements=st.floats(0.2, 3)),
)
def test_lane_change_profile(delta, lat_speed):
    """Sinusoidal lane change: starts and ends at rest on target, peak speed = requested."""
    t0 = np.zeros(8)
    sin = np.ones(8, dtype=bool)
    T = dyn.lane_change_duration(delta, lat_speed, sin)
    assert np.allclose(dyn.lane_change_offset(t0, delta, np.zeros(8), sin), 0)
    assert np.allclose(dyn.lane_change_offset(t0, delta, np.ones(8), sin), delta)
    eps = 1e-6
    mid = (
        dyn.lane_change_offset(t0, delta, np.full(8, 0.5 + eps), sin)
        - dyn.lane_change_offset(t0, delta, np.full(8, 0.5 - eps), sin)
    ) / (2 * eps)
    ok = np.abs(delta) > 1e-3
    assert np.allclose(np.abs(mid[ok]) / T[ok], lat_speed[ok], rtol=1e-4)


@given(st.floats(-9, 3), st.floats(-9, 3), st.floats(0.5, 60), st.sampled_from([0.01, 0.05, 0.1]))
def test_rate_limited_actuator_mean_is_the_average_of_its_ramp(prev, cmd, rate, dt):
    """The tick mean equals the average of the slewing value sampled finely over the tick
    (a ramp at ``rate`` from ``prev`` towards ``cmd``, then holding)."""
    end, mean = dyn.rate_limited(np.array([prev]), np.array([cmd]), np.array([rate]), dt)
    t = (np.arange(20_000) + 0.5) / 20_000 * dt
    path = prev + np.sign(cmd - prev) * np.minimum(rate * t, abs(cmd - prev))
    assert mean[0] == pytest.approx(path.mean(), abs=1e-6)
    assert end[0] == pytest.approx(prev + np.sign(cmd - prev) * min(rate * dt, abs(cmd - prev)))
    if abs(cmd - prev) <= rate * dt:
        assert end[0] == cmd  # exactly: a command within reach is not a clipped one


@pytest.mark.parametrize("dt", ["0.05", "0.01"])
def test_jerk_limited_stop_follows_the_continuous_ramp(write_yaml, dt):
    """25 m/s, brake at 6 m/s² with a 30 m/s³ jerk limit from t = 0: the deceleration ramps
    for τ = 0.2 s, then holds. Continuous closed form: v0·τ − j·τ³/6 + (v0 − a·τ/2)²/(2a)
    = 4.96 + 24.4²/12 = 54.573 m (the end-of-tick value held over each tick gave 53.95 m)."""
    from agents.road.types import RoadAction
    from sim.core.rollout import rollout
    from sim.scenario import load_scenario

    class Brake:
        name, version = "brake", "0"

        def reset(self, briefing, *, rng):
            pass

        def act(self, obs):
            return RoadAction(-6.0, 0.0)

    text = f"""schema_version: 1
id: t
name: t
description: t
dt: {dt}
duration: 8
control_period: {dt}
map: {{road: {{roads: [{{id: r, geometry: [{{line: 500 m}}], lanes: 1}}]}}}}
entities:
  - {{id: ego, domain: road, road: r, s: 10 m, speed: 25 m/s, agent: stop,
     limits: {{max_decel: 9 m/s^2, max_jerk: 30 m/s^3}}}}
"""
    res = rollout(load_scenario(write_yaml(text)).scenario, {"ego": Brake()})
    a = res.log.arrays["road"]
    v0, j, dec = 25.0, 30.0, 6.0
    tau = dec / j
    expected = v0 * tau - j * tau**3 / 6 + (v0 - dec * tau / 2) ** 2 / (2 * dec)
    assert expected == pytest.approx(54.573, abs=1e-3)
    assert a["speed_mps"][-1, 0] == 0.0
    assert a["s_m"][-1, 0] - 10.0 == pytest.approx(expected, abs=0.01)
