"""Flight-plan following shared by the air reference agents: leg sequencing with turn
anticipation, cross-track correction, wind correction and altitude capture."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.air.types import AirAction, AirBriefing, AirObservation
from sim.units import G0_MPS2


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


class PlanFollower:
    """Lateral: desired track χ = χ_leg − atan(e / L) toward the active leg (e the
    cross-track error, + right; L the larger of twice the turn radius and 10 s of flight),
    then the heading that holds that track in the measured wind (ground minus air velocity).
    Vertical: altitude capture at the type's vertical-rate and -acceleration limits."""

    name = "plan-only"
    version = "1.0"

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - self.params_allowed()
        if unknown:
            raise TypeError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        self.params = params

    @classmethod
    def params_allowed(cls) -> set[str]:
        return set()

    def reset(self, briefing: AirBriefing, *, rng: np.random.Generator) -> None:
        self.b = briefing
        self.leg = 0
        self.start: tuple[float, float] | None = None
        self.speed: float | None = None
        self.alt_target: float | None = None
        self.pos = (0.0, 0.0)

    # -------------------------------------------------------------- helpers
    def turn_radius(self, tas: float) -> float:
        w = min(G0_MPS2 * math.tan(self.b.max_bank_rad) / max(tas, 1.0), self.b.max_turn_rate_radps)
        return tas / max(w, 1e-6)

    def wind(self, obs: AirObservation) -> tuple[float, float]:
        o = obs.own
        return o.ve_mps - o.tas_mps * math.sin(o.hdg_rad), o.vn_mps - o.tas_mps * math.cos(
            o.hdg_rad
        )

    def heading_for_track(self, track: float, tas: float, wind: tuple[float, float]) -> float:
        cross = wind[0] * math.cos(track) - wind[1] * math.sin(track)
        return wrap(track + math.asin(max(-1.0, min(1.0, -cross / max(tas, 1e-6)))))

    def vs_for(self, alt: float, target: float) -> float:
        e = target - alt
        mag = min(
            self.b.max_vertical_rate_mps,
            math.sqrt(2 * self.b.max_vertical_accel_mps2 * abs(e)),
            abs(e) / 2.0,
        )
        return math.copysign(mag, e)

    def nominal(self, obs: AirObservation) -> AirAction:
        """The action that flies the plan from here."""
        o = obs.own
        if self.start is None:
            self.start = (o.x_m, o.y_m)
            self.speed = o.tas_mps
            self.alt_target = o.alt_m
        self.pos = (o.x_m, o.y_m)
        plan = self.b.plan
        wind = self.wind(obs)
        if not plan:
            g = self.b.goal or {"x_m": o.x_m, "y_m": o.y_m}
            track = math.atan2(g["x_m"] - o.x_m, g["y_m"] - o.y_m)
            return AirAction(self.heading_for_track(track, o.tas_mps, wind), self.speed, 0.0)
        r = self.turn_radius(o.tas_mps)
        while self.leg < len(plan):
            a = self.start if self.leg == 0 else (plan[self.leg - 1].x_m, plan[self.leg - 1].y_m)
            b = (plan[self.leg].x_m, plan[self.leg].y_m)
            lx, ly = b[0] - a[0], b[1] - a[1]
            seg = math.hypot(lx, ly) or 1.0
            along = ((o.x_m - a[0]) * lx + (o.y_m - a[1]) * ly) / seg
            dist = math.hypot(b[0] - o.x_m, b[1] - o.y_m)
            lead = 0.0
            if self.leg + 1 < len(plan):
                n = plan[self.leg + 1]
                dchi = abs(wrap(math.atan2(n.x_m - b[0], n.y_m - b[1]) - math.atan2(lx, ly)))
                lead = r * math.tan(min(dchi, 2.0) / 2)
            last = self.leg == len(plan) - 1
            if not last and (dist <= lead + o.tas_mps * self.b.control_period_s or along >= seg):
                self.leg += 1
                continue
            break
        wp = plan[min(self.leg, len(plan) - 1)]
        a = self.start if self.leg == 0 else (plan[self.leg - 1].x_m, plan[self.leg - 1].y_m)
        lx, ly = wp.x_m - a[0], wp.y_m - a[1]
        chi_leg = math.atan2(lx, ly)
        seg = math.hypot(lx, ly) or 1.0
        xte = ((o.x_m - a[0]) * ly - (o.y_m - a[1]) * lx) / seg  # + right of the leg
        look = max(2 * r, 10 * o.tas_mps, 20.0)
        track = wrap(chi_leg - math.atan2(xte, look))
        if wp.speed_mps is not None:
            self.speed = wp.speed_mps
        if wp.altitude_m is not None:
            self.alt_target = wp.altitude_m
        vs = self.vs_for(o.alt_m, self.alt_target if self.alt_target is not None else o.alt_m)
        return AirAction(self.heading_for_track(track, o.tas_mps, wind), float(self.speed), vs)

    def act(self, obs: AirObservation) -> AirAction:
        return self.nominal(obs)

    def planned_path(self) -> np.ndarray:
        rest = [(w.x_m, w.y_m) for w in self.b.plan[self.leg :]]
        return np.array([self.pos, *rest], dtype=float)
