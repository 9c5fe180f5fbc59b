"""Air metrics: separation, NMAC, well clear, alert timeliness, geofences, flight-plan
conformance and manoeuvre intensity (reference: ``../shared/reference/rail_air_water.md``
§2.2 A5-A7). Counts are of events involving a controlled aircraft; aggregates turn them
into rates per flight hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrics.registry import MetricValue, RunData, metric
from sim.core.geometry import project_to_segments

AIR = ("air",)
#: Pair-ticks handled at once when separations are computed from the logged states.
_CHUNK = 1 << 21


def _ctl(run: RunData) -> tuple[dict[str, np.ndarray], list[int], dict]:
    if "air" not in run.log.arrays:
        return {}, [], {}
    return run.log.arrays["air"], run.controlled.get("air", []), run.log.meta["domains"]["air"]


def _duration(run: RunData, field: str) -> float:
    arr, slots, _ = _ctl(run)
    if not slots:
        return 0.0
    on = arr[field][:, slots].any(axis=1)
    return float(on[1:].sum()) * run.log.dt


def _count(run: RunData, kind: str) -> MetricValue:
    evs = run.events_of(kind)
    return MetricValue(
        float(len(evs)),
        details={
            "events": [{"time_s": e.time_s, "entities": list(e.entities), **e.details} for e in evs]
        },
    )


@metric(
    "los_count",
    unit="count",
    domains=AIR,
    source="BlueSky statebased.py (LoS: d < R and |dh| < H; R 5 NM, H 1000 ft, ICAO Doc 4444)",
)
def los_count(run: RunData) -> MetricValue:
    """Losses of separation with a controlled aircraft: pairs entering d_h < R ∧ |Δh| < H
    (R, H = map.air.separation); a pair that stays inside counts once."""
    return _count(run, "loss_of_separation")


@metric("los_duration_s", unit="s", domains=AIR, source="BlueSky CONFLOG / lospairs_all")
def los_duration(run: RunData) -> MetricValue:
    """Time during which a controlled aircraft was in loss of separation (Σ ticks × dt)."""
    return MetricValue(_duration(run, "los"))


@metric(
    "los_severity",
    unit="1",
    version=2,
    domains=AIR,
    source="rail_air_water.md §2.2 A7: severity 1 − d_min/R (horizontal)",
)
def los_severity(run: RunData) -> MetricValue:
    """Worst horizontal LoS severity 1 − d_min/R over the run (0 when no LoS; 1 = same
    position). d_min: the smallest horizontal separation of a controlled aircraft from any
    aircraft it is in LoS with (d_h < R ∧ |Δh| < H), over every pair and tick."""
    sep = _separations(run)
    if sep is None or not np.isfinite(sep.min_h_in_los):
        return MetricValue(0.0)
    return MetricValue(max(0.0, 1.0 - sep.min_h_in_los / sep.r))


@dataclass(frozen=True)
class _Separation:
    """Over every pair (controlled aircraft, other aircraft) and every tick, from the logged
    states: the smallest horizontal distance, the smallest vertical distance while
    horizontally inside R, and the smallest horizontal distance while in LoS."""

    min_h: float
    min_v_inside_r: float
    min_h_in_los: float
    r: float


def _separations(run: RunData) -> _Separation | None:
    arr, slots, info = _ctl(run)
    if not slots:
        return None
    x, y, z, valid = arr["x_m"], arr["y_m"], arr["alt_m"], arr["valid"]
    r, h = (float(v) for v in info["map"]["separation_m"])
    c = np.asarray(slots)
    best = [np.inf, np.inf, np.inf]
    step = max(1, _CHUNK // (c.size * x.shape[1]))  # ticks per chunk: bounded memory
    for lo in range(0, x.shape[0], step):
        k = slice(lo, lo + step)
        both = valid[k, c, None] & valid[k, None, :]
        both[:, np.arange(c.size), c] = False
        dh = np.hypot(x[k, None, :] - x[k, c, None], y[k, None, :] - y[k, c, None])
        dh = np.where(both, dh, np.inf)
        dz = np.abs(z[k, None, :] - z[k, c, None])
        best[0] = min(best[0], float(dh.min(initial=np.inf)))
        best[1] = min(best[1], float(np.where(dh < r, dz, np.inf).min(initial=np.inf)))
        in_los = (dh < r) & (dz < h)
        best[2] = min(best[2], float(np.where(in_los, dh, np.inf).min(initial=np.inf)))
    return _Separation(*best, r)


@metric("nmac_count", unit="count", domains=AIR, source="DAIDALUS DO_365B_no_SUM.conf")
def nmac_count(run: RunData) -> MetricValue:
    """Near mid-air collisions with a controlled aircraft: d_h < 500 ft ∧ |Δh| < 100 ft
    (map.air.nmac), counted per pair entry."""
    return _count(run, "nmac")


@metric(
    "lowc_count",
    unit="count",
    domains=AIR,
    source="RTCA DO-365; DAIDALUS WCV_TAUMOD (DTHR 4000 ft, ZTHR 450 ft, TTHR 35 s)",
)
def lowc_count(run: RunData) -> MetricValue:
    """Losses of DO-365 well clear with a controlled aircraft: (|s| ≤ DTHR or (d_CPA ≤ DTHR
    and 0 ≤ τ_mod ≤ TTHR)) and |s_z| ≤ ZTHR, τ_mod = (DTHR² − s·s)/(s·v); per pair entry."""
    return _count(run, "loss_of_well_clear")


@metric("lowc_duration_s", unit="s", domains=AIR, source="RTCA DO-365 (well clear)")
def lowc_duration(run: RunData) -> MetricValue:
    """Time during which a controlled aircraft was in well-clear violation."""
    return MetricValue(_duration(run, "lowc"))


@metric(
    "min_horizontal_separation_m",
    unit="m",
    version=2,
    domains=AIR,
    source="BlueSky FLSTLOG (2-D distance)",
)
def min_horizontal_separation(run: RunData) -> MetricValue:
    """Smallest horizontal centre distance from a controlled aircraft to any other aircraft,
    over every pair and tick, whatever their vertical distance (inf with no other aircraft)."""
    sep = _separations(run)
    if sep is None:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(sep.min_h)


@metric(
    "min_vertical_separation_m",
    unit="m",
    version=2,
    domains=AIR,
    source="ICAO Doc 4444 (vertical separation applies where horizontal is lost)",
)
def min_vertical_separation(run: RunData) -> MetricValue:
    """Smallest |Δh| between a controlled aircraft and another aircraft while horizontally
    closer than the separation minimum R, over every pair and tick (inf when that never
    happened)."""
    sep = _separations(run)
    if sep is None:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(sep.min_v_inside_r)


@metric(
    "alert_lead_time_s",
    unit="s",
    domains=AIR,
    source="DAIDALUS DO_365B_no_SUM.conf alerting times (corrective 55 s, warning 25 s)",
)
def alert_lead_time(run: RunData) -> MetricValue:
    """Worst alert lead time over intruders: the predicted time to loss of well clear at the
    first corrective-or-warning alert of each pair; 0 for a pair that lost well clear
    without such an alert; inf when nothing needed an alert."""
    first: dict[tuple[str, ...], float] = {}
    for e in run.events_of("daa_alert"):
        key = tuple(sorted(e.entities))
        if e.details["level"] in ("corrective", "warning") and key not in first:
            first[key] = float(e.details["time_to_lowc_s"])
    lead = dict(first)
    for e in run.events_of("loss_of_well_clear"):
        key = tuple(sorted(e.entities))
        if key not in first:
            lead[key] = 0.0
    return MetricValue(min(lead.values(), default=float("inf")), details={"pairs": len(lead)})


@metric("geofence_breaches", unit="count", domains=AIR, source="BlueSky plugins/geofence.py")
def geofence_breaches(run: RunData) -> MetricValue:
    """Entries of a controlled aircraft into an active geofence volume."""
    return _count(run, "geofence_breach")


@metric("geofence_breach_depth_m", unit="m", domains=AIR, source="ED-269 geozones; F3548")
def geofence_breach_depth(run: RunData) -> MetricValue:
    """Deepest penetration of a controlled aircraft into an active geofence: the smallest
    distance back out (to the polygon edge, floor or ceiling); 0 without a breach."""
    arr, slots, _ = _ctl(run)
    return MetricValue(float(arr["geofence_depth_m"][:, slots].max(initial=0.0)) if slots else 0.0)


@metric("geofence_breach_time_s", unit="s", domains=AIR, source="ED-269 geozones; F3548")
def geofence_breach_time(run: RunData) -> MetricValue:
    """Time a controlled aircraft spent inside an active geofence."""
    return MetricValue(_duration(run, "geofence"))


ROUTED = ("air", "water")


def _plan_track(info: dict, slot: int, x0: float, y0: float) -> np.ndarray | None:
    """The planned route of ``slot`` from its start: an aircraft's plan or a ship's route."""
    extra = info["extra"]
    plan = (extra.get("plans") or extra.get("routes") or [[]] * (slot + 1))[slot]
    if not plan:
        return None
    return np.array([[x0, y0]] + [[w["x_m"], w["y_m"]] for w in plan])


def _routed(run: RunData) -> list[tuple[dict[str, np.ndarray], int, dict]]:
    """(arrays, slot, domain info) of every controlled entity of a routed domain."""
    out = []
    for dom in ROUTED:
        if dom in run.log.arrays:
            info = run.log.meta["domains"][dom]
            out += [(run.log.arrays[dom], e, info) for e in run.controlled.get(dom, [])]
    return out


@metric(
    "max_cross_track_error_m",
    unit="m",
    domains=ROUTED,
    source="ASTM F3548-21 operational-intent conformance; RNP navigation accuracy (ICAO Doc 9613)",
)
def max_cross_track_error(run: RunData) -> MetricValue:
    """Largest horizontal distance from a controlled aircraft or ship to its planned route
    (the polyline start → waypoints), over the run: flight-plan / route conformance."""
    worst = float("nan")
    for arr, e, info in _routed(run):
        pts = _plan_track(info, e, arr["x_m"][0, e], arr["y_m"][0, e])
        if pts is None:
            continue
        ok = arr["valid"][:, e]
        px, py = arr["x_m"][ok, e], arr["y_m"][ok, e]
        a, b = pts[:-1], pts[1:]
        n = px.size
        _, d2, _ = project_to_segments(
            px,
            py,
            np.broadcast_to(a[:, 0], (n, len(a))),
            np.broadcast_to(a[:, 1], (n, len(a))),
            np.broadcast_to(b[:, 0], (n, len(a))),
            np.broadcast_to(b[:, 1], (n, len(a))),
        )
        xte = float(np.sqrt(d2.min(axis=1)).max(initial=0.0))
        worst = xte if np.isnan(worst) else max(worst, xte)
    return MetricValue(worst, valid=not np.isnan(worst))


def _goal_time(run: RunData, eid: str) -> float | None:
    for e in run.events_of("goal_reached"):
        if eid in e.entities:
            return e.time_s
    return None


@metric(
    "extra_path_length_m", unit="m", domains=ROUTED, source="BlueSky FLSTLOG (2-D distance flown)"
)
def extra_path_length(run: RunData) -> MetricValue:
    """Horizontal distance flown up to the goal minus the planned route length; valid only
    when the goal was reached (inf otherwise)."""
    return _versus_plan(run, "path")


@metric(
    "delay_s", unit="s", domains=ROUTED, source="BlueSky FLSTLOG (flight time); route efficiency"
)
def delay(run: RunData) -> MetricValue:
    """Time to the goal minus the planned time (route length / initial ground speed);
    inf when the goal was not reached."""
    return _versus_plan(run, "time")


def _versus_plan(run: RunData, what: str) -> MetricValue:
    out = float("nan")
    for arr, e, info in _routed(run):
        goal = info["goals"][e]
        if not goal:
            continue
        t = _goal_time(run, info["ids"][e])
        if t is None:
            val = float("inf")
        else:
            k = round(t / run.log.dt)
            if what == "path":
                step = np.hypot(np.diff(arr["x_m"][: k + 1, e]), np.diff(arr["y_m"][: k + 1, e]))
                val = float(step.sum()) - _length(goal) + goal["radius_m"]
            else:
                v0 = max(float(arr["speed_mps"][0, e]), 1e-6)
                val = t - (_length(goal) - goal["radius_m"]) / v0
        out = val if np.isnan(out) else max(out, val)
    return MetricValue(out, valid=not np.isnan(out))


def _length(goal: dict) -> float:
    return float(goal.get("plan_length_m", goal.get("route_length_m", 0.0)))


@metric("max_bank_deg", unit="deg", domains=AIR, source="co-ordinated turn φ = atan(ω·V/g)")
def max_bank(run: RunData) -> MetricValue:
    """Largest bank angle |φ| of a controlled aircraft, φ = atan(ω·V/g)."""
    arr, slots, _ = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(float(np.degrees(np.abs(arr["bank_rad"][1:, slots]).max(initial=0.0))))


@metric(
    "max_vertical_accel_mps2", unit="m/s^2", domains=AIR, source="BlueSky traffic.py (300 fpm/s)"
)
def max_vertical_accel(run: RunData) -> MetricValue:
    """Largest |d(vertical rate)/dt| of a controlled aircraft."""
    arr, slots, _ = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(float(np.abs(arr["vaccel_mps2"][1:, slots]).max(initial=0.0)))


@metric(
    "low_altitude_time_s", unit="s", domains=AIR, source="ground proximity: map.air.min_altitude"
)
def low_altitude_time(run: RunData) -> MetricValue:
    """Time a controlled aircraft spent below the scenario's minimum altitude."""
    return MetricValue(_duration(run, "low_altitude"))


@metric(
    "sector_peak_count",
    unit="aircraft",
    domains=AIR,
    source="BlueSky sector metrics plugin (density); EUROCONTROL sector capacity",
)
def sector_peak_count(run: RunData) -> MetricValue:
    """Largest number of aircraft in any sector at one tick (invalid without sectors)."""
    if "air" not in run.log.arrays:
        return MetricValue(float("nan"), valid=False)
    c = run.log.arrays["air"]["sector_count"]
    if c.shape[1] == 0:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(float(c.max()))


@metric(
    "sector_over_capacity_s",
    unit="s",
    domains=AIR,
    source="EUROCONTROL sector capacity (aircraft per sector)",
)
def sector_over_capacity(run: RunData) -> MetricValue:
    """Time during which a sector with a declared capacity held more aircraft than it."""
    info = run.log.meta["domains"].get("air", {})
    sectors = info.get("map", {}).get("sectors", [])
    caps = [s["capacity"] for s in sectors]
    if not any(c is not None for c in caps):
        return MetricValue(float("nan"), valid=False)
    c = run.log.arrays["air"]["sector_count"]
    cap = np.array([np.inf if x is None else x for x in caps])
    return MetricValue(float((c[1:] > cap).any(axis=1).sum()) * run.log.dt)
