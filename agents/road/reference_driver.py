"""The UN R157 "careful and competent human driver" reference model (Annex 4, Appendix 3).

Parameters as in the open implementations (esmini ``ControllerALKS_R157SM`` ``ReferenceDriver``,
JRC-FSM ``utility/models.py``; see shared/reference/regulatory.md §1.2):

- risk perception: an object in focus (nearest in the lane corridor, or one that has wandered
  0.375 m from its lane centre towards ours: cut-in) that closes in (cut-out, stationary target)
  or decelerates harder than 5 m/s² (lead braking) is perceived after 0.4 s;
- reaction: 0.75 s with the accelerator released (−0.4 m/s²);
- braking, only while the situation is critical (TTC < 2 s, and until the R157 minimum
  following distance is restored): deceleration builds up at 12.65 m/s³ (0.774 g within
  0.6 s) to 0.774 g = 7.59 m/s².

It never steers around anything (lane keeping only). A scenario it cannot get through without
collision is, in R157's sense, not avoidable by a careful human driver.
"""

from __future__ import annotations

import numpy as np

from agents.road.control import corridor_threats, lane_keep_steer, r157_time_gap_s
from agents.road.types import RoadAction, RoadBriefing, RoadObservation
from sim.units import G0_MPS2

WANDERING_M = 0.375
PERCEPTION_S = 0.4
REACTION_S = 0.75
RELEASE_DECEL = 0.4
MAX_DECEL = 0.774 * G0_MPS2
JERK = MAX_DECEL / 0.6
CRITICAL_TTC_S = 2.0
LEAD_DECEL_CUE = 5.0

IDLE, PERCEIVE, REACT, ARMED = range(4)


class R157ReferenceDriver:
    """R157 Annex 4 Appendix 3 careful and competent human driver (see module docstring)."""

    name = "R157ReferenceDriver"
    version = "1.0.0"

    def reset(self, briefing: RoadBriefing, *, rng: np.random.Generator) -> None:
        self.brief = briefing
        self.phase = IDLE
        self.since = 0.0
        self.focus: str | None = None
        self.decel = 0.0
        self.braking = False
        self._speeds: dict[str, tuple[float, float]] = {}

    def _lead_decel(self, oid: str, vs: float, time_s: float) -> float:
        prev = self._speeds.get(oid)
        self._speeds[oid] = (time_s, vs)
        if prev is None or time_s <= prev[0]:
            return 0.0
        return (prev[1] - vs) / (time_s - prev[0])

    def act(self, obs: RoadObservation) -> RoadAction:
        b, own, objs = self.brief, obs.own, obs.objects
        v = own.speed_mps
        steer = float(
            np.clip(lane_keep_steer(own, b.wheelbase_m), -b.max_steer_rad, b.max_steer_rad)
        )
        focus = corridor_threats(objs, own, b.length_m, b.width_m, margin_m=0.0, predict=False)
        if len(objs):
            lane_centre = np.rint(objs.rel_t_m / own.lane_width_m) * own.lane_width_m
            wandered = (
                (np.abs(objs.rel_t_m - lane_centre) > WANDERING_M)
                & (np.abs(objs.rel_t_m) < np.abs(lane_centre))
                & (objs.rel_s_m > 0)
            )
            focus |= wandered
        gap = objs.rel_s_m - 0.5 * (objs.length_m + b.length_m)
        k = int(np.argmin(np.where(focus, gap, np.inf))) if focus.any() else -1
        if k < 0:
            self.phase, self.focus, self.braking = IDLE, None, False
            return RoadAction(0.0, steer)
        oid, g, vl = objs.ids[k], float(gap[k]), float(objs.vs_mps[k])
        closing = v - vl
        decel_l = self._lead_decel(oid, vl, obs.time_s)
        if oid != self.focus:
            self.focus, self.phase, self.braking = oid, IDLE, False
        if self.phase == IDLE and (closing > 0 or decel_l > LEAD_DECEL_CUE):
            self.phase, self.since = PERCEIVE, obs.time_s
        elapsed = obs.time_s - self.since
        if self.phase == PERCEIVE and elapsed >= PERCEPTION_S - 1e-9:
            self.phase, self.since = REACT, obs.time_s
        elif self.phase == REACT and elapsed >= REACTION_S - 1e-9:
            self.phase = ARMED
        if self.phase == REACT:
            return RoadAction(-RELEASE_DECEL if v > 0 else 0.0, steer)
        if self.phase != ARMED:
            return RoadAction(0.0, steer)
        ttc = g / closing if closing > 0 else np.inf
        min_gap = max(v * r157_time_gap_s(v), 2.0)
        critical = ttc < CRITICAL_TTC_S or (self.braking and closing > 0 and g < min_gap)
        if not critical:
            self.braking, self.decel = False, 0.0
            return RoadAction(0.0, steer)
        if not self.braking:
            self.braking, self.decel = True, RELEASE_DECEL
        self.decel = min(MAX_DECEL, self.decel + JERK * b.control_period_s)
        return RoadAction(-self.decel if v > 0 else 0.0, steer)
