"""The rail domain at run time: train dynamics (vectorised), fixed-block interlocking with
automatic route setting, movement authority, an ETCS-like protection layer, a timetable
driver for background trains, level crossings and the rail monitors (SPAD, overspeed,
station stops, protection interventions)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.protocol import frozen_array
from agents.rail.types import (
    Ahead,
    RailAction,
    RailBriefing,
    RailObservation,
    StopInfo,
    TrainState,
)
from sim.core.events import Event
from sim.core.geometry import clamp
from sim.domains.base import (
    ActionInvalid,
    ActionNonFinite,
    EntityMeta,
    Footprints,
    all_goals_done,
    clip_events,
)
from sim.domains.rail.network import Network, RowProfile
from sim.domains.rail.schema import PRESETS, RailEntity, RailMap
from sim.units import G0_MPS2

KMH = 1 / 3.6
HORIZON_M = 5000.0  # how far ahead profiles are given to agents (the onboard map)
STOP_MARGIN_M = 10.0  # background drivers stop this short of the end of authority
# ceiling-speed margins (SUBSET-026 App. A.3.1): (dV_min, dV_max, V_min, V_max) in km/h
MARGINS = {
    "warning": (4.0, 5.0, 110.0, 140.0),
    "sbi": (5.5, 10.0, 110.0, 210.0),
    "ebi": (7.5, 15.0, 110.0, 210.0),
}
PROT_NONE, PROT_WARNING, PROT_SB, PROT_EB = 0, 1, 2, 3
PROT_NAMES = ("none", "warning", "service brake", "emergency brake")


def margin(kind: str, v_mrsp: np.ndarray) -> np.ndarray:
    """dV(V) = dV_min + (dV_max − dV_min)·(V − V_min)/(V_max − V_min), clamped (m/s)."""
    lo, hi, vmin, vmax = MARGINS[kind]
    vk = v_mrsp / KMH
    f = clamp((vk - vmin) / (vmax - vmin), 0.0, 1.0)
    return (lo + (hi - lo) * f) * KMH


def curve_speed(d: np.ndarray, v_target: np.ndarray, decel: np.ndarray, t: float) -> np.ndarray:
    """Largest speed v from which, after ``t`` seconds at v and then braking at ``decel``,
    the train is at ``v_target`` within distance ``d``: v·t + (v² − v_t²)/(2a) = d, i.e.
    v = −a·t + √((a·t)² + v_t² + 2·a·d) (0 when d < 0 and v_t = 0)."""
    a = np.maximum(decel, 1e-6)
    disc = (a * t) ** 2 + v_target**2 + 2.0 * a * np.maximum(d, 0.0)
    return np.maximum(-a * t + np.sqrt(disc), 0.0)


def adhesion_coefficient(v: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Curtius-Kniffler adhesion μ(v) = 0.161 + 7.5/(v_kmh + 44) (dry rail), × factor."""
    return factor * (0.161 + 7.5 / (v / KMH + 44.0))


class RailRuntime:
    """Live state of every train (and track obstacle) of one run."""

    name = "rail"

    def __init__(self, scenario: Any, entities: Sequence[RailEntity], rmap: RailMap) -> None:
        self.dt = float(scenario.dt)
        self.control_period = float(scenario.control_period or scenario.dt)
        self.map = rmap
        self.net = net = Network.build(rmap)
        ents = list(entities)
        n = self.n = len(ents)
        self.ids = [e.id for e in ents]
        self.kinds = [e.kind for e in ents]
        pre = [PRESETS[e.kind] for e in ents]
        arr = lambda vals: np.array(vals, dtype=float)  # noqa: E731
        self.length = arr([e.length or p.length for e, p in zip(ents, pre, strict=True)])
        self.mass = arr([p.mass_t * 1000.0 for p in pre])
        self.rho = arr([p.rho for p in pre])
        self.b_service = arr([p.service_decel for p in pre])
        self.b_emergency = arr([p.emergency_decel for p in pre])
        self.vmax = arr([p.max_speed for p in pre])
        self.f0 = arr([p.traction_0_kn * 1000 for p in pre])
        self.power = arr([p.traction_vmax_kn * 1000 * p.max_speed for p in pre])
        self.r0 = arr([p.resistance_0_kn * 1000 for p in pre])
        self.rc = np.where(
            self.vmax > 0,
            (arr([p.resistance_vmax_kn * 1000 for p in pre]) - self.r0)
            / np.maximum(self.vmax, 1e-6) ** 2,
            0.0,
        )
        self.adh_frac = arr([p.adhesive_fraction for p in pre])
        self.t_brake = arr([p.brake_time_constant for p in pre])
        self.is_train = np.array([e.kind != "obstacle" for e in ents])
        self.controlled = np.array([e.controlled for e in ents], dtype=bool)
        self.ctl_rows = np.flatnonzero(self.controlled)
        self.valid = np.ones(n, dtype=bool)
        # paths: track sequence, offsets along the path
        self.paths = [[net.index[t] for t in e.path] for e in ents]
        self.path_off: list[np.ndarray] = [
            np.concatenate([[0.0], np.cumsum(net.length[p])]) for p in self.paths
        ]
        self.path_len = np.array([o[-1] for o in self.path_off])
        pmax = max(len(q) for q in self.paths)
        self.path_tracks = np.zeros((n, pmax), dtype=np.int64)
        self.path_offs = np.zeros((n, pmax))
        for k, q in enumerate(self.paths):
            self.path_tracks[k, : len(q)] = q
            self.path_offs[k, : len(q)] = self.path_off[k][:-1]
        self.path_prof = RowProfile(
            [
                [(float(self.path_off[k][i]), float(i)) for i in range(len(q))]
                for k, q in enumerate(self.paths)
            ],
            default=0.0,
        )
        self.rows = np.arange(n)
        self.p = arr([e.at for e in ents])
        self.v = arr([min(e.speed, p.max_speed) for e, p in zip(ents, pre, strict=True)])
        self.acc = np.zeros(n)
        self.brake_force = np.zeros(n)
        self.demand = np.zeros(n)
        self.energy = np.zeros(n)
        self.departs = arr([e.departs for e in ents])
        # profiles along each path
        self._profiles(rmap)
        # signals on each path: (path coordinate, global signal index), sorted
        sig_index = {s.id: k for k, s in enumerate(rmap.signals)}
        self.sig_ids = [s.id for s in rmap.signals]
        self.sig_overlap = arr([s.overlap for s in rmap.signals]).reshape(-1)
        self.sig_fail = [s.fails_at for s in rmap.signals]
        self.failed = np.zeros(len(self.sig_ids), dtype=bool)
        self.path_sigs: list[list[tuple[float, int]]] = []
        for k in range(n):
            lst = []
            for s in rmap.signals:
                pc = self._on_path(k, net.index[s.track], s.at)
                if pc is not None:
                    lst.append((pc, sig_index[s.id]))
            self.path_sigs.append(sorted(lst))
        self.sig_p = [[pc for pc, _ in lst] for lst in self.path_sigs]
        smax = max([len(q) for q in self.sig_p] + [1])
        self.sig_pad = np.full((n, smax), np.inf)
        for k, q in enumerate(self.sig_p):
            self.sig_pad[k, : len(q)] = q
        self._aspects: np.ndarray | None = None
        # locked routes per train: {signal: (start, next signal, end with the overlap)}
        self.locks: list[dict[int, tuple[float, float, float]]] = [{} for _ in range(n)]
        self.passed_sig: list[set[int]] = [set() for _ in range(n)]
        self.eoa = np.zeros(n)
        self.svl = np.zeros(n)
        self._authority()
        # timetable stops on each path, padded (N, S): stopping point, times, platform
        st_by_id = {s.id: s for s in rmap.stations}
        smax = max([len(e.timetable) for e in ents] + [1])
        self.st_name = [[stop.station for stop in e.timetable] for e in ents]
        self.st_count = np.array([len(e.timetable) for e in ents], dtype=np.int64)
        self.st_p = np.full((n, smax), np.inf)
        self.st_arrive = np.full((n, smax), np.nan)
        self.st_depart = np.full((n, smax), np.nan)
        self.st_dwell = np.zeros((n, smax))
        self.st_platform = np.zeros((n, smax))
        for k, e in enumerate(ents):
            for j, stop in enumerate(e.timetable):
                st = st_by_id[stop.station]
                self.st_p[k, j] = self._on_path(k, net.index[st.track], st.at)
                self.st_arrive[k, j] = np.nan if stop.arrive is None else stop.arrive
                self.st_depart[k, j] = np.nan if stop.depart is None else stop.depart
                self.st_dwell[k, j] = stop.dwell
                self.st_platform[k, j] = st.platform
        self.stop_idx = np.zeros(n, dtype=np.int64)  # the current (next or dwelling) stop
        self.arrived_at = np.full(n, np.nan)  # when the train stopped at it (NaN: not yet)
        # level crossings on each path
        self.lcs = rmap.level_crossings
        self.lc_closed = np.zeros(len(self.lcs), dtype=bool)
        self.lc_path = np.full((n, len(self.lcs)), np.nan)
        for k in range(n):
            for j, lc in enumerate(self.lcs):
                pc = self._on_path(k, net.index[lc.track], lc.at)
                if pc is not None:
                    self.lc_path[k, j] = pc
        self.lc_occupied = np.zeros(len(self.lcs), dtype=bool)
        self.lc_since = np.zeros(len(self.lcs))
        self.time_s = 0.0
        # obstacles (track obstacles) in each train's path coordinates
        obst = np.flatnonzero(~self.is_train)
        self.obst_path = np.full((n, obst.size), np.nan)
        for k in range(n):
            for j, o in enumerate(obst):
                tr, s = self._track_of(o, self.p[o])
                pc = self._on_path(k, tr, s)
                if pc is not None and k != o:
                    self.obst_path[k, j] = pc - 0.5 * self.length[o]
        # protection and monitor state
        self.prot = rmap.protection
        self.prot_state = np.zeros(n, dtype=np.int8)
        self.prot_latch = np.zeros(n, dtype=np.int8)
        self.over_grade = np.zeros(n, dtype=np.int8)
        self.p_prev = self.p.copy()
        self.spad_open: dict[int, dict[str, Any]] = {}
        self.tripped = np.zeros(n, dtype=bool)  # passed a signal at danger
        self.clip_mask = np.zeros(n, dtype=np.int8)
        self.clip_prev = np.zeros(n, dtype=np.int8)
        self.goal_done = np.zeros(n, dtype=bool)
        self.permitted = np.full(n, np.inf)
        self.v_limit = np.full(n, np.inf)
        goals: list[dict[str, Any] | None] = []
        for k, e in enumerate(ents):
            g = None
            if e.controlled and e.timetable:
                j = len(e.timetable) - 1
                g = {"station": self.st_name[k][j], "p_m": float(self.st_p[k, j])}
            goals.append(g)
        self.has_goal = np.array([g is not None for g in goals])
        self.meta = EntityMeta(
            ids=tuple(self.ids),
            kinds=tuple(self.kinds),
            controlled=self.controlled,
            length_m=self.length,
            width_m=np.where(self.is_train, 3.0, 2.0),
            goals=tuple(goals),
            extra={
                "paths": [list(e.path) for e in ents],
                "timetables": [[s.model_dump() for s in e.timetable] for e in ents],
            },
        )

    # ------------------------------------------------------------------ geometry
    def _on_path(self, k: int, track: int, s: float) -> float | None:
        for i, t in enumerate(self.paths[k]):
            if t == track:
                return float(self.path_off[k][i] + s)
        return None

    def _track_of(self, k: int, pc: float) -> tuple[int, float]:
        off = self.path_off[k]
        i = int(np.clip(np.searchsorted(off, pc, side="right") - 1, 0, len(self.paths[k]) - 1))
        return self.paths[k][i], float(pc - off[i])

    def _profiles(self, rmap: RailMap) -> None:
        """Line speed (with restrictions), gradient and adhesion as functions of each
        train's path coordinate."""
        net = self.net
        speed_rows, grad_rows, adh_rows = [], [], []
        for k, path in enumerate(self.paths):
            sp, gr = [], []
            for i, t in enumerate(path):
                tr = rmap.tracks[t]
                off = self.path_off[k][i]
                sp += [(off + q.at, q.speed) for q in tr.speed]
                gr += [(off + q.at, q.gradient / 1000.0) for q in tr.gradient]
                if not tr.gradient:
                    gr.append((off, 0.0))
            # restrictions and adhesion stretches: split into breakpoints (min over overlaps)
            pieces = []
            for r in rmap.speed_restrictions:
                pc = self._on_path(k, net.index[r.track], 0.0)
                if pc is not None:
                    pieces.append((pc + r.start, pc + r.end, r.speed))
            base = sorted(sp)
            cuts = sorted(
                {b for b, _ in base} | {a for a, _, _ in pieces} | {b for _, b, _ in pieces}
            )
            rows = []
            for c in cuts:
                lim = next((v for b, v in reversed(base) if b <= c + 1e-9), base[0][1])
                for a, b, v in pieces:
                    if a - 1e-9 <= c < b - 1e-9:
                        lim = min(lim, v)
                rows.append((c, min(lim, self.vmax[k]) if self.vmax[k] > 0 else lim))
            speed_rows.append(rows)
            grad_rows.append(sorted(gr))
            adh = []
            for a in rmap.adhesion:
                pc = self._on_path(k, net.index[a.track], 0.0)
                if pc is not None:
                    adh.append((pc + a.start, a.factor))
                    adh.append((pc + a.end, 1.0))
            adh_rows.append(adh)
        self.speed_prof = RowProfile(speed_rows, default=1e9)
        self.grad_prof = RowProfile(grad_rows, default=0.0)
        self.adh_prof = RowProfile(adh_rows, default=1.0)

    # ------------------------------------------------------------------ interlocking
    def _claims(self, k: int) -> list[tuple[int, float, float]]:
        """Track intervals held by train k: its body and its locked routes."""
        out = self._pieces(k, self.p[k] - self.length[k], self.p[k])
        for a, _, b in self.locks[k].values():
            out += self._pieces(k, a, b)
        return out

    def _pieces(self, k: int, a: float, b: float) -> list[tuple[int, float, float]]:
        """Path interval [a, b] of train k as (track, s0, s1) pieces."""
        out = []
        off = self.path_off[k]
        for i, t in enumerate(self.paths[k]):
            lo, hi = max(a, off[i]), min(b, off[i + 1])
            if hi > lo:
                out.append((t, lo - off[i], hi - off[i]))
        return out

    def _claim_table(self) -> None:
        """Every train's body and locked routes as (track, s0, s1, owner) arrays."""
        rows = [(t, a, b, k) for k in range(self.n) for t, a, b in self._claims(k)]
        arr = np.array(rows, dtype=float).reshape(-1, 4)
        self.ct, self.c0, self.c1, self.co = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]

    def _free(self, k: int, a: float, b: float) -> bool:
        """No other train's body or route claims any part of path interval [a, b] of k."""
        for tw, w0, w1 in self._pieces(k, a, b):
            if np.any((self.ct == tw) & (self.c0 < w1) & (w0 < self.c1) & (self.co != k)):
                return False
        return True

    def _claim(self, k: int, a: float, b: float) -> None:
        add = np.array([(t, s0, s1, k) for t, s0, s1 in self._pieces(k, a, b)], dtype=float)
        if add.size:
            self.ct = np.concatenate([self.ct, add[:, 0]])
            self.c0 = np.concatenate([self.c0, add[:, 1]])
            self.c1 = np.concatenate([self.c1, add[:, 2]])
            self.co = np.concatenate([self.co, add[:, 3]])

    def _interlocking(self, tick: int) -> list[Event]:
        """Automatic route setting in train order, sectional release behind the rear,
        signal failures revoking routes. A route from a signal to the next one on the path
        is set when its section and overlap are clear and claimed by no other train."""
        events: list[Event] = []
        t = tick * self.dt
        for s, when in enumerate(self.sig_fail):
            if when is not None and not self.failed[s] and t >= when - 1e-9:
                self.failed[s] = True
                for k in range(self.n):
                    if s in self.locks[k] and s not in self.passed_sig[k]:
                        del self.locks[k][s]
                        self._authority()
                        events.append(
                            Event(
                                tick,
                                t,
                                "route_revoked",
                                (self.ids[k],),
                                {"signal": self.sig_ids[s]},
                            )
                        )
        changed = False
        table = False
        # requests are served nearest first (the train that will reach its signal first)
        cand = np.flatnonzero(self.is_train & self.valid & ~self.tripped)
        cand = cand[np.argsort(self.eoa[cand] - self.p[cand], kind="stable")]
        for k in cand:
            rear = self.p[k] - self.length[k]
            for s, (_, b, _) in list(self.locks[k].items()):
                if rear > b:  # the whole train is past the next signal: release
                    del self.locks[k][s]
                    changed = True
            pos = self.sig_p[k]
            for j in range(bisect.bisect_left(pos, self.p[k] - 1e-9), len(pos)):
                pc, s = self.path_sigs[k][j]
                if s in self.locks[k]:
                    continue
                if pc - self.p[k] > self.map.approach_distance or self.failed[s]:
                    break
                if not table:  # built once per pass, when a request needs it
                    self._claim_table()
                    table = True
                last = j + 1 >= len(pos)
                end = self.path_len[k] if last else pos[j + 1]
                ovl = 0.0 if last else min(self.sig_overlap[s], self.path_len[k] - end)
                if self._free(k, pc, end + ovl):
                    self.locks[k][s] = (pc, end, end + ovl)
                    self._claim(k, pc, end + ovl)
                    changed = True
                    events.append(
                        Event(tick, t, "route_set", (self.ids[k],), {"signal": self.sig_ids[s]})
                    )
                else:
                    break
        if changed or tick == 0:
            self._authority()
        return events

    def _authority(self) -> None:
        """End of authority: the first signal ahead of the front without a route for the
        train (its supervised location: + that signal's overlap), else the path end."""
        self._aspects = None
        for k in range(self.n):
            eoa, svl = self.path_len[k], self.path_len[k]
            pos = self.sig_p[k]
            for j in range(bisect.bisect_left(pos, self.p[k] - 1e-9), len(pos)):
                pc, s = self.path_sigs[k][j]
                if s not in self.locks[k]:
                    eoa = pc
                    svl = min(pc + self.sig_overlap[s], self.path_len[k])
                    break
            self.eoa[k], self.svl[k] = eoa, svl

    def aspects(self) -> np.ndarray:
        """0 stop, 1 caution (proceed, next signal at stop), 2 proceed, per signal (cached
        until a route changes or a train passes a signal)."""
        if self._aspects is None:
            self._aspects = self._compute_aspects()
        return self._aspects

    def _compute_aspects(self) -> np.ndarray:
        out = np.zeros(len(self.sig_ids), dtype=np.int8)
        for k in range(self.n):
            for s, (a, b, _) in self.locks[k].items():
                if a >= self.p[k] - 1e-9:  # not yet passed by the train
                    nxt_locked = any(
                        abs(pc - b) < 1e-6 and q in self.locks[k] for pc, q in self.path_sigs[k]
                    )
                    out[s] = 2 if nxt_locked or b >= self.path_len[k] - 1e-6 else 1
        return out

    # ------------------------------------------------------------------ drivers
    def _targets(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance to the stopping target (EoA, next timetable stop, obstacle or crossing
        in sight) and the speed limit curve ahead, for ``rows``."""
        p = self.p[rows]
        d = self.eoa[rows] - p - STOP_MARGIN_M
        # the current stop, or the next one once stopped at it
        j = self.stop_idx[rows] + ~np.isnan(self.arrived_at[rows])
        has = j < self.st_count[rows]
        stop_p = self.st_p[rows, np.minimum(j, self.st_p.shape[1] - 1)]
        d = np.where(has, np.minimum(d, stop_p - p), d)
        d = np.minimum(d, self._obstacle_distance(rows) - 20.0)
        return d, p

    def _obstacle_distance(self, rows: np.ndarray) -> np.ndarray:
        """Distance from each front to the nearest obstacle or occupied crossing ahead
        within the sighting distance (inf when none)."""
        p = self.p[rows][:, None]
        best = np.full(rows.size, np.inf)
        if self.obst_path.shape[1]:
            d = self.obst_path[rows] - p
            d = np.where((d >= -1.0) & (d <= self.map.sighting_distance), d, np.inf)
            best = np.minimum(best, d.min(axis=1))
        if self.lcs and self.lc_occupied.any():
            d = self.lc_path[rows] - p
            ok = self.lc_occupied[None, :] & (d >= -1.0) & (d <= self.map.sighting_distance)
            best = np.minimum(best, np.where(ok, d, np.inf).min(axis=1))
        return best

    def _background(self, tick: int) -> None:
        """Timetable driver of background trains: speed target = min(limit over the train,
        braking curves at 70 % of service braking to the next limits and the stop target),
        proportional control of the traction/brake demand; dwell and depart by timetable."""
        rows = np.flatnonzero(self.is_train & ~self.controlled & self.valid)
        if rows.size == 0:
            return
        t = tick * self.dt
        d_stop, p = self._targets(rows)
        b = 0.7 * self.b_service[rows]
        v_lim = self.speed_prof.min_over(rows, p - self.length[rows], p)
        v_ref = np.minimum(v_lim, curve_speed(d_stop, np.zeros(rows.size), b, 1.0))
        # the next few limit changes ahead (columns after the current one of each row)
        prof = self.speed_prof
        col = prof.index(rows, p)
        for j in range(1, 4):
            c = np.minimum(col + j, prof.k - 1)
            d = prof.bp[rows, c] - p
            ok = np.isfinite(d) & (d > 0) & (d <= 3000.0)
            lim = prof.val[rows, c]
            v_ref = np.where(
                ok, np.minimum(v_ref, curve_speed(np.where(ok, d, 0.0), lim, b, 1.0)), v_ref
            )
        hold = (t < self.departs[rows]) | self._dwelling(t)[rows]
        v_ref = np.where(hold, 0.0, v_ref)
        err = v_ref - self.v[rows]
        demand = clamp(err / 2.0, -1.0, 1.0)
        demand = np.where(v_ref <= 0.0, -1.0, demand)
        self.demand[rows] = demand

    def _dwelling(self, t: float) -> np.ndarray:
        """Trains stopped at a timetable stop and not yet free to leave: the dwell not over,
        or the timetable's departure time not reached."""
        j = np.minimum(self.stop_idx, self.st_p.shape[1] - 1)
        rows = np.arange(self.n)
        dep = self.st_depart[rows, j]
        ready = (t >= self.arrived_at + self.st_dwell[rows, j]) & (np.isnan(dep) | (t >= dep))
        return ~np.isnan(self.arrived_at) & ~ready

    # ------------------------------------------------------------------ protection
    def _protection(self, tick: int) -> list[Event]:
        """Supervise the controlled trains: ceiling speed (warning/SBI/EBI margins above the
        most restrictive speed over the train) and the end of authority (EBI, SBI, warning
        and permitted curves to the supervised location with the safe deceleration);
        interventions override the agent's demand and are logged."""
        events: list[Event] = []
        rows = self.ctl_rows[self.valid[self.ctl_rows]]
        if not self.prot.enabled or rows.size == 0:
            return events
        pr = self.prot
        p, v = self.p[rows], self.v[rows]
        v_mrsp = self.speed_prof.min_over(rows, p - self.length[rows], p)
        a_safe = (
            pr.decel_factor * self.b_emergency[rows] * np.minimum(1.0, self.adh_prof.at(rows, p))
        )
        d = self.svl[rows] - p
        zero = np.zeros(rows.size)
        t_ebi = pr.brake_build_up
        ebi = np.minimum(v_mrsp + margin("ebi", v_mrsp), curve_speed(d, zero, a_safe, t_ebi))
        sbi = np.minimum(
            v_mrsp + margin("sbi", v_mrsp),
            curve_speed(d, zero, a_safe, t_ebi + pr.service_build_up),
        )
        warn = np.minimum(
            v_mrsp + margin("warning", v_mrsp),
            curve_speed(d, zero, a_safe, t_ebi + pr.service_build_up + pr.warning_time),
        )
        permitted = np.minimum(
            v_mrsp, curve_speed(d, zero, a_safe, t_ebi + pr.service_build_up + pr.driver_time)
        )
        self.permitted = np.full(self.n, np.inf)
        self.permitted[rows] = permitted
        t = tick * self.dt
        for i, k in enumerate(rows):
            latch = self.prot_latch[k]
            # passing the end of authority trips the train (emergency brake to standstill)
            if d[i] <= 0.0 and v[i] > 0.0:
                self.tripped[k] = True  # passed the supervised location
            # a tripped train is held; an emergency brake is released only at standstill
            # once the agent stops demanding traction (its acknowledgement)
            held = latch == PROT_EB and (v[i] > 0.01 or self.demand[k] > 0.0)
            if self.tripped[k] or held or v[i] > ebi[i]:
                state = PROT_EB
            elif v[i] > sbi[i] or (latch == PROT_SB and v[i] > permitted[i]):
                state = PROT_SB
            elif v[i] > warn[i]:
                state = PROT_WARNING
            else:
                state = PROT_NONE
            if state > self.prot_state[k] and state != PROT_NONE:
                kind = {
                    PROT_WARNING: "protection_warning",
                    PROT_SB: "protection_service_brake",
                    PROT_EB: "protection_emergency_brake",
                }[state]
                events.append(
                    Event(
                        tick,
                        t,
                        kind,
                        (self.ids[k],),
                        {
                            "speed_mps": float(v[i]),
                            "permitted_mps": float(permitted[i]),
                            "distance_to_svl_m": float(d[i]),
                        },
                    )
                )
            self.prot_state[k] = state
            self.prot_latch[k] = (
                state if state >= PROT_SB else (0 if v[i] <= permitted[i] else latch)
            )
            if state == PROT_SB:
                self.demand[k] = -1.0
            elif state == PROT_EB:
                self.demand[k] = -2.0  # emergency
        return events

    # ------------------------------------------------------------------ stepping
    def step(self, tick: int) -> list[Event]:
        self.time_s = (tick + 1) * self.dt  # the state after this step
        events = self._interlocking(tick)
        self._background(tick)
        events += self._protection(tick)
        self._integrate()
        return events

    def _integrate(self) -> None:
        """m(1+ρ)·dv/dt = F_t − R(v) − m·g·grad − F_b, F_t = u·min(F_max, P/v) and
        F_b → b·m·(1+ρ) with first-order build-up (so a built-up brake decelerates by b on
        level track, plus resistance), both within μ(v)·m·g (traction on the
        powered share of the weight); R = A + C·v² (Davis, fitted to the preset's
        resistance at 0 and at v_max). Trains do not roll backwards."""
        tr = self.is_train & self.valid
        v, m = self.v, self.mass
        u = self.demand
        grad = self.grad_prof.at(np.arange(self.n), self.p)
        mu = adhesion_coefficient(v, self.adh_prof.at(np.arange(self.n), self.p))
        f_max = np.minimum(self.f0, self.power / np.maximum(v, 0.1))
        f_t = np.minimum(np.maximum(u, 0.0) * f_max, mu * m * G0_MPS2 * self.adh_frac)
        # the stated deceleration is what the brake delivers (SUMO MSCFModel_Rail applies
        # decl as a deceleration, resistance on top): force b·m·(1+ρ), rotating masses too
        m_eff = m * (1.0 + self.rho)
        want = np.where(
            u <= -1.5, m_eff * self.b_emergency, np.clip(-u, 0.0, 1.0) * m_eff * self.b_service
        )
        # first-order build-up F → want; the tick uses the lag's exact mean over the tick
        # (the end-of-tick value would lead the continuous brake by about dt/2)
        lag = self.dt / np.maximum(self.t_brake, 1e-9)
        decay = np.exp(-lag)
        f_mean = want + (self.brake_force - want) * (1.0 - decay) / lag
        self.brake_force = want + (self.brake_force - want) * decay
        f_b = np.minimum(f_mean, mu * m * G0_MPS2)
        res = np.where(v > 0, self.r0 + self.rc * v * v, 0.0)
        a = (f_t - res - m * G0_MPS2 * grad - f_b) / (m * (1.0 + self.rho))
        v_new = np.where(tr, np.maximum(v + a * self.dt, 0.0), v)
        v_new = np.minimum(v_new, np.where(self.vmax > 0, self.vmax, 0.0))
        self.p_prev = self.p.copy()
        self.p = np.where(
            tr, np.minimum(self.p + 0.5 * (v + v_new) * self.dt, self.path_len), self.p
        )
        self.acc = np.where(tr, (v_new - v) / self.dt, 0.0)
        self.energy = self.energy + f_t * 0.5 * (v + v_new) * self.dt
        self.v = v_new

    # ------------------------------------------------------------------ agents
    def apply_action(self, slot: int, action: Any) -> None:
        if isinstance(action, Mapping):
            try:
                action = RailAction(float(action["demand"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ActionInvalid(
                    f"expected a RailAction(demand), got {action!r} ({exc})"
                ) from None
        if not isinstance(action, RailAction):
            raise ActionInvalid(f"expected a RailAction(demand), got {type(action).__name__}")
        try:
            u = float(action.demand)
        except (TypeError, ValueError):
            raise ActionInvalid(f"demand must be a number, got {action!r}") from None
        if not math.isfinite(u):
            raise ActionNonFinite(f"action holds a non-finite value: {action!r}")
        uc = min(max(u, -1.0), 1.0)
        self.clip_mask[slot] = 1 if uc != u else 0
        self.demand[slot] = uc

    def hold_action(self, slot: int) -> None:
        """Keep the previous demand."""

    def environment_fault(self, kind: str, params: dict[str, Any], active: bool) -> str | None:
        """Fault hook: ``signal_failure`` puts a signal to danger (its routes are revoked at
        the next tick, as a scheduled failure) until the fault ends."""
        if kind != "signal_failure":
            return f"the rail domain has no {kind!r} fault"
        sig = params["signal"]
        if sig not in self.sig_ids:
            return f"no signal {sig!r} (signals: {', '.join(self.sig_ids)})"
        s = list(self.sig_ids).index(sig)
        if active:
            self.sig_fail[s] = 0.0
        else:
            self.sig_fail[s] = None
            self.failed[s] = False
        return None

    def fallback_action(self, slot: int) -> RailAction:
        """Safe command after an agent fault: full service brake (the train stops)."""
        return RailAction(-1.0)

    def briefing(self, slot: int) -> RailBriefing:
        pr = self.prot
        return RailBriefing(
            entity_id=self.ids[slot],
            kind=self.kinds[slot],
            length_m=float(self.length[slot]),
            mass_kg=float(self.mass[slot]),
            rotating_mass_factor=float(1.0 + self.rho[slot]),
            max_speed_mps=float(self.vmax[slot]),
            max_traction_n=float(self.f0[slot]),
            max_power_w=float(self.power[slot]),
            davis_a_n=float(self.r0[slot]),
            davis_c_ns2pm2=float(self.rc[slot]),
            service_decel_mps2=float(self.b_service[slot]),
            emergency_decel_mps2=float(self.b_emergency[slot]),
            brake_time_constant_s=float(self.t_brake[slot]),
            path_length_m=float(self.path_len[slot]),
            dt_s=self.dt,
            control_period_s=self.control_period,
            timetable=tuple(self._stop_info(slot, j) for j in range(int(self.st_count[slot]))),
            protection=pr.model_dump() if pr.enabled else None,
            sighting_distance_m=float(self.map.sighting_distance),
        )

    def _stop_info(self, k: int, j: int) -> StopInfo:
        def opt(v: float) -> float | None:
            return None if np.isnan(v) else float(v)

        return StopInfo(
            self.st_name[k][j],
            float(self.st_p[k, j] - self.p[k]),
            opt(self.st_arrive[k, j]),
            opt(self.st_depart[k, j]),
            float(self.st_dwell[k, j]),
            opt(self.arrived_at[k]) if j == self.stop_idx[k] else None,
        )

    def observe(self, slot: int, tick: int) -> RailObservation:
        k = slot
        p = float(self.p[k])
        rows = np.array([k])
        asp = self.aspects()
        sig_d, sig_a, sig_id = [], [], []
        for pc, s in self.path_sigs[k]:
            if p - 1e-9 <= pc <= p + self.map.sighting_distance:
                sig_d.append(pc - p)
                sig_a.append(0 if s not in self.locks[k] else int(asp[s]) or 2)
                sig_id.append(self.sig_ids[s])
        dist, lims = self.speed_prof.ahead(k, p, HORIZON_M)
        gd, gv = self.grad_prof.ahead(k, p, HORIZON_M)
        ad, av = self.adh_prof.ahead(k, p, HORIZON_M)
        idx = int(self.stop_idx[k])
        nxt = self._stop_info(k, idx) if idx < self.st_count[k] else None
        dwelling = nxt is not None and nxt.arrived_s is not None
        obst = float(self._obstacle_distance(rows)[0])
        return RailObservation(
            tick=tick,
            time_s=tick * self.dt,
            own=TrainState(
                position_m=p,
                speed_mps=float(self.v[k]),
                accel_mps2=float(self.acc[k]),
                gradient=float(self.grad_prof.at(rows, self.p[rows])[0]),
                speed_limit_mps=float(
                    self.speed_prof.min_over(rows, self.p[rows] - self.length[rows], self.p[rows])[
                        0
                    ]
                ),
                adhesion_factor=float(self.adh_prof.at(rows, self.p[rows])[0]),
                protection=PROT_NAMES[int(self.prot_state[k])],
                dwelling=dwelling,
            ),
            eoa_m=float(self.eoa[k] - p),
            svl_m=float(self.svl[k] - p),
            signals=Ahead(tuple(sig_id), frozen_array(sig_d), frozen_array(sig_a)),
            speed_profile=(frozen_array(dist), frozen_array(lims)),
            gradient_profile=(frozen_array(gd), frozen_array(gv)),
            adhesion_profile=(frozen_array(ad), frozen_array(av)),
            next_stop=nxt,
            obstacle_m=obst if math.isfinite(obst) else None,
        )

    # ------------------------------------------------------------------ level crossings
    def publish(self) -> dict[str, Any]:
        """Barrier state of each level crossing for the road domain: down while a train is
        within max(v·warning_time, min_warning_distance) of it or on it."""
        if not self.lcs:
            return {}
        closed = np.zeros(len(self.lcs), dtype=bool)
        tr = self.is_train & self.valid
        for j, lc in enumerate(self.lcs):
            pc = self.lc_path[:, j]
            d = pc - self.p
            warn = np.maximum(self.v * lc.warning_time, lc.min_warning_distance)
            on = (d < 0) & (d > -self.length)
            near = tr & np.isfinite(pc) & (((d >= 0) & (d <= warn)) | on)
            closed[j] = bool(near.any())
        t = self.time_s
        self.lc_since = np.where(closed & ~self.lc_closed, t, self.lc_since)
        self.lc_closed = closed
        # the road light: yellow for the first yellow_time of a closure, then red (SUMO: 3 s)
        return {
            f"level_crossing:{lc.id}": (0 if not c else 1 if t - since < lc.yellow_time else 2)
            for lc, c, since in zip(self.lcs, closed, self.lc_since, strict=True)
        }

    def receive(self, bus: Mapping[str, Any]) -> None:
        """Road vehicles standing on a crossing (published by the road domain) are
        obstacles for the trains' drivers."""
        for j, lc in enumerate(self.lcs):
            self.lc_occupied[j] = bool(bus.get(f"crossing_occupied:{lc.id}", False))

    # ------------------------------------------------------------------ monitors
    def footprints(self) -> Footprints:
        cx, cy, h = self._centres()
        return Footprints(
            cx, cy, h, self.length, np.where(self.is_train, 3.0, 2.0), self.v, self.valid
        )

    def _tracks_of(self, pc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(track, s) of path coordinate ``pc`` of every train."""
        i = self.path_prof.at(self.rows, pc).astype(np.int64)
        return self.path_tracks[self.rows, i], pc - self.path_offs[self.rows, i]

    def _centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World centre and heading of each train body (midpoint between front and rear
        along the path)."""
        t, s = self._tracks_of(self.p - 0.5 * self.length)
        return self.net.pose_many(t, s)

    def monitor(self, tick: int) -> list[Event]:
        """SPAD (front passes a stop signal without a route), overspeed graded by the
        ceiling margins, station arrivals (stopping error, delay) and departures, clipped
        demands, goals."""
        events: list[Event] = []
        t = tick * self.dt
        tr = np.flatnonzero(self.is_train & self.valid)
        crossed = (self.p_prev[:, None] < self.sig_pad) & (self.sig_pad <= self.p[:, None])
        if crossed.any():
            self._aspects = None  # a signal returns to stop behind the train
        for k in np.flatnonzero(crossed.any(axis=1) & self.is_train & self.valid):
            for pc, s in self.path_sigs[k]:
                if (
                    self.p_prev[k] < pc <= self.p[k]
                    and s not in self.locks[k]
                    and s not in self.passed_sig[k]
                ):
                    self.passed_sig[k].add(s)
                    self.spad_open[int(k)] = {"signal": s, "p": pc, "tick": tick}
                    self.tripped[k] = True  # no further routes; protection trips
                    events.append(
                        Event(
                            tick,
                            t,
                            "spad",
                            (self.ids[k],),
                            {
                                "signal": self.sig_ids[s],
                                "speed_mps": float(self.v[k]),
                                "overlap_m": float(self.sig_overlap[s]),
                                "signal_position_m": float(pc),
                            },
                        )
                    )
                elif self.p_prev[k] < pc <= self.p[k]:
                    self.passed_sig[k].add(s)
        for k in list(self.spad_open):
            if self.v[k] <= 0.0:
                sp = self.spad_open.pop(k)
                over = float(self.p[k] - sp["p"])
                events.append(
                    Event(
                        tick,
                        t,
                        "spad_stop",
                        (self.ids[k],),
                        {
                            "signal": self.sig_ids[sp["signal"]],
                            "overrun_m": over,
                            "beyond_overlap": bool(over > self.sig_overlap[sp["signal"]]),
                        },
                    )
                )
        # overspeed against the most restrictive limit over the train
        rows = tr
        v_mrsp = self.speed_prof.min_over(rows, self.p[rows] - self.length[rows], self.p[rows])
        v = self.v[rows]
        grade = np.select(
            [
                v > v_mrsp + margin("ebi", v_mrsp),
                v > v_mrsp + margin("sbi", v_mrsp),
                v > v_mrsp + margin("warning", v_mrsp),
                v > v_mrsp + 1e-6,
            ],
            [4, 3, 2, 1],
            0,
        ).astype(np.int8)
        for i in np.flatnonzero(grade > self.over_grade[rows]):
            k = rows[i]
            events.append(
                Event(
                    tick,
                    t,
                    "overspeed",
                    (self.ids[k],),
                    {
                        "grade": ("", "over", "warning", "SBI", "EBI")[int(grade[i])],
                        "speed_mps": float(v[i]),
                        "limit_mps": float(v_mrsp[i]),
                    },
                )
            )
        self.over_grade[rows] = grade
        self.v_limit = np.full(self.n, np.inf)
        self.v_limit[rows] = v_mrsp
        events += self._stations(tick, t)
        events += clip_events(tick, t, self.ids, self.clip_mask, self.clip_prev, {1: "demand"})
        self.clip_prev = self.clip_mask.copy()
        return events

    def _stations(self, tick: int, t: float) -> list[Event]:
        """Arrival (stopped within the platform, up to 50 m past the stopping point: stopping
        error and delay), departure (moving again past the point: delay) and stops run
        through (more than 50 m past without stopping)."""
        events: list[Event] = []
        rows = np.arange(self.n)
        j = np.minimum(self.stop_idx, self.st_p.shape[1] - 1)
        live = self.is_train & self.valid & (self.stop_idx < self.st_count)
        err = self.p - self.st_p[rows, j]
        waiting = live & np.isnan(self.arrived_at)
        arrive = waiting & (self.v <= 0.01) & (err >= -self.st_platform[rows, j]) & (err <= 50.0)
        arrive &= t > 0
        missed = waiting & (err > 50.0)
        depart = live & ~np.isnan(self.arrived_at) & (self.v > 0.5) & (err > 1.0)
        for k in np.flatnonzero(arrive | missed | depart):
            name = self.st_name[k][j[k]]
            if arrive[k]:
                self.arrived_at[k] = t
                due = self.st_arrive[k, j[k]]
                details = {
                    "station": name,
                    "stop_error_m": float(err[k]),
                    "delay_s": None if np.isnan(due) else t - due,
                }
                events.append(Event(tick, t, "station_arrival", (self.ids[k],), details))
                if self.controlled[k] and j[k] == self.st_count[k] - 1:
                    self.goal_done[k] = True
                    events.append(Event(tick, t, "goal_reached", (self.ids[k],), {"station": name}))
                continue
            if missed[k]:
                details = {"station": name, "speed_mps": float(self.v[k])}
                events.append(Event(tick, t, "station_missed", (self.ids[k],), details))
            else:
                due = self.st_depart[k, j[k]]
                details = {"station": name, "delay_s": None if np.isnan(due) else t - due}
                events.append(Event(tick, t, "station_departure", (self.ids[k],), details))
            self.stop_idx[k] += 1
            self.arrived_at[k] = np.nan
        return events

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
                "p_m",
                "accel_mps2",
                "demand",
                "eoa_m",
                "svl_m",
                "limit_mps",
                "permitted_mps",
                "energy_j",
                "track_s_m",
                "rear_s_m",
            )
        }
        fields["valid"] = (np.dtype(bool), n)
        fields["protection"] = (np.dtype(np.int8), n)
        fields["track"] = (np.dtype(np.int32), n)
        fields["rear_track"] = (np.dtype(np.int32), n)
        fields["aspect"] = (np.dtype(np.int8), len(self.sig_ids))
        fields["crossing_closed"] = (np.dtype(bool), len(self.lcs))
        return fields

    def state(self) -> dict[str, np.ndarray]:
        cx, cy, h = self._centres()
        ft = np.stack(self._tracks_of(self.p), axis=1)
        rt = np.stack(self._tracks_of(self.p - self.length), axis=1)
        return {
            "x_m": cx,
            "y_m": cy,
            "heading_rad": h,
            "speed_mps": self.v,
            "p_m": self.p,
            "accel_mps2": self.acc,
            "demand": self.demand,
            "eoa_m": self.eoa,
            "svl_m": self.svl,
            "limit_mps": self.v_limit,
            "permitted_mps": self.permitted,
            "energy_j": self.energy,
            "track_s_m": ft[:, 1],
            "rear_s_m": rt[:, 1],
            "valid": self.valid,
            "protection": self.prot_state,
            "track": ft[:, 0].astype(np.int32),
            "rear_track": rt[:, 0].astype(np.int32),
            "aspect": self.aspects(),
            "crossing_closed": self.lc_closed,
        }

    def _stretch(self, track: int, start: float, end: float) -> list[list[float]]:
        """World points along ``track`` from ``start`` to ``end`` (clamped; every ~20 m) for
        drawing a platform or a restriction."""
        length = float(self.net.length[track])
        a, b = min(max(start, 0.0), length), min(max(end, 0.0), length)
        n = int(np.clip((b - a) / 20.0, 1, 200)) + 1
        x, y, _ = self.net.pose_many(np.full(n, track), np.linspace(a, b, n))
        return np.stack([x, y], axis=1).round(2).tolist()

    def map_summary(self) -> dict[str, Any]:
        net = self.net
        sigs = []
        for s in self.map.signals:
            x, y, h = net.pose(net.index[s.track], s.at)
            sigs.append({"id": s.id, "xy": [x, y], "heading_rad": h, "overlap_m": s.overlap})
        stations = []
        for s in self.map.stations:
            k = net.index[s.track]
            x, y, h = net.pose(k, s.at)
            stations.append(
                {
                    "id": s.id,
                    "xy": [x, y],
                    "platform_m": s.platform,
                    "heading_rad": h,
                    "platform": self._stretch(k, s.at - s.platform, s.at),
                }
            )
        restrictions = [
            {
                "speed_mps": r.speed,
                "points": self._stretch(net.index[r.track], r.start, r.end),
            }
            for r in self.map.speed_restrictions
        ]
        lcs = []
        for lc in self.lcs:
            x, y, h = net.pose(net.index[lc.track], lc.at)
            lcs.append({"id": lc.id, "xy": [x, y]})
        allp = np.concatenate(net.pts)
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        pad = max(0.05 * float((hi - lo).max()), 100.0)
        return {
            "tracks": [
                {
                    "id": i,
                    "points": p.round(2).tolist(),
                    "length_m": float(c[-1]),
                    "km": t.km,
                    "line_speeds": [  # where the line speed changes (a speed board)
                        {"xy": list(net.pose(k, sp.at)[:2]), "speed_mps": sp.speed}
                        for sp in t.speed
                    ],
                }
                for k, (i, p, c, t) in enumerate(
                    zip(net.ids, net.pts, net.cum, self.map.tracks, strict=True)
                )
            ],
            "signals": sigs,
            "stations": stations,
            "speed_restrictions": restrictions,
            "level_crossings": lcs,
            "area": [
                float(lo[0] - pad),
                float(lo[1] - pad),
                float(hi[0] + pad),
                float(hi[1] + pad),
            ],
        }
