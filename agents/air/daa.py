"""DAAPilot: the reference detect-and-avoid pilot.

It flies its plan (:class:`PlanFollower`) and, every decision, searches heading and
vertical-rate bands (DAIDALUS-style): each candidate velocity is projected on straight
tracks against every intruder it sees, and is *free* when it predicts neither a DO-365 well
clear violation nor a loss of separation (with BlueSky's 5 % resolution margins, RFACH/RFACV)
within the lookahead, and its path does not enter a published geofence. It takes the free
candidate nearest to the plan (turns right before left, as the rules of the air ask in a
head-on); if none is free, the one that delays the violation most. When the plan's own
velocity is free again it returns to the plan (the plan follower steers back to the leg).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from agents.air.guidance import PlanFollower, wrap
from agents.air.types import AirAction, AirObservation
from sim.domains.air.separation import cylinder_interval, wcv_interval


def wrap_arr(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


MARGIN = 1.05  # BlueSky default resolution margins RFACH / RFACV (default.cfg)
HYSTERESIS = 1.5  # the plan must be conflict-free this much further ahead to resume it


class DAAPilot(PlanFollower):
    """Plan following plus well-clear, separation and geofence avoidance."""

    name = "daa-pilot"
    version = "1.0"
    domains = ("air",)  # checked before a run: no act() on another domain's briefing

    @classmethod
    def params_allowed(cls) -> set[str]:
        return {"lookahead_s", "max_offset_deg", "step_deg", "fence_lookahead_s"}

    def reset(self, briefing: Any, *, rng: np.random.Generator) -> None:
        super().reset(briefing, rng=rng)
        p = self.params
        self.lookahead = float(p.get("lookahead_s", 90.0))
        step = float(p.get("step_deg", 5.0))
        top = float(p.get("max_offset_deg", 150.0))
        k = np.arange(0.0, top + 1e-9, step)
        # right (+) before left at equal size
        self.offsets = np.radians(
            np.concatenate([[0.0], np.ravel(np.column_stack([k[1:], -k[1:]]))])
        )
        self.fence_look = float(p.get("fence_lookahead_s", 30.0))
        self.resolving = False
        self.last = (0.0, 0.0)

    def act(self, obs: AirObservation) -> AirAction:
        nom = self.nominal(obs)
        o = obs.own
        b = self.b
        wind = self.wind(obs)
        vs_options = np.array(sorted({nom.vs_mps, 0.0}, key=lambda v: abs(v - nom.vs_mps)))
        hdg = np.ravel(nom.hdg_rad + self.offsets[None, :] + 0 * vs_options[:, None])
        vs = np.ravel(vs_options[:, None] + 0 * self.offsets[None, :])
        cost = np.abs(np.degrees(np.ravel(0 * vs_options[:, None] + self.offsets[None, :])))
        cost = cost + 0.1 * (np.ravel(0 * vs_options[:, None] + self.offsets[None, :]) < 0)
        cost = cost + 15.0 * (np.abs(vs - nom.vs_mps) > 1e-9)
        if self.resolving:  # hold the manoeuvre chosen: the plan's heading moves as we do
            cost = np.abs(np.degrees(wrap_arr(hdg - self.last[0]))) + 0.2 * cost
            cost = cost + 15.0 * (np.abs(vs - self.last[1]) > 1e-9)
        ve = nom.tas_mps * np.sin(hdg) + wind[0]
        vn = nom.tas_mps * np.cos(hdg) + wind[1]
        t_bad = np.full(hdg.size, np.inf)
        tr = obs.traffic
        if len(tr):
            sx = (tr.x_m - o.x_m)[None, :]
            sy = (tr.y_m - o.y_m)[None, :]
            sz = (tr.alt_m - o.alt_m)[None, :]
            vx = tr.ve_mps[None, :] - ve[:, None]
            vy = tr.vn_mps[None, :] - vn[:, None]
            vz = tr.vs_mps[None, :] - vs[:, None]
            dthr, zthr, tthr = b.well_clear
            w_in, w_out = wcv_interval(sx, sy, sz, vx, vy, vz, dthr * MARGIN, zthr * MARGIN, tthr)
            r, h = b.separation_m
            c_in, c_out = cylinder_interval(sx, sy, sz, vx, vy, vz, r * MARGIN, h * MARGIN)
            la = self.lookahead * HYSTERESIS
            tw = np.where(
                (w_in <= w_out) & (w_out >= 0) & (w_in <= la), np.maximum(w_in, 0), np.inf
            )
            tc = np.where(
                (c_in <= c_out) & (c_out >= 0) & (c_in <= la), np.maximum(c_in, 0), np.inf
            )
            t_bad = np.minimum(tw, tc).min(axis=1)
            t_wcv = tw.min(axis=1)
        else:
            t_wcv = t_bad
        blocked = self._fenced(obs, hdg, nom.tas_mps, wind)
        # free over the lookahead; "clear" over the longer one. A resolution starts when the
        # plan is not free, takes the nearest clear candidate, and ends only when the plan
        # is clear: the hysteresis stops the pilot turning back into the conflict.
        free = (t_bad > self.lookahead) & ~blocked
        clear = np.isinf(t_bad) & ~blocked
        if clear[0] if self.resolving else free[0]:
            k = 0
        elif clear.any():
            k = int(np.argmin(np.where(clear, cost, np.inf)))
        elif free.any():
            k = int(np.argmin(np.where(free, cost, np.inf)))
        elif (free_wc := (t_wcv > self.lookahead) & ~blocked).any():
            # already inside the separation minima (nothing can be free of them): still keep
            # well clear, the more severe volume, rather than fly on into the intruder
            k = int(np.argmin(np.where(free_wc, cost, np.inf)))
        else:  # nothing is free: delay the violation as long as possible, then stay close
            score = np.where(blocked, -1.0, np.minimum(t_bad, 1e6)) - 1e-3 * cost
            k = int(np.argmax(score))
        self.resolving = k != 0
        self.last = (float(hdg[k]), float(vs[k]))
        return AirAction(float(wrap(hdg[k])), nom.tas_mps, float(vs[k]))

    def _fenced(
        self, obs: AirObservation, hdg: np.ndarray, tas: float, wind: tuple[float, float]
    ) -> np.ndarray:
        """Candidates whose straight path over the fence lookahead (at least three turn
        radii) enters a published geofence at the aircraft's altitude."""
        o = obs.own
        out = np.zeros(hdg.size, dtype=bool)
        fences = [f for f in obs.geofences if f.floor_m - 30 <= o.alt_m <= f.ceiling_m + 30]
        if not fences:
            return out
        reach = max(self.fence_look * tas, 3 * self.turn_radius(tas))
        gs = np.hypot(tas * np.sin(hdg) + wind[0], tas * np.cos(hdg) + wind[1])
        dist = reach * gs / max(tas, 1e-6)
        ex = o.x_m + dist * np.sin(
            np.arctan2(tas * np.sin(hdg) + wind[0], tas * np.cos(hdg) + wind[1])
        )
        ey = o.y_m + dist * np.cos(
            np.arctan2(tas * np.sin(hdg) + wind[0], tas * np.cos(hdg) + wind[1])
        )
        lines = shapely.linestrings(
            np.stack(
                [
                    np.stack([np.full(hdg.size, o.x_m), ex], 1),
                    np.stack([np.full(hdg.size, o.y_m), ey], 1),
                ],
                2,
            )
        )
        margin = max(2 * self.b.span_m, 5.0)
        for f in fences:
            poly = shapely.Polygon(f.polygon).buffer(margin)
            out |= shapely.intersects(poly, lines)
        return out
