"""ColregPilot: the reference master for the water domain.

It follows its route (line-of-sight guidance, corrected for current and leeway) and watches
every target it sees (AIS, and radar tracks that match no AIS target). It classifies each
encounter with the same geometry as the simulator's monitor (Rules 13-15, 19). As give-way
vessel (or in a head-on situation, or in restricted visibility) it makes one early,
substantial alteration to starboard — at least 35° (Rule 8: readily apparent), the smallest
that brings every target's predicted CPA above its safe distance without crossing land or
shallow water — holds it until past and clear, then returns to its route. As stand-on
vessel it keeps course and speed until the give-way vessel's action is clearly not enough
(CPA still below the risk distance inside the Rule 17(b) time), then turns to starboard.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

from agents.water.types import WaterAction, WaterBriefing, WaterObservation
from sim.core.pairs import cpa
from sim.domains.water import colreg as cr

SLOW = 0.4  # fraction of the route speed kept when there is no room to alter course


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def hazard_area(b: WaterBriefing) -> shapely.Geometry | None:
    """Water too shallow for the ship (depth < draft + UKC margin) and land, grown by half a
    ship length: where the charted depth is shallow by default, everything outside the
    deep-enough depth areas."""
    need = b.draft_m + b.ukc_margin_m
    land = [shapely.Polygon(p) for p in b.chart.land]
    shallow = [shapely.Polygon(p) for p, d in b.chart.depth_areas if d < need]
    deep = [shapely.Polygon(p) for p, d in b.chart.depth_areas if d >= need]
    parts = land + shallow
    if b.chart.default_depth_m < need:
        allg = shapely.union_all(land + shallow + deep)
        if not allg.is_empty:
            box = shapely.box(*allg.bounds).buffer(50_000.0)
            parts.append(box.difference(shapely.union_all(deep)))
    if not parts:
        return None
    hz = shapely.union_all(parts).buffer(0.5 * b.length_m)
    shapely.prepare(hz)
    return hz


class ColregPilot:
    """Route following with COLREG-compliant collision and grounding avoidance."""

    name = "colreg-pilot"
    version = "1.0"
    domains = ("water",)  # checked before a run: no act() on another domain's briefing
    PARAMS = ("safe_cpa_m", "min_turn_deg", "max_turn_deg", "hazard_lookahead_s")

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.PARAMS)
        if unknown:
            raise TypeError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        self.params = params

    def reset(self, briefing: WaterBriefing, *, rng: np.random.Generator) -> None:
        b = self.b = briefing
        cg = b.colreg
        p = self.params
        self.safe = float(p.get("safe_cpa_m", 1.2 * cg["cpa_risk"]))
        self.min_turn = math.radians(float(p.get("min_turn_deg", 35.0)))
        self.max_turn = math.radians(float(p.get("max_turn_deg", 90.0)))
        self.hazard_s = float(p.get("hazard_lookahead_s", 180.0))
        self.hazard = hazard_area(b)
        self.leg = 0
        self.start: tuple[float, float] | None = None
        self.mode = "route"
        self.avoid_course = 0.0
        self.leg_course = 0.0
        self.speed = b.service_speed_mps  # route speed
        self.slowed = False
        self.pos = (0.0, 0.0)

    # -------------------------------------------------------------- route following
    def _route_course(self, obs: WaterObservation) -> float:
        o = obs.own
        if self.start is None:
            self.start = (o.x_m, o.y_m)
            self.speed = o.speed_mps
        route = self.b.route
        if not route:
            g = self.b.goal or {"x_m": o.x_m, "y_m": o.y_m + 1.0}
            return math.atan2(g["x_m"] - o.x_m, g["y_m"] - o.y_m)
        while self.leg < len(route) - 1:
            w = route[self.leg]
            if math.hypot(w.x_m - o.x_m, w.y_m - o.y_m) < 2.0 * self.b.length_m:
                self.leg += 1
            else:
                break
        w = route[self.leg]
        a = self.start if self.leg == 0 else (route[self.leg - 1].x_m, route[self.leg - 1].y_m)
        lx, ly = w.x_m - a[0], w.y_m - a[1]
        seg = math.hypot(lx, ly) or 1.0
        xte = ((o.x_m - a[0]) * ly - (o.y_m - a[1]) * lx) / seg
        if w.speed_mps is not None:
            self.speed = w.speed_mps
        self.leg_course = math.atan2(lx, ly)
        # line of sight, intercepting the leg at 45 degrees at most
        intercept = math.atan2(xte, max(3.0 * self.b.length_m, 200.0))
        return wrap(self.leg_course - max(-math.pi / 4, min(math.pi / 4, intercept)))

    def _heading_for(self, course: float, obs: WaterObservation) -> float:
        """Heading that makes good ``course`` over ground given the measured drift."""
        o = obs.own
        de = o.sog_mps * math.sin(o.cog_rad) - o.speed_mps * math.sin(o.heading_rad)
        dn = o.sog_mps * math.cos(o.cog_rad) - o.speed_mps * math.cos(o.heading_rad)
        cross = de * math.cos(course) - dn * math.sin(course)
        return wrap(course + math.asin(max(-1.0, min(1.0, -cross / max(self.speed, 0.1)))))

    # -------------------------------------------------------------- traffic picture
    def _targets(self, obs: WaterObservation) -> dict[str, np.ndarray]:
        ais, rad = obs.ais, obs.radar
        keep = np.ones(len(rad), dtype=bool)
        for k in range(len(rad)):  # radar tracks already known by AIS are the same ships
            if len(ais):
                d = np.hypot(ais.x_m - rad.x_m[k], ais.y_m - rad.y_m[k])
                keep[k] = d.min() > 100.0
        x = np.concatenate([ais.x_m, rad.x_m[keep]])
        y = np.concatenate([ais.y_m, rad.y_m[keep]])
        cog = np.concatenate([ais.cog_rad, rad.cog_rad[keep]])
        sog = np.concatenate([ais.sog_mps, rad.sog_mps[keep]])
        hdg = np.concatenate([ais.heading_rad, rad.cog_rad[keep]])
        return {"x": x, "y": y, "ve": sog * np.sin(cog), "vn": sog * np.cos(cog), "hdg": hdg}

    def _predict(
        self, obs: WaterObservation, t: dict[str, np.ndarray], heading: np.ndarray, speed: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """TCPA, DCPA (candidates × targets) if own steadied on ``heading`` at ``speed``."""
        o = obs.own
        de = o.sog_mps * math.sin(o.cog_rad) - o.speed_mps * math.sin(o.heading_rad)
        dn = o.sog_mps * math.cos(o.cog_rad) - o.speed_mps * math.cos(o.heading_rad)
        ve = speed * np.sin(heading)[:, None] + de
        vn = speed * np.cos(heading)[:, None] + dn
        return cpa(
            (t["x"] - o.x_m)[None, :],
            (t["y"] - o.y_m)[None, :],
            t["ve"][None, :] - ve,
            t["vn"][None, :] - vn,
        )

    def _blocked(self, obs: WaterObservation, heading: np.ndarray) -> np.ndarray:
        if self.hazard is None:
            return np.zeros(heading.size, dtype=bool)
        o = obs.own
        reach = max(self.speed * self.hazard_s, 4 * self.b.length_m)
        ex, ey = o.x_m + reach * np.sin(heading), o.y_m + reach * np.cos(heading)
        lines = shapely.linestrings(
            np.stack(
                [
                    np.stack([np.full(heading.size, o.x_m), ex], axis=1),
                    np.stack([np.full(heading.size, o.y_m), ey], axis=1),
                ],
                axis=2,
            )
        )
        return shapely.intersects(self.hazard, lines)

    def _safe(self, tc: np.ndarray, dc: np.ndarray) -> np.ndarray:
        tr = self.b.colreg["tcpa_risk"]
        return ((tc <= 0) | (tc > tr) | (dc >= self.safe)).all(axis=1)

    # -------------------------------------------------------------- decision
    def act(self, obs: WaterObservation) -> WaterAction:
        o = obs.own
        self.pos = (o.x_m, o.y_m)
        course = self._route_course(obs)
        nominal = self._heading_for(course, obs)
        t = self._targets(obs)
        if t["x"].size == 0:
            self.mode = "route"
            return WaterAction(self.speed, heading_rad=nominal)
        cg = self.b.colreg
        tc, dc = self._predict(obs, t, np.array([o.heading_rad]), o.speed_mps)
        tc, dc = tc[0], dc[0]
        rng = np.hypot(t["x"] - o.x_m, t["y"] - o.y_m)
        closing = tc > 0
        b_own = cr.relative_bearing(o.x_m, o.y_m, o.heading_rad, t["x"], t["y"])
        b_tgt = cr.relative_bearing(t["x"], t["y"], t["hdg"], o.x_m, o.y_m)
        code = cr.classify(b_own, b_tgt, closing, head_on_sector=cg["head_on_sector"])
        if self.b.chart.restricted_visibility:
            code = np.where(code != cr.NONE, cr.RESTRICTED, code)
        risk = closing & (dc < self.safe) & (tc < cg["tcpa_risk"]) & (rng < cg["range"])
        give_way = risk & np.isin(code, cr.GIVE_WAY)
        # Rule 17(b): act only when the give-way vessel's action is clearly not enough
        late_stand_on = (
            risk
            & np.isin(code, cr.STAND_ON)
            & (tc < cg["stand_on_act_tcpa"])
            & (dc < 0.5 * cg["cpa_risk"])
        )
        if self.mode == "avoid":
            # resume the route once the route heading is safe for everyone (past and clear)
            # ... and every target is past: opening, out of range, or abaft the beam and
            # passing wide on the present heading
            rt, rd = self._predict(obs, t, np.array([nominal]), self.speed)
            # abaft the beam of the course along the leg: the target has been passed
            abaft = np.cos(np.arctan2(t["x"] - o.x_m, t["y"] - o.y_m) - self.leg_course) < 0
            wide = (tc <= 0) | (dc >= 2.0 * self.safe)
            # a vessel being overtaken (ahead, going our way) is past only once abaft
            same_way = np.cos(np.arctan2(t["ve"], t["vn"]) - self.leg_course) > math.cos(
                math.radians(67.5)
            )
            opened = (tc <= 0) & (rng > 2 * self.safe) & ~same_way
            past = ((rng > cg["range"]) | (abaft & wide) | opened).all()
            if past and self._safe(rt, rd)[0] and not self._blocked(obs, np.array([nominal]))[0]:
                self.mode = "route"
            else:
                ht, hd = self._predict(obs, t, np.array([self.avoid_course]), self.speed)
                if not self._safe(ht, hd)[0]:
                    self._plan(obs, t, self.avoid_course, first=math.radians(5))
                return WaterAction(self.speed, heading_rad=self.avoid_course)
        if give_way.any() or late_stand_on.any():
            # a readily apparent alteration from the course along the leg (Rule 8)
            self._plan(obs, t, self._heading_for(self.leg_course, obs), first=self.min_turn)
            if self.mode == "avoid":
                return WaterAction(self.speed, heading_rad=self.avoid_course)
        elif self.slowed and not (risk & (tc > 0)).any():
            self.slowed = False
        # slackening speed (Rule 8(e)) is a reduction of more than half: readily apparent
        return WaterAction(self.speed * (SLOW if self.slowed else 1.0), heading_rad=nominal)

    def _plan(
        self, obs: WaterObservation, t: dict[str, np.ndarray], base: float, *, first: float
    ) -> None:
        """The smallest starboard alteration from ``base`` (at least ``first``) that is safe
        for every target and clear of hazards; failing that, the safest one."""
        offsets = np.arange(first, max(first, self.max_turn) + 1e-9, math.radians(5))
        cand = base + offsets
        tc, dc = self._predict(obs, t, cand, self.speed)
        ok = self._safe(tc, dc) & ~self._blocked(obs, cand)
        blocked = self._blocked(obs, cand)
        if ok.any():
            k = int(np.argmax(ok))
        elif blocked.all():
            # no room to alter (a channel, shallows): keep the route and slacken speed
            # (Rule 8(e)); the route itself is the safe water
            self.slowed = True
            self.mode = "route"
            return
        else:
            worst = np.where(tc > 0, dc, np.inf).min(axis=1)
            k = int(np.argmax(np.where(blocked, -1.0, worst)))
        self.avoid_course = wrap(float(cand[k]))
        self.mode = "avoid"

    def planned_path(self) -> np.ndarray:
        rest = [(w.x_m, w.y_m) for w in self.b.route[self.leg :]]
        return np.array([self.pos, *rest], dtype=float)
