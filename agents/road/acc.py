"""AdaptiveCruise: the road reference agent (lane keeping, R157 time-gap ACC, emergency
braking). Good enough to pass every shipped road scenario, so a failure there means something.
"""

from __future__ import annotations

import math

import numpy as np

from agents.road.control import (
    R157_STANDSTILL_M,
    Lead,
    corridor_threats,
    lane_keep_steer,
    lead_accel,
    pick_lead,
    r157_time_gap_s,
    stop_line_lead,
)
from agents.road.types import RoadAction, RoadBriefing, RoadObservation
from sim.units import parse_quantity


class AdaptiveCruise:
    """Lane keeping + adaptive cruise control + emergency braking.

    Longitudinal command: the minimum of
    - cruise: ``k_v·(v_set − v)``, v_set = min(``set_speed``, the lane's speed limit);
    - following (R157 §5.2.3.3 gap): ``k_g·(gap − d) + k_dv·(v_lead − v)`` with
      d = max(v·(1.0 + v[km/h]/100), 2 m) + ``standstill_m``;
    - collision avoidance: the constant deceleration that stops the closing before
      ``margin_m`` of the lead, given the lead's own estimated deceleration
      (a = Δv²/2(g − m) for a steady lead; v²/2(g − m + v_l²/2b_l) for a braking one),
      applied with a 20 % reserve once it exceeds the comfortable limit;
    - AEB: full braking when TTC < ``aeb_ttc_s`` (1.5 s, esmini's R157 AEB overlay).
    Leads are objects in, or predicted to enter, the ego's lane corridor, and red lights.
    """

    name = "AdaptiveCruise"
    version = "1.0.0"
    domains = ("road",)  # checked before a run: no act() on another domain's briefing

    def __init__(
        self,
        set_speed: float | str | None = None,
        *,
        comfort_decel: float = 3.5,
        comfort_accel: float = 1.5,
        standstill_m: float = 2.0,
        margin_m: float = 2.0,
        aeb_ttc_s: float = 1.5,
    ) -> None:
        # a quantity from a scenario file ("50 km/h") or m/s
        self.set_speed = None if set_speed is None else parse_quantity(set_speed, "speed")
        self.comfort_decel = comfort_decel
        self.comfort_accel = comfort_accel
        self.standstill = standstill_m
        self.margin = margin_m
        self.aeb_ttc = aeb_ttc_s
        self.k_v, self.k_g, self.k_dv = 0.5, 0.25, 0.8

    def reset(self, briefing: RoadBriefing, *, rng: np.random.Generator) -> None:
        self.brief = briefing
        self._prev: dict[str, tuple[float, float]] = {}
        self._own = None

    def _lead_decel(self, lead: Lead, time_s: float) -> float:
        """Estimated deceleration of ``lead`` (m/s², ≥ 0) from its speed history."""
        return max(0.0, -lead_accel(self._prev, lead, time_s))

    def planned_path(self) -> np.ndarray | None:
        """The path it means to follow (for viewers): the lane centre ahead, as an arc of
        the lane's curvature over max(3 s of travel, 15 m). (16, 2) world metres."""
        own = self._own
        if own is None:
            return None
        psi = own.heading_rad - own.heading_error_rad
        x0 = own.x_m + own.lane_offset_m * math.sin(psi)
        y0 = own.y_m - own.lane_offset_m * math.cos(psi)
        s = np.linspace(0.0, max(3.0 * own.speed_mps, 15.0), 16)
        k = own.curvature_1pm
        if abs(k) < 1e-9:
            return np.stack([x0 + s * math.cos(psi), y0 + s * math.sin(psi)], axis=1)
        return np.stack(
            [
                x0 + (np.sin(psi + k * s) - math.sin(psi)) / k,
                y0 - (np.cos(psi + k * s) - math.cos(psi)) / k,
            ],
            axis=1,
        )

    def act(self, obs: RoadObservation) -> RoadAction:
        b = self.brief
        own = obs.own
        self._own = own
        v = own.speed_mps
        steer = lane_keep_steer(own, b.wheelbase_m)
        v_set = (
            own.speed_limit_mps
            if self.set_speed is None
            else min(self.set_speed, own.speed_limit_mps)
        )
        a = self.k_v * (v_set - v)
        mask = corridor_threats(obs.objects, own, b.length_m, b.width_m)
        leads = [
            x
            for x in (
                pick_lead(obs.objects, mask, b.length_m),
                stop_line_lead(obs, self.comfort_decel),
            )
            if x is not None
        ]
        for lead in leads:
            a = min(a, self._follow(lead, v, obs.time_s))
        a = float(np.clip(a, -b.max_decel_mps2, min(self.comfort_accel, b.max_accel_mps2)))
        return RoadAction(a, float(np.clip(steer, -b.max_steer_rad, b.max_steer_rad)))

    def _follow(self, lead: Lead, v: float, time_s: float) -> float:
        b = self.brief
        d_des = max(v * r157_time_gap_s(v), R157_STANDSTILL_M) + self.standstill
        a = self.k_g * (lead.gap_m - d_des) + self.k_dv * (lead.speed_mps - v)
        a = max(a, -self.comfort_decel)
        room = lead.gap_m - self.margin
        closing = v - lead.speed_mps
        b_lead = self._lead_decel(lead, time_s)
        need = 0.0
        if room <= 0.0:
            need = b.max_decel_mps2 if closing > 0 or v > 0.5 else 0.0
        else:
            if closing > 0:
                need = closing * closing / (2.0 * room)
            if b_lead > 0.5:
                lead_stop = lead.speed_mps**2 / (2.0 * b_lead)
                need = max(need, v * v / (2.0 * (room + lead_stop)))
        if need > self.comfort_decel * 0.5:
            a = min(a, -min(1.2 * need, b.max_decel_mps2))
        if closing > 0 and lead.gap_m / closing < self.aeb_ttc:
            a = -b.max_decel_mps2
        if lead.speed_mps < 0.1 and lead.gap_m < self.standstill + 0.5:
            a = min(a, -b.max_decel_mps2 if v > 0.05 else 0.0)  # hold at standstill
        return a if math.isfinite(a) else -b.max_decel_mps2
