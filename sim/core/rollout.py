"""The one loop: observe, act, step every domain, detect events, record (DESIGN.md §3).

No wall clock anywhere: time is ``tick * dt``. Randomness comes only from generators spawned
from the run's ``SeedSequence``: one per domain, then one per controlled entity's agent.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from agents.identity import label
from sim.core.events import Event
from sim.core.geometry import aabb_half_extents, box_corners, boxes_intersect, candidate_pairs
from sim.core.log import Recorder, RunLog
from sim.domains import get_domain
from sim.domains.base import GROUND_HEIGHT_M, ActionInvalid, ActionNonFinite, DomainRuntime
from sim.errors import AgentFault, ProvingGroundError
from sim.faults import HOLD, FaultEngine
from sim.scenario.model import ScenarioBase
from sim.sensors import STATS, SensorSuite

PLANS = "plans"  # log group of the agents' planned paths (not a domain)
SENSORS = "sensors"  # log group of the sensors' scan statistics (not a domain)
PLAN_POINTS = 16


def raised(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """Message and details of an exception an in-process agent raised: where it was raised
    (file:line in function, innermost last, at most 12 frames; paths relative to the working
    folder where they are under it) so the event says where to look. With PGROUND_DEBUG=1
    the whole traceback goes to stderr as well."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    cwd = os.getcwd() + os.sep
    where = [f"{f.filename.removeprefix(cwd)}:{f.lineno} in {f.name}" for f in frames[-12:]]
    if os.environ.get("PGROUND_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
    message = f"{type(exc).__name__}: {exc}" + (f" (at {where[-1]})" if where else "")
    return message, {"traceback": where}


@dataclass
class RunResult:
    """Outcome of one rollout. ``status``: 'terminated' (an event ended it), 'truncated'
    (duration reached) or 'error' (an agent fault under the 'error' policy)."""

    log: RunLog
    events: list[Event]
    status: str
    reason: str
    ticks: int
    agents: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class World:
    """Every domain runtime of a run, and where each entity lives."""

    runtimes: dict[str, DomainRuntime]
    where: dict[str, tuple[str, int]]  # entity id -> (domain, slot)
    order: list[str]  # entity ids in global index order

    @classmethod
    def build(cls, scenario: ScenarioBase, seed: np.random.SeedSequence) -> World:
        groups: dict[str, list[int]] = {}
        for i, e in enumerate(scenario.entities):
            groups.setdefault(e.domain, []).append(i)
        ref_id = next(e.id for e in scenario.entities if e.controlled)
        names = sorted(groups)
        seeds = seed.spawn(len(names))
        runtimes: dict[str, DomainRuntime] = {}
        where: dict[str, tuple[str, int]] = {}
        order: list[str] = []
        for name, ss in zip(names, seeds, strict=True):
            rt = get_domain(name).build(scenario, groups[name], ref_id=ref_id, seed=ss)
            runtimes[name] = rt
            for slot, eid in enumerate(rt.meta.ids):
                where[eid] = (name, slot)
                order.append(eid)
        return cls(runtimes, where, order)


class CollisionMonitor:
    """Collisions across all domains: oriented-box broad phase on arrays, shapely narrow
    phase, events on first contact of a pair (a pair in contact stays one collision)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.in_contact = np.zeros(0, dtype=np.int64)
        self.controlled = np.concatenate([rt.meta.controlled for rt in world.runtimes.values()])
        self.kinds = [k for rt in world.runtimes.values() for k in rt.meta.kinds]

    def check(self, tick: int, time_s: float) -> tuple[list[Event], bool]:
        fps = [rt.footprints() for rt in self.world.runtimes.values()]
        names = ("cx_m", "cy_m", "heading_rad", "length_m", "width_m", "speed_mps", "valid")
        if len(fps) == 1:
            cat = {name: getattr(fps[0], name) for name in names}
        else:
            cat = {name: np.concatenate([getattr(fp, name) for fp in fps]) for name in names}
        vertical = any(fp.z_m is not None for fp in fps)
        if vertical:
            z = [
                fp.z_m if fp.z_m is not None else 0.5 * GROUND_HEIGHT_M + 0 * fp.cx_m for fp in fps
            ]
            hz = [
                fp.height_m if fp.height_m is not None else GROUND_HEIGHT_M + 0 * fp.cx_m
                for fp in fps
            ]
            zc, zh = np.concatenate(z), np.concatenate(hz)
        hx, hy = aabb_half_extents(cat["heading_rad"], cat["length_m"], cat["width_m"])
        i, j = candidate_pairs(cat["cx_m"], cat["cy_m"], hx, hy, cat["valid"])
        if vertical and i.size:  # boxes at different heights do not touch
            over = np.abs(zc[i] - zc[j]) <= 0.5 * (zh[i] + zh[j])
            i, j = i[over], j[over]
        if i.size:
            args = [cat[k] for k in ("cx_m", "cy_m", "heading_rad", "length_m", "width_m")]
            ca = box_corners(*(a[i] for a in args))
            cb = box_corners(*(a[j] for a in args))
            hit = boxes_intersect(ca, cb)
            i, j = i[hit], j[hit]
        n = self.controlled.size
        keys = i.astype(np.int64) * n + j
        new = (
            ~np.isin(keys, self.in_contact)
            if keys.size and self.in_contact.size
            else np.ones(keys.size, dtype=bool)
        )
        self.in_contact = keys
        events = []
        ego_hit = False
        v, h = cat["speed_mps"], cat["heading_rad"]
        for a, b in zip(i[new], j[new], strict=True):
            rel = float(
                np.hypot(
                    v[a] * np.cos(h[a]) - v[b] * np.cos(h[b]),
                    v[a] * np.sin(h[a]) - v[b] * np.sin(h[b]),
                )
            )
            ids = (self.world.order[a], self.world.order[b])
            events.append(
                Event(
                    tick,
                    time_s,
                    "collision",
                    ids,
                    {
                        "kinds": [self.kinds[a], self.kinds[b]],
                        "speeds_mps": [float(v[a]), float(v[b])],
                        "relative_speed_mps": rel,
                    },
                )
            )
            ego_hit |= bool(self.controlled[a] or self.controlled[b])
        return events, ego_hit


class Observer(Protocol):
    """Watches a run as it is computed (the live viewer). It never changes the run."""

    def begin(
        self, meta: dict[str, Any], arrays: dict[str, dict[str, np.ndarray]], dt: float
    ) -> None: ...

    def frame(self, tick: int, events: list[Event]) -> None: ...


class Session:
    """One run, tick by tick: what :func:`rollout` loops over, and what the Gymnasium and
    PettingZoo adapters drive from outside.

    ``agents`` maps controlled entity ids to Agents; ids in ``external`` get their actions
    from :meth:`step` instead (an RL policy). Agent faults become ``agent_fault`` events and
    the scenario's ``agent_fault`` policy decides: 'error' ends the run, 'hold' keeps the
    previous command, 'fallback' applies the domain's safe command. An agent whose fault is
    fatal (its process died) is not asked again; the policy applies at every control tick.
    """

    def __init__(
        self,
        scenario: ScenarioBase,
        agents: Mapping[str, Any],
        *,
        seed: int | None = None,
        observer: Observer | None = None,
        external: tuple[str, ...] = (),
    ) -> None:
        self.scenario = scenario
        self.agents = dict(agents)
        self.external = tuple(external)
        self.observer = observer
        seed_seq = np.random.SeedSequence(scenario.seed if seed is None else seed)
        # spawned children depend only on their index: sensors and faults (children 2 and 3)
        # leave the world's and the agents' streams as they were without them
        world_seed, self._agent_seed, sensor_seed, self._fault_seed = seed_seq.spawn(4)
        self.world = world = World.build(scenario, world_seed)
        self.dt = dt = float(scenario.dt)
        self.n_ticks = scenario.n_ticks
        self.every = scenario.control_every
        self.controlled = [e.id for e in scenario.entities if e.controlled]
        missing = [c for c in self.controlled if c not in self.agents and c not in external]
        if missing:
            raise ValueError(f"no agent for controlled entities: {', '.join(missing)}")
        fields = {name: rt.log_fields() for name, rt in world.runtimes.items()}
        # agents may expose the path they intend to follow: PLAN_POINTS world points each
        fields[PLANS] = {
            a: (np.dtype(np.float64), len(self.controlled) * PLAN_POINTS) for a in ("x_m", "y_m")
        }
        self.sensors = self._build_sensors(sensor_seed)
        sensor_cols = [
            {"entity": eid, "id": s.id, "type": s.spec.type, "group": s.group}
            for eid, suite in self.sensors.items()
            for s in suite.objects
        ]
        if sensor_cols:
            fields[SENSORS] = {k: (np.dtype(np.float64), len(sensor_cols)) for k in STATS}
        self.recorder = Recorder(fields, self.n_ticks, dt)
        self.faults = FaultEngine(self, self._fault_seed) if scenario.faults else None
        self._limits: dict[str, Any] = {}
        self.plan_x = np.full(len(self.controlled) * PLAN_POINTS, np.nan)
        self.plan_y = self.plan_x.copy()
        self.collisions = CollisionMonitor(world)
        self.meta = {
            "entities": [
                {"id": eid, "domain": world.where[eid][0], "slot": world.where[eid][1]}
                for eid in world.order
            ],
            "domains": {
                name: {
                    "ids": list(rt.meta.ids),
                    "kinds": list(rt.meta.kinds),
                    "controlled": rt.meta.controlled.tolist(),
                    "length_m": rt.meta.length_m.tolist(),
                    "width_m": rt.meta.width_m.tolist(),
                    "goals": list(rt.meta.goals),
                    "extra": rt.meta.extra,
                    "map": rt.map_summary(),
                }
                for name, rt in world.runtimes.items()
            },
            PLANS: {"entities": self.controlled, "points": PLAN_POINTS},
            SENSORS: sensor_cols,
            "dt": dt,
            "control_every": self.every,
            "n_ticks_planned": self.n_ticks,
        }
        self.events: list[Event] = []
        self.status, self.reason = "truncated", f"duration {scenario.duration:g} s reached"
        self.agent_info: dict[str, dict[str, str]] = {}
        self.tick = 0
        self.done = False
        self.dead: set[str] = set()  # agents after a fatal fault
        self._stop_error = False
        self._finished = False
        self._box_cache: tuple[int, Any] = (-1, None)
        self._seen = 0
        # domain rule events (offroad, red_light, nmac, geofence_breach...) in terminate_on
        self._rule_stops = set(scenario.terminate_on) - {"collision", "goal"}

    # -- set-up -----------------------------------------------------------------------------

    def _build_sensors(self, root: np.random.SeedSequence) -> dict[str, SensorSuite]:
        kinds = {
            eid: rt.meta.kinds[slot]
            for eid, (dom, slot) in self.world.where.items()
            for rt in [self.world.runtimes[dom]]
        }
        return {
            eid: SensorSuite(
                list(specs), self.world.where[eid][0], eid, self.dt, self.world.order, kinds, root
            )
            for eid, specs in sorted(self.scenario.sensors.items())
            if specs
        }

    def _ideal(self, eid: str) -> Any:
        dom, slot = self.world.where[eid]
        rt = self.world.runtimes[dom]
        return getattr(rt, "observe_truth", rt.observe)(slot, self.tick)

    def _boxes(self) -> tuple[np.ndarray, Any]:
        """(valid, shapely polygons) of every entity's box in world order, built once per
        tick for the sensors' line-of-sight tests."""
        if self._box_cache[0] != self.tick:
            from sim.sensors import box_polygons

            fps = [rt.footprints() for rt in self.world.runtimes.values()]
            cat = [
                np.concatenate([getattr(fp, k) for fp in fps])
                for k in ("cx_m", "cy_m", "heading_rad", "length_m", "width_m", "valid")
            ]
            self._box_cache = (self.tick, (cat[5].astype(bool), box_polygons(*cat[:5])))
        return self._box_cache[1]

    def start(self) -> None:
        """Brief every agent, then monitor and record tick 0."""
        for eid, ss in zip(
            self.controlled, self._agent_seed.spawn(len(self.controlled)), strict=True
        ):
            if eid in self.external:
                continue
            agent = self.agents[eid]
            try:
                # a deep copy: an agent that mutates its brief cannot reach the world's data
                agent.reset(self.briefing(eid), rng=np.random.default_rng(ss))
            except AgentFault as exc:
                self._fault(0, eid, exc.kind, str(exc), exc.details, fatal=exc.fatal)
            except ProvingGroundError:
                raise  # the agent cannot be run at all (e.g. its program is missing)
            except Exception as exc:
                self._fault(0, eid, "reset_raised", *raised(exc))
            # after reset: an out-of-process agent tells its name in its hello
            self.agent_info[eid] = {
                "name": label(getattr(agent, "name", type(agent).__name__)),
                "version": label(getattr(agent, "version", "unknown")),
            }
        if self.observer is not None:
            self.observer.begin(self.meta, self.recorder.arrays, self.dt)
        if self.faults is not None:  # faults from t = 0 are in force in the first row
            self.events.extend(self.faults.update(0))
        terminal = self._observe_monitors(0)
        self._show(0)
        if self._stop_error:
            self._end("error", "agent fault at reset")
        elif terminal:
            self._end("terminated", "terminal event at start")
        elif self.n_ticks == 0:
            self.done = True

    def briefing(self, eid: str) -> Any:
        dom, slot = self.world.where[eid]
        return copy.deepcopy(self.world.runtimes[dom].briefing(slot))

    def observe(self, eid: str) -> Any:
        """What ``eid``'s sensors report at the current tick (the domain's ideal
        observation when the scenario declares no sensors for it)."""
        dom, slot = self.world.where[eid]
        if getattr(self.agents.get(eid), "perceives_ground_truth", False):
            # a human reference (R157's careful driver) sees the scene, not the system's
            # sensors: neither sensor declarations nor sensor faults apply to it
            return self.world.runtimes[dom].observe(slot, self.tick)
        suite = self.sensors.get(eid)
        if suite is None:
            obs = self.world.runtimes[dom].observe(slot, self.tick)
        else:
            obs = suite.apply(self._ideal(eid), self.tick)
        if self.faults is not None:
            obs = self.faults.observe(eid, obs, self.tick)
        return obs

    @property
    def control_due(self) -> bool:
        return self.tick % self.every == 0

    # -- the tick ---------------------------------------------------------------------------

    def step(self, actions: Mapping[str, Any] | None = None) -> list[Event]:
        """Advance one tick; ``actions`` for the external entities (used on control ticks).
        Returns the events of this tick; ``done``/``status``/``reason`` tell what follows."""
        if self.done:
            raise RuntimeError("the run is over")
        first = len(self.events)
        tick = self.tick
        if self.faults is not None:
            self.events.extend(self.faults.update(tick))
        if self.sensors:
            stats = []
            for eid, suite in self.sensors.items():
                self.events.extend(suite.scan(tick, lambda eid=eid: self._ideal(eid), self._boxes))
                stats.append(suite.stats())
            table = np.concatenate(stats, axis=1)
            self.recorder.record(tick, SENSORS, {k: table[i] for i, k in enumerate(STATS)})
        if tick % self.every == 0:
            for k, eid in enumerate(self.controlled):
                if eid in self.external:
                    if eid not in (actions or {}):  # no new command: the last one stays
                        dom, slot = self.world.where[eid]
                        self.world.runtimes[dom].hold_action(slot)
                        continue
                    given = (actions or {})[eid]
                    self._apply(tick, eid, lambda given=given: given)
                else:
                    self._apply(tick, eid, lambda eid=eid: self.agents[eid].act(self.observe(eid)))
                    _record_plan(self.agents[eid], k, self.plan_x, self.plan_y)
            # the plan belongs with the state it was made from (row ``tick``)
            self.recorder.record(tick, PLANS, {"x_m": self.plan_x, "y_m": self.plan_y})
        if self._stop_error:
            self._end("error", "agent fault (policy: error)")
            return self.events[first:]
        stop = None
        for rt in self.world.runtimes.values():
            stepped = rt.step(tick)
            self.events.extend(stepped)
            stop = stop or next((e for e in stepped if e.kind == "end"), None)
        self.tick = tick + 1
        terminal = self._observe_monitors(self.tick)
        self._show(self.tick)
        sc = self.scenario
        if stop is not None and not terminal:  # a scripted end (OpenSCENARIO's StopTrigger)
            self._end("terminated", f"the scenario's end ({stop.details.get('manoeuvre')})")
        elif terminal:
            self._end("terminated", _first_terminal(self.events, sc.terminate_on))
        elif "goal" in sc.terminate_on and all(
            rt.goals_reached() for rt in self.world.runtimes.values() if rt.meta.controlled.any()
        ):
            self._end("terminated", "all goals reached")
        elif self.tick >= self.n_ticks:
            self.done = True
        return self.events[first:]

    def _apply(self, tick: int, eid: str, decide: Any) -> None:
        """Ask for ``eid``'s action and hand it to its domain; faults follow the policy."""
        dom, slot = self.world.where[eid]
        rt = self.world.runtimes[dom]
        if eid in self.dead:
            self._policy(rt, slot)
            return
        try:
            action = decide()
        except AgentFault as exc:
            self._fault(tick, eid, exc.kind, str(exc), exc.details, fatal=exc.fatal)
            self._policy(rt, slot)
            return
        except Exception as exc:
            self._fault(tick, eid, "act_raised", *raised(exc))
            self._policy(rt, slot)
            return
        if self.faults is not None:
            with contextlib.suppress(TypeError, OverflowError):  # apply_action says why
                action = self.faults.actuate(eid, action, tick, self._action_limits(eid))
            if action is HOLD:  # delayed: nothing has reached the actuators yet
                rt.hold_action(slot)
                return
        try:
            rt.apply_action(slot, action)
        except ActionNonFinite as exc:
            self._fault(tick, eid, "nonfinite_action", str(exc))
            self._policy(rt, slot)
        except ActionInvalid as exc:
            self._fault(tick, eid, "invalid_action", str(exc))
            self._policy(rt, slot)
        except OverflowError:  # an integer no float holds (1 followed by 400 zeros)
            self._fault(tick, eid, "invalid_action", "a number too large for a float")
            self._policy(rt, slot)

    def _action_limits(self, eid: str) -> Any:
        """(type, fields, low, high) of ``eid``'s action (for actuator saturation)."""
        if eid not in self._limits:
            from sim.rl import action_box

            dom, _ = self.world.where[eid]
            try:
                self._limits[eid] = action_box(dom, self.briefing(eid))
            except (ValueError, KeyError, AttributeError):
                self._limits[eid] = None
        return self._limits[eid]

    def _policy(self, rt: DomainRuntime, slot: int) -> None:
        fallback = getattr(rt, "fallback_action", None)
        if self.scenario.agent_fault == "fallback" and fallback is not None:
            rt.apply_action(slot, fallback(slot))
        else:
            rt.hold_action(slot)

    def _fault(
        self,
        tick: int,
        eid: str,
        kind: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        fatal: bool = False,
    ) -> None:
        payload = {"fault": kind, "message": message[:500], **(details or {})}
        if fatal:
            payload["fatal"] = True
            self.dead.add(eid)
        payload["policy"] = self.scenario.agent_fault
        self.events.append(Event(tick, tick * self.dt, "agent_fault", (eid,), payload))
        self._stop_error |= self.scenario.agent_fault == "error"

    def _exchange(self) -> None:
        """Domains that share infrastructure (a rail level crossing guarding a road) publish
        states and read the others' (optional ``publish``/``receive`` runtime methods)."""
        bus: dict[str, Any] = {}
        runtimes = self.world.runtimes.values()
        for rt in runtimes:
            pub = getattr(rt, "publish", None)
            if pub is not None:
                bus.update(pub())
        for rt in runtimes:
            rec = getattr(rt, "receive", None)
            if rec is not None:
                rec(bus)

    def _observe_monitors(self, tick: int) -> bool:
        """Monitors and recording at ``tick``; True when a terminal event happened."""
        self._exchange()
        terminal = False
        controlled = set(self.controlled)
        for name, rt in self.world.runtimes.items():
            evs = rt.monitor(tick)
            self.events.extend(evs)
            # rule events end the run only when they concern an entity under test
            terminal |= any(
                e.kind in self._rule_stops and not controlled.isdisjoint(e.entities) for e in evs
            )
            self.recorder.record(tick, name, rt.state())
        self.recorder.record(tick, PLANS, {"x_m": self.plan_x, "y_m": self.plan_y})
        cevs, ego_hit = self.collisions.check(tick, tick * self.dt)
        self.events.extend(cevs)
        return terminal | (ego_hit and "collision" in self.scenario.terminate_on)

    def _show(self, tick: int) -> None:
        if self.observer is not None:
            self.observer.frame(tick, self.events[self._seen :])
            self._seen = len(self.events)

    def _end(self, status: str, reason: str) -> None:
        self.status, self.reason, self.done = status, reason, True

    def close(self) -> None:
        """Release the agents (out-of-process agents stop their process group)."""
        for agent in self.agents.values():
            fn = getattr(agent, "close", None)
            if callable(fn):
                with contextlib.suppress(Exception):
                    fn()

    def result(self) -> RunResult:
        if not self._finished:
            self._finished = True
            for suite in self.sensors.values():
                self.events.extend(suite.never_detected(self.dt))
        return RunResult(
            self.recorder.finish(self.meta),
            self.events,
            self.status,
            self.reason,
            self.tick,
            self.agent_info,
        )


def rollout(
    scenario: ScenarioBase,
    agents: Mapping[str, Any],
    *,
    seed: int | None = None,
    observer: Observer | None = None,
) -> RunResult:
    """Run ``scenario`` with ``agents`` (entity id -> Agent) and return the log and events.

    ``seed`` overrides the scenario's. An agent that raises, misses its deadline or returns
    an invalid action produces an ``agent_fault`` event; the scenario's ``agent_fault``
    policy then ends the run as 'error', holds the previous command or applies the domain's
    safe fallback.
    """
    session = Session(scenario, agents, seed=seed, observer=observer)
    try:
        session.start()
        while not session.done:
            session.step()
    finally:
        session.close()
    return session.result()


def _record_plan(agent: Any, k: int, plan_x: np.ndarray, plan_y: np.ndarray) -> None:
    """Copy ``agent.planned_path()`` ((K, 2) world metres, optional) into slot ``k``: the first
    PLAN_POINTS points, NaN-padded. A broken plan is ignored: it is a display aid only."""
    fn = getattr(agent, "planned_path", None)
    if fn is None:
        return
    sl = slice(k * PLAN_POINTS, (k + 1) * PLAN_POINTS)
    plan_x[sl] = plan_y[sl] = np.nan
    try:
        pts = np.asarray(fn(), dtype=float).reshape(-1, 2)[:PLAN_POINTS]
    except Exception:
        return
    if np.isfinite(pts).all():
        plan_x[sl.start : sl.start + len(pts)] = pts[:, 0]
        plan_y[sl.start : sl.start + len(pts)] = pts[:, 1]


def _first_terminal(events: list[Event], kinds: list[str]) -> str:
    for e in reversed(events):
        if e.kind in kinds:
            return f"{e.kind} at {e.time_s:.2f} s ({', '.join(e.entities)})"
    return "terminal event"
