"""Rail metrics: SPADs and their severity, overspeed, protection interventions (kept apart
from the controller's own errors), separation, station stopping, punctuality, energy and
comfort (reference: ``../shared/reference/rail_air_water.md`` §1.2 R3-R5). Counts are of
events of controlled trains."""

from __future__ import annotations

import numpy as np

from metrics.registry import MetricValue, RunData, metric

RAIL = ("rail",)


def _ctl(run: RunData) -> tuple[dict[str, np.ndarray], list[int]]:
    if "rail" not in run.log.arrays:
        return {}, []
    return run.log.arrays["rail"], run.controlled.get("rail", [])


def _events(run: RunData, *kinds: str) -> list:
    return [e for k in kinds for e in run.events_of(k)]


@metric(
    "spads",
    unit="count",
    domains=RAIL,
    source="Network Rail SPAD category A; ETCS trip at the end of authority",
)
def spads(run: RunData) -> MetricValue:
    """Signals passed at danger by a controlled train: its front passes a signal showing stop
    (no route set for it), i.e. the end of its movement authority."""
    evs = run.events_of("spad")
    return MetricValue(
        float(len(evs)), details={"spads": [{"time_s": e.time_s, **e.details} for e in evs]}
    )


@metric(
    "spad_max_overrun_m",
    unit="m",
    domains=RAIL,
    source="ORR 'Signals passed at danger' (overlap 183 m); RSSB SPAD risk ranking",
)
def spad_max_overrun(run: RunData) -> MetricValue:
    """Largest overrun past a signal at danger: the front's distance beyond the signal where
    the train came to a stop (details: whether the overlap was exceeded); 0 without SPAD."""
    stops = run.events_of("spad_stop")
    arr, slots = _ctl(run)
    worst = 0.0
    beyond = False
    for e in stops:
        worst = max(worst, float(e.details["overrun_m"]))
        beyond |= bool(e.details["beyond_overlap"])
    # a SPAD without a stop before the run ended: overrun to the last position
    stopped = {e.details["signal"] for e in stops}
    for e in run.events_of("spad"):
        if e.details["signal"] not in stopped and slots:
            over = float(arr["p_m"][-1, slots].max() - e.details["signal_position_m"])
            worst = max(worst, over)
            beyond |= over > e.details["overlap_m"]
    return MetricValue(worst, details={"beyond_overlap": beyond})


@metric("overspeed_max_excess_mps", unit="m/s", domains=RAIL, source="SUBSET-026 §3.13 (MRSP)")
def overspeed_max(run: RunData) -> MetricValue:
    """Largest v − V_limit of a controlled train (V_limit: the most restrictive speed over
    the train's length); 0 when never above."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    ex = arr["speed_mps"][:, slots] - arr["limit_mps"][:, slots]
    return MetricValue(float(max(0.0, np.nanmax(np.where(np.isfinite(ex), ex, -np.inf)))))


@metric("overspeed_time_s", unit="s", domains=RAIL, source="SUBSET-026 §3.13 (MRSP)")
def overspeed_time(run: RunData) -> MetricValue:
    """Time a controlled train ran above its speed limit."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(0.0)
    over = arr["speed_mps"][1:, slots] > arr["limit_mps"][1:, slots] + 1e-6
    return MetricValue(float(over.any(axis=1).sum()) * run.log.dt)


@metric(
    "protection_interventions",
    unit="count",
    domains=RAIL,
    source="SUBSET-026 §3.13.10 (SBI/EBI); the protection acted, not the controller",
)
def protection_interventions(run: RunData) -> MetricValue:
    """Service- and emergency-brake interventions of the protection layer on a controlled
    train (warnings are counted apart): how often the protection had to take over."""
    evs = _events(run, "protection_service_brake", "protection_emergency_brake")
    return MetricValue(
        float(len(evs)),
        details={"events": [{"time_s": e.time_s, "kind": e.kind, **e.details} for e in evs]},
    )


@metric("protection_warnings", unit="count", domains=RAIL, source="SUBSET-026 §3.13.10 (warning)")
def protection_warnings(run: RunData) -> MetricValue:
    """Warnings of the protection layer (speed above the warning curve)."""
    return MetricValue(float(len(run.events_of("protection_warning"))))


@metric(
    "min_separation_margin_m",
    unit="m",
    domains=RAIL,
    source="rail_air_water.md R4: gap − v²/(2·decl) (brick-wall margin)",
)
def min_separation_margin(run: RunData) -> MetricValue:
    """Smallest brick-wall margin of a controlled train behind another train on the same
    track: gap (rear of the leader − front of the follower) − v²/(2·b_service); inf when it
    never followed one."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    info = run.log.meta["domains"]["rail"]
    kinds = info["kinds"]
    decel = {"ice3": 0.5, "rb425": 1.0, "freight": 0.3}
    best = np.inf
    for e in slots:
        b = decel.get(kinds[e], 0.5)
        ft, fs, v = (
            arr["track"][:, e : e + 1],
            arr["track_s_m"][:, e : e + 1],
            arr["speed_mps"][:, e : e + 1],
        )
        same = (arr["rear_track"] == ft) & arr["valid"]
        same[:, e] = False
        gap = np.where(same & (arr["rear_s_m"] > fs), arr["rear_s_m"] - fs, np.inf).min(axis=1)
        m = gap - (v[:, 0] ** 2) / (2 * b)
        best = min(best, float(np.min(m)))
    return MetricValue(best)


def _stops_due(run: RunData, *, timed: bool = False) -> int:
    """Timetable stops of the controlled trains (with an arrival time when ``timed``)."""
    info = run.log.meta["domains"].get("rail", {})
    tables = info.get("extra", {}).get("timetables", [])
    return sum(
        1
        for e in run.controlled.get("rail", [])
        for st in tables[e]
        if not timed or st.get("arrive") is not None
    )


@metric(
    "station_stop_error_m",
    unit="m",
    domains=RAIL,
    source="regulatory.md §5 (platform stop, e.g. ±0.5 m)",
)
def station_stop_error(run: RunData) -> MetricValue:
    """Largest |stopping error| (front − stopping point) of a controlled train at its
    timetable stops; inf when a stop was passed without stopping; invalid without stops."""
    arr_ = _events(run, "station_arrival")
    missed = run.events_of("station_missed")
    due = _stops_due(run)
    if missed or len(arr_) < due:
        return MetricValue(
            float("inf"),
            details={"missed": [e.details["station"] for e in missed], "due": due},
        )
    if not arr_:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(max(abs(float(e.details["stop_error_m"])) for e in arr_))


@metric(
    "max_arrival_delay_s",
    unit="s",
    domains=RAIL,
    source="ERA punctuality; GB PPM 5/10 min, NL 3 min thresholds",
)
def max_arrival_delay(run: RunData) -> MetricValue:
    """Largest arrival delay (actual − timetable) of a controlled train; details: whether it
    is within 3, 5 and 10 minutes; invalid without timed arrivals."""
    d = [
        e.details["delay_s"]
        for e in run.events_of("station_arrival")
        if e.details["delay_s"] is not None
    ]
    timed = _stops_due(run, timed=True)
    if len(d) < timed:  # a timed stop never reached (or passed without stopping)
        return MetricValue(float("inf"), details={"due": timed, "made": len(d)})
    if not d:
        return MetricValue(float("nan"), valid=False)
    worst = max(d)
    return MetricValue(
        float(worst),
        details={f"within_{m}_min": bool(worst <= 60 * m) for m in (3, 5, 10)},
    )


@metric("traction_energy_kwh", unit="kWh", domains=RAIL, source="∫ F_t·v dt (traction work)")
def traction_energy(run: RunData) -> MetricValue:
    """Traction work of the controlled trains at the wheel (kWh)."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(float(arr["energy_j"][-1, slots].sum()) / 3.6e6)


@metric("max_abs_accel_mps2", unit="m/s^2", domains=RAIL, source="EN 13452 / comfort (lit.)")
def max_abs_accel(run: RunData) -> MetricValue:
    """Largest |acceleration| of a controlled train (passenger comfort)."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(float(np.abs(arr["accel_mps2"][1:, slots]).max(initial=0.0)))


@metric("max_jerk_rail_mps3", unit="m/s^3", domains=RAIL, source="passenger comfort (lit.)")
def max_jerk(run: RunData) -> MetricValue:
    """Largest |d(acceleration)/dt| of a controlled train."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    a = arr["accel_mps2"][1:, slots]
    if a.shape[0] < 2:
        return MetricValue(0.0)
    return MetricValue(float(np.abs(np.diff(a, axis=0)).max() / run.log.dt))
