"""Invariants of the road fleet under arbitrary agent actions and IDM/MOBIL traffic."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.road.types import RoadAction
from sim.core.rollout import rollout
from sim.scenario import load_scenario
from tests.conftest import MINIMAL

actions = st.lists(st.tuples(st.floats(-50, 50), st.floats(-2, 2)), min_size=5, max_size=30)


class Scripted:
    name, version = "scripted", "0"

    def __init__(self, seq):
        self.seq, self.k = seq, 0

    def reset(self, briefing, *, rng):
        self.brief = briefing

    def act(self, obs):
        a, d = self.seq[self.k % len(self.seq)]
        self.k += 1
        return RoadAction(a, d)


@settings(max_examples=25, deadline=None)
@given(actions)
def test_controlled_vehicle_limits_hold(tmp_path_factory, seq):
    """Whatever the agent asks: acceleration, steering, jerk and steering rate stay within
    the vehicle's limits, speed never goes negative, nothing becomes NaN."""
    path = tmp_path_factory.mktemp("s") / "s.yaml"
    path.write_text(MINIMAL)
    lo = load_scenario(path)
    res = rollout(lo.scenario, {"ego": Scripted(seq)})
    a = res.log.field("road", "accel_mps2")[:, 0]
    d = res.log.field("road", "steer_rad")[:, 0]
    v = res.log.field("road", "speed_mps")[:, 0]
    lim = lo.scenario.entities[0].limits
    dt = lo.scenario.dt
    assert np.all(a <= lim.max_accel + 1e-9) and np.all(a >= -lim.max_decel - 1e-9)
    assert np.all(np.abs(d) <= lim.max_steer + 1e-9)
    assert np.all(np.abs(np.diff(a)) <= lim.max_jerk * dt + 1e-9)
    assert np.all(np.abs(np.diff(d)) <= lim.max_steer_rate * dt + 1e-9)
    assert np.all(v >= 0)
    for name in ("x_m", "y_m", "heading_rad", "s_m", "t_m"):
        assert np.isfinite(res.log.field("road", name)).all()


TRAFFIC = """\
schema_version: 1
id: traffic
name: traffic
description: IDM/MOBIL traffic on a loop
dt: 0.1 s
duration: 20 s
seed: {seed}
terminate_on: []
map:
  road:
    roads:
      - id: loop
        lanes: 3
        closed: true
        geometry:
          - {{line: 300 m}}
          - {{arc: 314.159265 m, radius: 100 m}}
          - {{line: 300 m}}
          - {{arc: 314.159265 m, radius: 100 m}}
    traffic:
      - {{road: loop, count: {count}, speed: [5, 25], desired_speed: [10, 30]}}
entities:
  - id: ego
    domain: road
    road: loop
    lane: 1
    s: 0 m
    speed: 10 m/s
    agent: agents.road.acc:AdaptiveCruise
"""


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 60))
def test_traffic_invariants(tmp_path_factory, seed, count):
    """Any seed and density: no NaN in valid rows, speeds ≥ 0, nobody reverses along the
    loop, every vehicle stays valid on a loop, ids unique, no collision among IDM drivers."""
    path = tmp_path_factory.mktemp("t") / "t.yaml"
    path.write_text(TRAFFIC.format(seed=seed, count=count))
    lo = load_scenario(path)
    res = rollout(
        lo.scenario, {"ego": __import__("agents.road.acc", fromlist=["x"]).AdaptiveCruise()}
    )
    valid = res.log.field("road", "valid")
    assert valid.all()
    ids = res.log.meta["domains"]["road"]["ids"]
    assert len(ids) == len(set(ids)) == count + 1
    v = res.log.field("road", "speed_mps")
    assert np.isfinite(v).all() and (v >= 0).all()
    s = res.log.field("road", "s_m")[:, 1:]
    length = res.log.meta["domains"]["road"]["map"]["roads"][0]["length_m"]
    ds = (np.diff(s, axis=0) + length / 2) % length - length / 2
    assert (ds >= -1e-6).all()
    assert not [e for e in res.events if e.kind == "collision"]
