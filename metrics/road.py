"""Road metrics: surrogate safety measures, comfort, rule compliance, route progress.

Lead vehicle (for the 1-D measures): the nearest valid entity on the ego's road, ahead along
the road (s), whose lateral extent overlaps the ego's (|t_o − t_e| < (w_o + w_e)/2). Its
bumper-to-bumper gap is g = Δs − (L_o + L_e)/2; Δv = v_e − v_o is the closing speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrics.registry import MetricValue, RunData, metric
from sim.core.geometry import box_corners, boxes_intersect

ROAD = ("road",)
TTC2D_HORIZON_S = 3.0
TTC2D_STEP_S = 0.1


@dataclass(frozen=True)
class LeadSeries:
    """Per controlled entity, per tick: gap (inf: no lead), ego and lead speeds. (T,)."""

    gap_m: np.ndarray
    v_ego: np.ndarray
    v_lead: np.ndarray
    valid: np.ndarray


def lead_series(run: RunData) -> list[LeadSeries]:
    """The lead-vehicle series of every controlled road entity."""
    if "road" not in run.log.arrays:
        return []
    arr = run.log.arrays["road"]
    info = run.log.meta["domains"]["road"]
    roads = info["map"]["roads"]
    closed = np.array([r["closed"] for r in roads])
    rlen = np.array([r["length_m"] for r in roads])
    L, W = np.asarray(info["length_m"]), np.asarray(info["width_m"])
    s, t, road, v, valid = arr["s_m"], arr["t_m"], arr["road"], arr["speed_mps"], arr["valid"]
    rows = np.arange(s.shape[0])
    out = []
    for e in run.controlled.get("road", []):
        re = road[:, e : e + 1]
        ds = s - s[:, e : e + 1]
        loop = closed[np.maximum(re, 0)] & (re >= 0)
        span = rlen[np.maximum(re, 0)]
        ds = np.where(loop, np.mod(ds + 0.5 * span, span) - 0.5 * span, ds)
        same = valid & (road == re) & (road >= 0)
        same[:, e] = False
        overlap = np.abs(t - t[:, e : e + 1]) < 0.5 * (W + W[e])
        gap = np.where(same & overlap & (ds > 0), ds - 0.5 * (L + L[e]), np.inf)
        j = np.argmin(gap, axis=1)
        out.append(LeadSeries(gap[rows, j], v[:, e], v[rows, j], valid[:, e]))
    return out


def _closing(ls: LeadSeries) -> np.ndarray:
    return np.where(np.isfinite(ls.gap_m), ls.v_ego - ls.v_lead, 0.0)


@metric(
    "min_ttc_s",
    unit="s",
    domains=ROAD,
    source="Hayward 1972; SUMO MSDevice_SSM computeTTC; thresholds: 3.0 s SUMO, 1.5 s SSAM",
)
def min_ttc(run: RunData) -> MetricValue:
    """Minimum 1-D time to collision with the lead vehicle.

    TTC = g / Δv when Δv > 0 (closing), 0 when g ≤ 0 (contact), undefined (∞) otherwise.
    """
    best = np.inf
    for ls in lead_series(run):
        dv = _closing(ls)
        with np.errstate(divide="ignore", invalid="ignore"):
            ttc = np.where(ls.gap_m <= 0, 0.0, np.where(dv > 0, ls.gap_m / dv, np.inf))
        best = min(best, float(np.min(ttc[ls.valid], initial=np.inf)))
    return MetricValue(best)


@metric(
    "min_time_headway_s",
    unit="s",
    domains=ROAD,
    source="OpenSCENARIO "
    "TimeHeadwayCondition (freespace); CommonRoad-CriMe THW; R157 §5.2.3.3 time gap",
)
def min_time_headway(run: RunData) -> MetricValue:
    """Minimum time headway to the lead: THW = g / v_ego, while the ego moves (v > 0.5 m/s)."""
    best = np.inf
    for ls in lead_series(run):
        moving = ls.valid & (ls.v_ego > 0.5) & np.isfinite(ls.gap_m)
        if moving.any():
            best = min(best, float(np.min(np.maximum(ls.gap_m[moving], 0.0) / ls.v_ego[moving])))
    return MetricValue(best)


@metric(
    "max_drac_mps2",
    unit="m/s^2",
    domains=ROAD,
    source="Cooper & Ferguson 1976; SUMO MSDevice_SSM computeDRAC (threshold 3.0 m/s²)",
)
def max_drac(run: RunData) -> MetricValue:
    """Maximum deceleration rate to avoid a crash with the lead: DRAC = Δv² / (2·g) when
    closing (Δv > 0) with g > 0; 0 when not closing."""
    best = 0.0
    for ls in lead_series(run):
        dv = _closing(ls)
        ok = ls.valid & (dv > 0) & (ls.gap_m > 0) & np.isfinite(ls.gap_m)
        if ok.any():
            best = max(best, float(np.max(dv[ok] ** 2 / (2.0 * ls.gap_m[ok]))))
    return MetricValue(best)


@metric(
    "min_ttc_2d_s",
    unit="s",
    domains=ROAD,
    source="nuPlan time_to_collision_within_bound (0.1 s steps to 3 s; threshold 0.95 s)",
)
def min_ttc_2d(run: RunData) -> MetricValue:
    """Minimum 2-D time to collision by oriented-box projection.

    Every 0.1 s of the run, each box is moved at constant speed and heading in 0.1 s steps up
    to 3 s; TTC is the first step at which the ego's box overlaps another's (0 in contact);
    ∞ when none does within the horizon. Only pairs that could meet within 3 s are projected.
    """
    if "road" not in run.log.arrays:
        return MetricValue(float("nan"), valid=False)
    arr = run.log.arrays["road"]
    info = run.log.meta["domains"]["road"]
    L, W = np.asarray(info["length_m"]), np.asarray(info["width_m"])
    stride = max(1, round(TTC2D_STEP_S / run.log.dt))
    x, y, h = arr["x_m"][::stride], arr["y_m"][::stride], arr["heading_rad"][::stride]
    v, valid = arr["speed_mps"][::stride], arr["valid"][::stride]
    steps = np.arange(round(TTC2D_HORIZON_S / TTC2D_STEP_S) + 1) * TTC2D_STEP_S
    radius = 0.5 * np.hypot(L, W)
    best = np.inf
    for e in run.controlled.get("road", []):
        d = np.hypot(x - x[:, e : e + 1], y - y[:, e : e + 1])
        reach = (v + v[:, e : e + 1]) * TTC2D_HORIZON_S + radius + radius[e]
        near = valid & valid[:, e : e + 1] & (d <= reach)
        near[:, e] = False
        ti, oi = np.nonzero(near)
        if ti.size == 0:
            continue
        tt = np.repeat(steps[None, :], ti.size, axis=0).ravel()
        ti_r, oi_r = np.repeat(ti, steps.size), np.repeat(oi, steps.size)

        ego = np.full(ti_r.size, e)
        ego_boxes = _projected(
            x, y, h, v, ti_r, ego, tt, np.full(ti_r.size, L[e]), np.full(ti_r.size, W[e])
        )
        hit = boxes_intersect(ego_boxes, _projected(x, y, h, v, ti_r, oi_r, tt, L[oi_r], W[oi_r]))
        if hit.any():
            best = min(best, float(tt[hit].min()))
    return MetricValue(best)


def _projected(
    x: np.ndarray,
    y: np.ndarray,
    h: np.ndarray,
    v: np.ndarray,
    rows: np.ndarray,
    who: np.ndarray,
    tt: np.ndarray,
    length: np.ndarray,
    width: np.ndarray,
) -> np.ndarray:
    """Corners (P, 4, 2) of boxes ``who`` at ticks ``rows`` moved ``tt`` seconds ahead at
    constant speed and heading."""
    hh = h[rows, who]
    return box_corners(
        x[rows, who] + v[rows, who] * np.cos(hh) * tt,
        y[rows, who] + v[rows, who] * np.sin(hh) * tt,
        hh,
        length,
        width,
    )


def _ego_series(run: RunData, name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    arr = run.log.arrays.get("road", {})
    return [(arr[name][:, e], arr["valid"][:, e]) for e in run.controlled.get("road", [])]


@metric(
    "max_decel_mps2",
    unit="m/s^2",
    domains=ROAD,
    source="nuPlan ego_is_comfortable (lon. accel ≥ −4.05 m/s²)",
)
def max_decel(run: RunData) -> MetricValue:
    """Largest deceleration of the controlled vehicle: max(−a_lon), 0 if it never braked."""
    return MetricValue(
        0.0
        + max(
            (float(np.max(-a[ok], initial=0.0)) for a, ok in _ego_series(run, "accel_mps2")),
            default=0.0,
        )
    )


@metric(
    "max_jerk_mps3",
    unit="m/s^3",
    domains=ROAD,
    source="nuPlan ego_is_comfortable (|lon. jerk| ≤ 4.13 m/s³)",
)
def max_jerk(run: RunData) -> MetricValue:
    """Largest longitudinal jerk magnitude: max |a(k+1) − a(k)| / dt."""
    best = 0.0
    for a, ok in _ego_series(run, "accel_mps2"):
        both = ok[1:] & ok[:-1]
        if both.any():
            best = max(best, float(np.max(np.abs(np.diff(a))[both]) / run.log.dt))
    return MetricValue(best)


@metric(
    "max_lateral_accel_mps2",
    unit="m/s^2",
    domains=ROAD,
    source="nuPlan ego_is_comfortable (|lat. accel| ≤ 4.89 m/s²)",
)
def max_lateral_accel(run: RunData) -> MetricValue:
    """Largest lateral acceleration of the controlled vehicle: max |v·ψ̇|."""
    arr = run.log.arrays.get("road", {})
    best = 0.0
    for e in run.controlled.get("road", []):
        ok = arr["valid"][:, e]
        lat = np.abs(arr["speed_mps"][:, e] * arr["yaw_rate_radps"][:, e])
        best = max(best, float(np.max(lat[ok], initial=0.0)))
    return MetricValue(best)


@metric(
    "offroad_time_s",
    unit="s",
    domains=ROAD,
    source="CARLA OffRoadTest; nuPlan drivable_area_compliance; Waymax offroad",
)
def offroad_time(run: RunData) -> MetricValue:
    """Time with any corner of the controlled vehicle outside the drivable area."""
    return MetricValue(
        sum(float(np.sum(o & ok)) for o, ok in _ego_series(run, "offroad")) * run.log.dt
    )


@metric(
    "lane_departures",
    unit="count",
    domains=ROAD,
    source="UN R157 Annex 5 §4.1 (no lane-marking crossing); CARLA KeepLaneTest",
)
def lane_departures(run: RunData) -> MetricValue:
    """Times the controlled vehicle's box started crossing its lane's markings:
    |e_y| + |L/2·sin ψ_rel| + |W/2·cos ψ_rel| > w/2 (rising edges)."""
    return MetricValue(float(len(run.events_of("lane_departure"))))


@metric(
    "speed_limit_max_excess_mps",
    unit="m/s",
    domains=ROAD,
    source="nuPlan speed_limit_compliance (max over-speed)",
)
def speed_excess_max(run: RunData) -> MetricValue:
    """Largest excess of the controlled vehicle over its lane's limit: max(v − v_lim, 0)."""
    arr = run.log.arrays.get("road", {})
    best = 0.0
    for e in run.controlled.get("road", []):
        ok = arr["valid"][:, e] & np.isfinite(arr["speed_limit_mps"][:, e])
        ex = arr["speed_mps"][:, e] - arr["speed_limit_mps"][:, e]
        best = max(best, float(np.max(ex[ok], initial=0.0)))
    return MetricValue(max(best, 0.0))


@metric(
    "speed_limit_excess_integral_m",
    unit="m",
    domains=ROAD,
    source="nuPlan speed_limit_compliance (over-speed integral)",
)
def speed_excess_integral(run: RunData) -> MetricValue:
    """Integral of over-speed: Σ max(v − v_lim, 0)·dt (metres driven 'too fast')."""
    arr = run.log.arrays.get("road", {})
    total = 0.0
    for e in run.controlled.get("road", []):
        ok = arr["valid"][:, e] & np.isfinite(arr["speed_limit_mps"][:, e])
        ex = np.maximum(arr["speed_mps"][:, e] - arr["speed_limit_mps"][:, e], 0.0)
        total += float(np.sum(ex[ok])) * run.log.dt
    return MetricValue(total)


@metric("red_lights_passed", unit="count", domains=ROAD, source="CARLA RunningRedLightTest")
def red_lights(run: RunData) -> MetricValue:
    """Stop lines the controlled vehicle's front crossed while the signal showed red."""
    return MetricValue(float(len(run.events_of("red_light"))))


@metric(
    "route_completion",
    unit="fraction",
    domains=ROAD,
    source="CARLA RouteCompletionTest (% of route); CommonRoad goal region",
)
def route_completion(run: RunData) -> MetricValue:
    """Share of the way to the goal covered: 1 when reached; for a goal at station s_g on a
    road, (max s reached − s_0)/(s_g − s_0); for a goal point, 1 − d_end/d_start (clipped to
    [0, 1]). Not applicable without a goal."""
    if "road" not in run.log.arrays:
        return MetricValue(float("nan"), valid=False)
    arr = run.log.arrays["road"]
    info = run.log.meta["domains"]["road"]
    road_ids = [r["id"] for r in info["map"]["roads"]]
    reached = {x for e in run.events_of("goal_reached") for x in e.entities}
    fracs = []
    for e in run.controlled.get("road", []):
        goal = info["goals"][e] if info.get("goals") else None
        if not goal:
            continue
        if info["ids"][e] in reached:
            fracs.append(1.0)
            continue
        ok = arr["valid"][:, e]
        if "road" in goal:
            on = ok & (arr["road"][:, e] == road_ids.index(goal["road"]))
            s0 = float(arr["s_m"][0, e])
            best = float(np.max(arr["s_m"][on, e], initial=s0))
            span = goal["s"] - s0
            fracs.append(1.0 if span <= 0 else (best - s0) / span)
        else:
            last = int(np.flatnonzero(ok)[-1])
            d0 = np.hypot(arr["x_m"][0, e] - goal["x"], arr["y_m"][0, e] - goal["y"])
            d1 = np.hypot(arr["x_m"][last, e] - goal["x"], arr["y_m"][last, e] - goal["y"])
            fracs.append(1.0 - d1 / d0 if d0 > 0 else 1.0)
    if not fracs:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(float(np.clip(min(fracs), 0.0, 1.0)))
