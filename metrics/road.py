"""Road metrics: surrogate safety measures, comfort, rule compliance, route progress.

The 1-D measures (TTC, DRAC, time headway) share the lead definition ``LEAD``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrics.registry import MetricValue, RunData, metric
from sim.core.geometry import box_corners, boxes_intersect, sweep_gap_x, wrap_angle

ROAD = ("road",)
LEAD = """Lead, per tick and controlled vehicle: every other valid entity of a ground domain
(road entities however placed: on a road, on a path or by x/y; trains in a mixed world) is
put on the ego's road: entities on that road by their own station s and offset t, all others
by projecting their centre onto the road's reference line (extended straight past the ends
of an open road), with ψ its heading relative to the road there. In that road frame each
footprint is its oriented box (L × W turned by ψ, at (s, t)). Gap g: how far the ego's box
can move along the road (+s) before it touches the entity's box, 0 when they touch or
overlap, ∞ when it would pass beside. The lead is the entity ahead (Δs > 0 between centres,
wrapped on a loop) with the smallest gap; closing speed Δv = v_e·cos ψ_e − v_o·cos ψ_o (the
speeds along the road). A gap below 1 mm is contact (boxes that just touch leave float noise
of ~1e-13 m)."""
TTC2D_HORIZON_S = 3.0
TTC2D_STEP_S = 0.1
#: Gaps below this are contact: boxes that touch leave float noise (1e-13 m) in the gap.
CONTACT_GAP_M = 1e-3
#: Domains whose entities share the road surface and can be a road vehicle's lead.
GROUND_DOMAINS = ("road", "rail")
#: Pairs × segments handled at once when projecting onto a reference line (memory bound).
_CHUNK = 1 << 21
#: Box pairs swept at once (memory bound).
_SWEEP_CHUNK = 1 << 16


@dataclass(frozen=True)
class LeadSeries:
    """Per controlled entity, per tick: gap (inf: no lead), along-road speeds of the ego and
    the lead, the ego's speed, and the ego's validity. All (T,)."""

    gap_m: np.ndarray
    u_ego: np.ndarray
    u_lead: np.ndarray
    v_ego: np.ndarray
    valid: np.ndarray

    @property
    def contact(self) -> np.ndarray:
        return self.valid & (self.gap_m < CONTACT_GAP_M)


@dataclass(frozen=True)
class _Reference:
    x: np.ndarray
    y: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    closed: bool
    length: float

    def heading_at(self, s: np.ndarray) -> np.ndarray:
        """Road heading at stations ``s`` (vertex tangents interpolated, as the runtime)."""
        k = np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, self.s.size - 2)
        f = np.clip((s - self.s[k]) / np.maximum(self.s[k + 1] - self.s[k], 1e-12), 0.0, 1.0)
        return self.heading[k] + f * wrap_angle(self.heading[k + 1] - self.heading[k])

    def project(self, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Station and signed lateral offset (left > 0) of points on the reference polyline;
        an open road's first and last segments extend straight beyond its ends."""
        ax, ay, bx, by = self.x[:-1], self.y[:-1], self.x[1:], self.y[1:]
        dx, dy = bx - ax, by - ay
        seg = np.maximum(np.hypot(dx, dy), 1e-12)
        s_out, t_out = np.empty(px.size), np.empty(px.size)
        step = max(1, _CHUNK // max(ax.size, 1))
        for lo in range(0, px.size, step):
            qx, qy = px[lo : lo + step, None] - ax, py[lo : lo + step, None] - ay
            along = (qx * dx + qy * dy) / seg
            f = np.clip(along / seg, 0.0, 1.0)
            d2 = (qx - f * dx) ** 2 + (qy - f * dy) ** 2
            k = np.argmin(d2, axis=1)
            rows = np.arange(k.size)
            a, cross = along[rows, k], (dx[k] * qy[rows, k] - dy[k] * qx[rows, k]) / seg[k]
            ends = ~self.closed & (((k == 0) & (a < 0)) | ((k == ax.size - 1) & (a > seg[k])))
            inside = np.clip(a, 0.0, seg[k])
            s_out[lo : lo + step] = self.s[k] + np.where(ends, a, inside)
            dist = np.sqrt(d2[rows, k])
            t_out[lo : lo + step] = np.where(ends, cross, np.copysign(dist, cross))
        return s_out, t_out


def _references(info: dict) -> list[_Reference]:
    return [
        _Reference(
            np.asarray(r["reference"]["x_m"]),
            np.asarray(r["reference"]["y_m"]),
            np.asarray(r["reference"]["s_m"]),
            np.asarray(r["reference"]["heading_rad"]),
            bool(r["closed"]),
            float(r["length_m"]),
        )
        for r in info["map"]["roads"]
    ]


def _ground(run: RunData) -> dict[str, np.ndarray]:
    """Every ground entity's state, (T, N) per field, road entities first."""
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("x", "y", "h", "v", "valid", "L", "W", "road", "s", "t")
    }
    for dom in GROUND_DOMAINS:
        if dom not in run.log.arrays:
            continue
        arr, info = run.log.arrays[dom], run.log.meta["domains"][dom]
        T, n = arr["x_m"].shape
        cols["x"].append(arr["x_m"])
        cols["y"].append(arr["y_m"])
        cols["h"].append(arr["heading_rad"])
        cols["v"].append(arr["speed_mps"])
        cols["valid"].append(arr["valid"])
        cols["L"].append(np.broadcast_to(np.asarray(info["length_m"], float), (T, n)))
        cols["W"].append(np.broadcast_to(np.asarray(info["width_m"], float), (T, n)))
        on_road = dom == "road"
        cols["road"].append(arr["road"] if on_road else np.full((T, n), -1, np.int32))
        cols["s"].append(arr["s_m"] if on_road else np.zeros((T, n)))
        cols["t"].append(arr["t_m"] if on_road else np.zeros((T, n)))
    return {k: np.concatenate(v, axis=1) for k, v in cols.items()}


def lead_series(run: RunData) -> list[LeadSeries]:
    """The lead series of every controlled road entity (definition: ``LEAD``); computed
    once per run and shared by the metrics that read it."""
    if "road" not in run.log.arrays:
        return []
    if "road.lead" not in run.cache:
        run.cache["road.lead"] = _lead_series(run)
    return run.cache["road.lead"]


def _lead_series(run: RunData) -> list[LeadSeries]:
    refs = _references(run.log.meta["domains"]["road"])
    g = _ground(run)
    T, N = g["x"].shape
    rows = np.arange(T)
    out = []
    for e in run.controlled.get("road", []):
        s_o, t_o = np.full((T, N), np.nan), np.full((T, N), np.nan)
        psi_o = np.zeros((T, N))
        s_e, t_e = g["s"][:, e], g["t"][:, e]
        re = g["road"][:, e]
        span = np.full(T, np.inf)  # loop length (inf: an open road)
        for r in np.unique(re[re >= 0]):
            ref = refs[int(r)]
            tick = re == r
            mine = tick[:, None] & (g["road"] == r)
            s_o[mine], t_o[mine] = g["s"][mine], g["t"][mine]
            other = tick[:, None] & (g["road"] != r) & g["valid"]
            s_o[other], t_o[other] = ref.project(g["x"][other], g["y"][other])
            both = mine | other
            psi_o[both] = wrap_angle(g["h"][both] - ref.heading_at(s_o[both]))
            if ref.closed:
                span[tick] = ref.length
        L, W = g["L"], g["W"]
        c, sn = np.abs(np.cos(psi_o)), np.abs(np.sin(psi_o))
        reach_s, reach_t = 0.5 * (L * c + W * sn), 0.5 * (L * sn + W * c)
        ds = s_o - s_e[:, None]
        per = np.where(np.isfinite(span), span, 0.0)[:, None]
        with np.errstate(invalid="ignore"):
            wrapped = np.mod(ds + 0.5 * per, np.where(per > 0, per, 1.0)) - 0.5 * per
        ds = np.where(per > 0, wrapped, ds)
        cand = g["valid"] & np.isfinite(ds) & (ds > 0)
        cand[:, e] = False
        cand &= np.abs(t_o - t_e[:, None]) < reach_t + reach_t[:, e : e + 1]
        # the footprints' road-frame bounding gap is a lower bound of the sweep gap: measure
        # the sweep exactly for each tick's nearest by that bound, then for every candidate
        # that could still be nearer
        lower = np.where(cand, ds - reach_s - reach_s[:, e : e + 1], np.inf)
        gap = np.full((T, N), np.inf)
        boxes = (ds, t_o, psi_o, L, W)
        first = np.argmin(lower, axis=1)
        has = np.isfinite(lower[rows, first])
        _sweep_into(gap, rows[has], first[has], e, t_e, psi_o, boxes)
        best = gap.min(axis=1)
        todo = np.isfinite(lower) & (lower < best[:, None]) & ~np.isfinite(gap)
        todo[rows[has], first[has]] = False
        ti, oi = np.nonzero(todo)
        _sweep_into(gap, ti, oi, e, t_e, psi_o, boxes)
        j = np.argmin(gap, axis=1)
        u = g["v"] * np.cos(psi_o)
        ok = g["valid"][:, e] & (re >= 0)
        out.append(LeadSeries(gap[rows, j], u[:, e], u[rows, j], g["v"][:, e], ok))
    return out


def _sweep_into(
    gap: np.ndarray,
    ti: np.ndarray,
    oi: np.ndarray,
    e: int,
    t_e: np.ndarray,
    psi: np.ndarray,
    boxes: tuple[np.ndarray, ...],
) -> None:
    """Fill ``gap[ti, oi]`` with how far the ego's box can move along the road before it
    touches entity ``oi``'s box, both in the road frame (ego at s = 0)."""
    ds, t_o, _, L, W = boxes
    for lo in range(0, ti.size, _SWEEP_CHUNK):
        k, o = ti[lo : lo + _SWEEP_CHUNK], oi[lo : lo + _SWEEP_CHUNK]
        ego = box_corners(np.zeros(k.size), t_e[k], psi[k, e], L[k, e], W[k, e])
        other = box_corners(ds[k, o], t_o[k, o], psi[k, o], L[k, o], W[k, o])
        gap[k, o] = sweep_gap_x(ego, other)


def _closing(ls: LeadSeries) -> np.ndarray:
    return np.where(np.isfinite(ls.gap_m), ls.u_ego - ls.u_lead, 0.0)


@metric(
    "min_ttc_s",
    unit="s",
    version=2,
    domains=ROAD,
    notes=LEAD,
    source="Hayward 1972; SUMO MSDevice_SSM computeTTC; thresholds: 3.0 s SUMO, 1.5 s SSAM",
)
def min_ttc(run: RunData) -> MetricValue:
    """Minimum 1-D time to collision with the lead (any entity in the ego's path).

    TTC = g / Δv when closing (Δv > 0), 0 in contact (g < 1 mm), undefined (∞) otherwise;
    lead, gap g and closing speed Δv as defined below.
    """
    best = np.inf
    for ls in lead_series(run):
        dv = _closing(ls)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ttc = np.where(ls.contact, 0.0, np.where(dv > 0, ls.gap_m / dv, np.inf))
        best = min(best, float(np.min(ttc[ls.valid], initial=np.inf)))
    return MetricValue(best)


@metric(
    "min_time_headway_s",
    unit="s",
    version=2,
    domains=ROAD,
    notes=LEAD,
    source="OpenSCENARIO "
    "TimeHeadwayCondition (freespace); CommonRoad-CriMe THW; R157 §5.2.3.3 time gap",
)
def min_time_headway(run: RunData) -> MetricValue:
    """Minimum time headway to the lead: THW = max(g, 0) / v_ego while the ego moves
    (v > 0.5 m/s); lead and gap g as defined below."""
    best = np.inf
    for ls in lead_series(run):
        moving = ls.valid & (ls.v_ego > 0.5) & np.isfinite(ls.gap_m)
        if moving.any():
            best = min(best, float(np.min(np.maximum(ls.gap_m[moving], 0.0) / ls.v_ego[moving])))
    return MetricValue(best)


@metric(
    "max_drac_mps2",
    unit="m/s^2",
    version=2,
    domains=ROAD,
    notes=LEAD,
    source="Cooper & Ferguson 1976; SUMO MSDevice_SSM computeDRAC (threshold 3.0 m/s²)",
)
def max_drac(run: RunData) -> MetricValue:
    """Maximum deceleration rate to avoid a crash with the lead: DRAC = Δv² / (2·g) while
    closing (Δv > 0) and not in contact (g ≥ 1 mm); 0 when never closing.

    In contact DRAC is undefined (no deceleration avoids a crash under way): those ticks are
    left out and reported in the details (``contact``, ``first_contact_s``).
    """
    best, first = 0.0, np.inf
    for ls in lead_series(run):
        dv = _closing(ls)
        hit = np.flatnonzero(ls.contact)
        if hit.size:
            first = min(first, float(run.log.time_s[hit[0]]))
        ok = ls.valid & (dv > 0) & ~ls.contact & np.isfinite(ls.gap_m)
        if ok.any():
            best = max(best, float(np.max(dv[ok] ** 2 / (2.0 * ls.gap_m[ok]))))
    details = {"contact": bool(np.isfinite(first))}
    if np.isfinite(first):
        details["first_contact_s"] = first
    return MetricValue(best, details=details)


@metric(
    "min_ttc_2d_s",
    unit="s",
    version=2,
    domains=ROAD,
    source="nuPlan time_to_collision_within_bound (0.1 s steps to 3 s; threshold 0.95 s)",
)
def min_ttc_2d(run: RunData) -> MetricValue:
    """Minimum 2-D time to collision by oriented-box projection.

    Every 0.1 s of the run and at every tick a collision began, each box is moved at
    constant speed and heading in 0.1 s steps up to 3 s; TTC is the first step at which the
    ego's box overlaps another's (0 in contact); ∞ when none does within the horizon. Only
    pairs that could meet within 3 s are projected.
    """
    if "road" not in run.log.arrays:
        return MetricValue(float("nan"), valid=False)
    arr = run.log.arrays["road"]
    info = run.log.meta["domains"]["road"]
    L, W = np.asarray(info["length_m"]), np.asarray(info["width_m"])
    stride = max(1, round(TTC2D_STEP_S / run.log.dt))
    n_rows = arr["x_m"].shape[0]
    # every 0.1 s, and every tick a collision began (the 0.1 s grid can step over it)
    hits = [round(e.time_s / run.log.dt) for e in run.events_of("collision")]
    at = np.union1d(np.arange(0, n_rows, stride), [k for k in hits if k < n_rows]).astype(int)
    x, y, h = arr["x_m"][at], arr["y_m"][at], arr["heading_rad"][at]
    v, valid = arr["speed_mps"][at], arr["valid"][at]
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
