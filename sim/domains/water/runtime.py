"""The water domain at run time: structure-of-arrays fleet, route guidance, scripted
manoeuvres, grounding and ship-domain monitors, CPA/TCPA and COLREG classification for all
pairs in range, and rule findings for the vessels under test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.protocol import frozen_array
from agents.water.types import (
    ChartInfo,
    OwnShip,
    RoutePointInfo,
    Targets,
    WaterAction,
    WaterBriefing,
    WaterObservation,
)
from sim.core.events import Event
from sim.core.geometry import clamp, crab_heading, wrap_angle
from sim.core.pairs import cpa, pairs_within
from sim.domains.base import (
    ActionInvalid,
    ActionNonFinite,
    EntityMeta,
    Footprints,
    all_goals_done,
    clip_events,
    radius_goals,
)
from sim.domains.geo import Script, to_local
from sim.domains.water import colreg as cr
from sim.domains.water import dynamics as dyn
from sim.domains.water.chart import Chart
from sim.domains.water.schema import PRESETS, WaterEntity, WaterMap

MODE_AUTOPILOT, MODE_RUDDER = 0, 1  # heading autopilot (route, hold, agent heading) or rudder
CLIP_RUDDER, CLIP_SPEED = 1, 2
#: The pair list is rebuilt this often (s); its radius adds what ships can close meanwhile.
REBUILD_S = 10.0
RULE_TEXT = {
    "8/16": "give-way vessel took no early and substantial action",
    "13": "overtaking vessel did not keep clear",
    "14": "altered course to port in a head-on situation",
    "15": "give-way vessel crossed ahead of the stand-on vessel",
    "17": "stand-on vessel manoeuvred when the give-way vessel's action sufficed",
    "19": "no early avoiding action, or a turn to port, in restricted visibility",
}


class WaterRuntime:
    """Live state of every vessel of one run."""

    name = "water"

    def __init__(
        self, scenario: Any, entities: Sequence[WaterEntity], ref_id: str, wmap: WaterMap
    ) -> None:
        self.dt = float(scenario.dt)
        self.control_period = float(scenario.control_period or scenario.dt)
        self.map = wmap
        self.chart = Chart.build(wmap)
        o = wmap.origin
        ents = list(entities)
        n = self.n = len(ents)
        self.ids = [e.id for e in ents]
        self.slot_of = {eid: i for i, eid in enumerate(self.ids)}
        self.kinds = [e.kind for e in ents]
        pre = [PRESETS[e.kind] for e in ents]

        def arr(values: list[float]) -> np.ndarray:
            return np.array(values, dtype=float)

        self.length = arr([e.length or p.length for e, p in zip(ents, pre, strict=True)])
        self.beam = arr([e.beam or p.beam for e, p in zip(ents, pre, strict=True)])
        self.draft = arr([e.draft or p.draft for e, p in zip(ents, pre, strict=True)])
        self.k_prime = arr([p.k_prime for p in pre])
        self.t_prime = arr([p.t_prime for p in pre])
        self.n3 = arr([p.n3 for p in pre])
        self.max_rudder = arr(
            [e.limits.max_rudder or p.max_rudder for e, p in zip(ents, pre, strict=True)]
        )
        self.max_rudder_rate = arr(
            [e.limits.max_rudder_rate or p.max_rudder_rate for e, p in zip(ents, pre, strict=True)]
        )
        self.max_speed = arr(
            [e.limits.max_speed or p.max_speed for e, p in zip(ents, pre, strict=True)]
        )
        self.t_speed = arr([p.speed_time_constant for p in pre])
        self.max_accel = arr([p.max_accel for p in pre])
        self.max_decel = arr([p.max_decel for p in pre])
        rows = max([len(p.table) for p in pre] + [1])
        self.tab_u = np.full((n, rows), np.nan)
        self.tab_k, self.tab_t, self.tab_n3 = (
            self.tab_u.copy(),
            self.tab_u.copy(),
            self.tab_u.copy(),
        )
        for i, p in enumerate(pre):
            for k, (u, kk, tt, nn) in enumerate(p.table):
                self.tab_u[i, k], self.tab_k[i, k], self.tab_t[i, k], self.tab_n3[i, k] = (
                    u,
                    kk,
                    tt,
                    nn,
                )
        self.has_table = np.array([bool(p.table) for p in pre])
        # place ships (encounter placement relative to a reference ship comes after)
        xy = np.array([to_local(e.position, o) for e in ents], dtype=float).reshape(n, 2)
        self.x, self.y = xy[:, 0].copy(), xy[:, 1].copy()
        self.psi = wrap_angle(arr([e.heading for e in ents]))
        self.u = arr(
            [
                p.service_speed if e.speed is None else e.speed
                for e, p in zip(ents, pre, strict=True)
            ]
        )
        self.r = np.zeros(n)
        self.delta = np.zeros(n)
        self.delta_cmd = np.zeros(n)
        self.psi_cmd = self.psi.copy()
        self.u_cmd = self.u.copy()
        self.mode = np.full(n, MODE_AUTOPILOT, dtype=np.int8)
        self.controlled = np.array([e.controlled for e in ents], dtype=bool)
        self.ctl_rows = np.flatnonzero(self.controlled)
        self.valid = np.ones(n, dtype=bool)
        self.ais = np.array([e.ais for e in ents], dtype=bool)
        self.mmsi = np.array(
            [e.mmsi if e.mmsi is not None else 200_000_000 + i for i, e in enumerate(ents)],
            dtype=np.int64,
        )
        self.ais_range = arr([e.sensors.ais_range for e in ents])
        self.radar_range = arr([e.sensors.radar_range for e in ents])
        # routes (padded): x, y, speed (NaN: keep)
        wmax = max([len(e.route) for e in ents] + [1])
        self.wp = np.full((n, wmax, 3), np.nan)
        self.wp_count = np.array([len(e.route) for e in ents], dtype=np.int64)
        self.routes: list[list[dict[str, Any]]] = []
        for i, e in enumerate(ents):
            pts = []
            for k, w in enumerate(e.route):
                wx, wy = to_local(w.position, o)
                self.wp[i, k] = (wx, wy, np.nan if w.speed is None else w.speed)
                pts.append({"x_m": wx, "y_m": wy, "speed_mps": w.speed})
            self.routes.append(pts)
        self.wp_idx = np.zeros(n, dtype=np.int64)
        self.on_route = (self.wp_count > 0) & ~self.controlled
        self.leg_start = np.stack([self.x, self.y], axis=1).copy()
        # goals
        self.goal_xy = np.full((n, 2), np.nan)
        self.goal_r = np.zeros(n)
        goals: list[dict[str, Any] | None] = []
        for i, e in enumerate(ents):
            g = None
            if e.goal is not None:
                gx, gy = to_local(e.goal.position, o)
                r = e.goal.radius or e.goal_radius or self.length[i]
                g = {"x_m": gx, "y_m": gy, "radius_m": float(r)}
            elif e.route and e.controlled:
                w = self.routes[i][-1]
                g = {
                    "x_m": w["x_m"],
                    "y_m": w["y_m"],
                    "radius_m": float(e.goal_radius or self.length[i]),
                }
            if g is not None:
                self.goal_xy[i] = (g["x_m"], g["y_m"])
                self.goal_r[i] = g["radius_m"]
                g["route_length_m"] = self._route_length(i)
            goals.append(g)
        self.has_goal = np.isfinite(self.goal_xy[:, 0])
        self.goal_done = ~self.has_goal
        # wind leeway (uniform) and current
        w = wmap.wind
        self.current_extra = (0.0, 0.0)  # a current change injected as a fault (east, north)
        self.leeway = (
            -w.leeway * w.speed * math.sin(w.direction),
            -w.leeway * w.speed * math.cos(w.direction),
        )
        self._drift()
        self.cg = wmap.colreg
        self.sd = wmap.ship_domain
        sd = self.sd
        self.domain_reach = max(sd.ahead, sd.port, sd.astern, sd.starboard) * self.length + (
            0.5 * self.beam
        )
        self.restricted = wmap.visibility == "restricted"
        self.rebuild_every = max(1, round(REBUILD_S / self.dt))
        self.pi_ = np.zeros(0, dtype=np.int64)
        self.pj_ = np.zeros(0, dtype=np.int64)
        # monitor state
        self.grounded = np.zeros(n, dtype=bool)
        self.near_ground = np.zeros(n, dtype=bool)
        self.ukc = self.chart.depth(self.x, self.y) - self.draft
        self.in_domain = np.zeros(n, dtype=bool)
        self.dcpa = np.full(n, np.inf)
        self.tcpa = np.full(n, np.nan)
        self.nearest = np.full(n, np.inf)
        self.encounter = np.zeros(n, dtype=np.int8)
        self.clip_mask = np.zeros(n, dtype=np.int8)
        self.clip_prev = np.zeros(n, dtype=np.int8)
        self.enc: dict[tuple[int, int], dict[str, Any]] = {}
        self.domain_keys = np.zeros(0, dtype=np.int64)
        self.script = Script(ents, self.slot_of, ref_id, self.dt)
        self.resumes: list[tuple[int, int]] = []
        self.meta = EntityMeta(
            ids=tuple(self.ids),
            kinds=tuple(self.kinds),
            controlled=self.controlled,
            length_m=self.length,
            width_m=self.beam,
            goals=tuple(goals),
            extra={
                "routes": self.routes,
                "draft_m": self.draft.tolist(),
                "sensor_range_m": np.maximum(self.ais_range, self.radar_range).tolist(),
                "ais": self.ais.tolist(),
            },
        )

    # ------------------------------------------------------------------ set-up
    def _route_length(self, i: int) -> float:
        k = int(self.wp_count[i])
        if k == 0:
            return 0.0
        pts = np.vstack([[self.x[i], self.y[i]], self.wp[i, :k, :2]])
        return float(np.hypot(*np.diff(pts, axis=0).T).sum())

    def place(self, slot: int, ref: int, spec: Any) -> None:
        """Place ``slot`` for an encounter with ``ref`` (see :func:`colreg.place_encounter`)."""
        tx, ty, c, u = cr.place_encounter(
            float(self.x[ref]),
            float(self.y[ref]),
            float(self.psi[ref]),
            float(self.u[ref]),
            speed_ratio=spec.speed_ratio,
            tcpa=spec.tcpa,
            dcpa=spec.dcpa,
            bearing=spec.bearing,
            relative_course=spec.relative_course,
        )
        self.x[slot], self.y[slot] = tx, ty
        self.psi[slot] = self.psi_cmd[slot] = c
        self.u[slot] = self.u_cmd[slot] = u
        self.leg_start[slot] = (tx, ty)
        self._drift()
        self.ukc = self.chart.depth(self.x, self.y) - self.draft

    def _manoeuvres(self, tick: int) -> list[Event]:
        """Start the scripted manoeuvres due at ``tick``; a course change with
        ``resume_after`` hands the ship back to its route that much later."""
        events = []
        for i, m in self.script.due(tick, self.x, self.y, self.ve, self.vn):
            details: dict[str, Any] = {}
            if m.course is not None or m.turn is not None:
                new = m.course if m.course is not None else self.psi[i] + m.turn
                self.psi_cmd[i] = wrap_angle(new)
                self.on_route[i] = False
                self.mode[i] = MODE_AUTOPILOT
                details["course_deg"] = round(math.degrees(self.psi_cmd[i]) % 360, 2)
                if m.resume_after is not None:
                    self.resumes.append((tick + round(m.resume_after / self.dt), i))
            if m.speed is not None:
                self.u_cmd[i] = m.speed
                details["speed_mps"] = m.speed
            events.append(Event(tick, tick * self.dt, "manoeuvre", (self.ids[i],), details))
        for when, i in [r for r in self.resumes if r[0] <= tick]:
            self.resumes.remove((when, i))
            self.on_route[i] = self.wp_count[i] > 0
            events.append(
                Event(tick, tick * self.dt, "manoeuvre", (self.ids[i],), {"resume": "route"})
            )
        return events

    # ------------------------------------------------------------------ stepping
    def _drift(self) -> None:
        ce, cn = self.chart.current(self.x, self.y)
        ce, cn = ce + self.current_extra[0], cn + self.current_extra[1]
        self.drift_e, self.drift_n = ce + self.leeway[0], cn + self.leeway[1]
        self.ve = self.u * np.sin(self.psi) + self.drift_e
        self.vn = self.u * np.cos(self.psi) + self.drift_n

    def _guidance(self) -> None:
        """Line-of-sight route following for background ships: desired course toward the
        leg with lookahead Δ = 3 L (Fossen 2011 §12.3, χ_d = χ_leg − atan(e/Δ)), corrected
        for drift; the next leg starts within 2 L of a route point."""
        rows = np.flatnonzero(self.on_route & self.valid & ~self.grounded)
        if rows.size == 0:
            return
        k = self.wp_idx[rows]
        wx, wy = self.wp[rows, k, 0], self.wp[rows, k, 1]
        d = np.hypot(wx - self.x[rows], wy - self.y[rows])
        reach = (d < 2.0 * self.length[rows]) & (k + 1 < self.wp_count[rows])
        if reach.any():
            adv = rows[reach]
            self.leg_start[adv] = self.wp[adv, self.wp_idx[adv], :2]
            self.wp_idx[adv] += 1
            k = self.wp_idx[rows]
            wx, wy = self.wp[rows, k, 0], self.wp[rows, k, 1]
        ax, ay = self.leg_start[rows, 0], self.leg_start[rows, 1]
        chi = np.arctan2(wx - ax, wy - ay)
        seg = np.maximum(np.hypot(wx - ax, wy - ay), 1e-6)
        e = ((self.x[rows] - ax) * (wy - ay) - (self.y[rows] - ay) * (wx - ax)) / seg
        track = chi - np.arctan2(e, 3.0 * self.length[rows])
        self.psi_cmd[rows] = crab_heading(
            track, np.maximum(self.u[rows], 0.1), self.drift_e[rows], self.drift_n[rows]
        )
        spd = self.wp[rows, k, 2]
        has = np.isfinite(spd)
        self.u_cmd[rows[has]] = spd[has]

    def step(self, tick: int) -> list[Event]:
        events = self._manoeuvres(tick)
        self._guidance()
        k, t = dyn.nomoto_constants(
            self.u,
            self.length,
            self.k_prime,
            self.t_prime,
            self.tab_u,
            self.tab_k,
            self.tab_t,
            self.has_table,
        )
        n3 = self.n3
        if self.has_table.any():
            n3 = n3.copy()
            for i in np.flatnonzero(self.has_table):
                ok = np.isfinite(self.tab_u[i])
                n3[i] = np.interp(abs(self.u[i]), self.tab_u[i, ok], self.tab_n3[i, ok])
        auto = self.mode == MODE_AUTOPILOT
        rudder = np.where(
            auto,
            dyn.heading_autopilot(self.psi, self.r, self.psi_cmd, k, t, self.max_rudder),
            self.delta_cmd,
        )
        u_cmd = np.where(self.grounded, 0.0, clamp(self.u_cmd, 0.0, self.max_speed))
        x, y, psi, r, u, delta = dyn.advance(
            self.x,
            self.y,
            self.psi,
            self.r,
            self.u,
            self.delta,
            rudder,
            u_cmd,
            k=k,
            t=t,
            n3=n3,
            max_rudder=self.max_rudder,
            max_rudder_rate=self.max_rudder_rate,
            t_speed=self.t_speed,
            max_accel=self.max_accel,
            max_decel=self.max_decel,
            drift_e=self.drift_e,
            drift_n=self.drift_n,
            dt=self.dt,
        )
        g = self.grounded
        # a grounded ship stays where it struck
        self.x, self.y = np.where(g, self.x, x), np.where(g, self.y, y)
        self.psi, self.r = np.where(g, self.psi, psi), np.where(g, 0.0, r)
        self.u, self.delta = np.where(g, 0.0, u), delta
        self._drift()
        self.ve = np.where(g, 0.0, self.ve)
        self.vn = np.where(g, 0.0, self.vn)
        return events

    # ------------------------------------------------------------------ agents
    def apply_action(self, slot: int, action: Any) -> None:
        if isinstance(action, Mapping):
            try:
                action = WaterAction(
                    float(action["speed_mps"]),
                    None if action.get("rudder_rad") is None else float(action["rudder_rad"]),
                    None if action.get("heading_rad") is None else float(action["heading_rad"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ActionInvalid(
                    f"expected a WaterAction(speed_mps, rudder_rad | heading_rad), got "
                    f"{action!r} ({exc})"
                ) from None
        if not isinstance(action, WaterAction):
            raise ActionInvalid(
                f"expected a WaterAction(speed_mps, rudder_rad | heading_rad), got "
                f"{type(action).__name__}"
            )
        if (action.rudder_rad is None) == (action.heading_rad is None):
            raise ActionInvalid("give exactly one of rudder_rad and heading_rad")
        try:
            vals = [
                float(v)
                for v in (action.speed_mps, action.rudder_rad, action.heading_rad)
                if v is not None
            ]
        except (TypeError, ValueError):
            raise ActionInvalid(f"action fields must be numbers, got {action!r}") from None
        if not all(math.isfinite(v) for v in vals):
            raise ActionNonFinite(f"action holds a non-finite value: {action!r}")
        v = float(action.speed_mps)
        v_c = min(max(v, 0.0), self.max_speed[slot])
        mask = CLIP_SPEED if v != v_c else 0
        self.u_cmd[slot] = v_c
        if action.heading_rad is not None:
            self.mode[slot] = MODE_AUTOPILOT
            self.psi_cmd[slot] = wrap_angle(float(action.heading_rad))
        else:
            d = float(action.rudder_rad)
            d_c = min(max(d, -self.max_rudder[slot]), self.max_rudder[slot])
            mask |= CLIP_RUDDER if d != d_c else 0
            self.mode[slot] = MODE_RUDDER
            self.delta_cmd[slot] = d_c
        self.clip_mask[slot] = mask

    def hold_action(self, slot: int) -> None:
        """Keep the previous command (commands persist)."""

    def environment_fault(self, kind: str, params: dict[str, Any], active: bool) -> str | None:
        """Fault hook: ``current_change`` adds a uniform current (east, north) while active."""
        if kind != "current_change":
            return f"the water domain has no {kind!r} fault"
        self.current_extra = tuple(params["vector"]) if active else (0.0, 0.0)
        return None

    def fallback_action(self, slot: int) -> WaterAction:
        """Safe command after an agent fault: stop engines, hold the present heading on the
        autopilot (the ship loses way without swinging)."""
        return WaterAction(0.0, heading_rad=float(self.psi[slot]))

    def briefing(self, slot: int) -> WaterBriefing:
        ch = self.chart
        s = ch.summary()
        chart = ChartInfo(
            land=tuple(tuple(map(tuple, p)) for p in s["land"]),
            depth_areas=tuple(
                (tuple(map(tuple, d["polygon"])), d["depth_m"]) for d in s["depth_areas"]
            ),
            default_depth_m=ch.default_depth,
            channels=tuple(s["channels"]),
            tss=tuple(s["tss"]),
            restricted_visibility=self.restricted,
        )
        p = PRESETS[self.kinds[slot]]
        return WaterBriefing(
            entity_id=self.ids[slot],
            kind=self.kinds[slot],
            length_m=float(self.length[slot]),
            beam_m=float(self.beam[slot]),
            draft_m=float(self.draft[slot]),
            max_rudder_rad=float(self.max_rudder[slot]),
            max_rudder_rate_radps=float(self.max_rudder_rate[slot]),
            max_speed_mps=float(self.max_speed[slot]),
            service_speed_mps=float(p.service_speed),
            nomoto_k_prime=float(self.k_prime[slot]),
            nomoto_t_prime=float(self.t_prime[slot]),
            dt_s=self.dt,
            control_period_s=self.control_period,
            route=tuple(
                RoutePointInfo(w["x_m"], w["y_m"], w["speed_mps"]) for w in self.routes[slot]
            ),
            goal=self.meta.goals[slot],
            chart=chart,
            colreg={k: float(v) for k, v in self.cg.model_dump().items()},
            ship_domain={k: float(v) for k, v in self.sd.model_dump().items()},
            ukc_margin_m=float(self.map.ukc_margin),
        )

    def observe_truth(self, slot: int, tick: int) -> WaterObservation:
        """``observe`` with the true ids of radar echoes (for the sensor layer only)."""
        return self.observe(slot, tick, truth=True)

    def observe(self, slot: int, tick: int, *, truth: bool = False) -> WaterObservation:
        own = OwnShip(
            x_m=float(self.x[slot]),
            y_m=float(self.y[slot]),
            heading_rad=float(self.psi[slot]),
            yaw_rate_radps=float(self.r[slot]),
            speed_mps=float(self.u[slot]),
            cog_rad=float(math.atan2(self.ve[slot], self.vn[slot])),
            sog_mps=float(math.hypot(self.ve[slot], self.vn[slot])),
            rudder_rad=float(self.delta[slot]),
            depth_m=float(self.ukc[slot] + self.draft[slot]),
        )
        d = np.hypot(self.x - self.x[slot], self.y - self.y[slot])
        seen = self.valid.copy()
        seen[slot] = False
        ais = np.flatnonzero(seen & self.ais & (d <= self.ais_range[slot]))
        radar = np.flatnonzero(seen & (d <= self.radar_range[slot]))
        radar = radar[np.argsort(d[radar], kind="stable")]
        cog = np.arctan2(self.ve, self.vn)
        sog = np.hypot(self.ve, self.vn)
        return WaterObservation(
            tick=tick,
            time_s=tick * self.dt,
            own=own,
            ais=Targets(
                ids=tuple(self.ids[i] for i in ais),
                mmsi=frozen_array(self.mmsi[ais], np.int64),
                x_m=frozen_array(self.x[ais]),
                y_m=frozen_array(self.y[ais]),
                cog_rad=frozen_array(cog[ais]),
                sog_mps=frozen_array(sog[ais]),
                heading_rad=frozen_array(self.psi[ais]),
                length_m=frozen_array(self.length[ais]),
            ),
            radar=Targets(
                ids=tuple(self.ids[i] for i in radar)
                if truth
                else tuple(f"radar-{k}" for k in range(radar.size)),
                mmsi=frozen_array(np.zeros(radar.size), np.int64),
                x_m=frozen_array(self.x[radar]),
                y_m=frozen_array(self.y[radar]),
                cog_rad=frozen_array(cog[radar]),
                sog_mps=frozen_array(sog[radar]),
                heading_rad=frozen_array(np.full(radar.size, np.nan)),
                length_m=frozen_array(np.full(radar.size, np.nan)),
            ),
        )

    # ------------------------------------------------------------------ monitors
    def footprints(self) -> Footprints:
        return Footprints(
            self.x,
            self.y,
            np.pi / 2 - self.psi,
            self.length,
            self.beam,
            np.hypot(self.ve, self.vn),
            self.valid,
        )

    def _pairs(self, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """Pairs within ``pair_range``: a list with a margin for what ships can close before
        the next rebuild, rebuilt every REBUILD_S, filtered exactly each tick."""
        rng = self.map.pair_range
        if tick % self.rebuild_every == 0:
            vmax = float(
                np.hypot(self.ve, self.vn).max(initial=0.0)
                + self.max_accel.max(initial=0.0) * REBUILD_S
            )
            self.pi_, self.pj_ = pairs_within(
                self.x, self.y, self.valid, rng + 2.0 * vmax * self.rebuild_every * self.dt
            )
        i, j = self.pi_, self.pj_
        return i, j

    def monitor(self, tick: int) -> list[Event]:
        """Grounding and near-grounding, then for every pair in range: CPA/TCPA, COLREG
        encounter type (both ways), ship-domain violations; findings for the controlled
        ships; clipped actions; goals. Events fire on rising edges."""
        time_s = tick * self.dt
        events: list[Event] = []
        events += self._grounding(tick)
        i, j = self._pairs(tick)
        sx, sy = self.x[j] - self.x[i], self.y[j] - self.y[i]
        rng = np.hypot(sx, sy)
        keep = (rng <= self.map.pair_range) & self.valid[i] & self.valid[j]
        i, j, sx, sy, rng = i[keep], j[keep], sx[keep], sy[keep], rng[keep]
        vx, vy = self.ve[j] - self.ve[i], self.vn[j] - self.vn[i]
        tcpa, dcpa = cpa(sx, sy, vx, vy)
        closing = sx * vx + sy * vy < 0
        # one arctan2 for both: the bearing of i from j is the reciprocal of j from i
        brg = np.arctan2(sx, sy)
        b_i = np.mod(brg - self.psi[i], 2 * np.pi)
        b_j = np.mod(brg + np.pi - self.psi[j], 2 * np.pi)
        cg = self.cg
        c_ij = cr.classify(
            b_i,
            b_j,
            closing,
            head_on_sector=cg.head_on_sector,
            overtaking_sector=cg.overtaking_sector,
        )
        c_ji = cr.classify(
            b_j,
            b_i,
            closing,
            head_on_sector=cg.head_on_sector,
            overtaking_sector=cg.overtaking_sector,
        )
        if self.restricted:
            c_ij = np.where(c_ij != cr.NONE, cr.RESTRICTED, c_ij).astype(np.int8)
            c_ji = np.where(c_ji != cr.NONE, cr.RESTRICTED, c_ji).astype(np.int8)
        risk = (
            closing & (dcpa < cg.cpa_risk) & (tcpa > 0) & (tcpa < cg.tcpa_risk) & (rng < cg.range)
        )
        # ship domains: only pairs closer than the largest semi-axis can be inside one
        sd = self.sd
        dom_i = np.zeros(i.size, dtype=bool)
        dom_j = np.zeros(i.size, dtype=bool)
        reach = self.domain_reach
        close = np.flatnonzero(rng < np.maximum(reach[i], reach[j]))
        if close.size:
            ci, cj, cr_ = i[close], j[close], rng[close]
            axes = (sd.ahead, sd.port, sd.astern, sd.starboard)
            dom_i[close] = cr_ < cr.domain_radius(b_i[close], self.length[ci], self.beam[ci], *axes)
            dom_j[close] = cr_ < cr.domain_radius(b_j[close], self.length[cj], self.beam[cj], *axes)
        # per-ship summaries
        self.nearest = np.full(self.n, np.inf)
        np.minimum.at(self.nearest, i, rng)
        np.minimum.at(self.nearest, j, rng)
        ahead = closing & (tcpa > 0) & (tcpa < cg.tcpa_risk)
        d_eff = np.where(ahead, dcpa, np.inf)
        self.dcpa = np.full(self.n, np.inf)
        np.minimum.at(self.dcpa, i, d_eff)
        np.minimum.at(self.dcpa, j, d_eff)
        self.in_domain = np.zeros(self.n, dtype=bool)
        self.in_domain[i[dom_i]] = True
        self.in_domain[j[dom_j]] = True
        self.encounter = np.zeros(self.n, dtype=np.int8)
        self.tcpa = np.full(self.n, np.nan)
        if risk.any():
            own = np.concatenate([i[risk], j[risk]])
            code = np.concatenate([c_ij[risk], c_ji[risk]])
            tt = np.concatenate([tcpa[risk], tcpa[risk]])
            order = np.lexsort((tt, own))
            own, code, tt = own[order], code[order], tt[order]
            first = np.unique(own, return_index=True)[1]
            self.encounter[own[first]] = code[first]
            self.tcpa[own[first]] = tt[first]
        # domain violations by or of controlled ships (rising edge per ordered pair)
        viol_own = np.concatenate([i[dom_i], j[dom_j]])
        viol_tgt = np.concatenate([j[dom_i], i[dom_j]])
        sel = self.controlled[viol_own]
        keys = viol_own[sel] * self.n + viol_tgt[sel]
        new = (
            ~np.isin(keys, self.domain_keys)
            if keys.size and self.domain_keys.size
            else np.ones(keys.size, bool)
        )
        for k in keys[new]:
            a, b = divmod(int(k), self.n)
            events.append(
                Event(
                    tick,
                    time_s,
                    "domain_violation",
                    (self.ids[a], self.ids[b]),
                    {"range_m": float(np.hypot(self.x[b] - self.x[a], self.y[b] - self.y[a]))},
                )
            )
        self.domain_keys = keys
        if self.ctl_rows.size:
            events += self._colreg(tick, i, j, b_i, b_j, c_ij, c_ji, risk, tcpa, dcpa, rng, closing)
        events += clip_events(
            tick, time_s, self.ids, self.clip_mask, self.clip_prev,
            {CLIP_RUDDER: "rudder", CLIP_SPEED: "speed"},
        )  # fmt: skip
        self.clip_prev = self.clip_mask.copy()
        events += radius_goals(
            tick, time_s, self.ids, self.x, self.y, self.goal_xy, self.goal_r, self.goal_done,
            self.valid, self.u,
        )  # fmt: skip
        return events

    def _grounding(self, tick: int) -> list[Event]:
        """Under-keel clearance UKC = depth − draft at the bow, centre and stern; grounding
        when UKC ≤ 0 (the ship stops), near-grounding when UKC < ``ukc_margin``."""
        half = 0.5 * self.length
        sx, sy = np.sin(self.psi), np.cos(self.psi)
        px = np.concatenate([self.x, self.x + half * sx, self.x - half * sx])
        py = np.concatenate([self.y, self.y + half * sy, self.y - half * sy])
        depth = self.chart.depth(px, py).reshape(3, self.n).min(axis=0)
        self.ukc = depth - self.draft
        events = []
        t = tick * self.dt
        ground = self.valid & (self.ukc <= 0)
        near = self.valid & ~ground & (self.ukc < self.map.ukc_margin)
        for a in np.flatnonzero(ground & ~self.grounded):
            events.append(
                Event(
                    tick,
                    t,
                    "grounding",
                    (self.ids[a],),
                    {"ukc_m": float(self.ukc[a]), "speed_mps": float(self.u[a])},
                )
            )
        for a in np.flatnonzero(near & ~self.near_ground):
            events.append(
                Event(tick, t, "near_grounding", (self.ids[a],), {"ukc_m": float(self.ukc[a])})
            )
        self.grounded |= ground
        self.near_ground = near
        return events

    def _colreg(
        self,
        tick: int,
        i: np.ndarray,
        j: np.ndarray,
        b_i: np.ndarray,
        b_j: np.ndarray,
        c_ij: np.ndarray,
        c_ji: np.ndarray,
        risk: np.ndarray,
        tcpa: np.ndarray,
        dcpa: np.ndarray,
        rng: np.ndarray,
        closing: np.ndarray,
    ) -> list[Event]:
        """Encounters and rule findings of the controlled ships (ordered pairs own → target).
        An encounter starts at the first risk of collision (DCPA < cpa_risk, 0 < TCPA <
        tcpa_risk, within range); its type is fixed then (the rules apply from that moment)
        and it ends once past and clear."""
        cg = self.cg
        t = tick * self.dt
        events: list[Event] = []
        own = np.concatenate([i, j])
        tgt = np.concatenate([j, i])
        sel = self.controlled[own]
        own, tgt = own[sel], tgt[sel]
        code = np.concatenate([c_ij, c_ji])[sel]
        rk = np.concatenate([risk, risk])[sel]
        tc = np.concatenate([tcpa, tcpa])[sel]
        dc = np.concatenate([dcpa, dcpa])[sel]
        rg = np.concatenate([rng, rng])[sel]
        cl = np.concatenate([closing, closing])[sel]
        beta = np.concatenate([b_i, b_j])[sel]
        live = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(own, tgt, strict=True))}
        # new encounters
        for k in np.flatnonzero(rk & (code != cr.NONE)):
            key = (int(own[k]), int(tgt[k]))
            if key in self.enc:
                continue
            a, b = key
            self.enc[key] = {
                "type": int(code[k]),
                "t0": t,
                "psi0": float(self.psi[a]),
                "u0": float(max(self.u[a], 1e-6)),
                "tgt_v0": (float(self.ve[b]), float(self.vn[b])),
                "acted": False,
                "findings": set(),
                "side": None,
                "min_range": float(rg[k]),
                "beta0": float(beta[k]),
            }
            events.append(
                Event(
                    tick,
                    t,
                    "encounter",
                    (self.ids[a], self.ids[b]),
                    {
                        "type": cr.NAMES[int(code[k])],
                        "role": "give-way" if int(code[k]) in cr.GIVE_WAY else "stand-on",
                        "dcpa_m": float(dc[k]),
                        "tcpa_s": float(tc[k]),
                        "range_m": float(rg[k]),
                        "bearing_deg": round(math.degrees(float(beta[k])), 2),
                    },
                )
            )
        for key in list(self.enc):
            st = self.enc[key]
            a, b = key
            k = live.get(key)
            passed = not cl[k] and rg[k] > cg.cpa_risk if k is not None else True
            if k is not None and st["type"] == cr.OVERTAKING:
                # Rule 13(d): overtaking until finally past and clear (the other abaft)
                ux, uy = math.sin(st["psi0"]), math.cos(st["psi0"])
                ahead = (self.x[b] - self.x[a]) * ux + (self.y[b] - self.y[a]) * uy
                passed = passed and ahead < 0
            if k is None or passed or rg[k] > cg.range:
                events.append(
                    Event(
                        tick,
                        t,
                        "encounter_end",
                        (self.ids[a], self.ids[b]),
                        {"min_range_m": st["min_range"]},
                    )
                )
                del self.enc[key]
                continue
            st["min_range"] = min(st["min_range"], float(rg[k]))
            dpsi = float(wrap_angle(self.psi[a] - st["psi0"]))
            slow = self.u[a] <= (1 - cg.min_speed_reduction) * st["u0"]
            typ = st["type"]

            if not st["acted"] and (abs(dpsi) >= cg.min_course_change or slow):
                st["acted"] = True
                events.append(
                    Event(
                        tick,
                        t,
                        "avoidance_action",
                        (self.ids[a], self.ids[b]),
                        {
                            "course_change_deg": round(math.degrees(dpsi), 2),
                            "speed_mps": float(self.u[a]),
                            "tcpa_s": float(tc[k]),
                            "range_m": float(rg[k]),
                        },
                    )
                )
            if typ in cr.GIVE_WAY:
                late = t - st["t0"] >= cg.react_time
                # only while a risk of collision remains: a pair that will pass clear
                # (e.g. both following a bend) leaves nothing to give way to
                if not st["acted"] and late and rk[k] and 0 < tc[k] <= cg.action_tcpa:
                    self._finding(
                        events,
                        tick,
                        st,
                        a,
                        b,
                        "19" if typ == cr.RESTRICTED else "8/16",
                        tcpa_s=float(tc[k]),
                        range_m=float(rg[k]),
                    )
                # a turn to port counts while approaching, not the return to the route
                port = dpsi < -cg.port_turn and bool(cl[k])
                if typ == cr.HEAD_ON and port:
                    self._finding(
                        events, tick, st, a, b, "14", course_change_deg=round(math.degrees(dpsi), 2)
                    )
                forward = math.cos(st["beta0"]) > 0
                if typ == cr.RESTRICTED and port and forward:
                    self._finding(
                        events, tick, st, a, b, "19", course_change_deg=round(math.degrees(dpsi), 2)
                    )
                if typ == cr.OVERTAKING and rg[k] < cg.keep_clear:
                    self._finding(events, tick, st, a, b, "13", range_m=float(rg[k]))
                if typ == cr.CROSS_GIVE_WAY:
                    # crossing the target's track line ahead of it (Rule 15)
                    hx, hy = math.sin(self.psi[b]), math.cos(self.psi[b])
                    rx, ry = self.x[a] - self.x[b], self.y[a] - self.y[b]
                    side = math.copysign(1.0, rx * hy - ry * hx)
                    along = rx * hx + ry * hy
                    if st["side"] is not None and side != st["side"] and along > 0:
                        self._finding(events, tick, st, a, b, "15", ahead_m=float(along))
                    st["side"] = side
            elif typ in cr.STAND_ON:
                moved = abs(dpsi) >= cg.stand_on_tolerance or self.u[a] <= 0.8 * st["u0"]
                # judged once, at the stand-on vessel's first manoeuvre of the encounter
                if moved and not {"17", "17-allowed"} & st["findings"]:
                    # would the target's own action have sufficed (own on its first course)?
                    ve0 = st["u0"] * math.sin(st["psi0"]) + self.drift_e[a]
                    vn0 = st["u0"] * math.cos(st["psi0"]) + self.drift_n[a]
                    tref, dref = cpa(
                        np.array([self.x[b] - self.x[a]]),
                        np.array([self.y[b] - self.y[a]]),
                        np.array([self.ve[b] - ve0]),
                        np.array([self.vn[b] - vn0]),
                    )
                    # acting for another vessel it must keep clear of is not needless
                    busy = any(
                        o == a and ob != b and s2["type"] in cr.GIVE_WAY
                        for (o, ob), s2 in self.enc.items()
                    )
                    if not busy and (dref[0] >= cg.cpa_risk or tref[0] > cg.action_tcpa):
                        self._finding(
                            events,
                            tick,
                            st,
                            a,
                            b,
                            "17",
                            course_change_deg=round(math.degrees(dpsi), 2),
                            dcpa_if_kept_m=float(dref[0]),
                            tcpa_s=float(tref[0]),
                        )
                    else:
                        st["findings"].add("17-allowed")
        return events

    def _finding(
        self,
        events: list[Event],
        tick: int,
        st: dict[str, Any],
        a: int,
        b: int,
        rule: str,
        **details: Any,
    ) -> None:
        """One COLREG finding per rule and encounter."""
        if rule in st["findings"]:
            return
        st["findings"].add(rule)
        events.append(
            Event(
                tick,
                tick * self.dt,
                "colreg_finding",
                (self.ids[a], self.ids[b]),
                {
                    "rule": rule,
                    "finding": RULE_TEXT[rule],
                    "encounter": cr.NAMES[st["type"]],
                    **details,
                },
            )
        )

    def goals_reached(self) -> bool:
        return all_goals_done(self.controlled, self.has_goal, self.goal_done)

    # ------------------------------------------------------------------ recording
    def log_fields(self) -> dict[str, tuple[np.dtype, int]]:
        n = self.n
        f64 = np.dtype(np.float64)
        fields = {
            k: (f64, n)
            for k in (
                "x_m",
                "y_m",
                "heading_rad",
                "speed_mps",
                "psi_rad",
                "yaw_rate_radps",
                "stw_mps",
                "rudder_rad",
                "ukc_m",
                "dcpa_m",
                "tcpa_s",
                "nearest_m",
            )
        }
        fields.update({k: (np.dtype(bool), n) for k in ("valid", "grounded", "in_domain")})
        fields["encounter"] = (np.dtype(np.int8), n)
        fields["clipped"] = (np.dtype(np.int8), n)
        fields["wp_index"] = (np.dtype(np.int32), n)
        return fields

    def state(self) -> dict[str, np.ndarray]:
        return {
            "x_m": self.x,
            "y_m": self.y,
            "heading_rad": np.pi / 2 - self.psi,
            "speed_mps": np.hypot(self.ve, self.vn),
            "psi_rad": self.psi,
            "yaw_rate_radps": self.r,
            "stw_mps": self.u,
            "rudder_rad": self.delta,
            "ukc_m": self.ukc,
            "dcpa_m": self.dcpa,
            "tcpa_s": self.tcpa,
            "nearest_m": self.nearest,
            "valid": self.valid,
            "grounded": self.grounded,
            "in_domain": self.in_domain,
            "encounter": self.encounter,
            "clipped": self.clip_mask,
            "wp_index": self.wp_idx,
        }

    def map_summary(self) -> dict[str, Any]:
        s = self.chart.summary()
        pts = [np.stack([self.x, self.y], 1), self.wp[:, :, :2].reshape(-1, 2)]
        pts += [np.asarray(p) for p in s["land"]]
        allp = np.concatenate([p.reshape(-1, 2) for p in pts])
        allp = allp[np.isfinite(allp).all(axis=1)]
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        pad = max(0.05 * float((hi - lo).max()), 100.0)
        s["area"] = [float(lo[0] - pad), float(lo[1] - pad), float(hi[0] + pad), float(hi[1] + pad)]
        s["buoys"] = [
            {"id": b.id, "kind": b.kind, "xy": list(to_local(b.position, self.map.origin))}
            for b in self.map.buoys
        ]
        s["restricted_visibility"] = self.restricted
        return s
