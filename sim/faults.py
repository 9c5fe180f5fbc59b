"""Fault injection: a seeded schedule of sensor, actuator, link and environment faults.

A scenario's ``faults:`` list (schema: :mod:`sim.scenario.faulting`) says what fails, on
whom, when — at a time (``at``), on a trigger (``when``: a distance between two entities, or
the first event of a kind), or at random (``rate`` per hour, a Poisson process) — and for how
long. Every start and end is an event (``fault_start`` / ``fault_end``, with the fault's id,
kind, entity and parameters), so the log says exactly which faults were active when.

Effects:

- sensor faults change the declared sensors (``sim/sensors.py``) while active: dropout (no
  detections; tracks expire), frozen (stale output), extra noise (``factor`` ×, ``sigma`` +),
  bias, extra latency, false targets, reduced range (``factor`` or a weather ``preset``), GNSS
  loss (the last fix is held) or drift (a growing offset), AIS spoofing (a ghost target
  moving at its course and speed);
- actuator faults transform the agent's command before the vehicle gets it: delay (the
  command of ``delay`` earlier; nothing before), saturation (every field clipped to
  ``factor`` × its limit), stuck (the command, or one ``field``, held at its value at the
  start or at ``value``), reduced braking and power loss (the braking or driving share of the
  command × ``factor``: rail low adhesion, a wet road, an engine failure), rudder jam (the
  rudder held at its angle when the fault starts; speed control still works);
- link faults act on what reaches the agent over a data link (rail movement authority, air
  ADS-B traffic, water AIS, road signal information): loss (the last message received stays,
  a rail EoA stays where it was), delay (messages ``delay`` old), drop (each update lost with
  ``probability``);
- environment faults change the world through the domain runtime's ``environment_fault``
  hook: a gust (air), a current change (water), a signal failing to danger (rail), a
  traffic light going dark (road).

Each fault draws from its own generator keyed by its id (``_stream``): adding a fault
never changes the random stream of anything else.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.core.events import Event
from sim.scenario.faulting import (
    ACTUATOR_FAULTS,
    ENVIRONMENT_FAULTS,
    LINK_FAULTS,
    SENSOR_FAULTS,
    FaultSpec,
)
from sim.scenario.sensing import WEATHER
from sim.sensors import SensorSuite, _stream

#: Returned by ``actuate`` while a delayed command has not reached the actuators yet.
HOLD = object()

#: The domain each environment fault needs.
ENVIRONMENT_DOMAIN = {
    "gust": "air",
    "current_change": "water",
    "signal_failure": "rail",
    "traffic_light_dark": "road",
}


@dataclasses.dataclass
class _Live:
    spec: FaultSpec
    rng: np.random.Generator
    active: bool = False
    fired: bool = False  # a trigger fires once
    start: int = -1
    end: int | None = None
    mods: list[tuple[Any, str]] = dataclasses.field(default_factory=list)
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)


class FaultEngine:
    """The fault schedule of one run, applied by the Session each tick."""

    def __init__(self, session: Any, root: np.random.SeedSequence) -> None:
        self.s = session
        self.dt = session.dt
        self.faults = [_Live(f, _stream(root, "fault", f.id)) for f in session.scenario.faults]
        # per controlled entity: queues of past commands and link messages
        self.sent: dict[str, list[tuple[int, Any]]] = {}
        self.links: dict[str, list[tuple[int, Any]]] = {}
        self.last_tick = -1

    # -- the schedule --------------------------------------------------------------------
    def update(self, tick: int) -> list[Event]:
        """Start and end faults at ``tick``; returns their events."""
        if tick == self.last_tick:  # once per tick (the session starts tick 0 early)
            return []
        self.last_tick = tick
        out: list[Event] = []
        for f in self.faults:
            spec = f.spec
            if f.active and f.end is not None and tick >= f.end:
                self._stop(f, tick)
                out.append(self._event(tick, "fault_end", f))
            if not f.active and self._starts(f, tick):
                f.active, f.start = True, tick
                f.end = None if spec.duration is None else tick + round(spec.duration / self.dt)
                self._begin(f, tick)
                out.append(self._event(tick, "fault_start", f))
            if f.active:
                self._evolve(f, tick)
        return out

    def _starts(self, f: _Live, tick: int) -> bool:
        spec = f.spec
        if spec.rate is not None:  # Poisson starts while not active
            return bool(f.rng.random() < -math.expm1(-spec.rate / 3600.0 * self.dt))
        if f.fired:
            return False
        if spec.at is not None:
            go = tick == round(spec.at / self.dt)
        else:
            trig = spec.when
            assert trig is not None
            if trig.distance is not None:
                a = self._xy(spec.entity or "")
                b = self._xy(trig.distance.to)
                go = a is not None and b is not None and math.dist(a, b) <= trig.distance.below
            else:
                go = any(
                    e.kind == trig.event and (spec.entity is None or spec.entity in e.entities)
                    for e in self.s.events
                )
        f.fired |= go
        return go

    def _xy(self, eid: str) -> tuple[float, float] | None:
        where = self.s.world.where.get(eid)
        if where is None:
            return None
        fp = self.s.world.runtimes[where[0]].footprints()
        k = where[1]
        if not fp.valid[k]:
            return None
        return float(fp.cx_m[k]), float(fp.cy_m[k])

    def _event(self, tick: int, kind: str, f: _Live) -> Event:
        spec = f.spec
        ents = (spec.entity,) if spec.entity else ()
        details = {"fault": spec.id, "kind": spec.kind, **_jsonable(spec.params())}
        if kind == "fault_end":
            details["active_s"] = (tick - f.start) * self.dt
        return Event(tick, tick * self.dt, kind, ents, details)

    # -- effects -------------------------------------------------------------------------
    def _sensors(self, f: _Live) -> list[Any]:
        suite: SensorSuite | None = self.s.sensors.get(f.spec.entity or "")
        if suite is None:
            return []
        if f.spec.sensor is not None:
            return [suite.by_id[f.spec.sensor]]
        return [*suite.objects, *suite.own]

    def _set(self, f: _Live, sensor: Any, key: str, value: Any) -> None:
        sensor.mods[key] = value
        f.mods.append((sensor, key))

    def _begin(self, f: _Live, tick: int) -> None:
        spec = f.spec
        kind = spec.kind
        if kind in ENVIRONMENT_FAULTS:
            self._environment(spec, True)
            return
        if kind not in SENSOR_FAULTS:
            if kind == "rudder_jam":
                f.memo["rudder"] = self._own(spec.entity or "").rudder_rad
            return
        for s in self._sensors(f):
            own = not hasattr(s, "group")
            if kind in ("sensor_dropout", "sensor_frozen", "gnss_loss"):
                if own:
                    self._set(f, s, "lost", True)
                else:
                    self._set(f, s, "dropout" if kind == "sensor_dropout" else "frozen", True)
            elif kind == "sensor_noise" and not own:
                self._set(f, s, "noise_factor", spec.factor if spec.factor is not None else 3.0)
                self._set(f, s, "noise_add", float(spec.sigma or 0.0))
            elif kind == "sensor_bias" and not own:
                assert spec.bias is not None
                self._set(f, s, "bias_along", float(spec.bias[0]))
                self._set(f, s, "bias_across", float(spec.bias[1]))
            elif kind == "sensor_latency" and not own:
                self._set(f, s, "latency_add_ticks", round(float(spec.delay or 0) / self.dt))
            elif kind == "false_targets" and not own:
                self._set(f, s, "clutter_add", spec.clutter if spec.clutter is not None else 1.0)
            elif kind == "reduced_range" and not own:
                rf, pf = (spec.factor or 1.0, 1.0)
                if spec.preset is not None:
                    rf, pf = WEATHER.get(spec.preset, {}).get(s.spec.type, (1.0, 1.0))
                self._set(f, s, "range_factor", rf)
                self._set(f, s, "p_factor", pf)
            elif kind == "gnss_drift" and own:
                self._set(f, s, "drift_x", 0.0)
                self._set(f, s, "drift_y", 0.0)
            elif kind == "ais_spoof" and not own and s.spec.type == "ais":
                g = spec.ghost
                assert g is not None
                o = self._own(spec.entity or "")
                f.memo["ghost0"] = (
                    o.x_m + g.range * math.sin(g.bearing),
                    o.y_m + g.range * math.cos(g.bearing),
                )
                self._set(f, s, "ghosts", [])

    def _evolve(self, f: _Live, tick: int) -> None:
        """Faults that change while active: drift grows, the ghost moves."""
        spec = f.spec
        age = (tick - f.start) * self.dt
        if spec.kind == "gnss_drift":
            assert spec.drift is not None
            for sensor, key in f.mods:
                if key == "drift_x":
                    sensor.mods[key] = spec.drift[0] * age
                elif key == "drift_y":
                    sensor.mods[key] = spec.drift[1] * age
        elif spec.kind == "ais_spoof":
            g = spec.ghost
            assert g is not None
            x0, y0 = f.memo["ghost0"]
            ghost = {
                "id": f"ghost-{spec.id}",
                "x_m": x0 + g.speed * math.sin(g.course) * age,
                "y_m": y0 + g.speed * math.cos(g.course) * age,
                "sog_mps": float(g.speed),
                "cog_rad": float(g.course),
                "mmsi": g.mmsi,
            }
            for sensor, key in f.mods:
                if key == "ghosts":
                    sensor.mods[key] = [ghost]

    def _stop(self, f: _Live, tick: int) -> None:
        f.active = False
        for sensor, key in f.mods:
            sensor.mods.pop(key, None)
        f.mods.clear()
        if f.spec.kind in ENVIRONMENT_FAULTS:
            self._environment(f.spec, False)

    def _environment(self, spec: FaultSpec, active: bool) -> None:
        rt = self.s.world.runtimes[ENVIRONMENT_DOMAIN[spec.kind]]
        problem = rt.environment_fault(spec.kind, spec.params(), active)
        if problem:
            from sim.errors import ScenarioError

            raise ScenarioError(f"fault {spec.id!r}: {problem}")

    def _own(self, eid: str) -> Any:
        dom, slot = self.s.world.where[eid]
        return self.s.world.runtimes[dom].observe(slot, self.s.tick).own

    def active(self, eid: str, family: tuple[str, ...]) -> list[_Live]:
        return [
            f for f in self.faults if f.active and f.spec.entity == eid and f.spec.kind in family
        ]

    # -- what the agent sees, what the vehicle gets --------------------------------------
    def observe(self, eid: str, obs: Any, tick: int) -> Any:
        """Link faults on the observation: the domain's data-link part is lost (held),
        delayed or dropped."""
        hist = self.links.setdefault(eid, [])
        part = _link_part(obs)
        if part is None:
            return obs
        faults = self.active(eid, LINK_FAULTS)
        delay = max(
            (
                round(float(f.spec.delay or 0) / self.dt)
                for f in faults
                if f.spec.kind == "link_delay"
            ),
            default=0,
        )
        lost = any(f.spec.kind == "link_loss" for f in faults)
        dropped = any(
            f.spec.kind == "link_drop" and f.rng.random() < (f.spec.probability or 0.0)
            for f in faults
        )
        if not (lost or dropped):
            hist.append((tick, part))
            del hist[: max(0, len(hist) - 4096)]
        if not hist:
            return obs
        if lost or dropped:
            use = hist[-1][1]
        else:
            use = next((p for t, p in reversed(hist) if t <= tick - delay), hist[0][1])
        return _with_link(obs, use)

    def actuate(self, eid: str, action: Any, tick: int, limits: Any) -> Any:
        """Actuator faults on the agent's command (a dict or the domain's action)."""
        faults = self.active(eid, ACTUATOR_FAULTS)
        queue = self.sent.setdefault(eid, [])
        if not faults:
            queue.clear()
            return action
        cmd = _as_dict(action)
        queue.append((tick, dict(cmd)))
        del queue[: max(0, len(queue) - 4096)]
        for f in faults:
            spec = f.spec
            if spec.kind == "actuator_delay":
                k = round(float(spec.delay or 0) / self.dt)
                old = [c for t, c in queue if t <= tick - k]
                if not old:
                    return HOLD  # nothing has reached the actuators yet
                cmd = dict(old[-1])
            elif spec.kind == "actuator_stuck":
                if "stuck" not in f.memo:
                    f.memo["stuck"] = dict(cmd)
                    if spec.value is not None:
                        for name in [spec.field] if spec.field else list(cmd):
                            f.memo["stuck"][name] = spec.value
                keep = [spec.field] if spec.field else list(cmd)
                cmd.update({k: f.memo["stuck"][k] for k in keep if k in f.memo["stuck"]})
            elif spec.kind == "actuator_saturation" and limits is not None:
                _, names, low, high = limits
                fac = float(spec.factor or 1.0)
                for n, lo, hi in zip(names, low, high, strict=True):
                    if cmd.get(n) is not None and n not in ("hdg_rad", "heading_rad"):
                        mid = 0.0 if lo < 0 < hi else lo
                        cmd[n] = float(
                            np.clip(cmd[n], mid + (lo - mid) * fac, mid + (hi - mid) * fac)
                        )
            elif spec.kind in ("reduced_braking", "power_loss"):
                fac = float(spec.factor or 1.0)
                brake = spec.kind == "reduced_braking"
                for n in ("accel_mps2", "demand"):
                    v = cmd.get(n)
                    if v is not None and ((v < 0) == brake) and v != 0:
                        cmd[n] = v * fac
                if not brake:
                    for n in ("speed_mps", "tas_mps"):
                        if cmd.get(n) is not None:
                            cmd[n] = cmd[n] * fac
            elif spec.kind == "rudder_jam":
                cmd["rudder_rad"] = f.memo["rudder"]
                cmd["heading_rad"] = None
        return cmd


def _as_dict(action: Any) -> dict[str, Any]:
    if isinstance(action, Mapping):
        return dict(action)
    if dataclasses.is_dataclass(action) and not isinstance(action, type):
        return {f.name: getattr(action, f.name) for f in dataclasses.fields(action)}
    raise TypeError(f"not an action: {action!r}")


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


# The data-link part of each domain's observation (what a link fault withholds).
def _link_part(obs: Any) -> Any:
    name = type(obs).__name__
    if name == "RailObservation":
        # the authority as positions along the path, so a held one stays where it was
        return ("rail", obs.own.position_m + obs.eoa_m, obs.own.position_m + obs.svl_m)
    if name == "AirObservation":
        return ("air", obs.traffic)
    if name == "WaterObservation":
        return ("water", obs.ais)
    if name == "RoadObservation":
        return ("road", obs.signal)
    return None


def _with_link(obs: Any, part: Any) -> Any:
    kind = part[0]
    if kind == "rail":
        pos = obs.own.position_m
        return dataclasses.replace(obs, eoa_m=part[1] - pos, svl_m=part[2] - pos)
    if kind == "air":
        return dataclasses.replace(obs, traffic=part[1])
    if kind == "water":
        return dataclasses.replace(obs, ais=part[1])
    return dataclasses.replace(obs, signal=part[1])
