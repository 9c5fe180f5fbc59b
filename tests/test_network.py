"""The compiled road network: geometry, Frenet projection, signals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.domains.road.network import RoadNetwork
from sim.domains.road.schema import RoadMap

RING = RoadMap.model_validate(
    {
        "roads": [
            {
                "id": "ring",
                "lanes": 3,
                "lane_width": 3.5,
                "closed": True,
                "geometry": [
                    {"line": 200},
                    {"arc": math.pi * 100, "radius": 100},
                    {"line": 200},
                    {"arc": math.pi * 100, "radius": 100},
                ],
            }
        ],
        "signals": [
            {
                "id": "sig",
                "road": "ring",
                "s": 100,
                "offset": 5,
                "phases": [
                    {"state": "green", "duration": 10},
                    {"state": "yellow", "duration": 2},
                    {"state": "red", "duration": 8},
                ],
            }
        ],
    }
)
NET = RoadNetwork.build(RING)


def test_loop_length_and_arc_end():
    """Two 200 m straights and two half circles of radius 100 m: 400 + 200π m."""
    assert NET.length[0] == pytest.approx(400 + 200 * math.pi, rel=1e-4)
    x, y, h, k = NET.pose(np.array([0]), np.array([200 + 50 * math.pi]), np.zeros(1))
    assert (x[0], y[0]) == pytest.approx((300.0, 100.0), abs=0.02)
    assert h[0] == pytest.approx(math.pi / 2, abs=1e-2)
    assert k[0] == pytest.approx(0.01)


@given(st.floats(0, 1027), st.floats(-1.7, 8.7))
def test_project_inverts_pose(s, t):
    """pose(s, t) then project gives back (s, t) anywhere on the loop and its lanes."""
    road = np.array([0])
    x, y, _, _ = NET.pose(road, np.array([s]), np.array([t]))
    s2, t2, _ = NET.project(road, x, y)
    d = (s2[0] - s + NET.length[0] / 2) % NET.length[0] - NET.length[0] / 2
    assert abs(d) < 0.05 and t2[0] == pytest.approx(t, abs=0.02)


def test_signal_phases_follow_the_plan():
    """Offset 5 s into a 20 s plan: green until 5 s, yellow until 7 s, red until 15 s."""
    states = [int(NET.signal_states(t)[0]) for t in (0.0, 4.9, 5.5, 7.5, 14.9, 15.1)]
    assert states == [0, 0, 1, 2, 2, 0]


def test_drivable_area_covers_lanes_only():
    import shapely

    assert shapely.contains_xy(NET.drivable, 100.0, 8.0)  # inside lane 2
    assert not shapely.contains_xy(NET.drivable, 100.0, 10.0)  # beyond the left edge
    assert not shapely.contains_xy(NET.drivable, 100.0, 100.0)  # the infield
