"""The UN R157 "careful and competent human driver" reference model (Annex 4, Appendix 3).

Structured as the open implementations structure it (esmini ``ControllerALKS_R157SM``
``ReferenceDriver``, JRC-FSM ``CC_human_driver``; parameters in shared/reference/regulatory.md
§1.2). Written from their documented behaviour, not copied:

1. **Focus**: the nearest object ahead that is a threat: any object in the ego's lane; an
   object in an adjacent lane that has wandered more than 0.375 m from its lane centre towards
   the ego's lane while moving towards it (cut-in); a pedestrian or cyclist moving towards the
   ego's path, or on it. A vehicle leaving the ego's lane (cut-out) hands the focus to the
   object it reveals when that one has the smaller TTC.
2. **Perception** by scenario type, then 0.4 s: cut-in from the wandering threshold;
   pedestrian and cut-out from the moment the gap closes; lead deceleration from the moment
   the lead brakes harder than 5 m/s²; any other object in the lane once it closes in with
   TTC < 4 s or time headway < 2 s (the gate's 2 s plus the perception-reaction time).
3. **Reaction**: 0.75 s with the accelerator released (at least 0.4 m/s² deceleration). While
   it perceives, the driver holds the command in force.
4. **Criticality gate** at the end of the reaction: TTC < 2 s **or** time headway < 2 s. A
   critical situation is braked for; otherwise the episode ends without braking.
5. **Braking**: from the brake onset (cue + 1.15 s, wherever it falls in a control period) the
   deceleration is max(a₀, min(J·τ, 0.774 g)), J = 0.774 g / 0.6 s = 12.65 m/s³, a₀ the
   deceleration in force (≥ 0.4 m/s²): 0.774 g = 7.59 m/s² is reached 0.6 s after the onset.
   Each control period commands that profile's mean over the period, so the speed follows the
   continuous profile exactly at period boundaries. It brakes until the ego stands, or until
   the gap exceeds 2 m + 2 s·v and opens.
6. **AEB overlay** (esmini ``ReferenceDriver`` ``aeb_``): when the object in focus covers the
   ego's front (or lies within it, 0.2 m tolerance) with TTC < 1.5 s, a deceleration builds
   up at 0.85 g / 0.6 s to 0.85 g, without perception or reaction delay, until standstill.
7. **Cruise** otherwise (as esmini's ``cruise``, at comfort level only: ±2 m/s²): hold the set
   speed, or follow the object in focus with a = 2·(v_lead − v) + (gap − d_R157(v)), d_R157 the
   §5.2.3.3 minimum following distance. Anything harder goes through perception and reaction.

It never steers around anything (lane keeping only). A scenario it cannot get through without
collision is, in R157's sense, not preventable by a careful human driver. It is defined for
road scenarios with objects ahead in the ego's lane or crossing it (lead braking, cut-in,
cut-out, stationary targets, pedestrians); for other scenario types (a signalised junction,
dense traffic with lane changes) a failure is not judged against it (see the report).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.road.control import R157_STANDSTILL_M, clipped_lane_keep_steer, r157_time_gap_s
from agents.road.types import RoadAction, RoadBriefing, RoadObservation
from sim.units import G0_MPS2, parse_quantity

WANDERING_M = 0.375
PERCEPTION_S = 0.4
REACTION_S = 0.75
RELEASE_DECEL = 0.4
MAX_DECEL = 0.774 * G0_MPS2
BUILD_UP_S = 0.6
JERK = MAX_DECEL / BUILD_UP_S
CRITICAL_TTC_S = 2.0
CRITICAL_THW_S = 2.0
LEAD_DECEL_CUE = 5.0
CLOSING_TTC_S = 4.0
CRUISE_ACCEL, CRUISE_DECEL = 2.0, 2.0
VULNERABLE = ("pedestrian", "cyclist")

IDLE, PERCEIVE, REACT, BRAKE = "idle", "perceive", "react", "brake"
AEB_TTC_S = 1.5
AEB_MAX_DECEL = 0.85 * G0_MPS2
AEB_OVERLAP_TOLERANCE_M = 0.2
CUT_IN, CUT_OUT, DECELERATION, CLOSING, PEDESTRIAN = (
    "cut-in",
    "cut-out",
    "deceleration",
    "closing",
    "pedestrian",
)


def brake_ramp_integral(
    tau_s: float, floor_mps2: float = RELEASE_DECEL, max_mps2: float = MAX_DECEL
) -> float:
    """∫₀^τ max(a_floor, min(J·u, a_max)) du, J = a_max / 0.6 s: the speed lost τ seconds
    after the brake onset. The deceleration never drops below what was in force at the onset
    (at least the released accelerator's), and reaches a_max (0.774 g for the driver, 0.85 g
    for the AEB) exactly 0.6 s after the onset (J = 12.65 m/s³ for the driver)."""
    jerk = max_mps2 / BUILD_UP_S
    t_rel, t_full = min(floor_mps2, max_mps2) / jerk, BUILD_UP_S
    if tau_s <= t_rel:
        return floor_mps2 * tau_s
    ramp = floor_mps2 * t_rel + 0.5 * jerk * (min(tau_s, t_full) ** 2 - t_rel**2)
    return ramp + max_mps2 * max(0.0, tau_s - t_full)


def command_for_mean(mean: float, now: float, jerk: float, period: float) -> float:
    """The command c whose response over one control period has mean ``mean``, for an
    actuator at ``now`` that slews towards c at ``jerk`` and then holds (the road runtime's
    actuator): the mean is c − Δ·|Δ|/(2·J·P), Δ = c − now, so
    Δ = ±J·P·(1 − √(1 − 2·|mean − now|/(J·P))). Beyond reach (|mean − now| > J·P/2) the
    actuator slews the whole period: c = now ± J·P."""
    d, jp = mean - now, jerk * period
    if abs(d) >= 0.5 * jp:
        return now + math.copysign(jp, d)
    return now + math.copysign(jp * (1.0 - math.sqrt(1.0 - 2.0 * abs(d) / jp)), d)


def _period_mean(t: float, period: float, t0: float, floor: float, top: float) -> float:
    """Mean deceleration over [t, t + period] of the profile that holds ``floor`` until
    ``t0`` and then builds up as :func:`brake_ramp_integral`."""
    lost = floor * max(0.0, min(t + period, t0) - t)
    lost += brake_ramp_integral(max(0.0, t + period - t0), floor, top)
    lost -= brake_ramp_integral(max(0.0, t - t0), floor, top)
    return lost / period


def min_gap_m(speed_mps: float) -> float:
    """The reference driver's safe distance 2 m + 2 s·v (esmini ReferenceDriver::MinDist)."""
    return 2.0 + 2.0 * speed_mps


class R157ReferenceDriver:
    """R157 Annex 4 Appendix 3 careful and competent human driver (see module docstring)."""

    name = "R157ReferenceDriver"
    version = "2.1.0"
    domains = ("road",)  # checked before a run: no act() on another domain's briefing
    #: a human sees the scene: the system's sensors and sensor faults do not apply to it
    #: (vehicle and environment faults, e.g. a wet road, do)
    perceives_ground_truth = True
    #: the scenario types the model is defined for (scenario tags): a failure elsewhere is
    #: not judged against it ("no reference model for this scenario type")
    scenario_tags = ("r157", "euro-ncap")

    def __init__(self, set_speed: Any = None) -> None:
        self.set_speed = None if set_speed is None else parse_quantity(set_speed, "speed")

    def reset(self, briefing: RoadBriefing, *, rng: np.random.Generator) -> None:
        self.brief = briefing
        self.phase = IDLE
        self.kind: str | None = None
        self.focus: str | None = None
        self.cue_t = 0.0
        self.brake_t0, self.brake_floor = 0.0, RELEASE_DECEL
        self.aeb_t0: float | None = None
        self.aeb_floor = 0.0
        self.accel = 0.0
        self.v_set: float | None = self.set_speed
        self._speeds: dict[str, tuple[float, float]] = {}
        #: (time, phase, kind, focus) at every change, for tests and the report
        self.trace: list[tuple[float, str, str | None, str | None]] = []

    # ----------------------------------------------------------------- perception
    def _lead_accel(self, ids: tuple[str, ...], vs: np.ndarray, t: float) -> np.ndarray:
        out = np.zeros(len(ids))
        for k, oid in enumerate(ids):
            prev = self._speeds.get(oid)
            if prev is not None and t > prev[0]:
                out[k] = (float(vs[k]) - prev[1]) / (t - prev[0])
        self._speeds = {oid: (t, float(vs[k])) for k, oid in enumerate(ids)}
        return out

    def _threats(self, obs: RoadObservation) -> tuple[int, str | None, float, float]:
        """(index of the object in focus or −1, its scenario type, gap, closing speed)."""
        b, own, o = self.brief, obs.own, obs.objects
        accel = self._lead_accel(o.ids, o.vs_mps, obs.time_s)
        if not len(o):
            return -1, None, np.inf, 0.0
        w = own.lane_width_m
        gap = o.rel_s_m - 0.5 * (o.length_m + b.length_m)
        closing = own.speed_mps - o.vs_mps
        ahead = o.rel_s_m > 0
        toward = -np.sign(o.rel_t_m) * o.vt_mps > 1e-3  # moving laterally towards the ego
        centre = np.rint(o.rel_t_m / w) * w  # centre of the lane the object is in
        same_lane = np.abs(o.rel_t_m) < 0.5 * w
        adjacent = np.abs(np.rint(o.rel_t_m / w)) == 1
        wandered = (centre - o.rel_t_m) * np.sign(centre) > WANDERING_M
        vulnerable = np.array([k in VULNERABLE for k in o.kinds])
        on_path = np.abs(o.rel_t_m) < 0.5 * (o.width_m + b.width_m) + 0.2
        cut_out = same_lane & ~vulnerable & (np.abs(o.rel_t_m) > WANDERING_M) & ~toward
        kind = np.full(len(o), "", dtype=object)
        kind[same_lane & ~vulnerable & (closing > 0)] = CLOSING
        kind[same_lane & ~vulnerable & (accel < -LEAD_DECEL_CUE + 1e-9)] = DECELERATION
        kind[cut_out] = CUT_OUT
        kind[adjacent & ~same_lane & ~vulnerable & wandered & toward] = CUT_IN
        kind[vulnerable & (toward | on_path)] = PEDESTRIAN
        threat = ahead & ((same_lane & ~vulnerable) | (kind != ""))
        if not threat.any():
            return -1, None, np.inf, 0.0
        k = int(np.argmin(np.where(threat, gap, np.inf)))
        if kind[k] == CUT_OUT:  # the vehicle leaving may reveal one beyond with less time
            with np.errstate(divide="ignore"):
                ttc = np.where(closing > 0, gap / closing, np.inf)
            beyond = threat & same_lane & ~cut_out & (gap > gap[k])
            if beyond.any():
                j = int(np.argmin(np.where(beyond, ttc, np.inf)))
                if ttc[j] < ttc[k]:
                    k = j
                    kind[k] = CUT_OUT
        return k, kind[k] or None, float(gap[k]), float(closing[k])

    def _covers_front(self, obs: RoadObservation, k: int) -> bool:
        """The object covers the ego's front or lies within it (esmini OverlappingFront:
        FULL or INSIDE, with a 0.2 m tolerance)."""
        o, half = obs.objects, 0.5 * self.brief.width_m
        lo, hi = o.rel_t_m[k] - 0.5 * o.width_m[k], o.rel_t_m[k] + 0.5 * o.width_m[k]
        tol = AEB_OVERLAP_TOLERANCE_M
        covering = lo <= -half + tol and hi >= half - tol
        inside = lo >= -half - tol and hi <= half + tol
        return bool(covering or inside)

    def _set(self, t: float, phase: str, kind: str | None = None) -> None:
        self.phase, self.kind = phase, kind if phase != IDLE else None
        self.trace.append((t, phase, self.kind, self.focus))

    # ----------------------------------------------------------------- decision
    def act(self, obs: RoadObservation) -> RoadAction:
        b, own = self.brief, obs.own
        v, t, period = own.speed_mps, obs.time_s, b.control_period_s
        if self.v_set is None:
            self.v_set = v if v > 0.5 else own.speed_limit_mps
        steer = clipped_lane_keep_steer(own, b)
        k, kind, gap, closing = self._threats(obs)
        oid = obs.objects.ids[k] if k >= 0 else None
        if oid != self.focus and self.phase != BRAKE:
            self.focus = oid
            if self.phase != IDLE:
                self._set(t, IDLE)
        if oid is None and self.phase == BRAKE:
            self.focus = None
            self._set(t, IDLE)
        ttc = gap / closing if closing > 0 else np.inf
        thw = gap / v if v > 0.1 else np.inf

        if self.phase == IDLE and kind is not None:
            near = ttc < CLOSING_TTC_S or thw < CRITICAL_THW_S
            if kind in (CUT_IN, DECELERATION) or (closing > 0 and (near or kind != CLOSING)):
                self.cue_t = t
                self._set(t, PERCEIVE, kind)
        if self.phase == PERCEIVE and t >= self.cue_t + PERCEPTION_S - 1e-9:
            self._set(t, REACT, self.kind)
        onset = self.cue_t + PERCEPTION_S + REACTION_S
        if self.phase == REACT and t + period > onset + 1e-9:
            # the reaction ends within the coming period: judge the situation now
            if ttc < CRITICAL_TTC_S or thw < CRITICAL_THW_S:
                self.brake_t0, self.brake_floor = onset, max(RELEASE_DECEL, -self.accel)
                self._set(onset, BRAKE, self.kind)
            else:
                self._set(t, IDLE)  # perceived, judged not critical
        elif self.phase == BRAKE and (
            v < 1e-3 or (oid is not None and gap > min_gap_m(v) and closing <= 0)
        ):
            self._set(t, IDLE)

        if self.phase == BRAKE:
            # the mean of the continuous profile (release until the onset, then the ramp) over
            # this control period: the speed follows the closed form at period boundaries
            self.accel = -_period_mean(t, period, self.brake_t0, self.brake_floor, MAX_DECEL)
        elif self.phase == REACT:  # foot off the accelerator; a braking in force is kept
            self.accel = min(self.accel, -RELEASE_DECEL)
        elif self.phase == IDLE:
            self.accel = self._cruise(v, gap, closing)
        # PERCEIVE: not yet perceived, the command in force is held
        if self.aeb_t0 is None and ttc < AEB_TTC_S and k >= 0 and self._covers_front(obs, k):
            self.aeb_t0, self.aeb_floor = t, max(0.0, -self.accel)
            self.trace.append((t, "aeb", self.kind, oid))
        if self.aeb_t0 is not None:
            if v < 1e-3:
                self.aeb_t0 = None
            else:
                aeb = _period_mean(t, period, self.aeb_t0, self.aeb_floor, AEB_MAX_DECEL)
                self.accel = min(self.accel, -aeb)
        if v <= 0.0 and self.accel < 0:
            self.accel = 0.0
        command = self.accel
        if self.phase in (REACT, BRAKE) or self.aeb_t0 is not None:
            # the regulation fixes the deceleration profile: command what makes the
            # jerk-limited actuator's mean over the period equal the profile's mean
            command = command_for_mean(self.accel, own.accel_mps2, b.max_jerk_mps3, period)
            command = min(max(command, -b.max_decel_mps2), b.max_accel_mps2)
        return RoadAction(command, steer)

    def _cruise(self, v: float, gap: float, closing: float) -> float:
        """Normal driving at comfort level: the set speed, or following the object in focus
        at the R157 §5.2.3.3 minimum following distance (a = 2·(v_lead − v) + (gap − d))."""
        assert self.v_set is not None
        a = CRUISE_ACCEL if v < self.v_set - 0.05 else 0.0
        if np.isfinite(gap):
            a = min(a, 2.0 * -closing + (gap - max(v * r157_time_gap_s(v), R157_STANDSTILL_M)))
        if v > self.v_set + 0.05:
            a = min(a, -CRUISE_DECEL)
        elif a > 0:  # never above the set speed
            a = min(a, max(self.v_set - v, 0.0) / self.brief.control_period_s)
        return float(np.clip(a, -CRUISE_DECEL, CRUISE_ACCEL))
