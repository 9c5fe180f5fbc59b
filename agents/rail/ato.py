"""SupervisedATO: the reference automatic train operation for the rail domain.

It drives to the timetable and never relies on the protection layer: its speed reference
is the lowest of the speed limit (less a margin), braking curves to every target it knows
— the end of authority, the next stop, an obstacle in sight and each lower limit ahead —
computed from its own train model (a share of the service deceleration, reduced for low
adhesion and downhill gradients, after a lead time for the brake build-up), and, when the
scenario has protection, the permitted curve of that protection. A proportional controller
turns the speed error into a traction/brake demand; the last metres to a platform use the
deceleration needed to stop at the stopping point, a = v²/(2·d), so it stops within ±0.5 m.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.rail.types import RailAction, RailBriefing, RailObservation
from sim.units import G0_MPS2

KMH = 1 / 3.6


def curve(d: float, v_target: float, decel: float, lead: float) -> float:
    """Largest speed from which, after ``lead`` s at that speed, braking at ``decel``
    reaches ``v_target`` within ``d``: v = −a·t + √((a·t)² + v_t² + 2·a·d)."""
    a = max(decel, 1e-3)
    return max(-a * lead + math.sqrt((a * lead) ** 2 + v_target**2 + 2 * a * max(d, 0.0)), 0.0)


class SupervisedATO:
    """Timetable driving within limits, signals, authority, stops and obstacles."""

    name = "supervised-ato"
    version = "1.0"
    domains = ("rail",)  # checked before a run: no act() on another domain's briefing
    PARAMS = ("brake_share", "margin_kmh", "stop_before_signal_m")

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.PARAMS)
        if unknown:
            raise TypeError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        self.params = params

    def reset(self, briefing: RailBriefing, *, rng: np.random.Generator) -> None:
        self.b = briefing
        p = self.params
        self.share = float(p.get("brake_share", 0.6))
        self.margin = float(p.get("margin_kmh", 2.0)) * KMH
        self.before_signal = float(p.get("stop_before_signal_m", 5.0))

    def act(self, obs: RailObservation) -> RailAction:
        o, b = obs.own, self.b
        v = o.speed_mps
        t = obs.time_s
        stop = obs.next_stop
        if o.dwelling and stop is not None:
            ready = t >= (stop.arrived_s or 0.0) + stop.dwell_s and (
                stop.depart_s is None or t >= stop.depart_s
            )
            if not ready:
                return RailAction(-1.0)
        # braking capability the driver plans with: share of service braking, less for low
        # adhesion ahead and for the steepest downhill gradient ahead
        adh = min([o.adhesion_factor, *obs.adhesion_profile[1].tolist()])
        grad = min([o.gradient, *obs.gradient_profile[1][obs.gradient_profile[0] < 3000].tolist()])
        decel = self.share * b.service_decel_mps2 * min(1.0, adh / 0.6)
        decel = max(decel + G0_MPS2 * min(grad, 0.0), 0.05)
        lead = 2.0 + b.brake_time_constant_s
        targets: list[tuple[float, float]] = [(obs.eoa_m - self.before_signal, 0.0)]
        stop_d = None
        if stop is not None and not o.dwelling and stop.distance_m > -1.0:
            stop_d = stop.distance_m
            targets.append((stop_d, 0.0))
        if obs.obstacle_m is not None:
            targets.append((obs.obstacle_m - 30.0, 0.0))
        for d, lim in zip(*obs.speed_profile, strict=True):
            targets.append((float(d), max(float(lim) - self.margin, 0.0)))
        v_ref = max(o.speed_limit_mps - self.margin, 0.0)
        for d, vt in targets:
            v_ref = min(v_ref, curve(d, vt, decel, lead))
        if b.protection is not None:
            pr = b.protection
            a_safe = pr["decel_factor"] * b.emergency_decel_mps2 * min(1.0, o.adhesion_factor)
            t_p = pr["brake_build_up"] + pr["service_build_up"] + pr["driver_time"]
            v_ref = min(v_ref, max(curve(obs.svl_m, 0.0, a_safe, t_p) - 1.0, 0.0))
        # precise stop: the deceleration that ends at the stopping point
        if stop_d is not None and stop_d < 150.0 and stop_d <= min(d for d, _ in targets) + 1e-6:
            if stop_d <= 0.3 or (v < 0.05 and stop_d < 1.0):
                return RailAction(-1.0)
            a_req = v * v / (2.0 * max(stop_d, 0.05))
            if v < 1.0:  # creep the last metres
                return RailAction(0.15 if stop_d > 1.0 else -0.3)
            return RailAction(max(-1.0, min(1.0, -a_req / b.service_decel_mps2)))
        nearest = min(d for d, vt in targets if vt == 0.0)
        if (v_ref <= 0.01 and v < 0.3) or (nearest < 15.0 and v < 1.0):
            return RailAction(-1.0)  # hold at a stop, whatever the gradient
        return RailAction(self._demand(v_ref, v, o.gradient))

    def _demand(self, v_ref: float, v: float, gradient: float) -> float:
        """Acceleration a* = 0.5·(v_ref − v) (capped at service braking) turned into a demand
        with feed-forward of resistance and gradient from the train's own model."""
        b = self.b
        m = b.mass_kg
        a_cmd = max(0.5 * (v_ref - v), -b.service_decel_mps2)
        force = (
            m * b.rotating_mass_factor * a_cmd + b.davis_a_n * (v > 0) + b.davis_c_ns2pm2 * v * v
        )
        force += m * G0_MPS2 * gradient
        if force >= 0:
            f_max = min(b.max_traction_n, b.max_power_w / max(v, 0.1))
            return max(0.0, min(1.0, force / max(f_max, 1.0)))
        return max(-1.0, force / (m * b.service_decel_mps2))
