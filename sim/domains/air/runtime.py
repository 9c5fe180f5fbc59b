"""The air domain at run time: structure-of-arrays fleet, autopilot, scripted manoeuvres,
separation monitors (LoS, NMAC, DO-365 well clear), state-based conflict detection, DAA
alerting, geofences and low altitude. Nothing here loops over aircraft in Python except to
build one agent's observation or to turn rising edges into events.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from agents.air.types import (
    AirAction,
    AirBriefing,
    AirObservation,
    AirRateAction,
    Alerts,
    GeofenceInfo,
    OwnState,
    Traffic,
    WaypointInfo,
)
from agents.protocol import frozen_array
from sim.core.events import Event
from sim.core.geometry import clamp, crab_heading, wrap_angle
from sim.core.pairs import pairs_within
from sim.domains.air import dynamics as dyn
from sim.domains.air import separation as sep
from sim.domains.air.schema import PRESETS, AirEntity, AirMap
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

# lateral modes
LAT_HOLD, LAT_LNAV, LAT_AGENT = 0, 1, 2
# vertical modes
VERT_ALT, VERT_RATE = 0, 1
# alert levels (DO-365): none, preventive, corrective, warning
ALERT_NAMES = ("none", "preventive", "corrective", "warning")
CLIP_SPEED, CLIP_VS, CLIP_TURN = 1, 2, 4
#: Aircraft further than this from every other aircraft cannot touch one within a tick
#: (the largest aircraft is < 80 m; two at 300 m/s close 30 m per 0.05 s tick).
CONTACT_NEAR_M = 500.0
#: Below this altitude an aircraft may meet ground entities (road, rail, water domains).
CONTACT_LOW_M = 500.0
GOAL_RADIUS_M = {
    "airliner": 1852.0,
    "turboprop": 1000.0,
    "general_aviation": 500.0,
    "multirotor": 10.0,
    "fixed_wing_drone": 30.0,
}
#: Aircraft heights for the cross-domain collision box (m): published overall heights.
HEIGHT_M = {
    "airliner": 11.76,
    "turboprop": 7.65,
    "general_aviation": 2.72,
    "multirotor": 0.4,
    "fixed_wing_drone": 0.3,
}


class AirRuntime:
    """Live state of every aircraft of one run."""

    name = "air"

    def __init__(
        self,
        scenario: Any,
        entities: Sequence[AirEntity],
        ref_id: str,
        amap: AirMap,
        rng: np.random.Generator,
        extra: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.dt = float(scenario.dt)
        self.control_period = float(scenario.control_period or scenario.dt)
        self.map = amap
        origin = amap.origin
        ents = list(entities)
        n0 = len(ents)
        gen = extra or {}
        ng = int(gen["x"].size) if gen else 0
        n = self.n = n0 + ng
        self.ids = [e.id for e in ents] + list(gen.get("ids", []))
        self.slot_of = {eid: i for i, eid in enumerate(self.ids)}
        kinds = [e.kind for e in ents] + list(gen.get("kinds", []))
        self.kinds = kinds

        def preset(attr: str, override: str | None = None) -> np.ndarray:
            vals = []
            for k, kind in enumerate(kinds):
                v = getattr(ents[k].limits, override or attr, None) if k < n0 else None
                vals.append(getattr(PRESETS[kind], attr) if v is None else v)
            return np.array(vals, dtype=float)

        self.length = preset("length")
        self.span = preset("span")
        self.height = np.array([HEIGHT_M[k] for k in kinds])
        self.min_speed = preset("min_speed")
        self.max_speed = preset("max_speed")
        self.max_bank = preset("max_bank")
        self.max_turn = preset("max_turn_rate")
        self.max_accel = preset("max_accel")
        self.max_vs = preset("max_vertical_rate")
        self.max_vaccel = preset("max_vertical_accel")
        xy = np.array([to_local(e.position, origin) for e in ents]).reshape(n0, 2)
        self.x = np.concatenate([xy[:, 0], gen.get("x", np.zeros(0))])
        self.y = np.concatenate([xy[:, 1], gen.get("y", np.zeros(0))])
        self.alt = np.array([e.altitude for e in ents] + list(gen.get("alt", [])), dtype=float)
        self.hdg = wrap_angle(
            np.array([e.heading for e in ents] + list(gen.get("hdg", [])), dtype=float)
        )
        cruise = np.array([PRESETS[k].cruise_speed for k in kinds])
        tas0 = [cruise[k] if e.speed is None else e.speed for k, e in enumerate(ents)]
        self.tas = np.array(tas0 + list(gen.get("tas", [])), dtype=float)
        self.vs = np.array([e.vertical_rate for e in ents] + list(gen.get("vs", [])), dtype=float)
        self.cooperative = np.array(
            [e.cooperative for e in ents] + list(gen.get("cooperative", [])), dtype=bool
        )
        self.controlled = np.array([e.controlled for e in ents] + [False] * ng, dtype=bool)
        self.ctl_rows = np.flatnonzero(self.controlled)
        self.valid = np.ones(n, dtype=bool)
        self.turn_rate = np.zeros(n)
        self.vaccel = np.zeros(n)
        # targets and modes
        self.tgt_hdg = self.hdg.copy()
        self.tgt_tas = self.tas.copy()
        self.tgt_alt = self.alt.copy()
        self.tgt_vs = self.vs.copy()
        self.vert_mode = np.full(n, VERT_ALT, dtype=np.int8)
        # a background aircraft given a vertical rate keeps it (a climb or descent)
        self.vert_mode[self.vs != 0] = VERT_RATE
        self.lat_mode = np.full(n, LAT_HOLD, dtype=np.int8)
        self.lat_mode[self.controlled] = LAT_AGENT
        self.vert_mode[self.controlled] = VERT_RATE
        # flight plans (padded): x, y, alt (NaN keep), speed (NaN keep)
        wmax = max([len(e.plan) for e in ents] + [1])
        self.wp = np.full((n, wmax, 4), np.nan)
        self.wp_count = np.zeros(n, dtype=np.int64)
        self.plans: list[list[dict[str, Any]]] = []
        for i, e in enumerate(ents):
            rows = []
            for k, w in enumerate(e.plan):
                wx, wy = to_local(w.position, origin)
                self.wp[i, k] = (
                    wx,
                    wy,
                    np.nan if w.altitude is None else w.altitude,
                    np.nan if w.speed is None else w.speed,
                )
                rows.append({"x_m": wx, "y_m": wy, "altitude_m": w.altitude, "speed_mps": w.speed})
            self.plans.append(rows)
            self.wp_count[i] = len(e.plan)
            if e.plan and not e.controlled:
                self.lat_mode[i] = LAT_LNAV
        self.plans += [[] for _ in range(ng)]
        self.wp_idx = np.zeros(n, dtype=np.int64)
        self._plan_length = [self._route_length(i) for i in range(n0)]
        # goals
        self.goal_xy = np.full((n, 2), np.nan)
        self.goal_r = np.zeros(n)
        goals: list[dict[str, Any] | None] = []
        for i, e in enumerate(ents):
            g: dict[str, Any] | None = None
            if e.goal is not None:
                gx, gy = to_local(e.goal.position, origin)
                r = e.goal.radius or e.goal_radius or GOAL_RADIUS_M[e.kind]
                g = {"x_m": gx, "y_m": gy, "radius_m": float(r)}
            elif e.plan and e.controlled:
                r = e.goal_radius or GOAL_RADIUS_M[e.kind]
                g = {
                    "x_m": float(self.wp[i, len(e.plan) - 1, 0]),
                    "y_m": float(self.wp[i, len(e.plan) - 1, 1]),
                    "radius_m": float(r),
                }
            if g is not None:
                self.goal_xy[i] = (g["x_m"], g["y_m"])
                self.goal_r[i] = g["radius_m"]
                g["plan_length_m"] = self._plan_length[i]
            goals.append(g)
        goals += [None] * ng
        self.has_goal = np.isfinite(self.goal_xy[:, 0])
        self.goal_done = ~self.has_goal
        # sensors
        self.adsb_range = np.array([e.surveillance.adsb_range for e in ents] + [0.0] * ng)
        self.radar_range = np.array([e.surveillance.radar_range for e in ents] + [0.0] * ng)
        # wind
        w = amap.wind
        if w.layers:
            la = np.array([lyr.altitude for lyr in w.layers])
            we, wn = dyn.wind_vector(
                np.array([lyr.speed for lyr in w.layers]),
                np.array([lyr.direction for lyr in w.layers]),
            )
        else:
            la = np.zeros(1)
            e_, n_ = dyn.wind_vector(w.speed, w.direction)
            we, wn = np.array([float(e_)]), np.array([float(n_)])
        self.wind = dyn.WindField(
            la, np.asarray(we), np.asarray(wn), w.gust_sigma, w.gust_time_constant, self.dt, rng
        )
        self.ve, self.vn = self._ground_velocity()
        # thresholds
        self.R, self.H = amap.separation.horizontal, amap.separation.vertical
        wc = amap.well_clear
        self.dthr, self.zthr, self.tthr = wc.dthr, wc.zthr, wc.tthr
        self.nmac_h, self.nmac_v = amap.nmac.horizontal, amap.nmac.vertical
        self.lookahead = amap.detection.lookahead
        self.cd_every = max(1, round(amap.detection.interval / self.dt))
        self.alerting = amap.alerting
        self.min_alt = amap.min_altitude
        # geofences
        self.fences = []
        for gf in amap.geofences:
            pts = [to_local(p, origin) for p in gf.polygon]
            poly = shapely.Polygon(pts)
            if not poly.is_valid:
                poly = poly.buffer(0)
            shapely.prepare(poly)
            self.fences.append((gf, poly, np.array(poly.bounds)))
        self.fence_id = [f[0].id for f in self.fences]
        # what a viewer should show at first: start positions, routes and geofences
        pts = [np.stack([self.x, self.y], 1), self.wp[:, :, :2].reshape(-1, 2)]
        pts += [np.array(poly.exterior.coords) for _, poly, _ in self.fences]
        allp = np.concatenate(pts)
        allp = allp[np.isfinite(allp).all(axis=1)]
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        pad = max(0.05 * float((hi - lo).max()), 50.0)
        self.area = [float(lo[0] - pad), float(lo[1] - pad), float(hi[0] + pad), float(hi[1] + pad)]
        # per-tick monitor state
        self.near_i = np.zeros(0, dtype=np.int64)
        self.near_j = np.zeros(0, dtype=np.int64)
        self.los_keys = np.zeros(0, dtype=np.int64)
        self.nmac_keys = np.zeros(0, dtype=np.int64)
        self.wcv_keys = np.zeros(0, dtype=np.int64)
        self.conf_keys = np.zeros(0, dtype=np.int64)
        self.alert_keys = np.zeros(0, dtype=np.int64)  # sorted pair keys with an alert
        self.alert_levels = np.zeros(0, dtype=np.int8)
        self.in_los = np.zeros(n, dtype=bool)
        self.in_nmac = np.zeros(n, dtype=bool)
        self.in_wcv = np.zeros(n, dtype=bool)
        self.in_conflict = np.zeros(n, dtype=bool)
        self.alert_level = np.zeros(n, dtype=np.int8)
        self.alert_list: dict[int, list[tuple[int, int, float]]] = {}
        self.hsep = np.full(n, np.inf)
        self.vsep = np.full(n, np.inf)
        self.in_fence = np.zeros(n, dtype=bool)
        self.fence_depth = np.zeros(n)
        self.low = np.zeros(n, dtype=bool)
        self.clip_mask = np.zeros(n, dtype=np.int8)
        self.clip_prev = np.zeros(n, dtype=np.int8)
        self.rate_mode = np.zeros(n, dtype=bool)  # agent commands rates, not targets
        self.cmd_turn = np.zeros(n)
        self.cmd_acc = np.zeros(n)
        # sectors: traffic count per tick
        self.sectors = []
        for sc in amap.sectors:
            poly = shapely.Polygon([to_local(p, origin) for p in sc.polygon])
            shapely.prepare(poly)
            self.sectors.append((sc, poly))
        self.sector_count = np.zeros(len(self.sectors), dtype=np.int32)
        self.script = Script(ents, self.slot_of, ref_id, self.dt)
        self.meta = EntityMeta(
            ids=tuple(self.ids),
            kinds=tuple(kinds),
            controlled=self.controlled,
            length_m=self.length,
            width_m=self.span,
            goals=tuple(goals),
            extra={
                "plans": self.plans,
                "sensor_range_m": np.maximum(self.adsb_range, self.radar_range).tolist(),
                "cooperative": self.cooperative.tolist(),
                "height_m": self.height.tolist(),
            },
        )

    # ------------------------------------------------------------------ set-up helpers
    def _route_length(self, i: int) -> float:
        k = int(self.wp_count[i])
        if k == 0:
            return 0.0
        pts = np.vstack([[self.x[i], self.y[i]], self.wp[i, :k, :2]])
        return float(np.hypot(*np.diff(pts, axis=0).T).sum())

    def _manoeuvres(self, tick: int) -> list[Event]:
        """Start the scripted manoeuvres due at ``tick``."""
        events: list[Event] = []
        for i, m in self.script.due(tick, self.x, self.y, self.ve, self.vn):
            details: dict[str, Any] = {}
            if m.heading is not None or m.turn is not None:
                new = m.heading if m.heading is not None else self.hdg[i] + m.turn
                self.tgt_hdg[i] = wrap_angle(new)
                self.lat_mode[i] = LAT_HOLD
                details["heading_deg"] = round(math.degrees(self.tgt_hdg[i]) % 360, 3)
            if m.altitude is not None:
                self.tgt_alt[i] = m.altitude
                self.vert_mode[i] = VERT_ALT
                if m.vertical_rate is not None:
                    self.max_vs[i] = m.vertical_rate
                details["altitude_m"] = m.altitude
            if m.speed is not None:
                self.tgt_tas[i] = m.speed
                details["speed_mps"] = m.speed
            events.append(Event(tick, tick * self.dt, "manoeuvre", (self.ids[i],), details))
        return events

    # ------------------------------------------------------------------ stepping
    def _ground_velocity(self) -> tuple[np.ndarray, np.ndarray]:
        we, wn = self.wind.at(self.alt)
        return self.tas * np.sin(self.hdg) + we, self.tas * np.cos(self.hdg) + wn

    def _lnav(self) -> None:
        """Background autopilot: fly to the active waypoint (wind-corrected track), switch
        at the turn-anticipation distance r·tan(Δχ/2) (fly-by) and adopt its altitude and
        speed constraints; after the last one, hold heading."""
        rows = np.flatnonzero((self.lat_mode == LAT_LNAV) & self.valid)
        if rows.size == 0:
            return
        k = self.wp_idx[rows]
        wx, wy = self.wp[rows, k, 0], self.wp[rows, k, 1]
        dx, dy = wx - self.x[rows], wy - self.y[rows]
        dist = np.hypot(dx, dy)
        track = np.arctan2(dx, dy)
        has_next = k + 1 < self.wp_count[rows]
        kn = np.minimum(k + 1, self.wp.shape[1] - 1)
        nx, ny = self.wp[rows, kn, 0], self.wp[rows, kn, 1]
        next_track = np.arctan2(nx - wx, ny - wy)
        dchi = np.abs(wrap_angle(next_track - track))
        w = dyn.max_turn_rate(self.tas[rows], self.max_bank[rows], self.max_turn[rows])
        radius = self.tas[rows] / np.maximum(w, 1e-9)
        lead = np.where(has_next, radius * np.tan(np.minimum(dchi, 2.0) / 2.0), 0.0)
        passed = dist <= lead + self.tas[rows] * self.dt + 1.0
        adv = rows[passed]
        if adv.size:
            self.wp_idx[adv] += 1
            done = adv[self.wp_idx[adv] >= self.wp_count[adv]]
            self.lat_mode[done] = LAT_HOLD
            self.wp_idx[done] = self.wp_count[done] - 1
        we, wn = self.wind.at(self.alt[rows])
        self.tgt_hdg[rows] = crab_heading(track, self.tas[rows], we, wn)
        k = self.wp_idx[rows]
        alt_c, spd_c = self.wp[rows, k, 2], self.wp[rows, k, 3]
        has_alt = np.isfinite(alt_c)
        self.tgt_alt[rows[has_alt]] = alt_c[has_alt]
        self.vert_mode[rows[has_alt]] = VERT_ALT
        has_spd = np.isfinite(spd_c)
        self.tgt_tas[rows[has_spd]] = spd_c[has_spd]

    def step(self, tick: int) -> list[Event]:
        events = self._manoeuvres(tick)
        self._lnav()
        r = self.rate_mode
        if r.any():  # rate commands become this step's targets
            self.tgt_hdg[r] = wrap_angle(self.hdg[r] + self.cmd_turn[r] * self.dt)
            self.tgt_tas[r] = self.tas[r] + self.cmd_acc[r] * self.dt
        alt_rows = self.vert_mode == VERT_ALT
        vs_cmd = np.where(
            alt_rows,
            dyn.vertical_rate_command(self.alt, self.tgt_alt, self.max_vs, self.max_vaccel),
            self.tgt_vs,
        )
        self.wind.step()
        we, wn = self.wind.at(self.alt)
        (x, y, alt, hdg, tas, vs, omega, vacc) = dyn.advance(
            self.x,
            self.y,
            self.alt,
            self.hdg,
            self.tas,
            self.vs,
            self.tgt_hdg,
            clamp(self.tgt_tas, self.min_speed, self.max_speed),
            clamp(vs_cmd, -self.max_vs, self.max_vs),
            max_bank=self.max_bank,
            max_turn_rate_radps=self.max_turn,
            max_accel=self.max_accel,
            max_vaccel=self.max_vaccel,
            wind_e=we,
            wind_n=wn,
            dt=self.dt,
        )
        v = self.valid
        self.x, self.y, self.alt = np.where(v, x, self.x), np.where(v, y, self.y), alt
        self.hdg, self.tas, self.vs = hdg, tas, vs
        self.turn_rate, self.vaccel = omega, vacc
        self.ve, self.vn = self._ground_velocity()
        return events

    # ------------------------------------------------------------------ agents
    def apply_action(self, slot: int, action: Any) -> None:
        if isinstance(action, Mapping) and "turn_rate_radps" in action:
            try:
                action = AirRateAction(
                    float(action["turn_rate_radps"]),
                    float(action["accel_mps2"]),
                    float(action["vs_mps"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ActionInvalid(
                    f"expected an AirRateAction(turn_rate_radps, accel_mps2, vs_mps), got "
                    f"{action!r} ({exc})"
                ) from None
        if isinstance(action, AirRateAction):
            self._apply_rates(slot, action)
            return
        if isinstance(action, Mapping):
            try:
                action = AirAction(
                    float(action["hdg_rad"]), float(action["tas_mps"]), float(action["vs_mps"])
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ActionInvalid(
                    f"expected an AirAction(hdg_rad, tas_mps, vs_mps), got {action!r} ({exc})"
                ) from None
        if not isinstance(action, AirAction):
            raise ActionInvalid(
                f"expected an AirAction(hdg_rad, tas_mps, vs_mps), got {type(action).__name__}"
            )
        try:
            h, v, z = float(action.hdg_rad), float(action.tas_mps), float(action.vs_mps)
        except (TypeError, ValueError):
            raise ActionInvalid(f"action fields must be numbers, got {action!r}") from None
        if not (math.isfinite(h) and math.isfinite(v) and math.isfinite(z)):
            raise ActionNonFinite(f"action holds a non-finite value: {action!r}")
        v_c = min(max(v, self.min_speed[slot]), self.max_speed[slot])
        z_c = min(max(z, -self.max_vs[slot]), self.max_vs[slot])
        self.rate_mode[slot] = False
        self.tgt_hdg[slot] = wrap_angle(h)
        self.tgt_tas[slot], self.tgt_vs[slot] = v_c, z_c
        self.clip_mask[slot] = (CLIP_SPEED if v != v_c else 0) | (CLIP_VS if z != z_c else 0)

    def _apply_rates(self, slot: int, action: AirRateAction) -> None:
        try:
            w, a, z = (
                float(action.turn_rate_radps),
                float(action.accel_mps2),
                float(action.vs_mps),
            )
        except (TypeError, ValueError):
            raise ActionInvalid(f"action fields must be numbers, got {action!r}") from None
        if not (math.isfinite(w) and math.isfinite(a) and math.isfinite(z)):
            raise ActionNonFinite(f"action holds a non-finite value: {action!r}")
        w_max = float(
            dyn.max_turn_rate(
                self.tas[slot : slot + 1],
                self.max_bank[slot : slot + 1],
                self.max_turn[slot : slot + 1],
            )[0]
        )
        w_c = min(max(w, -w_max), w_max)
        a_c = min(max(a, -self.max_accel[slot]), self.max_accel[slot])
        z_c = min(max(z, -self.max_vs[slot]), self.max_vs[slot])
        self.rate_mode[slot] = True
        self.cmd_turn[slot], self.cmd_acc[slot] = w_c, a_c
        self.tgt_vs[slot] = z_c
        self.clip_mask[slot] = (
            (CLIP_TURN if w != w_c else 0)
            | (CLIP_SPEED if a != a_c else 0)
            | (CLIP_VS if z != z_c else 0)
        )

    def hold_action(self, slot: int) -> None:
        """Keep the previous command (targets persist)."""

    def environment_fault(self, kind: str, params: dict[str, Any], active: bool) -> str | None:
        """Fault hook: ``gust`` adds a uniform wind (east, north) while active."""
        if kind != "gust":
            return f"the air domain has no {kind!r} fault"
        e, n = params["vector"]
        self.wind.extra = np.array([e, n], dtype=float) if active else np.zeros(2)
        return None

    def fallback_action(self, slot: int) -> AirAction:
        """Safe command after an agent fault: hold heading and airspeed, level off (what an
        autopilot does on a lost command link before its contingency procedure)."""
        return AirAction(float(self.hdg[slot]), float(self.tas[slot]), 0.0)

    def briefing(self, slot: int) -> AirBriefing:
        return AirBriefing(
            entity_id=self.ids[slot],
            kind=self.kinds[slot],
            length_m=float(self.length[slot]),
            span_m=float(self.span[slot]),
            min_speed_mps=float(self.min_speed[slot]),
            max_speed_mps=float(self.max_speed[slot]),
            max_bank_rad=float(self.max_bank[slot]),
            max_turn_rate_radps=float(self.max_turn[slot]),
            max_accel_mps2=float(self.max_accel[slot]),
            max_vertical_rate_mps=float(self.max_vs[slot]),
            max_vertical_accel_mps2=float(self.max_vaccel[slot]),
            dt_s=self.dt,
            control_period_s=self.control_period,
            plan=tuple(
                WaypointInfo(
                    float(w["x_m"]),
                    float(w["y_m"]),
                    None if w["altitude_m"] is None else float(w["altitude_m"]),
                    None if w["speed_mps"] is None else float(w["speed_mps"]),
                )
                for w in self.plans[slot]
            ),
            goal=self.meta.goals[slot],
            separation_m=(float(self.R), float(self.H)),
            well_clear=(float(self.dthr), float(self.zthr), float(self.tthr)),
            nmac_m=(float(self.nmac_h), float(self.nmac_v)),
            adsb_range_m=float(self.adsb_range[slot]),
            radar_range_m=float(self.radar_range[slot]),
            min_altitude_m=None if self.min_alt is None else float(self.min_alt),
            alerting=self.alerting.enabled,
        )

    def _visible(self, slot: int) -> np.ndarray:
        """Indices of traffic the surveillance of ``slot`` reports (ground truth, no noise)."""
        d = np.hypot(self.x - self.x[slot], self.y - self.y[slot])
        seen = self.valid & (
            (self.cooperative & (d <= self.adsb_range[slot])) | (d <= self.radar_range[slot])
        )
        seen[slot] = False
        return np.flatnonzero(seen)

    def observe(self, slot: int, tick: int) -> AirObservation:
        t = tick * self.dt
        own = OwnState(
            x_m=float(self.x[slot]),
            y_m=float(self.y[slot]),
            alt_m=float(self.alt[slot]),
            hdg_rad=float(self.hdg[slot]),
            tas_mps=float(self.tas[slot]),
            vs_mps=float(self.vs[slot]),
            ve_mps=float(self.ve[slot]),
            vn_mps=float(self.vn[slot]),
            turn_rate_radps=float(self.turn_rate[slot]),
        )
        k = self._visible(slot)
        traffic = Traffic(
            ids=tuple(self.ids[i] for i in k),
            kinds=tuple(self.kinds[i] for i in k),
            cooperative=frozen_array(self.cooperative[k], bool),
            x_m=frozen_array(self.x[k]),
            y_m=frozen_array(self.y[k]),
            alt_m=frozen_array(self.alt[k]),
            ve_mps=frozen_array(self.ve[k]),
            vn_mps=frozen_array(self.vn[k]),
            vs_mps=frozen_array(self.vs[k]),
        )
        fences = tuple(
            GeofenceInfo(
                id=gf.id,
                polygon=tuple(tuple(map(float, p)) for p in poly.exterior.coords[:-1]),
                floor_m=float(gf.floor),
                ceiling_m=float(gf.ceiling),
                active_from_s=float(gf.active_from),
                active_until_s=float(gf.active_until),
                active=gf.active_from <= t < gf.active_until,
            )
            for gf, poly, _ in self.fences
            if gf.active_from - gf.notice <= t < gf.active_until
        )
        alerts = self.alert_list.get(slot, []) if self.alerting.enabled else []
        return AirObservation(
            tick=tick,
            time_s=t,
            own=own,
            traffic=traffic,
            geofences=fences,
            alerts=Alerts(
                ids=tuple(self.ids[j] for j, _, _ in alerts),
                level=frozen_array([lv for _, lv, _ in alerts], np.int8),
                time_to_lowc_s=frozen_array([tt for _, _, tt in alerts]),
            ),
        )

    # ------------------------------------------------------------------ monitors
    def footprints(self) -> Footprints:
        """Boxes for the engine's contact check. Only aircraft that could touch something
        are offered: those low enough to meet ground entities, or with another aircraft
        within ``CONTACT_NEAR_M`` (from the neighbour list monitor() just refreshed);
        the rest are marked not valid for contact, which keeps the engine's broad phase
        to a handful of boxes in en-route traffic."""
        near = self.hsep < CONTACT_NEAR_M
        low = self.alt < CONTACT_LOW_M
        track = np.arctan2(self.vn, self.ve)
        return Footprints(
            self.x,
            self.y,
            np.where(self.tas > 0.1, np.pi / 2 - self.hdg, track),
            self.length,
            self.span,
            np.hypot(self.ve, self.vn),
            self.valid & (near | low),
            z_m=self.alt,
            height_m=self.height,
        )

    def _near_radius(self) -> float:
        """Pairs further apart than this cannot start a LoS, NMAC or WCV before the next
        rebuild: the largest threshold distance (WCV: DTHR + TTHR·|v_rel| bounds |s| where
        τ_mod ≤ TTHR) plus what both can close over one detection interval."""
        gs = np.hypot(self.ve, self.vn)[self.valid]
        vmax = float(gs.max(initial=0.0) + self.max_accel.max(initial=0.0) * self.cd_dt)
        reach = max(self.R, self.nmac_h, self.dthr + self.tthr * 2.0 * vmax)
        return reach + 2.0 * vmax * self.cd_dt

    @property
    def cd_dt(self) -> float:
        return self.cd_every * self.dt

    def _detect(self, tick: int) -> list[Event]:
        """State-based conflict detection over all aircraft (BlueSky ``statebased.py``),
        and the rebuild of the near-pair list the per-tick monitors use."""
        events: list[Event] = []
        v = self.valid
        vz_bound = 2.0 * float(self.max_vs.max(initial=0.0))
        i, j = sep.swept_pairs(
            self.x,
            self.y,
            self.ve,
            self.vn,
            v,
            self.lookahead,
            self.R,
            z=self.alt,
            vz=self.vs,
            height=self.H,
        )
        sx, sy, sz = self.x[j] - self.x[i], self.y[j] - self.y[i], self.alt[j] - self.alt[i]
        vx, vy, vz = self.ve[j] - self.ve[i], self.vn[j] - self.vn[i], self.vs[j] - self.vs[i]
        t_in, t_out = sep.cylinder_interval(sx, sy, sz, vx, vy, vz, self.R, self.H)
        conf = (t_in <= t_out) & (t_out > 0) & (t_in < self.lookahead)
        ci, cj = i[conf], j[conf]
        keys = ci * self.n + cj
        new = (
            ~np.isin(keys, self.conf_keys)
            if keys.size and self.conf_keys.size
            else np.ones(keys.size, bool)
        )
        self.conf_keys = keys
        self.in_conflict[:] = False
        self.in_conflict[ci] = True
        self.in_conflict[cj] = True
        tc, dc = sep.cpa(sx[conf], sy[conf], vx[conf], vy[conf])
        tin = t_in[conf]
        time_s = tick * self.dt
        for a, b, tt, dd, ti in zip(ci[new], cj[new], tc[new], dc[new], tin[new], strict=True):
            events.append(
                Event(
                    tick,
                    time_s,
                    "conflict",
                    (self.ids[a], self.ids[b]),
                    {"tcpa_s": float(tt), "dcpa_m": float(dd), "t_los_s": float(max(ti, 0.0))},
                )
            )
        # near list for LoS / NMAC / WCV until the next rebuild
        radius = self._near_radius()
        ni, nj = pairs_within(self.x, self.y, v, radius)
        vgap = max(self.H, self.zthr, self.nmac_v) + vz_bound * self.cd_dt
        keep = np.abs(self.alt[nj] - self.alt[ni]) <= vgap
        self.near_i, self.near_j = ni[keep], nj[keep]
        if self.alerting.enabled and self.ctl_rows.size:
            events += self._alerts(tick)
        return events

    def _alerts(self, tick: int) -> list[Event]:
        """DO-365 alert levels for each controlled aircraft against the traffic it sees:
        warning if LoWC is predicted within ``warning`` s, corrective within ``corrective``
        s, preventive if only the ZTHR-700 ft volume is predicted within ``corrective`` s."""
        events: list[Event] = []
        al = self.alerting
        self.alert_level[:] = 0
        new_keys: list[np.ndarray] = []
        new_levels: list[np.ndarray] = []
        for slot in self.ctl_rows:
            k = self._visible(int(slot))
            sx, sy, sz = (
                self.x[k] - self.x[slot],
                self.y[k] - self.y[slot],
                self.alt[k] - self.alt[slot],
            )
            vx, vy, vz = (
                self.ve[k] - self.ve[slot],
                self.vn[k] - self.vn[slot],
                self.vs[k] - self.vs[slot],
            )
            t_in, t_out = sep.wcv_interval(sx, sy, sz, vx, vy, vz, self.dthr, self.zthr, self.tthr)
            p_in, p_out = sep.wcv_interval(
                sx, sy, sz, vx, vy, vz, self.dthr, al.preventive_zthr, self.tthr
            )
            horizon = al.corrective
            dwc = (t_in <= t_out) & (t_out >= 0) & (t_in <= horizon)
            prev = (p_in <= p_out) & (p_out >= 0) & (p_in <= horizon)
            ttl = np.maximum(t_in, 0.0)
            level = np.where(
                dwc & (ttl <= al.warning), 3, np.where(dwc, 2, np.where(prev, 1, 0))
            ).astype(np.int8)
            # rising levels against the previous pass (sorted pair keys -> level)
            keys = int(slot) * self.n + k.astype(np.int64)
            prev_k = np.append(self.alert_keys, -1)  # a sentinel keeps the look-up in range
            prev_l = np.append(self.alert_levels, 0).astype(np.int8)
            pos = np.searchsorted(self.alert_keys, keys)
            old = np.where(prev_k[pos] == keys, prev_l[pos], 0)
            ttv = np.where(level >= 2, ttl, np.maximum(p_in, 0.0))
            for kk, lv, tv in zip(
                k[level > old], level[level > old], ttv[level > old], strict=True
            ):
                events.append(
                    Event(
                        tick,
                        tick * self.dt,
                        "daa_alert",
                        (self.ids[slot], self.ids[kk]),
                        {"level": ALERT_NAMES[lv], "time_to_lowc_s": float(tv)},
                    )
                )
            on = level > 0
            new_keys.append(keys[on])
            new_levels.append(level[on])
            self.alert_list[int(slot)] = [
                (int(a), int(b), float(c))
                for a, b, c in zip(k[on], level[on], ttv[on], strict=True)
            ]
            self.alert_level[slot] = int(level.max(initial=0))
        keys = np.concatenate(new_keys) if new_keys else np.zeros(0, dtype=np.int64)
        order = np.argsort(keys)
        self.alert_keys = keys[order]
        self.alert_levels = (np.concatenate(new_levels) if new_levels else np.zeros(0, np.int8))[
            order
        ]
        return events

    def monitor(self, tick: int) -> list[Event]:
        """Conflicts (every detection interval), then LoS, NMAC, well clear, geofences, low
        altitude, clipped actions and goals at ``tick``; events on rising edges."""
        events: list[Event] = []
        if tick % self.cd_every == 0:
            events += self._detect(tick)
        time_s = tick * self.dt
        i, j = self.near_i, self.near_j
        sx, sy = self.x[j] - self.x[i], self.y[j] - self.y[i]
        dh = np.hypot(sx, sy)
        dz = np.abs(self.alt[j] - self.alt[i])
        vx, vy = self.ve[j] - self.ve[i], self.vn[j] - self.vn[i]
        both = self.valid[i] & self.valid[j]
        los = both & (dh < self.R) & (dz < self.H)
        nmac = both & (dh < self.nmac_h) & (dz < self.nmac_v)
        wcv = both & (dz <= self.zthr) & sep.horizontal_wcv(sx, sy, vx, vy, self.dthr, self.tthr)
        self.hsep = np.full(self.n, np.inf)
        self.vsep = np.full(self.n, np.inf)
        np.minimum.at(self.hsep, i, np.where(both, dh, np.inf))
        np.minimum.at(self.hsep, j, np.where(both, dh, np.inf))
        close = both & (dh < self.R)
        np.minimum.at(self.vsep, i, np.where(close, dz, np.inf))
        np.minimum.at(self.vsep, j, np.where(close, dz, np.inf))
        keys = i * self.n + j
        for kind, mask, attr, flag in (
            ("loss_of_separation", los, "los_keys", self.in_los),
            ("nmac", nmac, "nmac_keys", self.in_nmac),
            ("loss_of_well_clear", wcv, "wcv_keys", self.in_wcv),
        ):
            now, before = keys[mask], getattr(self, attr)
            # isin costs ~20 µs even on empty arrays: most ticks have nothing to compare
            new = ~np.isin(now, before) if now.size and before.size else np.ones(now.size, bool)
            setattr(self, attr, now)
            flag[:] = False
            flag[i[mask]] = True
            flag[j[mask]] = True
            for a, b, d1, d2 in zip(
                i[mask][new], j[mask][new], dh[mask][new], dz[mask][new], strict=True
            ):
                events.append(
                    Event(
                        tick,
                        time_s,
                        kind,
                        (self.ids[a], self.ids[b]),
                        {"horizontal_m": float(d1), "vertical_m": float(d2)},
                    )
                )
        events += self._fences(tick)
        for k, (sc, poly) in enumerate(self.sectors):
            band = self.valid & (self.alt >= sc.floor) & (self.alt <= sc.ceiling)
            idx = np.flatnonzero(band)
            self.sector_count[k] = int(shapely.contains_xy(poly, self.x[idx], self.y[idx]).sum())
        if self.min_alt is not None:
            low = self.valid & (self.alt < self.min_alt)
            for a in np.flatnonzero(low & ~self.low):
                events.append(
                    Event(
                        tick,
                        time_s,
                        "low_altitude",
                        (self.ids[a],),
                        {"altitude_m": float(self.alt[a])},
                    )
                )
            self.low = low
        events += clip_events(
            tick, time_s, self.ids, self.clip_mask, self.clip_prev,
            {CLIP_SPEED: "speed", CLIP_VS: "vertical_rate", CLIP_TURN: "turn_rate"},
        )  # fmt: skip
        self.clip_prev = self.clip_mask.copy()
        events += radius_goals(
            tick, time_s, self.ids, self.x, self.y, self.goal_xy, self.goal_r, self.goal_done,
            self.valid, self.tas,
        )  # fmt: skip
        return events

    def _fences(self, tick: int) -> list[Event]:
        """Aircraft inside an active geofence volume; depth = the smallest distance back
        out (to the polygon edge, the floor or the ceiling)."""
        inside = np.zeros(self.n, dtype=bool)
        depth = np.zeros(self.n)
        which = np.full(self.n, -1)
        t = tick * self.dt
        events: list[Event] = []
        for f, (gf, poly, (x0, y0, x1, y1)) in enumerate(self.fences):
            if not gf.active_from <= t < gf.active_until:
                continue
            cand = np.flatnonzero(
                self.valid
                & (self.x >= x0)
                & (self.x <= x1)
                & (self.y >= y0)
                & (self.y <= y1)
                & (self.alt >= gf.floor)
                & (self.alt <= gf.ceiling)
            )
            if cand.size == 0:
                continue
            hit = cand[shapely.contains_xy(poly, self.x[cand], self.y[cand])]
            if hit.size == 0:
                continue
            edge = shapely.distance(poly.exterior, shapely.points(self.x[hit], self.y[hit]))
            d = np.minimum(edge, np.minimum(self.alt[hit] - gf.floor, gf.ceiling - self.alt[hit]))
            inside[hit] = True
            better = d > depth[hit]
            depth[hit[better]] = d[better]
            which[hit[better]] = f
        for a in np.flatnonzero(inside & ~self.in_fence):
            events.append(
                Event(
                    tick,
                    t,
                    "geofence_breach",
                    (self.ids[a],),
                    {"geofence": self.fence_id[which[a]], "depth_m": float(depth[a])},
                )
            )
        self.in_fence, self.fence_depth = inside, depth
        return events

    def goals_reached(self) -> bool:
        return all_goals_done(self.controlled, self.has_goal, self.goal_done)

    # ------------------------------------------------------------------ recording
    def log_fields(self) -> dict[str, tuple[np.dtype, int]]:
        n = self.n
        f64 = np.dtype(np.float64)
        fields = {
            name: (f64, n)
            for name in (
                "x_m",
                "y_m",
                "heading_rad",
                "speed_mps",
                "alt_m",
                "hdg_rad",
                "tas_mps",
                "vs_mps",
                "ve_mps",
                "vn_mps",
                "bank_rad",
                "vaccel_mps2",
                "hsep_m",
                "vsep_m",
                "geofence_depth_m",
            )
        }
        fields.update(
            {
                name: (np.dtype(bool), n)
                for name in ("valid", "los", "nmac", "lowc", "conflict", "geofence", "low_altitude")
            }
        )
        fields["alert_level"] = (np.dtype(np.int8), n)
        fields["clipped"] = (np.dtype(np.int8), n)
        fields["wp_index"] = (np.dtype(np.int32), n)
        fields["wind_mps"] = (f64, 2)
        fields["sector_count"] = (np.dtype(np.int32), len(self.sectors))
        return fields

    def state(self) -> dict[str, np.ndarray]:
        gs = np.hypot(self.ve, self.vn)
        we, wn = self.wind.at(np.zeros(1))
        return {
            "x_m": self.x,
            "y_m": self.y,
            "heading_rad": np.pi / 2 - self.hdg,
            "speed_mps": gs,
            "alt_m": self.alt,
            "hdg_rad": self.hdg,
            "tas_mps": self.tas,
            "vs_mps": self.vs,
            "ve_mps": self.ve,
            "vn_mps": self.vn,
            "bank_rad": dyn.bank_angle(self.tas, self.turn_rate),
            "vaccel_mps2": self.vaccel,
            "hsep_m": self.hsep,
            "vsep_m": self.vsep,
            "geofence_depth_m": self.fence_depth,
            "valid": self.valid,
            "los": self.in_los,
            "nmac": self.in_nmac,
            "lowc": self.in_wcv,
            "conflict": self.in_conflict,
            "geofence": self.in_fence,
            "low_altitude": self.low,
            "alert_level": self.alert_level,
            "clipped": self.clip_mask,
            "wp_index": self.wp_idx,
            "wind_mps": np.array([np.ravel(we)[0], np.ravel(wn)[0]], dtype=float),
            "sector_count": self.sector_count,
        }

    def map_summary(self) -> dict[str, Any]:
        return {
            "geofences": [
                {
                    "id": gf.id,
                    "polygon": [list(map(float, p)) for p in poly.exterior.coords[:-1]],
                    "floor_m": gf.floor,
                    "ceiling_m": gf.ceiling,
                    "active_from_s": gf.active_from,
                    "active_until_s": gf.active_until if math.isfinite(gf.active_until) else None,
                }
                for gf, poly, _ in self.fences
            ],
            "separation_m": [self.R, self.H],
            "well_clear": {"dthr_m": self.dthr, "zthr_m": self.zthr, "tthr_s": self.tthr},
            "nmac_m": [self.nmac_h, self.nmac_v],
            "detection": {"lookahead_s": self.lookahead, "interval_s": self.cd_dt},
            "min_altitude_m": self.min_alt,
            "area": self.area,
            "sectors": [
                {
                    "id": sc.id,
                    "polygon": [list(map(float, p)) for p in poly.exterior.coords[:-1]],
                    "capacity": sc.capacity,
                }
                for sc, poly in self.sectors
            ],
        }
