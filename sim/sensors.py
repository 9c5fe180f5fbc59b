"""Sensors: what a controlled entity's agent actually sees (DESIGN.md §3 step 1).

A scenario may declare, per controlled entity, the sensors it carries::

    sensors:
      ego:
        - {type: radar}                                  # the type's defaults
        - {type: camera, preset: fog, latency: 0.1 s}
        - {type: odometry, sigma_speed: 0.05 m/s}

Without a declaration an entity keeps the domain's ideal observation. With one, each object
group of the observation (road ``objects``, air ``traffic``, water ``ais``/``radar``, rail
``signals`` and ``obstacle_m``) holds only what the sensors feeding it report; the agent's own
state passes through its own-state sensors (odometry, GNSS). Ground truth stays in the log.

An object sensor scans every ``period``. In a scan, a target inside range and field of view
(and not hidden behind another entity's box, where ``occlusion`` is on) is detected with a
probability falling linearly from ``p_detect`` at zero range to ``p_detect_far`` at the
maximum range; a detection gets independent Gaussian position noise ``sigma_pos`` (along
and across the sensor's boresight, plus ``bias_pos``) and velocity noise ``sigma_vel``, and
``clutter`` false targets per scan (Poisson mean) appear uniformly in the covered sector. A
track stays in the output, as last measured, for ``hold`` after its last detection (default:
three scans, the coasting of a simple tracker; AIS: three reporting intervals). The output
the agent gets at tick t is the one scanned at t − ``latency``. AIS targets report at their
own interval (ITU-R M.1371-5 Table 1: class A 10 s under 14 kn, 6 s to 23 kn, 2 s above;
class B 30 s). Every random draw comes from a generator of its own, keyed by entity and
sensor id: adding a sensor (or a fault) never changes another's stream. Draws are
independent per target (BlueSky's ADS-B model draws one sample for all aircraft; ours does
not).

Default parameters per type (``SENSOR_DEFAULTS``) are typical published values, stated as
such: they are defaults to override, not a standard.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.core.events import Event
from sim.scenario.sensing import AIS_CLASS_B_S, SENSOR_DEFAULTS, WEATHER, SensorSpec

#: The sensors-log group: per object sensor, per tick of a scan (0 otherwise).
STATS = ("covered", "detected", "false", "sq_err_m2")


def _stream(root: np.random.SeedSequence, *names: str) -> np.random.Generator:
    """A generator keyed by names (not by position): adding a consumer changes no other."""
    key = tuple(zlib.crc32(n.encode()) for n in names)
    return np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=key))


def _params(domain: str, spec: SensorSpec) -> dict[str, Any]:
    given = {k: v for k, v in spec.model_dump().items() if v is not None}
    return {**SENSOR_DEFAULTS.get((domain, spec.type), {}), **given}


def _ego(domain: str, obs: Any) -> tuple[float, float, float]:
    """Ego x, y and its boresight as a math angle (rad, counter-clockwise from east)."""
    o = obs.own
    if domain == "road":
        return o.x_m, o.y_m, o.heading_rad
    if domain == "air":
        return o.x_m, o.y_m, math.pi / 2 - o.hdg_rad
    if domain == "water":
        return o.x_m, o.y_m, math.pi / 2 - o.heading_rad
    return 0.0, 0.0, 0.0


def box_polygons(
    x: np.ndarray, y: np.ndarray, h: np.ndarray, length: np.ndarray, width: np.ndarray
) -> Any:
    """shapely polygons of oriented boxes (centre, heading, length, width)."""
    import shapely

    c, s = np.cos(h), np.sin(h)
    hl, hw = 0.5 * length, 0.5 * width
    corners = np.stack(
        [
            np.stack([x + c * hl - s * hw, y + s * hl + c * hw], 1),
            np.stack([x - c * hl - s * hw, y - s * hl + c * hw], 1),
            np.stack([x - c * hl + s * hw, y - s * hl - c * hw], 1),
            np.stack([x + c * hl + s * hw, y + s * hl - c * hw], 1),
        ],
        1,
    )
    return shapely.polygons(corners)


def hidden(
    ex: float,
    ey: float,
    x: np.ndarray,
    y: np.ndarray,
    keys: np.ndarray,
    own: int,
    boxes: tuple[np.ndarray, Any],
) -> np.ndarray:
    """Per target (world index ``keys``): whether the sight line from (ex, ey) to its centre
    crosses the box of any other entity (the ego and the target itself excepted). ``boxes``:
    (valid mask, polygons) of every entity in world order, built once per tick."""
    import shapely

    valid, polys = boxes
    valid = valid.copy()
    valid[own] = False
    others = np.flatnonzero(valid)
    if x.size == 0 or others.size < 2:
        return np.zeros(x.size, dtype=bool)
    start = np.stack([np.full(x.size, ex), np.full(x.size, ey)], 1)
    lines = shapely.linestrings(np.stack([start, np.stack([x, y], 1)], 1))
    hit = shapely.intersects(lines[:, None], polys[others][None, :])
    hit &= keys[:, None] != others[None, :]
    return hit.any(axis=1)


class ObjectSensor:
    """One object sensor of one controlled entity (see the module docstring)."""

    def __init__(
        self,
        spec: SensorSpec,
        domain: str,
        group: str,
        eid: str,
        dt: float,
        world_ids: list[str],
        root: np.random.SeedSequence,
    ) -> None:
        p = _params(domain, spec)
        self.spec, self.domain, self.group, self.eid, self.dt = spec, domain, group, eid, dt
        self.id = str(spec.id)
        rf, pf = WEATHER.get(spec.preset, {}).get(spec.type, (1.0, 1.0))
        self.range = float(p.get("range", math.inf)) * rf
        self.fov = float(p.get("fov", 2 * math.pi))
        self.p_near = float(p.get("p_detect", 1.0))
        self.p_far = float(p.get("p_detect_far", self.p_near)) * pf
        self.clutter = float(p.get("clutter", 0.0))
        self.sigma = float(p.get("sigma_pos", 0.0))
        self.sigma_alt = float(p.get("sigma_alt", 0.0))
        self.sigma_vel = float(p.get("sigma_vel", 0.0))
        self.bias = (float(spec.bias_pos[0]), float(spec.bias_pos[1]))
        self.occlusion = bool(p.get("occlusion", False))
        self.period_ticks = max(1, round(float(p.get("period", dt)) / dt))
        self.latency_ticks = round(float(spec.latency) / dt)
        # a tracker coasts a track through missed scans: 3 scans unless told otherwise (AIS:
        # 3 reporting intervals of a class A ship under 14 kn, or of class B)
        self.ais = domain == "water" and spec.type == "ais"
        default_hold = 3 * self.period_ticks * dt
        if self.ais:
            default_hold = 3 * (AIS_CLASS_B_S if spec.ais_class == "B" else 10.0)
        self.hold_ticks = round(float(p.get("hold", default_hold)) / dt)
        self.rng = _stream(root, eid, self.id)
        # targets are keyed in order of first sight (entities, or rail signals)
        self.world = {w: k for k, w in enumerate(world_ids)}
        self.own = self.world[eid]
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.last_t = np.zeros(0, dtype=np.int64)  # tick of the last report (-1: never)
        self.values: dict[str, np.ndarray] = {}  # reported numeric fields, per target
        self.history: list[tuple[int, tuple[list[str], dict[str, np.ndarray]]]] = []
        self.first_cov = np.zeros(0, dtype=np.int64)
        self.first_det = np.zeros(0, dtype=np.int64)
        self.mods: dict[str, Any] = {}  # set by sim.faults while a fault is active
        self.stats = np.zeros(len(STATS))

    def _keys(self, ids: Any) -> np.ndarray:
        """Keys of ``ids``, growing the per-target arrays for new ones."""
        for i in ids:
            if i not in self.index:
                self.index[i] = len(self.names)
                self.names.append(i)
        n = len(self.names)
        if self.last_t.size < n:
            grow = n - self.last_t.size
            self.last_t = np.concatenate([self.last_t, np.full(grow, -1)])
            self.first_cov = np.concatenate([self.first_cov, np.full(grow, -1)])
            self.first_det = np.concatenate([self.first_det, np.full(grow, -1)])
            for k, v in self.values.items():
                self.values[k] = np.concatenate([v, np.zeros(grow)])
        return np.array([self.index[i] for i in ids], dtype=np.int64)

    def due(self, tick: int) -> bool:
        return self.ais or tick % self.period_ticks == 0

    def scan(
        self, tick: int, ideal: Any, boxes: Callable[[], tuple[np.ndarray, Any]]
    ) -> list[Event]:
        """One scan of the ideal observation at ``tick``; returns first-detection events."""
        m = self.mods
        self.stats[:] = 0.0
        if m.get("frozen"):  # stale output: the last scans stay as they are
            return []
        grp = getattr(ideal, self.group)
        ex, ey, bore = _ego(self.domain, ideal)
        cols = {
            f.name: np.asarray(getattr(grp, f.name))
            for f in dataclasses.fields(grp)
            if isinstance(getattr(grp, f.name), np.ndarray)
        }
        keys = self._keys(grp.ids)
        ids = list(grp.ids)
        for k in cols:  # every column exists from the first scan (clutter needs them)
            self.values.setdefault(k, np.zeros(len(self.names)))
        rng_ = self.range * m.get("range_factor", 1.0)
        if self.domain == "rail":
            r = cols["distance_m"]
            rel = np.zeros_like(r)
        else:
            dx, dy = cols["x_m"] - ex, cols["y_m"] - ey
            r = np.hypot(dx, dy)
            rel = (np.arctan2(dy, dx) - bore + np.pi) % (2 * np.pi) - np.pi
        cov = (r <= rng_) & (np.abs(rel) <= 0.5 * self.fov + 1e-12)
        if self.spec.type == "adsb":
            cov &= cols["cooperative"].astype(bool)
        if self.occlusion and cov.any():
            kk = np.flatnonzero(cov)
            wk = np.array([self.world.get(ids[k], -1) for k in kk], dtype=np.int64)
            hid = hidden(ex, ey, cols["x_m"][kk], cols["y_m"][kk], wk, self.own, boxes())
            cov[kk[hid]] = False
        newly = cov & (self.first_cov[keys] < 0)
        self.first_cov[keys[newly]] = tick
        frac = np.clip(r / rng_, 0.0, 1.0) if math.isfinite(rng_) else np.zeros_like(r)
        p = (self.p_near + (self.p_far - self.p_near) * frac) * m.get("p_factor", 1.0)
        if self.ais:  # each target transmits at its own interval: a scan is a transmission
            cov &= self._ais_due(tick, keys, cols)
        det = cov & (self.rng.random(r.size) < p)
        if m.get("dropout"):
            det[:] = False
        events = []
        for k in np.flatnonzero(det & (self.first_det[keys] < 0)):
            w = keys[k]
            self.first_det[w] = tick
            details = {"sensor": self.id, "latency_s": float((tick - self.first_cov[w]) * self.dt)}
            events.append(
                Event(tick, tick * self.dt, "first_detection", (self.eid, ids[k]), details)
            )
        n = int(det.sum())
        nf = m.get("noise_factor", 1.0)
        sig = self.sigma * nf + m.get("noise_add", 0.0)
        e_al = self.rng.standard_normal(n) * sig + self.bias[0] + m.get("bias_along", 0.0)
        e_ac = self.rng.standard_normal(n) * sig + self.bias[1] + m.get("bias_across", 0.0)
        e_v = self.rng.standard_normal((n, 3)) * self.sigma_vel * nf
        e_z = self.rng.standard_normal(n) * self.sigma_alt * nf
        vals = {k: v[det].astype(float) for k, v in cols.items()}
        _perturb(self.domain, self.group, vals, bore, e_al, e_ac, e_v, e_z)
        w = keys[det]
        for k, v in vals.items():
            self.values.setdefault(k, np.zeros(len(self.names)))[w] = v
        self.last_t[w] = tick
        self.stats[:2] = cov.sum(), n
        self.stats[3] = float(np.sum(e_al**2 + e_ac**2))
        live = np.flatnonzero((self.last_t >= 0) & (self.last_t >= tick - self.hold_ticks))
        out = {k: v[live].copy() for k, v in self.values.items()}
        out_ids = [self.names[i] for i in live]
        rate = self.clutter + m.get("clutter_add", 0.0)
        n_false = int(self.rng.poisson(rate)) if rate > 0 else 0
        ghosts = list(m.get("ghosts", []))
        self.stats[2] = n_false + len(ghosts)
        if n_false or ghosts:
            out, out_ids = _add_false(
                self.domain,
                self.group,
                out,
                out_ids,
                n_false,
                ghosts,
                ex,
                ey,
                bore,
                rng_,
                self.fov,
                self.rng,
                ideal,
                self.id,
            )
        self.history.append((tick, (out_ids, out)))
        keep = self.latency_ticks + m.get("latency_add_ticks", 0) + self.period_ticks + 1
        while len(self.history) > keep:
            del self.history[0]
        return events

    def _ais_due(self, tick: int, keys: np.ndarray, cols: dict[str, np.ndarray]) -> np.ndarray:
        """ITU-R M.1371-5 reporting intervals by speed (class A) or 30 s (class B)."""
        if self.spec.ais_class == "B":
            interval = np.full(keys.size, AIS_CLASS_B_S)
        else:
            kn = cols["sog_mps"] / 0.514444
            interval = np.where(kn > 23, 2.0, np.where(kn > 14, 6.0, 10.0))
        every = np.maximum(1, np.round(interval / self.dt)).astype(np.int64)
        return (tick + (keys * 7919) % every) % every == 0  # transmissions spread by entity

    def output(self, tick: int) -> tuple[list[str], dict[str, np.ndarray]] | None:
        """The scan of ``tick − latency`` (None before the first one)."""
        want = tick - self.latency_ticks - self.mods.get("latency_add_ticks", 0)
        best = None
        for t, out in self.history:
            if t <= want:
                best = out
        return best

    def never_detected(self) -> list[tuple[str, int]]:
        """(entity, tick it entered coverage) of targets covered but never detected."""
        k = np.flatnonzero((self.first_cov >= 0) & (self.first_det < 0))
        return [(self.names[i], int(self.first_cov[i])) for i in k]


class OwnSensor:
    """Odometry or GNSS: noise (and faults) on the agent's own state."""

    def __init__(
        self, spec: SensorSpec, domain: str, eid: str, dt: float, root: np.random.SeedSequence
    ) -> None:
        p = _params(domain, spec)
        self.spec, self.domain, self.dt = spec, domain, dt
        self.id = str(spec.id)
        self.sigma_speed = float(p.get("sigma_speed", 0.0))
        self.bias_speed = float(spec.bias_speed)
        self.sigma_pos = float(p.get("sigma_pos", 0.0))
        self.odometry_error = float(p.get("odometry_error", 0.0))
        self.rng = _stream(root, eid, self.id)
        self.start: float | None = None
        self.mods: dict[str, Any] = {}
        self.frozen: tuple[float, float] | None = None

    def apply(self, obs: Any, tick: int) -> Any:
        o = obs.own
        m = self.mods
        if self.spec.type == "odometry":
            v = o.speed_mps + self.bias_speed + self.rng.standard_normal() * self.sigma_speed
            own = dataclasses.replace(o, speed_mps=max(0.0, v))
            if self.domain != "rail":
                return dataclasses.replace(obs, own=own)
            if self.start is None:
                self.start = o.position_m
            delta = self.odometry_error * (o.position_m - self.start)
            return _shift_rail(dataclasses.replace(obs, own=own), delta)
        # gnss: position noise; a loss holds the last fix, a drift adds an offset
        ex, ey = self.rng.standard_normal(2) * self.sigma_pos
        x, y = o.x_m + ex + m.get("drift_x", 0.0), o.y_m + ey + m.get("drift_y", 0.0)
        if m.get("lost"):
            if self.frozen is None:
                self.frozen = (x, y)
            x, y = self.frozen
        else:
            self.frozen = None
        return dataclasses.replace(obs, own=dataclasses.replace(o, x_m=x, y_m=y))


def _shift_rail(obs: Any, delta: float) -> Any:
    """A train that believes it has run ``delta`` metres further sees everything ahead
    ``delta`` closer (odometry error, SUBSET-041 §5.3.1.2)."""
    if delta == 0.0:
        return obs

    def prof(p: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        d = np.asarray(p[0]) - delta
        d.setflags(write=False)
        return (d, p[1])

    sig = obs.signals
    dist = np.asarray(sig.distance_m) - delta
    dist.setflags(write=False)
    stop = obs.next_stop
    return dataclasses.replace(
        obs,
        own=dataclasses.replace(obs.own, position_m=obs.own.position_m + delta),
        eoa_m=obs.eoa_m - delta,
        svl_m=obs.svl_m - delta,
        signals=dataclasses.replace(sig, distance_m=dist),
        speed_profile=prof(obs.speed_profile),
        gradient_profile=prof(obs.gradient_profile),
        adhesion_profile=prof(obs.adhesion_profile),
        next_stop=None
        if stop is None
        else dataclasses.replace(stop, distance_m=stop.distance_m - delta),
        obstacle_m=None if obs.obstacle_m is None else obs.obstacle_m - delta,
    )


class SensorSuite:
    """The sensors of one controlled entity: scans every tick they are due, and turns the
    domain's ideal observation into what they report."""

    def __init__(
        self,
        specs: list[SensorSpec],
        domain: str,
        eid: str,
        dt: float,
        world_ids: list[str],
        kinds: dict[str, str],
        root: np.random.SeedSequence,
    ) -> None:
        from sim.scenario.sensing import DOMAIN_SENSORS

        self.domain, self.eid, self.kinds = domain, eid, kinds
        self.objects: list[ObjectSensor] = []
        self.own: list[OwnSensor] = []
        for spec in specs:
            group = DOMAIN_SENSORS[domain][spec.type]
            if group is None:
                self.own.append(OwnSensor(spec, domain, eid, dt, root))
            else:
                self.objects.append(ObjectSensor(spec, domain, group, eid, dt, world_ids, root))
        self.groups = sorted({s.group for s in self.objects})
        self.by_id = {s.id: s for s in [*self.objects, *self.own]}

    def scan(
        self, tick: int, ideal: Callable[[], Any], boxes: Callable[[], tuple[np.ndarray, Any]]
    ) -> list[Event]:
        events: list[Event] = []
        obs = None
        for s in self.objects:
            if s.due(tick):
                obs = obs if obs is not None else ideal()
                events += s.scan(tick, obs, boxes)
            else:
                s.stats[:] = 0.0
        return events

    def apply(self, obs: Any, tick: int) -> Any:
        """``obs`` (ideal) as the sensors report it at ``tick``."""
        changes: dict[str, Any] = {}
        self._own_xy = (obs.own.x_m, obs.own.y_m) if self.domain != "rail" else (0.0, 0.0)
        for g in self.groups:
            ids: list[str] = []
            cols: dict[str, list[np.ndarray]] = {}
            known: set[str] = set()
            for s in self.objects:
                if s.group != g:
                    continue
                out = s.output(tick)
                if out is None or not out[0]:
                    continue
                o_ids, o_cols = out
                fresh = [k for k, i in enumerate(o_ids) if i not in known]  # first sensor wins
                ids += [o_ids[k] for k in fresh]
                known.update(o_ids)
                for name, v in o_cols.items():
                    cols.setdefault(name, []).append(v[fresh])
            changes[g] = self._group(getattr(obs, g), g, ids, cols)
        if self.domain == "rail" and any(s.group == "signals" for s in self.objects):
            sighting = max(s.range * s.mods.get("range_factor", 1.0) for s in self.objects)
            if obs.obstacle_m is not None and obs.obstacle_m > sighting:
                changes["obstacle_m"] = None
        out = dataclasses.replace(obs, **changes) if changes else obs
        for s in self.own:
            out = s.apply(out, tick)
        return out

    def _group(
        self, template: Any, group: str, ids: list[str], cols: dict[str, list[np.ndarray]]
    ) -> Any:
        """A group dataclass like ``template`` holding the fused detections. Water radar
        echoes have no identity: they are numbered by range ('radar-0' nearest)."""
        anonymous = self.domain == "water" and group == "radar"
        order = np.arange(len(ids))
        if anonymous and ids:
            x = np.concatenate(cols["x_m"]) - self._own_xy[0]
            y = np.concatenate(cols["y_m"]) - self._own_xy[1]
            order = np.argsort(np.hypot(x, y), kind="stable")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(template):
            cur = getattr(template, f.name)
            if isinstance(cur, np.ndarray):
                parts = cols.get(f.name)
                v = np.concatenate(parts)[order] if parts else np.zeros(len(ids))
                arr = np.array(v, dtype=cur.dtype)
                arr.setflags(write=False)
                values[f.name] = arr
            elif f.name == "ids":
                values[f.name] = (
                    tuple(f"radar-{k}" for k in range(len(ids)))
                    if anonymous
                    else tuple(ids[k] for k in order)
                )
            elif f.name == "kinds":
                values[f.name] = tuple(self.kinds.get(ids[k], "unknown") for k in order)
            else:
                values[f.name] = cur
        if anonymous:
            values["mmsi"] = np.zeros(len(ids), dtype=np.int64)
            values["mmsi"].setflags(write=False)
            nan = np.full(len(ids), np.nan)
            nan.setflags(write=False)
            values["heading_rad"] = values["length_m"] = nan
        return dataclasses.replace(template, **values)

    def stats(self) -> np.ndarray:
        """(len(STATS), object sensors) of the last tick's scans."""
        if not self.objects:
            return np.zeros((len(STATS), 0))
        return np.stack([s.stats for s in self.objects], 1)

    def never_detected(self, dt: float) -> list[Event]:
        out = []
        for s in self.objects:
            for target, t0 in s.never_detected():
                out.append(
                    Event(t0, t0 * dt, "never_detected", (self.eid, target), {"sensor": s.id})
                )
        return out


def _perturb(
    domain: str,
    group: str,
    v: dict[str, np.ndarray],
    bore: float,
    e_al: np.ndarray,
    e_ac: np.ndarray,
    e_v: np.ndarray,
    e_z: np.ndarray,
) -> None:
    """Add position (along/across the boresight) and velocity noise to a group's columns."""
    if domain == "rail":
        v["distance_m"] = v["distance_m"] + e_al
        return
    c, s = math.cos(bore), math.sin(bore)
    v["x_m"] = v["x_m"] + c * e_al - s * e_ac
    v["y_m"] = v["y_m"] + s * e_al + c * e_ac
    if domain == "road":
        v["rel_s_m"] = v["rel_s_m"] + e_al
        v["rel_t_m"] = v["rel_t_m"] + e_ac
        v["speed_mps"] = np.maximum(0.0, v["speed_mps"] + e_v[:, 0])
        v["vs_mps"] = v["vs_mps"] + e_v[:, 0]
        v["vt_mps"] = v["vt_mps"] + e_v[:, 1]
    elif domain == "air":
        v["alt_m"] = v["alt_m"] + e_z
        v["ve_mps"] = v["ve_mps"] + e_v[:, 0]
        v["vn_mps"] = v["vn_mps"] + e_v[:, 1]
        v["vs_mps"] = v["vs_mps"] + e_v[:, 2]
    elif domain == "water":
        ve = v["sog_mps"] * np.sin(v["cog_rad"]) + e_v[:, 0]
        vn = v["sog_mps"] * np.cos(v["cog_rad"]) + e_v[:, 1]
        v["sog_mps"], v["cog_rad"] = np.hypot(ve, vn), np.arctan2(ve, vn)


def _add_false(
    domain: str,
    group: str,
    out: dict[str, np.ndarray],
    ids: list[str],
    n_false: int,
    ghosts: list[dict[str, float]],
    ex: float,
    ey: float,
    bore: float,
    rng_: float,
    fov: float,
    rng: np.random.Generator,
    ideal: Any,
    sid: str,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Append clutter (uniform over the covered sector, at rest) and spoofed ghost targets."""
    if domain == "rail":
        return out, ids
    r = rng_ * np.sqrt(rng.random(n_false)) if math.isfinite(rng_) else rng.random(n_false) * 1e4
    a = bore + (rng.random(n_false) - 0.5) * fov
    fx = np.concatenate([ex + r * np.cos(a), [g["x_m"] for g in ghosts]])
    fy = np.concatenate([ey + r * np.sin(a), [g["y_m"] for g in ghosts]])
    n = fx.size
    extra: dict[str, np.ndarray] = {k: np.zeros(n) for k in out}
    extra["x_m"], extra["y_m"] = fx, fy
    if domain == "road":
        rel = np.stack([fx - ex, fy - ey])
        extra["rel_s_m"] = rel[0] * math.cos(bore) + rel[1] * math.sin(bore)
        extra["rel_t_m"] = -rel[0] * math.sin(bore) + rel[1] * math.cos(bore)
        extra["vs_mps"] = np.zeros(n)
        for k in ("length_m", "width_m"):
            extra[k] = np.full(n, 1.0)
    elif domain == "air":
        extra["alt_m"] = np.full(n, ideal.own.alt_m)
    elif domain == "water":
        extra["sog_mps"] = np.array([0.0] * n_false + [g.get("sog_mps", 0.0) for g in ghosts])
        extra["cog_rad"] = np.array([0.0] * n_false + [g.get("cog_rad", 0.0) for g in ghosts])
        for k in ("heading_rad", "length_m"):
            if k in extra:
                extra[k] = np.full(n, np.nan)
        if "mmsi" in extra:
            extra["mmsi"] = np.array(
                [0] * n_false + [g.get("mmsi", 999999999) for g in ghosts], dtype=float
            )
    new_ids = [f"false-{sid}-{k}" for k in range(n_false)] + [
        str(g.get("id", f"ghost-{k}")) for k, g in enumerate(ghosts)
    ]
    merged = {k: np.concatenate([out[k], extra[k]]) for k in out}
    return merged, ids + new_ids
