"""IDMACC: the ACC model of Kesting, Treiber and Helbing, a benchmark SUT.

The longitudinal law is the Intelligent Driver Model blended with the constant-acceleration
heuristic (CAH): "Enhanced intelligent driver model to access the impact of driving
strategies on traffic capacity", Phil. Trans. R. Soc. A 368 (2010) 4585-4605, section 2,
with the parameters of its Table 1:
desired time gap T = 1.5 s, minimum gap s0 = 2 m, maximum acceleration a = 1.4 m/s²,
comfortable deceleration b = 2.0 m/s², acceleration exponent δ = 4, coolness factor c = 0.99.

    a_IDM = a [1 − (v/v0)^δ − (s*/s)²],   s* = s0 + vT + vΔv / (2√(ab))
    a_CAH = v² ã_l / (v_l² − 2 s ã_l)          if v_l (v − v_l) ≤ −2 s ã_l
          = ã_l − (v − v_l)² Θ(v − v_l) / (2s)  otherwise,    ã_l = min(a_l, a)
    a_ACC = a_IDM                                            if a_IDM ≥ a_CAH
          = (1 − c) a_IDM + c [a_CAH + b tanh((a_IDM − a_CAH)/b)]   otherwise

Like a production ACC it has limited braking authority: ISO 15622 (ACC systems) allows an
average automatic deceleration of at most 3.5 m/s² above 20 m/s and 5 m/s² below 5 m/s
(linear between), and it has no emergency brake. So it follows traffic smoothly and fails
when a lead brakes harder than that or cuts in close: what a search must find. It is not a
reference agent. Lane keeping and lead selection are AdaptiveCruise's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.road.control import (
    corridor_threats,
    lane_keep_steer,
    lead_accel,
    pick_lead,
    stop_line_lead,
)
from agents.road.types import RoadAction, RoadBriefing, RoadObservation
from sim.units import parse_quantity

#: Kesting, Treiber & Helbing 2010, Table 1.
KESTING_2010 = {"T": 1.5, "s0": 2.0, "a": 1.4, "b": 2.0, "delta": 4.0, "c": 0.99}


def iso15622_max_decel(speed_mps: float) -> float:
    """ISO 15622's limit on an ACC's automatic deceleration (m/s², ≥ 0): 5 below 5 m/s,
    3.5 above 20 m/s, linear between."""
    return float(np.interp(speed_mps, [5.0, 20.0], [5.0, 3.5]))


def acc_accel(
    v: float, gap: float, v_lead: float, a_lead: float, v0: float, p: dict[str, float]
) -> float:
    """Kesting et al. 2010's ACC acceleration (module docstring) for speed ``v``, bumper
    gap ``gap`` > 0 to a lead at ``v_lead`` accelerating at ``a_lead``; free road when the
    gap is infinite."""
    a, b = p["a"], p["b"]
    free = a * (1.0 - (v / max(v0, 0.1)) ** p["delta"])
    if not math.isfinite(gap):
        return free
    s = max(gap, 0.01)
    s_star = p["s0"] + max(0.0, v * p["T"] + v * (v - v_lead) / (2.0 * math.sqrt(a * b)))
    a_idm = free - a * (s_star / s) ** 2
    a_l = min(a_lead, a)
    if v_lead * (v - v_lead) <= -2.0 * s * a_l:
        den = v_lead**2 - 2.0 * s * a_l
        a_cah = v * v * a_l / den if den > 1e-9 else a_l
    else:
        a_cah = a_l - (max(v - v_lead, 0.0) ** 2) / (2.0 * s)
    if a_idm >= a_cah:
        return a_idm
    return (1.0 - p["c"]) * a_idm + p["c"] * (a_cah + b * math.tanh((a_idm - a_cah) / b))


class IDMACC:
    """Kesting et al. 2010's IDM+CAH ACC with ISO 15622 braking authority (a benchmark SUT)."""

    name = "IDMACC"
    version = "1.0.0"
    domains = ("road",)

    def __init__(self, set_speed: float | str | None = None, **params: Any) -> None:
        unknown = set(params) - set(KESTING_2010)
        if unknown:
            raise TypeError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        self.set_speed = None if set_speed is None else parse_quantity(set_speed, "speed")
        self.p = {**KESTING_2010, **{k: float(v) for k, v in params.items()}}

    def reset(self, briefing: RoadBriefing, *, rng: np.random.Generator) -> None:
        self.brief = briefing
        self._prev: dict[str, tuple[float, float]] = {}

    def act(self, obs: RoadObservation) -> RoadAction:
        b = self.brief
        own = obs.own
        v = own.speed_mps
        v0 = (
            own.speed_limit_mps
            if self.set_speed is None
            else min(self.set_speed, own.speed_limit_mps)
        )
        mask = corridor_threats(obs.objects, own, b.length_m, b.width_m)
        a = acc_accel(v, math.inf, 0.0, 0.0, v0, self.p)
        for lead in (pick_lead(obs.objects, mask, b.length_m), stop_line_lead(obs, self.p["b"])):
            if lead is None:
                continue
            a_lead = lead_accel(self._prev, lead, obs.time_s)
            a = min(a, acc_accel(v, lead.gap_m, lead.speed_mps, a_lead, v0, self.p))
        low = min(iso15622_max_decel(v), b.max_decel_mps2)
        a = float(np.clip(a, -low, min(self.p["a"], b.max_accel_mps2)))
        steer = lane_keep_steer(own, b.wheelbase_m)
        return RoadAction(a, float(np.clip(steer, -b.max_steer_rad, b.max_steer_rad)))
