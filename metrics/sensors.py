"""Sensor metrics: how well the controlled entities' sensors saw the world (sim/sensors.py).

They read the ``sensors`` log group (per object sensor and scan: targets in coverage, true
detections, false targets, squared position error of the detections) and the
``first_detection`` / ``never_detected`` events. They apply only where the scenario declares
sensors (otherwise not valid).
"""

from __future__ import annotations

import math

from metrics.registry import MetricValue, RunData, metric

SOURCE = (
    "detection and tracking measures as in the radar/AIS models of NTNU's COLAV simulator "
    "(P_D, clutter) and ISO/PAS 21448 (SOTIF) perception limitations; definitions here"
)


def _sums(run: RunData) -> dict[str, float] | None:
    arr = run.log.arrays.get("sensors")
    if not arr:
        return None
    return {k: float(v.sum()) for k, v in arr.items()}


@metric("missed_detection_rate", unit="ratio", source=SOURCE)
def missed_detection_rate(run: RunData) -> MetricValue:
    """Share of target-scans in coverage that were not detected: 1 − Σ detected / Σ covered,
    over every object sensor and scan (coverage: in range, field of view and line of sight)."""
    s = _sums(run)
    if s is None or s["covered"] == 0:
        return MetricValue(math.nan, valid=False)
    return MetricValue(
        1.0 - s["detected"] / s["covered"],
        details={"covered": s["covered"], "detected": s["detected"]},
    )


@metric("false_detections", unit="count", source=SOURCE)
def false_detections(run: RunData) -> MetricValue:
    """False targets reported (clutter and spoofed ghosts), summed over scans."""
    s = _sums(run)
    if s is None:
        return MetricValue(math.nan, valid=False)
    return MetricValue(s["false"])


@metric("track_error_rms_m", unit="m", source=SOURCE)
def track_error_rms(run: RunData) -> MetricValue:
    """Root mean square horizontal position error of the detections when measured:
    √(Σ |p_reported − p_true|² / Σ detections) (staleness from latency and hold adds to it
    in what the agent sees, and is not counted here)."""
    s = _sums(run)
    if s is None or s["detected"] == 0:
        return MetricValue(math.nan, valid=False)
    return MetricValue(math.sqrt(s["sq_err_m2"] / s["detected"]))


@metric("first_detection_latency_s", unit="s", source=SOURCE)
def first_detection_latency(run: RunData) -> MetricValue:
    """Detection latency of the first threat: for the first target to enter a controlled
    entity's sensor coverage, the time from entering coverage to its first detection (inf
    when it was never detected)."""
    if "sensors" not in run.log.arrays:
        return MetricValue(math.nan, valid=False)
    cases = []
    for e in run.events:
        if e.kind == "first_detection" and e.entities[0] in run.controlled_ids:
            cases.append((e.time_s - e.details["latency_s"], e.details["latency_s"], e))
        elif e.kind == "never_detected" and e.entities[0] in run.controlled_ids:
            cases.append((e.time_s, math.inf, e))
    if not cases:
        return MetricValue(math.nan, valid=False)
    entered, latency, ev = min(cases, key=lambda c: (c[0], c[1]))
    return MetricValue(
        latency,
        details={"target": ev.entities[1], "sensor": ev.details["sensor"], "entered_s": entered},
    )
