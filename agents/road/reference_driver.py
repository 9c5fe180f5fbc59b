"""The UN R157 "careful and competent human driver" reference model (Annex 4, Appendix 3).

Parameters as implemented openly in esmini ``ControllerALKS_R157SM`` (``ReferenceDriver``) and
JRC-FSM ``utility/models.py``: lateral wandering threshold 0.375 m, risk perception time
0.4 s, reaction time 0.75 s (accelerator released: −0.4 m/s²), then braking that builds up
at 12.65 m/s³ (0.774 g reached in 0.6 s) to 0.774 g = 7.59 m/s². It acts only when the
hazard is critical: TTC < 2 s or time headway < 2 s. Used to label scenarios avoidable.
"""

from __future__ import annotations

import numpy as np

from agents.road.control import corridor_threats, lane_keep_steer, pick_lead
from agents.road.types import RoadAction, RoadBriefing, RoadObservation
from sim.units import G0_MPS2

WANDERING_M = 0.375
PERCEPTION_S = 0.4
REACTION_S = 0.75
RELEASE_DECEL = 0.4
MAX_DECEL = 0.774 * G0_MPS2
JERK = MAX_DECEL / 0.6
CRITICAL_S = 2.0


class R157ReferenceDriver:
    name = "R157ReferenceDriver"
    version = "1.0.0"

    def reset(self, briefing: RoadBriefing, *, rng: np.random.Generator) -> None:
        self.brief = briefing
        self.t_hazard: float | None = None  # when the critical hazard was perceived
        self.decel = 0.0

    def act(self, obs: RoadObservation) -> RoadAction:
        b = self.brief
        own = obs.own
        v = own.speed_mps
        steer = float(
            np.clip(lane_keep_steer(own, b.wheelbase_m), -b.max_steer_rad, b.max_steer_rad)
        )
        # an object is a hazard once it is in the corridor or has wandered 0.375 m towards it
        objs = obs.objects
        in_lane = corridor_threats(objs, own, b.length_m, b.width_m, margin_m=0.0, predict=False)
        if len(objs):
            wander = (
                (objs.rel_s_m > 0)
                & (np.abs(objs.rel_t_m) < own.lane_width_m - WANDERING_M)
                & (objs.rel_t_m * objs.vt_mps < 0)
            )
            in_lane = in_lane | wander
        lead = pick_lead(objs, in_lane, b.length_m)
        critical = False
        if lead is not None:
            closing = v - lead.speed_mps
            ttc = lead.gap_m / closing if closing > 0 else np.inf
            thw = lead.gap_m / v if v > 0.1 else np.inf
            critical = ttc < CRITICAL_S or thw < CRITICAL_S
            if closing <= 0 and self.t_hazard is not None and self.decel > 0:
                critical = lead.gap_m < 2.0 * max(v, 1.0)
        if critical and self.t_hazard is None:
            self.t_hazard = obs.time_s
        if not critical and self.t_hazard is not None and (lead is None or v <= lead.speed_mps):
            self.t_hazard, self.decel = None, 0.0
        if self.t_hazard is None:
            return RoadAction(0.0, steer)
        elapsed = obs.time_s - self.t_hazard
        if elapsed < PERCEPTION_S:
            return RoadAction(0.0, steer)
        if elapsed < PERCEPTION_S + REACTION_S:
            return RoadAction(-RELEASE_DECEL, steer)
        ramp = (elapsed - PERCEPTION_S - REACTION_S) * JERK
        self.decel = min(MAX_DECEL, max(RELEASE_DECEL, ramp))
        return RoadAction(-self.decel if v > 0 else 0.0, steer)
