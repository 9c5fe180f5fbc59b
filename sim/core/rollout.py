"""The one loop: observe, act, step every domain, detect events, record (DESIGN.md §3).

No wall clock anywhere: time is ``tick * dt``. Randomness comes only from generators spawned
from the run's ``SeedSequence``: one per domain, then one per controlled entity's agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from sim.core.events import Event
from sim.core.geometry import aabb_half_extents, box_corners, boxes_intersect, candidate_pairs
from sim.core.log import Recorder, RunLog
from sim.domains import get_domain
from sim.domains.base import GROUND_HEIGHT_M, ActionInvalid, DomainRuntime
from sim.scenario.model import ScenarioBase

PLANS = "plans"  # log group of the agents' planned paths (not a domain)
PLAN_POINTS = 16


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


def rollout(
    scenario: ScenarioBase,
    agents: Mapping[str, Any],
    *,
    seed: int | None = None,
    observer: Observer | None = None,
) -> RunResult:
    """Run ``scenario`` with ``agents`` (entity id -> Agent) and return the log and events.

    ``seed`` overrides the scenario's. An agent that raises or returns an invalid action
    produces an ``agent_fault`` event; the scenario's ``agent_fault`` policy then ends the
    run as 'error' or holds the previous command.
    """
    seed_seq = np.random.SeedSequence(scenario.seed if seed is None else seed)
    world_seed, agent_seed = seed_seq.spawn(2)
    world = World.build(scenario, world_seed)
    dt = float(scenario.dt)
    n_ticks = scenario.n_ticks
    every = scenario.control_every
    controlled = [e.id for e in scenario.entities if e.controlled]
    missing = [c for c in controlled if c not in agents]
    if missing:
        raise ValueError(f"no agent for controlled entities: {', '.join(missing)}")
    fields = {name: rt.log_fields() for name, rt in world.runtimes.items()}
    # agents may expose the path they intend to follow: PLAN_POINTS world points each
    fields[PLANS] = {
        a: (np.dtype(np.float64), len(controlled) * PLAN_POINTS) for a in ("x_m", "y_m")
    }
    recorder = Recorder(fields, n_ticks, dt)
    plan_x = np.full(len(controlled) * PLAN_POINTS, np.nan)
    plan_y = plan_x.copy()
    collisions = CollisionMonitor(world)
    meta = {
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
        PLANS: {"entities": controlled, "points": PLAN_POINTS},
        "dt": dt,
        "control_every": every,
        "n_ticks_planned": n_ticks,
    }
    events: list[Event] = []
    status, reason = "truncated", f"duration {scenario.duration:g} s reached"
    agent_info: dict[str, dict[str, str]] = {}

    def fault(tick: int, eid: str, what: str, message: str) -> bool:
        events.append(
            Event(tick, tick * dt, "agent_fault", (eid,), {"fault": what, "message": message[:500]})
        )
        return scenario.agent_fault == "error"

    stop_error = False
    for eid, ss in zip(controlled, agent_seed.spawn(len(controlled)), strict=True):
        dom, slot = world.where[eid]
        agent = agents[eid]
        agent_info[eid] = {
            "name": str(getattr(agent, "name", type(agent).__name__)),
            "version": str(getattr(agent, "version", "unknown")),
        }
        try:
            agent.reset(world.runtimes[dom].briefing(slot), rng=np.random.default_rng(ss))
        except Exception as exc:
            stop_error |= fault(0, eid, "reset_raised", f"{type(exc).__name__}: {exc}")

    # domain rule events (offroad, red_light, nmac, geofence_breach...) named in terminate_on
    rule_stops = set(scenario.terminate_on) - {"collision", "goal"}
    controlled_set = set(controlled)

    def exchange() -> None:
        """Domains that share infrastructure (a rail level crossing guarding a road) publish
        states and read the others' (optional ``publish``/``receive`` runtime methods)."""
        bus: dict[str, Any] = {}
        for rt in world.runtimes.values():
            pub = getattr(rt, "publish", None)
            if pub is not None:
                bus.update(pub())
        for rt in world.runtimes.values():
            rec = getattr(rt, "receive", None)
            if rec is not None:
                rec(bus)

    def observe_monitors(tick: int) -> bool:
        """Monitors and recording at ``tick``; True when a terminal event happened."""
        exchange()
        terminal = False
        for name, rt in world.runtimes.items():
            evs = rt.monitor(tick)
            events.extend(evs)
            # rule events end the run only when they concern an entity under test
            terminal |= any(
                e.kind in rule_stops and not controlled_set.isdisjoint(e.entities) for e in evs
            )
            recorder.record(tick, name, rt.state())
        recorder.record(tick, PLANS, {"x_m": plan_x, "y_m": plan_y})
        cevs, ego_hit = collisions.check(tick, tick * dt)
        events.extend(cevs)
        terminal |= ego_hit and "collision" in scenario.terminate_on
        return terminal

    seen = 0

    def show(tick: int) -> None:
        nonlocal seen
        if observer is not None:
            observer.frame(tick, events[seen:])
            seen = len(events)

    ticks = 0
    if observer is not None:
        observer.begin(meta, recorder.arrays, dt)
    terminal_at_start = observe_monitors(0)
    show(0)
    if stop_error:
        status, reason = "error", "agent fault at reset"
    elif terminal_at_start:
        status, reason = "terminated", "terminal event at start"
    else:
        for tick in range(n_ticks):
            if tick % every == 0:
                for k, eid in enumerate(controlled):
                    dom, slot = world.where[eid]
                    rt = world.runtimes[dom]
                    try:
                        action = agents[eid].act(rt.observe(slot, tick))
                    except Exception as exc:
                        stop_error |= fault(tick, eid, "act_raised", f"{type(exc).__name__}: {exc}")
                        rt.hold_action(slot)
                        continue
                    try:
                        rt.apply_action(slot, action)
                    except ActionInvalid as exc:
                        stop_error |= fault(tick, eid, "invalid_action", str(exc))
                        rt.hold_action(slot)
                    _record_plan(agents[eid], k, plan_x, plan_y)
                # the plan belongs with the state it was made from (row ``tick``)
                recorder.record(tick, PLANS, {"x_m": plan_x, "y_m": plan_y})
            if stop_error:
                status, reason = "error", "agent fault (policy: error)"
                break
            for rt in world.runtimes.values():
                events.extend(rt.step(tick))
            ticks = tick + 1
            terminal = observe_monitors(ticks)
            show(ticks)
            if terminal:
                status, reason = "terminated", _first_terminal(events, scenario.terminate_on)
                break
            if "goal" in scenario.terminate_on and all(
                rt.goals_reached() for rt in world.runtimes.values() if rt.meta.controlled.any()
            ):
                status, reason = "terminated", "all goals reached"
                break
    return RunResult(recorder.finish(meta), events, status, reason, ticks, agent_info)


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
