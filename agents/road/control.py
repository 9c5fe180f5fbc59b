"""Building blocks shared by the road reference agents."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.road.types import Objects, OwnState, RoadBriefing, RoadObservation

#: R157 §5.2.3.3 minimum following time gap: t = 1.0 s + v[km/h]/100 (1.6 s at 60 km/h);
#: distance at least 2 m (esmini ``ControllerALKS_R157SM::Regulation::MinDist``).
R157_STANDSTILL_M = 2.0


def r157_time_gap_s(speed_mps: float) -> float:
    """R157 5.2.3.3 time gap: 1.0 s + v[km/h]/100."""
    return 1.0 + speed_mps * 3.6 / 100.0


def lane_keep_steer(
    own: OwnState,
    wheelbase_m: float,
    *,
    target_offset_m: float = 0.0,
    gain: float = 0.8,
    soft_mps: float = 2.0,
) -> float:
    """Stanley-style lane keeping about the lane centre.

    δ = atan(L·κ) − e_ψ − atan(k·e_y / (v + v_s)) with L the wheelbase, κ the lane curvature,
    e_ψ the heading error and e_y the lateral error. Source: Hoffmann et al., "Autonomous
    automobile trajectory tracking for off-road driving", ACC 2007 (the Stanley controller).
    """
    e_y = own.lane_offset_m - target_offset_m
    return (
        math.atan(wheelbase_m * own.curvature_1pm)
        - own.heading_error_rad
        - math.atan(gain * e_y / (own.speed_mps + soft_mps))
    )


def clipped_lane_keep_steer(own: OwnState, brief: RoadBriefing) -> float:
    """:func:`lane_keep_steer` within the vehicle's steering limit."""
    steer = lane_keep_steer(own, brief.wheelbase_m)
    return float(np.clip(steer, -brief.max_steer_rad, brief.max_steer_rad))


@dataclass(frozen=True)
class Lead:
    """The object that matters most ahead: free-space gap and its speed along the road."""

    id: str
    gap_m: float
    speed_mps: float


def corridor_threats(
    objects: Objects,
    own: OwnState,
    ego_length_m: float,
    ego_width_m: float,
    *,
    margin_m: float = 0.3,
    horizon_s: float = 6.0,
    predict: bool = True,
) -> np.ndarray:
    """Mask (K,) of objects ahead that are in, or will be in, the ego's lane corridor when the
    ego reaches them (constant-velocity prediction of their lateral motion), or that intrude
    into the ego's lane, moving towards it."""
    if len(objects) == 0:
        return np.zeros(0, dtype=bool)
    gap = objects.rel_s_m - 0.5 * (objects.length_m + ego_length_m)
    ahead = objects.rel_s_m > 0
    half = 0.5 * (objects.width_m + ego_width_m) + margin_m
    inside = np.abs(objects.rel_t_m) < half
    if not predict:
        return ahead & inside
    closing = own.speed_mps - objects.vs_mps
    with np.errstate(divide="ignore", invalid="ignore"):
        t_reach = np.where(closing > 0.1, np.maximum(gap, 0.0) / closing, horizon_s)
    t_reach = np.minimum(t_reach, horizon_s)
    # the object is in the corridor at some time in [0, t_reach] (straight-line lateral motion)
    t_end = objects.rel_t_m + objects.vt_mps * t_reach
    lo = np.minimum(objects.rel_t_m, t_end)
    hi = np.maximum(objects.rel_t_m, t_end)
    crosses = (lo < half) & (hi > -half)
    # lane intrusion (R157 §5.2.5): its body is over our lane's marking, moving towards us
    intruding = (np.abs(objects.rel_t_m) < 0.5 * (own.lane_width_m + objects.width_m)) & (
        objects.rel_t_m * objects.vt_mps < 0
    )
    return ahead & (inside | crosses | intruding)


def lead_accel(history: dict[str, tuple[float, float]], lead: Lead, time_s: float) -> float:
    """A lead's acceleration (m/s²) from its last two observed speeds, 0 when first seen;
    ``history`` (lead id -> (time, speed)) is updated with this observation."""
    prev = history.get(lead.id)
    history[lead.id] = (time_s, lead.speed_mps)
    if prev is None or time_s <= prev[0]:
        return 0.0
    return (lead.speed_mps - prev[1]) / (time_s - prev[0])


def pick_lead(objects: Objects, mask: np.ndarray, ego_length_m: float) -> Lead | None:
    """The nearest object under ``mask``."""
    if not mask.any():
        return None
    gap = objects.rel_s_m - 0.5 * (objects.length_m + ego_length_m)
    gap = np.where(mask, gap, np.inf)
    k = int(np.argmin(gap))
    return Lead(objects.ids[k], float(gap[k]), float(max(objects.vs_mps[k], 0.0)))


def stop_line_lead(obs: RoadObservation, comfortable_decel: float) -> Lead | None:
    """A red light (or a yellow one we can stop for) as a stationary lead at the stop line."""
    sig = obs.signal
    if sig is None or sig.state == "green" or sig.distance_m < -0.5:
        return None
    v = obs.own.speed_mps
    need = v * v / (2.0 * max(sig.distance_m, 0.1))
    if sig.state == "yellow" and need > comfortable_decel:
        return None  # too late to stop comfortably: clear the junction
    return Lead(sig.id, sig.distance_m - 1.0, 0.0)
