"""Metrics against closed-form cases, on logs built by hand; criteria margins."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.criteria import evaluate, margin
from metrics.registry import METRICS, MetricValue, RunData, compute_metrics
from sim.core.events import Event
from sim.core.log import RunLog
from sim.scenario.model import Criterion

DT = 0.1
#: A straight 10 km road along +x from the origin (its reference line as the log records it).
STRAIGHT_ROAD = {
    "id": "r",
    "closed": False,
    "length_m": 1e4,
    "reference": {"x_m": [0.0, 1e4], "y_m": [0.0, 0.0], "s_m": [0.0, 1e4], "heading_rad": [0, 0]},
}


def two_cars(gap0: float, v_ego: float, v_lead: float, T: int = 50, *, a_ego=0.0) -> RunData:
    """Ego behind a lead on one straight road; both 4.5 x 1.8 m; constant speeds."""
    t = np.arange(T + 1) * DT
    v_e = np.maximum(v_ego + a_ego * t, 0.0)
    s_e = 0.0 + v_ego * t + 0.5 * a_ego * t**2
    s_l = 4.5 + gap0 + v_lead * t
    s = np.stack([s_e, s_l], axis=1)
    z = np.zeros_like(s)
    arrays = {
        "road": {
            "s_m": s,
            "t_m": z,
            "x_m": s,
            "y_m": z,
            "heading_rad": z,
            "speed_mps": np.stack([v_e, np.full(T + 1, v_lead)], axis=1),
            "accel_mps2": np.stack([np.full(T + 1, a_ego), np.zeros(T + 1)], axis=1),
            "yaw_rate_radps": z,
            "road": np.zeros(s.shape, dtype=np.int32),
            "valid": np.ones(s.shape, dtype=bool),
            "offroad": np.zeros(s.shape, dtype=bool),
            "speed_limit_mps": np.full(s.shape, 30.0),
        }
    }
    meta = {
        "domains": {
            "road": {
                "ids": ["ego", "lead"],
                "kinds": ["car", "car"],
                "controlled": [True, False],
                "length_m": [4.5, 4.5],
                "width_m": [1.8, 1.8],
                "goals": [None, None],
                "map": {"roads": [STRAIGHT_ROAD]},
            }
        }
    }
    return RunData(RunLog(arrays, t, DT, meta), ())


def test_ttc_of_two_constant_speed_vehicles():
    """Gap 40 m closing at 10 m/s: TTC starts at 4 s and falls by 1 s per second."""
    run = two_cars(40.0, 20.0, 10.0, T=20)
    assert METRICS["min_ttc_s"].fn(run).value == pytest.approx(2.0)  # after 2 s
    assert METRICS["min_time_headway_s"].fn(run).value == pytest.approx(20.0 / 20.0)
    assert METRICS["max_drac_mps2"].fn(run).value == pytest.approx(100 / (2 * 20.0))


def test_no_lead_closing_means_infinite_ttc():
    run = two_cars(40.0, 10.0, 20.0)
    assert METRICS["min_ttc_s"].fn(run).value == np.inf
    assert METRICS["max_drac_mps2"].fn(run).value == 0.0


def test_min_distance_is_free_space():
    """Bumper to bumper: the gap itself (boxes aligned on one axis)."""
    run = two_cars(25.0, 10.0, 10.0)
    assert METRICS["min_distance_m"].fn(run).value == pytest.approx(25.0)


def test_ttc_2d_matches_1d_for_aligned_boxes():
    """Box projection in 0.1 s steps to 3 s: gap 20.5 m closing at 10 m/s meets at 2.05 s,
    first seen at the 2.1 s step; nothing within 3 s when the gap is 40 m."""
    run = two_cars(20.5, 20.0, 10.0, T=0)
    assert METRICS["min_ttc_2d_s"].fn(run).value == pytest.approx(2.1)
    assert METRICS["min_ttc_2d_s"].fn(two_cars(40.0, 20.0, 10.0, T=0)).value == np.inf


def test_comfort_metrics():
    """Braking at 4 m/s² from 20 m/s: max deceleration 4, jerk from the 0 -> -4 step."""
    run = two_cars(500.0, 20.0, 20.0, a_ego=-4.0)
    assert METRICS["max_decel_mps2"].fn(run).value == pytest.approx(4.0)
    assert METRICS["progress_m"].fn(run).value == pytest.approx(20**2 / 8, rel=1e-3)


def test_collision_metrics_read_events():
    run = two_cars(40.0, 20.0, 10.0)
    ev = Event(
        3,
        0.3,
        "collision",
        ("ego", "lead"),
        {"kinds": ["car", "car"], "relative_speed_mps": 7.5, "speeds_mps": [9, 1.5]},
    )
    run = RunData(run.log, (ev,))
    assert METRICS["collisions"].fn(run).value == 1
    assert METRICS["collision_impact_speed_mps"].fn(run).value == 7.5


def test_every_metric_applies_and_is_documented():
    """Each metric has a formula docstring, a unit and a source, and computes on a log."""
    values = compute_metrics(two_cars(40.0, 20.0, 10.0))
    for name, spec in METRICS.items():
        assert spec.doc and spec.unit and spec.source, name
        # a road log gets every metric of the road domain and every domain-agnostic one
        assert (name in values) == (not spec.domains or "road" in spec.domains), name
    assert not values["time_to_goal_s"].valid  # no goal in this log


@pytest.mark.parametrize(
    ("actual", "op", "value", "ok", "m"),
    [
        (2.0, ">=", 1.5, True, 0.5),
        (1.0, ">=", 1.5, False, -0.5),
        (0.0, "==", 0.0, True, 0.0),
        (2.0, "==", 0.0, False, -2.0),
        (3.0, "<", 3.0, False, 0.0),
        (0.4, "<=", 1.0, True, 0.6),
    ],
)
def test_criteria_verdict_and_margin(actual, op, value, ok, m):
    crit = [Criterion(metric="min_ttc_s", op=op, value=value, id="REQ-1")]
    verdict, (res,), _ = evaluate(crit, {"min_ttc_s": MetricValue(actual)}, "truncated")
    assert res.passed is ok and verdict == ("pass" if ok else "fail")
    assert res.margin == pytest.approx(m) and margin(actual, op, value) == pytest.approx(m)


def test_error_status_and_inapplicable_metric_make_an_error_verdict():
    crit = [Criterion(metric="time_to_goal_s", op="<=", value=30)]
    verdict, *_ = evaluate(crit, {"time_to_goal_s": MetricValue(float("nan"), False)}, "ok")
    assert verdict == "error"
    verdict, *_ = evaluate([], {}, "error")
    assert verdict == "error"
