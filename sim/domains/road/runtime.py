"""The road domain at run time: one structure-of-arrays fleet and the vectorised tick.

Every entity has a slot (its index in the scenario's road entities). Motion modes:
``BICYCLE`` (controlled by an agent; world-frame kinematic bicycle, then projected on its road),
``FRENET`` (background on a road: station s and lateral offset t, IDM or scripted),
``PATH`` (pedestrians/cyclists on a polyline) and ``STATIC``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from agents.protocol import frozen_array
from agents.road.types import (
    Objects,
    OwnState,
    RoadAction,
    RoadBriefing,
    RoadObservation,
    SignalAhead,
)
from sim.core.events import Event
from sim.core.geometry import box_corners, clamp, wrap_angle
from sim.domains.base import ActionInvalid, ActionNonFinite, EntityMeta, Footprints, clip_events
from sim.domains.road import dynamics as dyn
from sim.domains.road.network import SIGNAL_DARK, SIGNAL_NAMES, RoadNetwork
from sim.domains.road.schema import IDM, Path, RoadEntity, Static

BICYCLE, FRENET, PATH, STATIC = 0, 1, 2, 3
LONG_IDM, LONG_SCRIPTED = 0, 1
T_TIME, T_DISTANCE, T_GAP, T_HEADWAY, T_TTC, T_AFTER = 0, 1, 2, 3, 4, 5
A_SPEED, A_LANE, A_OFFSET, A_END = 0, 1, 2, 3
CLIP_ACCEL, CLIP_STEER, CLIP_JERK, CLIP_STEER_RATE = 1, 2, 4, 8
CLIP_NAMES = {
    CLIP_ACCEL: "accel",
    CLIP_STEER: "steer",
    CLIP_JERK: "jerk",
    CLIP_STEER_RATE: "steer_rate",
}
_GROUP_SPAN = 1.0e7  # > any road length: stations of one (road, lane) group stay apart
_MAX_LANES = 16


@dataclass(frozen=True)
class RoadFleet:
    """Dynamic state, all (N,). Replaced, never mutated, at each tick."""

    valid: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    heading_rad: np.ndarray
    speed_mps: np.ndarray
    accel_mps2: np.ndarray
    steer_rad: np.ndarray
    yaw_rate_radps: np.ndarray
    road: np.ndarray  # int32, -1 off the network
    s_m: np.ndarray
    t_m: np.ndarray
    seg: np.ndarray  # segment hint for projection
    path_s_m: np.ndarray  # station along the entity's own path (PATH mode)
    lane: np.ndarray  # int32 lane containing t (0 off the network), set with t each tick


@dataclass
class _Neighbours:
    """Vehicles sorted by (road, lane, s): the structure behind leader/follower queries.
    A vehicle changing lanes has an entry in both lanes; ``rank[i]`` is the position of
    vehicle i's entry in the lane it is in now."""

    keys: np.ndarray
    rows: np.ndarray
    rank: np.ndarray


class RoadRuntime:
    """Implements :class:`sim.domains.base.DomainRuntime` for roads."""

    name = "road"

    def __init__(
        self,
        scenario: Any,
        entities: Sequence[RoadEntity],
        ref_id: str,
        net: RoadNetwork | None = None,
    ) -> None:
        self.dt = float(scenario.dt)
        self.control_period = self.dt * scenario.control_every
        self.net = net if net is not None else RoadNetwork.build(scenario.map.road)
        net = self.net
        n = len(entities)
        self.n = n
        road_index = {r: i for i, r in enumerate(net.ids)}
        ids = tuple(e.id for e in entities)
        self.slot_of = {e: i for i, e in enumerate(ids)}
        self.kinds = tuple(e.kind for e in entities)
        dims = np.array([e.dims for e in entities], dtype=float).reshape(n, 2)
        self.length, self.width = dims[:, 0].copy(), dims[:, 1].copy()
        controlled = np.array([e.controlled for e in entities], dtype=bool)
        self.meta = EntityMeta(
            ids,
            self.kinds,
            controlled,
            self.length,
            self.width,
            tuple(e.goal.model_dump(exclude_none=True) if e.goal else None for e in entities),
            extra={"sensor_range_m": [e.sensor.range for e in entities]},
        )
        self.controlled = controlled
        self.ctl_rows = np.flatnonzero(controlled)
        self.vehicle = np.array([k not in ("pedestrian", "cyclist") for k in self.kinds])

        mode = np.full(n, FRENET, dtype=np.int8)
        # a controlled vehicle whose agent takes over later keeps lane and speed till then
        self.engage_tick = np.full(n, -1, dtype=np.int64)
        for i, e in enumerate(entities):
            if e.controlled and e.control_from > 0:
                self.engage_tick[i] = round(e.control_from / self.dt)
            elif e.controlled:
                mode[i] = BICYCLE
            elif isinstance(e.behaviour, Path):
                mode[i] = PATH
            elif isinstance(e.behaviour, Static) or e.kind == "obstacle":
                mode[i] = STATIC
        self.mode = mode

        # placement
        road = np.array([road_index[e.road] if e.road else -1 for e in entities], dtype=np.int32)
        lane_w = net.lane_width[np.maximum(road, 0)]
        s = np.array([e.s for e in entities], dtype=float)
        t = np.array([e.lane for e in entities], dtype=float) * lane_w + np.array(
            [e.offset for e in entities], dtype=float
        )
        on = road >= 0
        x, y, h = np.zeros(n), np.zeros(n), np.zeros(n)
        if on.any():
            x[on], y[on], h[on], _ = net.pose(road[on], s[on], t[on])
        for i, e in enumerate(entities):
            if e.x is not None:
                x[i], y[i] = e.x, e.y
                h[i] = e.heading if e.heading is not None else 0.0
            elif e.heading is not None:
                h[i] = h[i] + e.heading
        # paths: concatenated polylines, one per PATH entity
        self.path_start = np.zeros(n, dtype=int)
        self.path_end = np.zeros(n, dtype=int)
        pts: list[np.ndarray] = []
        cursor = 0
        for i, e in enumerate(entities):
            if mode[i] == PATH:
                p = np.asarray(e.behaviour.points, dtype=float)
                pts.append(p)
                self.path_start[i], self.path_end[i] = cursor, cursor + len(p) - 1
                cursor += len(p)
                x[i], y[i] = p[0]
                h[i] = math.atan2(p[1, 1] - p[0, 1], p[1, 0] - p[0, 0])
        # a walker given a road is tracked along it (station, lane) as it walks
        walker = (mode == PATH) & (road >= 0)
        if walker.any():
            s[walker], t[walker], _ = net.project(road[walker], x[walker], y[walker])
        self.path_pts = np.concatenate(pts) if pts else np.zeros((1, 2))
        seglen = np.hypot(*np.diff(self.path_pts, axis=0, append=self.path_pts[-1:]).T)
        self.path_cum = np.concatenate([[0.0], np.cumsum(seglen)[:-1]])

        seg = np.zeros(n, dtype=np.int64)
        if on.any():
            seg[on], _ = net.locate(road[on], s[on])
        speed = np.array([0.0 if mode[i] == STATIC else e.speed for i, e in enumerate(entities)])
        self.fleet = RoadFleet(
            valid=np.ones(n, dtype=bool),
            x_m=x,
            y_m=y,
            heading_rad=h,
            speed_mps=speed,
            accel_mps2=np.zeros(n),
            steer_rad=np.zeros(n),
            yaw_rate_radps=np.zeros(n),
            road=road,
            s_m=s,
            t_m=t,
            seg=seg,
            path_s_m=np.zeros(n),
            lane=net.lane_of(np.maximum(road, 0), t),
        )

        # longitudinal behaviour parameters (IDM defaults for every row: MOBIL evaluates
        # followers of any kind, the ego included)
        idm_defaults = IDM(type="idm")

        def idm_param(name: str) -> np.ndarray:
            return np.array(
                [
                    getattr(e.behaviour if isinstance(e.behaviour, IDM) else idm_defaults, name)
                    for e in entities
                ],
                dtype=float,
            )

        self.idm_v0 = np.array(
            [
                (
                    e.behaviour.desired_speed
                    if isinstance(e.behaviour, IDM) and e.behaviour.desired_speed is not None
                    else max(e.speed, 1.0)
                )
                for e in entities
            ],
            dtype=float,
        )
        self.idm_T = idm_param("time_headway")
        self.idm_s0 = idm_param("min_gap")
        self.idm_a = idm_param("max_accel")
        self.idm_b = idm_param("comfortable_decel")
        self.idm_delta = idm_param("delta")
        self.mobil_p = idm_param("politeness")
        self.mobil_th = idm_param("change_threshold")
        self.mobil_bsafe = idm_param("safe_decel")
        self.lat_speed = idm_param("lateral_speed")
        is_idm = np.array([isinstance(e.behaviour, IDM) for e in entities], dtype=bool)
        self.mobil = is_idm & np.array(
            [isinstance(e.behaviour, IDM) and e.behaviour.lane_changes for e in entities],
            dtype=bool,
        )
        self.long_mode = np.where(is_idm, LONG_IDM, LONG_SCRIPTED).astype(np.int8)
        self.target_speed = speed.copy()
        self.target_rate = np.zeros(n)  # 0: step change
        # lane changes in progress
        self.lc_active = np.zeros(n, dtype=bool)
        self.lc_t0 = np.zeros(n)
        self.lc_delta = np.zeros(n)
        self.lc_tick0 = np.zeros(n, dtype=np.int64)
        self.lc_T = np.ones(n)
        self.lc_sin = np.ones(n, dtype=bool)
        # MOBIL decisions once a second for every vehicle at once (highway-env decides at its
        # policy frequency, 1 Hz by default): one vectorised pass instead of one per tick
        self.mobil_every = max(1, round(1.0 / self.dt))
        self.has_mobil = bool(self.mobil.any())

        # controlled entities: limits, commands, sensors, goals
        lim = [e.limits for e in entities]
        self.max_accel = np.array([li.max_accel for li in lim])
        self.max_decel = np.array([li.max_decel for li in lim])
        self.max_jerk = np.array([li.max_jerk for li in lim])
        self.max_steer = np.array([li.max_steer for li in lim])
        self.max_steer_rate = np.array([li.max_steer_rate for li in lim])
        self.max_speed = np.array([li.max_speed for li in lim])
        self.wheelbase = np.array(
            [li.wheelbase or 0.6 * self.length[i] for i, li in enumerate(lim)]
        )
        self.cmd_accel = np.zeros(n)
        self.cmd_steer = np.zeros(n)
        self.clip_mask = np.zeros(n, dtype=np.int8)
        self.clip_prev = np.zeros(n, dtype=np.int8)
        self.sensor_range = np.array([e.sensor.range for e in entities])
        self.sensor_fov = np.array([e.sensor.fov for e in entities])
        self.goals = [e.goal for e in entities]
        self.goal_done = np.array([g is None for g in self.goals], dtype=bool)
        self.goals_open = int((~self.goal_done).sum())
        self.has_goal = any(g is not None for i, g in enumerate(self.goals) if controlled[i])
        self.goal_road = np.array(
            [road_index[g.road] if g is not None and g.road else -1 for g in self.goals]
        )
        self.goal_s = np.array(
            [g.s if g is not None and g.s is not None else np.inf for g in self.goals]
        )
        self.goal_xy = np.array(
            [
                (g.x, g.y) if g is not None and g.x is not None else (np.nan, np.nan)
                for g in self.goals
            ],
            dtype=float,
        )
        self.goal_r = np.array([g.radius if g is not None else 0.0 for g in self.goals])

        self._build_manoeuvres(entities, ref_id)
        # monitor state (rising edges)
        self.offroad = np.zeros(n, dtype=bool)
        self.out_of_lane = np.zeros(n, dtype=bool)
        self.over_limit = np.zeros(n, dtype=bool)
        self.front_prev = self.fleet.s_m + 0.5 * self.length
        self.road_prev = self.fleet.road.copy()
        self.sig_state = net.signal_states(0.0)
        self.dark: set[int] = set()  # signals switched off by a fault
        # in the network's (sorted) signal order
        by_id = {sg.id: sg for sg in scenario.map.road.signals}
        sigs = [by_id[i] for i in net.sig_ids]
        self.external = {i: sg.external for i, sg in enumerate(sigs) if sg.external}
        self.box_length = np.array([sg.box_length for sg in sigs], dtype=float)
        self.bus: Mapping[str, Any] = {}

    # ------------------------------------------------------------------ manoeuvres
    def _build_manoeuvres(self, entities: Sequence[RoadEntity], ref_id: str) -> None:
        rows: list[tuple] = []
        names = [m.id for e in entities for m in e.manoeuvres]
        row_of = {name: k for k, name in enumerate(names) if name}
        for i, e in enumerate(entities):
            for m in e.manoeuvres:
                w = m.when
                ref = self.slot_of.get(w.to or ref_id, -1)
                after = -1
                if w.at_time is not None:
                    kind, thr = T_TIME, w.at_time
                elif w.distance_below is not None:
                    kind, thr = T_DISTANCE, w.distance_below
                elif w.gap_below is not None:
                    kind, thr = T_GAP, w.gap_below
                elif w.headway_below is not None:
                    kind, thr = T_HEADWAY, w.headway_below
                elif w.ttc_below is not None:
                    kind, thr = T_TTC, w.ttc_below
                else:
                    kind, thr, after = T_AFTER, 0.0, row_of[w.after]
                delay = round(w.delay / self.dt)
                other = -1
                if m.speed is not None:
                    sp = m.speed
                    rate = sp.acceleration or 0.0
                    p = (A_SPEED, sp.target, rate, sp.duration or 0.0, 0.0)
                    if sp.relative_to is not None:
                        other = self.slot_of[sp.relative_to]
                elif m.brake is not None:
                    p = (A_SPEED, m.brake.to_speed, m.brake.deceleration, 0.0, 0.0)
                elif m.lane_change is not None:
                    lc = m.lane_change
                    rel = lc.lanes is not None
                    if lc.of is not None:
                        other = self.slot_of[lc.of]
                    p = (
                        A_LANE,
                        float(lc.lanes if rel else lc.to_lane),
                        lc.lateral_speed,
                        1.0 if rel else 0.0,
                        1.0 if lc.shape == "sinusoidal" else 0.0,
                    )
                elif m.lane_offset is not None:
                    lo = m.lane_offset
                    p = (A_OFFSET, lo.offset, lo.max_lateral_accel, 0.0, 1.0)
                else:
                    p = (A_END, 0.0, 0.0, 0.0, 0.0)
                rows.append((i, kind, ref, thr, delay, *p, after, other))
        arr = np.array(rows, dtype=float).reshape(len(rows), 12)
        self.m_entity = arr[:, 0].astype(int)
        self.m_trigger = arr[:, 1].astype(int)
        self.m_ref = arr[:, 2].astype(int)
        self.m_thr = arr[:, 3]
        self.m_delay = arr[:, 4].astype(int)
        self.m_action = arr[:, 5].astype(int)
        self.m_p = arr[:, 6:10]
        self.m_after = arr[:, 10].astype(int)  # row of the manoeuvre an `after` waits for
        # slot whose lane a lane change counts from, or whose speed a speed change adds to
        self.m_other = arr[:, 11].astype(int)
        self.m_id = tuple(names)
        self.m_state = np.zeros(len(rows), dtype=np.int8)  # 0 pending, 1 armed, 2 done
        self.m_fire = np.zeros(len(rows), dtype=np.int64)
        self.m_go = np.full(len(rows), -1, dtype=np.int64)  # tick it started
        self.m_ended = np.zeros(len(rows), dtype=bool)  # its action reached its target
        self.m_open = len(rows)  # manoeuvres not yet started
        self.m_waits = bool((self.m_trigger == T_AFTER).any())

    def _pair_gap(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Free-space gap between i and j (along the road when both are on the same one)
        and a mask of pairs where i is behind j. All (P,)."""
        f = self.fleet
        same = (f.road[i] == f.road[j]) & (f.road[i] >= 0)
        ds = f.s_m[j] - f.s_m[i]
        rl = self.net.length[np.maximum(f.road[i], 0)]
        closed = self.net.closed[np.maximum(f.road[i], 0)] & same
        ds = np.where(closed, (ds + 0.5 * rl) % rl - 0.5 * rl, ds)
        euclid = np.hypot(f.x_m[j] - f.x_m[i], f.y_m[j] - f.y_m[i])
        centre = np.where(same, np.abs(ds), euclid)
        # off-road pairs: i is behind when j lies ahead along i's heading
        ahead = (f.x_m[j] - f.x_m[i]) * np.cos(f.heading_rad[i]) + (f.y_m[j] - f.y_m[i]) * np.sin(
            f.heading_rad[i]
        )
        behind = np.where(same, ds > 0, ahead > 0)
        return centre - 0.5 * (self.length[i] + self.length[j]), behind

    def _ended(self) -> None:
        """Mark started manoeuvres whose action has ended: a lateral move at its target (or
        replaced by a later one), a speed change at its target speed (or replaced)."""
        f = self.fleet
        rows = np.flatnonzero((self.m_state == 2) & ~self.m_ended)
        if rows.size == 0:
            return
        e, act = self.m_entity[rows], self.m_action[rows]
        lateral = (act == A_LANE) | (act == A_OFFSET)
        lat_done = ~self.lc_active[e] | (self.lc_tick0[e] != self.m_go[rows])
        target = self.m_p[rows, 0]
        speed_done = (
            (self.long_mode[e] != LONG_SCRIPTED)
            | (self.target_speed[e] != target)
            | (np.abs(f.speed_mps[e] - target) < 1e-6)
        )
        done = np.where(lateral, lat_done, np.where(act == A_SPEED, speed_done, True))
        self.m_ended[rows[done]] = True

    def _manoeuvres(self, tick: int) -> list[Event]:
        if self.m_open == 0:
            return []
        f = self.fleet
        if self.m_waits:
            self._ended()
        pend = np.flatnonzero(self.m_state == 0)
        if pend.size:
            i, j = self.m_entity[pend], self.m_ref[pend]
            kind, thr = self.m_trigger[pend], self.m_thr[pend]
            jj = np.maximum(j, 0)
            gap, i_behind = self._pair_gap(i, jj)
            v_rear = np.where(i_behind, f.speed_mps[i], f.speed_mps[jj])
            v_front = np.where(i_behind, f.speed_mps[jj], f.speed_mps[i])
            closing = v_rear - v_front
            with np.errstate(divide="ignore", invalid="ignore"):
                headway = np.where(v_rear > 0, gap / v_rear, np.inf)
                ttc = np.where(closing > 0, gap / closing, np.inf)
            dist = np.hypot(f.x_m[jj] - f.x_m[i], f.y_m[jj] - f.y_m[i])
            value = np.select(
                [kind == T_TIME, kind == T_DISTANCE, kind == T_GAP, kind == T_HEADWAY],
                [np.full(pend.size, tick * self.dt), dist, gap, headway],
                ttc,
            )
            met = np.where(kind == T_TIME, value >= thr - 1e-9, value < thr)
            met &= f.valid[i] & ((j >= 0) | (kind == T_TIME))
            if self.m_waits:
                wait = kind == T_AFTER
                met = np.where(wait, f.valid[i] & self.m_ended[self.m_after[pend]], met)
            fired = pend[met]
            self.m_state[fired] = 1
            self.m_fire[fired] = tick + self.m_delay[fired]
        go = np.flatnonzero((self.m_state == 1) & (self.m_fire <= tick))
        if go.size == 0:
            return []
        self.m_state[go] = 2
        self.m_go[go] = tick
        self.m_open = int((self.m_state < 2).sum())
        events: list[Event] = []
        sp = go[self.m_action[go] == A_SPEED]
        if sp.size:
            rel = self.m_other[sp]
            if (rel >= 0).any():  # relative targets: fixed now, from the other's speed
                base = np.where(rel >= 0, f.speed_mps[np.maximum(rel, 0)], 0.0)
                self.m_p[sp, 0] = np.maximum(self.m_p[sp, 0] + base, 0.0)
                self.m_other[sp] = -1
            e, q = self.m_entity[sp], self.m_p[sp]
            dur_rate = np.abs(q[:, 0] - f.speed_mps[e]) / np.where(q[:, 2] > 0, q[:, 2], 1.0)
            rate = np.where(q[:, 1] > 0, q[:, 1], np.where(q[:, 2] > 0, dur_rate, 0.0))
            self.long_mode[e] = LONG_SCRIPTED
            self.target_speed[e] = q[:, 0]
            self.target_rate[e] = rate
            events += [
                self._manoeuvre_event(
                    tick,
                    k,
                    self.m_id[r],
                    action="speed",
                    target_mps=float(tv),
                    rate_mps2=float(rv) if rv > 0 else "step",
                )
                for r, k, tv, rv in zip(sp, e, q[:, 0], rate, strict=True)
            ]
        lc = go[self.m_action[go] == A_LANE]
        if lc.size:
            e, q = self.m_entity[lc], self.m_p[lc]
            road = np.maximum(f.road[e], 0)
            w = self.net.lane_width[road]
            cur = f.lane[e]
            base = np.where(self.m_other[lc] >= 0, f.lane[np.maximum(self.m_other[lc], 0)], cur)
            target = np.where(q[:, 2] > 0, base + q[:, 0], q[:, 0])
            target = clamp(target, 0, self.net.lanes[road] - 1).astype(int)
            self._start_lane_change(e, target * w - f.t_m[e], q[:, 1], q[:, 3] > 0, tick)
            events += [
                self._manoeuvre_event(
                    tick,
                    k,
                    self.m_id[r],
                    action="lane_change",
                    from_lane=int(a),
                    to_lane=int(b),
                    lateral_speed_mps=float(ls),
                )
                for r, k, a, b, ls in zip(lc, e, cur, target, q[:, 1], strict=True)
            ]
        off = go[self.m_action[go] == A_OFFSET]
        if off.size:
            e, q = self.m_entity[off], self.m_p[off]
            road = np.maximum(f.road[e], 0)
            delta = f.lane[e] * self.net.lane_width[road] + q[:, 0] - f.t_m[e]
            # sinusoidal profile: peak lateral acceleration a = |Δ|π²/(2T²) and peak lateral
            # speed v = |Δ|π/(2T), so the v that gives T is √(|Δ|·a / 2)
            lat_speed = np.sqrt(np.abs(delta) * q[:, 1] / 2.0)
            self._start_lane_change(e, delta, np.maximum(lat_speed, 1e-9), q[:, 3] > 0, tick)
            events += [
                self._manoeuvre_event(
                    tick,
                    k,
                    self.m_id[r],
                    action="lane_offset",
                    offset_m=float(o),
                    max_lateral_accel_mps2=float(a),
                )
                for r, k, o, a in zip(off, e, q[:, 0], q[:, 1], strict=True)
            ]
        for r in go[self.m_action[go] == A_END]:
            k = int(self.m_entity[r])
            events.append(
                Event(tick, tick * self.dt, "end", (self.meta.ids[k],), {"manoeuvre": self.m_id[r]})
            )
        return events

    def _manoeuvre_event(self, tick: int, slot: int, name: str | None, **details: Any) -> Event:
        if name:  # named manoeuvres (an imported OpenSCENARIO action) say which they are
            details = {"id": name, **details}
        return Event(tick, tick * self.dt, "manoeuvre", (self.meta.ids[slot],), details)

    def _start_lane_change(
        self,
        e: np.ndarray,
        delta: np.ndarray,
        lat_speed: np.ndarray,
        sinusoidal: np.ndarray,
        tick: int,
    ) -> None:
        self.lc_active[e] = np.abs(delta) > 1e-6
        self.lc_t0[e] = self.fleet.t_m[e]
        self.lc_delta[e] = delta
        self.lc_tick0[e] = tick
        self.lc_sin[e] = sinusoidal
        self.lc_T[e] = np.maximum(dyn.lane_change_duration(delta, lat_speed, sinusoidal), 1e-6)

    # ------------------------------------------------------------------ neighbours
    def _sorted(self, member: np.ndarray) -> _Neighbours:
        f = self.fleet
        rows = np.flatnonzero(member)
        lane = f.lane[rows]
        primary = np.ones(rows.size, dtype=bool)
        changing = self.lc_active[rows]
        if changing.any():
            # a vehicle moving between lanes occupies both: followers in either lane see it
            c = rows[changing]
            other = self._other_lane(c, lane[changing])
            rows = np.concatenate([rows, c])
            lane = np.concatenate([lane, other])
            primary = np.concatenate([primary, np.zeros(c.size, dtype=bool)])
        key = (f.road[rows].astype(float) * _MAX_LANES + lane) * _GROUP_SPAN + f.s_m[rows]
        order = np.argsort(key, kind="stable")
        rows, primary = rows[order], primary[order]
        rank = np.zeros(self.n, dtype=np.int64)
        rank[rows[primary]] = np.flatnonzero(primary)
        return _Neighbours(key[order], rows, rank)

    def _other_lane(self, rows: np.ndarray, lane_now: np.ndarray) -> np.ndarray:
        """For vehicles changing lanes: the lane of origin or target they are not in now."""
        road = self.fleet.road[rows]
        origin = self.net.lane_of(road, self.lc_t0[rows])
        target = self.net.lane_of(road, self.lc_t0[rows] + self.lc_delta[rows])
        return np.where(lane_now == origin, target, origin)

    def _query(
        self,
        nb: _Neighbours,
        road: np.ndarray,
        lane: np.ndarray,
        s: np.ndarray,
        self_rank: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Leader and follower rows (or -1) and their centre-to-centre station distances in
        lane ``lane`` of ``road`` around station ``s``; closed roads wrap around."""
        g = (road.astype(float) * _MAX_LANES + lane) * _GROUP_SPAN
        start = np.searchsorted(nb.keys, g, side="left")
        end = np.searchsorted(nb.keys, g + _GROUP_SPAN, side="left")
        if self_rank is None:
            # 'right': a lane changer's own entry in the queried lane is not its leader
            p = np.searchsorted(nb.keys, g + s, side="right")
            p_lead, p_fol = p, p - 1
        else:
            p_lead, p_fol = self_rank + 1, self_rank - 1
        closed = self.net.closed[road]
        rl = self.net.length[road]
        nonempty = end > start
        m = max(nb.rows.size - 1, 0)
        lead_in = p_lead < end
        lead_wrap = ~lead_in & closed & nonempty
        pl = clamp(np.where(lead_in, p_lead, start), 0, m)
        leader = np.where(lead_in | lead_wrap, nb.rows[pl] if nb.rows.size else -1, -1)
        fol_in = (p_fol >= start) & (p_fol < end)
        fol_wrap = ~fol_in & closed & nonempty
        pf = clamp(np.where(fol_in, p_fol, end - 1), 0, m)
        follower = np.where(fol_in | fol_wrap, nb.rows[pf] if nb.rows.size else -1, -1)
        s_all = self.fleet.s_m
        ds_lead = np.where(
            leader >= 0, s_all[np.maximum(leader, 0)] - s + np.where(lead_wrap, rl, 0.0), np.inf
        )
        ds_fol = np.where(
            follower >= 0, s - s_all[np.maximum(follower, 0)] + np.where(fol_wrap, rl, 0.0), np.inf
        )
        if self_rank is not None:
            me = nb.rows[self_rank]
            leader = np.where(leader == me, -1, leader)
            follower = np.where(follower == me, -1, follower)
            ds_lead = np.where(leader < 0, np.inf, ds_lead)
            ds_fol = np.where(follower < 0, np.inf, ds_fol)
        return leader, ds_lead, follower, ds_fol

    def _idm(self, rows: np.ndarray, leader: np.ndarray, ds: np.ndarray) -> np.ndarray:
        """IDM acceleration of ``rows`` behind ``leader`` (-1: free road) at centre distance
        ``ds``."""
        f = self.fleet
        has = leader >= 0
        lj = np.maximum(leader, 0)
        gap = ds - 0.5 * (self.length[rows] + self.length[lj])
        dv = f.speed_mps[rows] - np.where(has, f.speed_mps[lj], 0.0)
        return dyn.idm_accel(
            f.speed_mps[rows],
            self.idm_v0[rows],
            gap,
            dv,
            has,
            self.idm_a[rows],
            self.idm_b[rows],
            self.idm_s0[rows],
            self.idm_T[rows],
            self.idm_delta[rows],
        )

    # ------------------------------------------------------------------ the tick
    def step(self, tick: int) -> list[Event]:
        """Manoeuvres, behaviours and integration from ``tick`` to ``tick + 1``."""
        events = self._manoeuvres(tick)
        f = self.fleet
        engage = np.flatnonzero(self.engage_tick == tick)
        if engage.size:  # the agent takes over: from here its actions drive the vehicle
            self.mode[engage] = BICYCLE
            self.engage_tick[engage] = -1
            events += [
                Event(tick, tick * self.dt, "control", (self.meta.ids[k],), {"engaged": True})
                for k in engage
            ]
        accel = np.zeros(self.n)
        frenet = np.flatnonzero(f.valid & (self.mode == FRENET))
        path = np.flatnonzero(f.valid & (self.mode == PATH))
        # scripted speed law (FRENET and PATH rows): reach the target at the given rate
        moving = np.concatenate([frenet, path]) if path.size else frenet
        if moving.size:
            err = (self.target_speed[moving] - f.speed_mps[moving]) / self.dt
            rate = self.target_rate[moving]
            accel[moving] = np.where(rate > 0, clamp(err, -rate, rate), err)
        idm = frenet[self.long_mode[frenet] == LONG_IDM]
        if idm.size:  # leader search only when someone drives by IDM
            nb = self._sorted(f.valid & (f.road >= 0) & self.vehicle)
            accel[idm] = np.maximum(self._idm_rows(idm, nb), -self.max_decel[idm])
            if self.has_mobil and tick % self.mobil_every == 0:
                self._mobil(tick, nb, accel)
        self._integrate(tick, accel, frenet, path)
        return events

    def _idm_rows(self, rows: np.ndarray, nb: _Neighbours) -> np.ndarray:
        """IDM acceleration of ``rows``: behind their leader, the nearer of two leaders while
        changing lanes, and stopping for a red (or a stoppable yellow) signal."""
        f = self.fleet
        net = self.net
        road, s = f.road[rows], f.s_m[rows]
        lane = f.lane[rows]
        leader, ds, _, _ = self._query(nb, road, lane, s, nb.rank[rows])
        a = self._idm(rows, leader, ds)
        changing = self.lc_active[rows]
        if changing.any():
            cr = rows[changing]
            other = self._other_lane(cr, lane[changing])
            l2, ds2, _, _ = self._query(nb, road[changing], other, s[changing])
            l2 = np.where(l2 == cr, -1, l2)
            ds2 = np.where(l2 < 0, np.inf, ds2)
            a[changing] = np.minimum(a[changing], self._idm(cr, l2, ds2))
        if net.sig_ids:
            # a stationary virtual leader at the stop line
            front = s + 0.5 * self.length[rows]
            nxt = net.next_signal(road, front)
            k = np.maximum(nxt, 0)
            gap_sig = net.sig_s[k] - front
            v = f.speed_mps[rows]
            st = self.sig_state[k]
            stoppable = gap_sig >= v * v / (2.0 * self.idm_b[rows])
            stop = (nxt >= 0) & ((st == 2) | ((st == 1) & stoppable))
            if stop.any():
                a_sig = dyn.idm_accel(
                    v,
                    self.idm_v0[rows],
                    gap_sig,
                    v,
                    stop,
                    self.idm_a[rows],
                    self.idm_b[rows],
                    np.ones(rows.size),
                    self.idm_T[rows],
                    self.idm_delta[rows],
                )
                a = np.where(stop, np.minimum(a, a_sig), a)
        return a

    def _mobil(self, tick: int, nb: _Neighbours, accel: np.ndarray) -> None:
        """MOBIL lane-change decisions (Kesting, Treiber & Helbing, TRR 1999 (2007) 86-94),
        as in highway-env ``IDMVehicle.mobil``: change when the safety criterion
        ã_new_follower ≥ −b_safe holds and the incentive
        ã_c − a_c + p·(ã_n − a_n + ã_o − a_o) exceeds Δa_th."""
        f = self.fleet
        due = (
            self.mobil
            & f.valid
            & ~self.lc_active
            & (self.mode == FRENET)
            & (tick % self.mobil_every == 0)
            & (f.road >= 0)
        )
        c = np.flatnonzero(due)
        if c.size == 0:
            return
        net = self.net
        road, s = f.road[c], f.s_m[c]
        lane = f.lane[c]
        lo, ds_lo, fo, ds_fo = self._query(nb, road, lane, s, nb.rank[c])
        a_c = accel[c]
        # old follower now (behind c) and after c leaves (behind c's leader)
        has_fo = fo >= 0
        fo_ = np.maximum(fo, 0)
        a_o = np.where(has_fo, self._idm(fo_, c, ds_fo), 0.0)
        a_o_new = np.where(has_fo, self._idm(fo_, lo, ds_fo + ds_lo), 0.0)
        best_gain = np.full(c.size, -np.inf)
        best_dir = np.zeros(c.size)
        for d in (-1, 1):
            tl = lane + d
            ok = (tl >= 0) & (tl < net.lanes[road])
            tl_c = clamp(tl, 0, net.lanes[road] - 1)
            ln, ds_ln, fn, ds_fn = self._query(nb, road, tl_c, s)
            a_c_new = self._idm(c, ln, ds_ln)
            has_fn = fn >= 0
            fn_ = np.maximum(fn, 0)
            a_n = np.where(has_fn, self._idm(fn_, ln, ds_fn + ds_ln), 0.0)
            a_n_new = np.where(has_fn, self._idm(fn_, c, ds_fn), 0.0)
            half = 0.5 * self.length[c]
            room = ((ds_ln - half - 0.5 * self.length[np.maximum(ln, 0)]) > 0) & (
                (ds_fn - half - 0.5 * self.length[fn_]) > 0
            )
            safe = (
                (~has_fn | (a_n_new >= -self.mobil_bsafe[c]))
                & (a_c_new >= -self.mobil_bsafe[c])
                & room
            )
            gain = a_c_new - a_c + self.mobil_p[c] * ((a_n_new - a_n) + (a_o_new - a_o))
            take = ok & safe & (gain > self.mobil_th[c]) & (gain > best_gain)
            best_gain = np.where(take, gain, best_gain)
            best_dir = np.where(take, d, best_dir)
        go = best_dir != 0
        if go.any():
            e = c[go]
            w = net.lane_width[f.road[e]]
            target = (lane[go] + best_dir[go]) * w
            self._start_lane_change(
                e, target - f.t_m[e], self.lat_speed[e], np.ones(e.size, dtype=bool), tick
            )

    def _integrate(
        self, tick: int, accel: np.ndarray, frenet: np.ndarray, path: np.ndarray
    ) -> None:
        f = self.fleet
        net = self.net
        dt = self.dt
        x, y, h = f.x_m.copy(), f.y_m.copy(), f.heading_rad.copy()
        v, a_out = f.speed_mps.copy(), f.accel_mps2.copy()
        steer, yaw = f.steer_rad.copy(), np.zeros(self.n)
        road, s, t, seg = f.road.copy(), f.s_m.copy(), f.t_m.copy(), f.seg.copy()
        valid, ps = f.valid.copy(), f.path_s_m.copy()

        if frenet.size:
            r = frenet
            v_new, dist = dyn.advance_speed(f.speed_mps[r], accel[r], dt)
            kappa = net.seg_kappa[seg[r]]
            s_new = s[r] + dist / np.maximum(1.0 - kappa * t[r], 0.1)
            t_new = t[r]
            lc = self.lc_active[r]
            if lc.any():
                tau = (tick + 1 - self.lc_tick0[r]) * dt / self.lc_T[r]
                t_new = np.where(
                    lc,
                    dyn.lane_change_offset(self.lc_t0[r], self.lc_delta[r], tau, self.lc_sin[r]),
                    t_new,
                )
                self.lc_active[r] = lc & (tau < 1.0)
            # end of road: wrap a loop, continue on the successor, or leave the scenario
            rl = net.length[road[r]]
            over = s_new > rl
            if over.any():
                closed = net.closed[road[r]]
                succ = net.successor[road[r]]
                s_new = np.where(over & closed, s_new - rl, s_new)
                moved = over & ~closed & (succ >= 0)
                s_new = np.where(moved, s_new - rl, s_new)
                road[r] = np.where(moved, succ, road[r])
                gone = over & ~closed & (succ < 0)
                valid[r] = valid[r] & ~gone
                s_new = np.where(gone, rl, s_new)
            xr, yr, hr, seg[r] = net.pose_seg(road[r], s_new, t_new)
            lat_v = (t_new - t[r]) / dt
            x[r], y[r] = xr, yr
            h[r] = hr + np.arctan2(lat_v, np.maximum(v_new, 0.1))
            yaw[r] = wrap_angle(h[r] - f.heading_rad[r]) / dt
            v[r], a_out[r], s[r], t[r] = v_new, accel[r], s_new, t_new

        ctl = np.flatnonzero(f.valid & (self.mode == BICYCLE))
        if ctl.size:
            self._integrate_controlled(ctl, x, y, h, v, a_out, steer, yaw, road, s, t, seg)

        if path.size:
            r = path
            v_new, dist = dyn.advance_speed(f.speed_mps[r], accel[r], dt)
            total = self.path_cum[self.path_end[r]]
            ps[r] = np.minimum(ps[r] + dist, total)
            v_new = np.where(ps[r] >= total, 0.0, v_new)
            g = self.path_cum[self.path_start[r]] + ps[r]
            k = np.searchsorted(self.path_cum, g, side="right") - 1
            k = clamp(k, self.path_start[r], self.path_end[r] - 1)
            seglen = self.path_cum[k + 1] - self.path_cum[k]
            fr = clamp((g - self.path_cum[k]) / np.where(seglen > 0, seglen, 1.0), 0, 1)
            p0, p1 = self.path_pts[k], self.path_pts[k + 1]
            x[r] = p0[:, 0] + fr * (p1[:, 0] - p0[:, 0])
            y[r] = p0[:, 1] + fr * (p1[:, 1] - p0[:, 1])
            h[r] = np.arctan2(p1[:, 1] - p0[:, 1], p1[:, 0] - p0[:, 0])
            v[r], a_out[r] = v_new, accel[r]
            on = r[road[r] >= 0]
            if on.size:
                s[on], t[on], seg[on] = net.project(road[on], x[on], y[on], seg[on])

        lane = self.net.lane_of(np.maximum(road, 0), t)
        self.fleet = dataclasses.replace(
            f,
            lane=lane,
            valid=valid,
            x_m=x,
            y_m=y,
            heading_rad=h,
            speed_mps=v,
            accel_mps2=a_out,
            steer_rad=steer,
            yaw_rate_radps=yaw,
            road=road,
            s_m=s,
            t_m=t,
            seg=seg,
            path_s_m=ps,
        )

    def _integrate_controlled(
        self, c: np.ndarray, x, y, h, v, a_out, steer, yaw, road, s, t, seg
    ) -> None:
        f = self.fleet
        dt = self.dt
        # actuator limits: jerk and steering rate act on what the agent asked for; the
        # motion uses each actuator's mean over the tick, the state keeps its end value
        a_cmd = self.cmd_accel[c]
        a, a_mean = dyn.rate_limited(f.accel_mps2[c], a_cmd, self.max_jerk[c], dt)
        d_cmd = self.cmd_steer[c]
        d, d_mean = dyn.rate_limited(f.steer_rad[c], d_cmd, self.max_steer_rate[c], dt)
        mask = self.clip_mask[c] & (CLIP_ACCEL | CLIP_STEER)
        mask = mask | np.where(a != a_cmd, CLIP_JERK, 0) | np.where(d != d_cmd, CLIP_STEER_RATE, 0)
        self.clip_mask[c] = mask
        # never beyond the top speed
        room = (self.max_speed[c] - f.speed_mps[c]) / dt
        a, a_mean = np.minimum(a, room), np.minimum(a_mean, room)
        xn, yn, hn, vn, wn = dyn.bicycle_step(
            f.x_m[c], f.y_m[c], f.heading_rad[c], f.speed_mps[c], a_mean, d_mean,
            self.wheelbase[c], dt,
        )  # fmt: skip
        x[c], y[c], h[c], v[c], a_out[c], steer[c], yaw[c] = xn, yn, hn, vn, a, d, wn
        sn, tn, kn = self.net.project(road[c], xn, yn, seg[c])
        # past the end of the road: onto the successor, or round the loop
        rl = self.net.length[road[c]]
        succ = self.net.successor[road[c]]
        at_end = (sn >= rl - 1e-6) & (succ >= 0)
        if at_end.any():
            rc = np.where(at_end, succ, road[c])
            s2, t2, k2 = self.net.project(rc, xn, yn)
            sn, tn, kn = (
                np.where(at_end, s2, sn),
                np.where(at_end, t2, tn),
                np.where(at_end, k2, kn),
            )
            road[c] = rc
        s[c], t[c], seg[c] = sn, tn, kn

    # ------------------------------------------------------------------ agents
    def apply_action(self, slot: int, action: Any) -> None:
        if isinstance(action, Mapping):
            try:
                action = RoadAction(float(action["accel_mps2"]), float(action["steer_rad"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ActionInvalid(
                    f"expected a RoadAction(accel_mps2, steer_rad), got {action!r} ({exc})"
                ) from None
        if not isinstance(action, RoadAction):
            raise ActionInvalid(
                f"expected a RoadAction(accel_mps2, steer_rad), got {type(action).__name__}"
            )
        try:
            a, d = float(action.accel_mps2), float(action.steer_rad)
        except (TypeError, ValueError):
            raise ActionInvalid(f"action fields must be numbers, got {action!r}") from None
        if not (math.isfinite(a) and math.isfinite(d)):
            raise ActionNonFinite(f"action holds a non-finite value: {action!r}")
        a_c = min(max(a, -self.max_decel[slot]), self.max_accel[slot])
        d_c = min(max(d, -self.max_steer[slot]), self.max_steer[slot])
        self.cmd_accel[slot], self.cmd_steer[slot] = a_c, d_c
        self.clip_mask[slot] = (CLIP_ACCEL if a != a_c else 0) | (CLIP_STEER if d != d_c else 0)

    def hold_action(self, slot: int) -> None:
        """Keep the previous command (nothing to do: commands persist)."""

    def environment_fault(self, kind: str, params: dict[str, Any], active: bool) -> str | None:
        """Fault hook: ``traffic_light_dark`` switches a signal off (state 'dark': no red
        light to pass; drivers must treat the junction as uncontrolled) until the end."""
        if kind != "traffic_light_dark":
            return f"the road domain has no {kind!r} fault"
        ids = list(self.net.sig_ids)
        if params["signal"] not in ids:
            return f"no signal {params['signal']!r} (signals: {', '.join(ids)})"
        k = ids.index(params["signal"])
        self.dark = self.dark | {k} if active else self.dark - {k}
        return None

    def fallback_action(self, slot: int) -> RoadAction:
        """Safe command after an agent fault: brake to a stop in lane at up to 4 m/s² (the
        deceleration bound of UN R157's minimal risk manoeuvre), steering as it was."""
        return RoadAction(-min(4.0, float(self.max_decel[slot])), float(self.cmd_steer[slot]))

    def briefing(self, slot: int) -> RoadBriefing:
        net = self.net
        g = self.goals[slot]
        roads = tuple(
            {
                "id": rid,
                "lanes": int(net.lanes[i]),
                "lane_width_m": float(net.lane_width[i]),
                "length_m": float(net.length[i]),
                "closed": bool(net.closed[i]),
                "successor": net.ids[net.successor[i]] if net.successor[i] >= 0 else None,
                "speed_limits_mps": [float(v) for v in net.speed_limit[i, : net.lanes[i]]],
            }
            for i, rid in enumerate(net.ids)
        )
        return RoadBriefing(
            entity_id=self.meta.ids[slot],
            kind=self.kinds[slot],
            length_m=float(self.length[slot]),
            width_m=float(self.width[slot]),
            wheelbase_m=float(self.wheelbase[slot]),
            max_accel_mps2=float(self.max_accel[slot]),
            max_decel_mps2=float(self.max_decel[slot]),
            max_jerk_mps3=float(self.max_jerk[slot]),
            max_steer_rad=float(self.max_steer[slot]),
            max_steer_rate_radps=float(self.max_steer_rate[slot]),
            max_speed_mps=float(self.max_speed[slot]),
            dt_s=self.dt,
            control_period_s=self.control_period,
            sensor_range_m=float(self.sensor_range[slot]),
            sensor_fov_rad=float(self.sensor_fov[slot]),
            road=net.ids[self.fleet.road[slot]],
            goal=None if g is None else g.model_dump(exclude_none=True),
            roads=roads,
        )

    def observe(self, slot: int, tick: int) -> RoadObservation:
        f = self.fleet
        net = self.net
        r = int(f.road[slot])
        ra = np.array([r])
        s_e, t_e = f.s_m[slot], f.t_m[slot]
        lane = int(f.lane[slot])
        w = float(net.lane_width[r])
        _, _, hr, kap = net.pose(ra, np.array([s_e]), np.array([t_e]))
        own = OwnState(
            x_m=float(f.x_m[slot]),
            y_m=float(f.y_m[slot]),
            heading_rad=float(f.heading_rad[slot]),
            speed_mps=float(f.speed_mps[slot]),
            accel_mps2=float(f.accel_mps2[slot]),
            steer_rad=float(f.steer_rad[slot]),
            road=net.ids[r],
            lane=lane,
            s_m=float(s_e),
            lane_offset_m=float(t_e - lane * w),
            heading_error_rad=float(wrap_angle(f.heading_rad[slot] - hr[0])),
            curvature_1pm=float(kap[0]),
            lane_width_m=w,
            lanes=int(net.lanes[r]),
            speed_limit_mps=float(net.speed_limit[r, lane]),
        )
        # sensor: centre within range and field of view
        dx, dy = f.x_m - f.x_m[slot], f.y_m - f.y_m[slot]
        bearing = wrap_angle(np.arctan2(dy, dx) - f.heading_rad[slot])
        seen = (
            f.valid
            & (np.hypot(dx, dy) <= self.sensor_range[slot])
            & (np.abs(bearing) <= 0.5 * self.sensor_fov[slot] + 1e-12)
        )
        seen[slot] = False
        k = np.flatnonzero(seen)
        # position on the ego's road: native for entities on it, projected for the rest
        s_o, t_o = f.s_m[k].copy(), f.t_m[k].copy()
        other = f.road[k] != r
        if other.any():
            ko = k[other]
            sp, tp, _ = net.project(np.full(ko.size, r), f.x_m[ko], f.y_m[ko])
            s_o[other], t_o[other] = sp, tp
        rel_s = s_o - s_e
        if net.closed[r]:
            rl = net.length[r]
            rel_s = (rel_s + 0.5 * rl) % rl - 0.5 * rl
        _, _, h_o, _ = net.pose(np.full(k.size, r), s_o, t_o)
        psi = f.heading_rad[k] - h_o
        v_o = f.speed_mps[k]
        objects = Objects(
            ids=tuple(self.meta.ids[i] for i in k),
            kinds=tuple(self.kinds[i] for i in k),
            x_m=frozen_array(f.x_m[k]),
            y_m=frozen_array(f.y_m[k]),
            heading_rad=frozen_array(f.heading_rad[k]),
            speed_mps=frozen_array(v_o),
            length_m=frozen_array(self.length[k]),
            width_m=frozen_array(self.width[k]),
            rel_s_m=frozen_array(rel_s),
            rel_t_m=frozen_array(t_o - lane * w),
            vs_mps=frozen_array(v_o * np.cos(psi)),
            vt_mps=frozen_array(v_o * np.sin(psi)),
        )
        front = s_e + 0.5 * self.length[slot]
        nxt = int(net.next_signal(ra, np.array([front]))[0])
        signal = None
        if nxt >= 0:
            signal = SignalAhead(
                net.sig_ids[nxt],
                float(net.sig_s[nxt] - front),
                SIGNAL_NAMES[int(self.sig_state[nxt])],
            )
        goal_d = None
        if self.goal_road[slot] == r:
            goal_d = float(self.goal_s[slot] - s_e)
        return RoadObservation(tick, tick * self.dt, own, objects, signal, goal_d)

    # ------------------------------------------------------------------ monitors
    def footprints(self) -> Footprints:
        f = self.fleet
        return Footprints(
            f.x_m, f.y_m, f.heading_rad, self.length, self.width, f.speed_mps, f.valid
        )

    def _update_monitors_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = self.fleet
        net = self.net
        c = self.ctl_rows[f.valid[self.ctl_rows] & (f.road[self.ctl_rows] >= 0)]
        off, out, over = (np.zeros(self.n, dtype=bool) for _ in range(3))
        if c.size:
            road = f.road[c]
            w = net.lane_width[road]
            t = f.t_m[c]
            lane = f.lane[c]
            d = t - lane * w
            rel = f.heading_rad[c] - net.seg_heading[f.seg[c]]
            ext = np.abs(0.5 * self.length[c] * np.sin(rel)) + np.abs(
                0.5 * self.width[c] * np.cos(rel)
            )
            out[c] = np.abs(d) + ext > 0.5 * w
            over[c] = f.speed_mps[c] > net.speed_limit[road, lane] + 1e-9
            # within its own road's edges a box is on the drivable area; only a box that
            # crosses them (a junction, a shoulder) needs the polygon test
            edge = (t - ext < -0.5 * w) | (t + ext > (net.lanes[road] - 0.5) * w)
            if edge.any():
                e = c[edge]
                corners = box_corners(
                    f.x_m[e], f.y_m[e], f.heading_rad[e], self.length[e], self.width[e]
                )
                inside = shapely.contains_xy(net.drivable, corners[..., 0], corners[..., 1])
                off[e] = ~inside.all(axis=1)
        return off, out, over

    def monitor(self, tick: int) -> list[Event]:
        """Off-road, lane departure, speed limit, red light and goal, after the step to
        ``tick``; events fire on the rising edge."""
        f = self.fleet
        net = self.net
        time_s = tick * self.dt
        events: list[Event] = []
        ids = self.meta.ids
        self.sig_state = net.signal_states(time_s)
        for i, ext in self.external.items():  # level crossings: 0 open, 1 closing, 2 closed
            self.sig_state[i] = int(self.bus.get(f"level_crossing:{ext}", 0))
        if self.dark:
            self.sig_state[list(self.dark)] = SIGNAL_DARK
        off, out, over = self._update_monitors_state()
        for kind, now, prev in (
            ("offroad", off, self.offroad),
            ("lane_departure", out, self.out_of_lane),
            ("speed_limit", over, self.over_limit),
        ):
            for i in np.flatnonzero(now & ~prev):
                details: dict[str, Any] = {"speed_mps": float(f.speed_mps[i])}
                if kind == "speed_limit":
                    lane = f.lane[i]
                    details["limit_mps"] = float(net.speed_limit[f.road[i], lane])
                events.append(Event(tick, time_s, kind, (ids[i],), details))
        self.offroad, self.out_of_lane, self.over_limit = off, out, over
        # red light: the front bumper crossed a stop line showing red during this step
        front = f.s_m + 0.5 * self.length
        veh = (
            f.valid & (f.road >= 0) & (f.road == self.road_prev) & self.vehicle
            if (net.sig_ids)
            else np.zeros(0, dtype=bool)
        )
        if veh.any():
            r = np.flatnonzero(veh)
            nxt = net.next_signal(f.road[r], self.front_prev[r])
            k = np.maximum(nxt, 0)
            crossed = (nxt >= 0) & (net.sig_s[k] <= front[r]) & (self.sig_state[k] == 2)
            for i, sig in zip(r[crossed], k[crossed], strict=True):
                events.append(
                    Event(
                        tick,
                        time_s,
                        "red_light",
                        (ids[i],),
                        {"signal": net.sig_ids[sig], "speed_mps": float(f.speed_mps[i])},
                    )
                )
        self.front_prev, self.road_prev = front, f.road.copy()
        # actions beyond the vehicle's limits (rising edge of the clip mask)
        events += clip_events(tick, time_s, ids, self.clip_mask, self.clip_prev, CLIP_NAMES)
        self.clip_prev = self.clip_mask.copy()
        # goals
        todo = np.flatnonzero(~self.goal_done & f.valid) if self.goals_open else ()
        if len(todo):
            on_road = (f.road[todo] == self.goal_road[todo]) & (f.s_m[todo] >= self.goal_s[todo])
            near = (
                np.hypot(f.x_m[todo] - self.goal_xy[todo, 0], f.y_m[todo] - self.goal_xy[todo, 1])
                <= self.goal_r[todo]
            )
            for i in todo[on_road | near]:
                self.goal_done[i] = True
                self.goals_open -= 1
                events.append(
                    Event(
                        tick,
                        time_s,
                        "goal_reached",
                        (ids[i],),
                        {"speed_mps": float(f.speed_mps[i])},
                    )
                )
        return events

    def publish(self) -> dict[str, Any]:
        """Whether a road entity stands in the conflict zone of each signal driven by a
        level crossing (for the rail domain's drivers: an obstacle on the crossing)."""
        out: dict[str, Any] = {}
        f = self.fleet
        for i, ext in self.external.items():
            s0 = self.net.sig_s[i]
            s1 = s0 + self.box_length[i]
            on = (
                f.valid
                & (f.road == self.net.sig_road[i])
                & (f.s_m + 0.5 * self.length > s0)
                & (f.s_m - 0.5 * self.length < s1)
            )
            out[f"crossing_occupied:{ext}"] = bool(on.any())
        return out

    def receive(self, bus: Mapping[str, Any]) -> None:
        """States published by other domains (level-crossing barriers)."""
        self.bus = bus

    def goals_reached(self) -> bool:
        return self.has_goal and bool(self.goal_done[self.controlled].all())

    # ------------------------------------------------------------------ recording
    def log_fields(self) -> dict[str, tuple[np.dtype, int]]:
        n = self.n
        fields: dict[str, tuple[np.dtype, int]] = {
            name: (np.dtype(np.float64), n)
            for name in (
                "x_m",
                "y_m",
                "heading_rad",
                "speed_mps",
                "accel_mps2",
                "steer_rad",
                "yaw_rate_radps",
                "s_m",
                "t_m",
                "lane_offset_m",
                "speed_limit_mps",
            )
        }
        fields.update(
            {
                "valid": (np.dtype(bool), n),
                "road": (np.dtype(np.int32), n),
                "lane": (np.dtype(np.int32), n),
                "offroad": (np.dtype(bool), n),
                "out_of_lane": (np.dtype(bool), n),
                "clipped": (np.dtype(np.int8), n),
                "signal_state": (np.dtype(np.int8), len(self.net.sig_ids)),
            }
        )
        return fields

    def state(self) -> dict[str, np.ndarray]:
        f = self.fleet
        net = self.net
        rr = np.maximum(f.road, 0)
        lane = f.lane
        limit = np.where(f.road >= 0, net.speed_limit[rr, lane], np.inf)
        return {
            "x_m": f.x_m,
            "y_m": f.y_m,
            "heading_rad": f.heading_rad,
            "speed_mps": f.speed_mps,
            "accel_mps2": f.accel_mps2,
            "steer_rad": f.steer_rad,
            "yaw_rate_radps": f.yaw_rate_radps,
            "s_m": f.s_m,
            "t_m": f.t_m,
            "lane_offset_m": f.t_m - lane * net.lane_width[rr],
            "speed_limit_mps": limit,
            "valid": f.valid,
            "road": f.road,
            "lane": np.where(f.road >= 0, lane, -1),
            "offroad": self.offroad,
            "out_of_lane": self.out_of_lane,
            "clipped": self.clip_mask,
            "signal_state": self.sig_state,
        }

    def map_summary(self) -> dict[str, Any]:
        net = self.net
        roads = []
        for i, rid in enumerate(net.ids):
            w = float(net.lane_width[i])
            bounds = [
                net.boundary(i, (k - 0.5) * w).round(3).tolist()
                for k in range(int(net.lanes[i]) + 1)
            ]
            a, b = int(net.v0[i]), int(net.v1[i]) + 1
            roads.append(
                {
                    "id": rid,
                    # the reference line itself (unrounded): metrics project entities onto it
                    "reference": {
                        "x_m": net.V[a:b, 0].tolist(),
                        "y_m": net.V[a:b, 1].tolist(),
                        "s_m": (net.G[a:b] - net.base[i]).tolist(),
                        "heading_rad": net.vtx_heading[a:b].tolist(),
                    },
                    "lanes": int(net.lanes[i]),
                    "lane_width_m": w,
                    "length_m": float(net.length[i]),
                    "closed": bool(net.closed[i]),
                    "boundaries": bounds,
                    "markings": net.markings[i],
                }
            )
        k = np.arange(len(net.sig_ids))
        w = net.lane_width[net.sig_road]
        right = net.pose(net.sig_road, net.sig_s, -0.5 * w)
        left = net.pose(net.sig_road, net.sig_s, (net.lanes[net.sig_road] - 0.5) * w)
        signals = [
            {
                "id": net.sig_ids[i],
                "road": net.ids[net.sig_road[i]],
                "s_m": float(net.sig_s[i]),
                "x_m": float(right[0][i]),
                "y_m": float(right[1][i]),
                "stop_line": [
                    [float(right[0][i]), float(right[1][i])],
                    [float(left[0][i]), float(left[1][i])],
                ],
            }
            for i in k
        ]
        return {"roads": roads, "signals": signals}
