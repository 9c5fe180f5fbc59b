"""Domain-agnostic metrics: they read only x, y, heading, speed and validity, plus events."""

from __future__ import annotations

import numpy as np

from metrics.registry import MetricValue, RunData, metric
from sim.core.geometry import box_corners, boxes_distance
from sim.domains.base import GROUND_HEIGHT_M

#: Pair-ticks handled at once (memory bound).
_CHUNK = 1 << 20


@metric(
    "collisions",
    unit="count",
    source="CARLA ScenarioRunner CollisionTest; nuPlan "
    "no_ego_at_fault_collisions (count of contacts)",
)
def collisions(run: RunData) -> MetricValue:
    """Collisions involving a controlled entity: first contacts of oriented boxes.

    A pair that stays in contact counts once. Details list the other party's kind and the
    relative (impact) speed |v_a − v_b| of each collision.
    """
    evs = run.events_of("collision")
    details = [
        {
            "time_s": e.time_s,
            "entities": list(e.entities),
            "kinds": e.details["kinds"],
            "relative_speed_mps": e.details["relative_speed_mps"],
        }
        for e in evs
    ]
    return MetricValue(float(len(evs)), details={"collisions": details})


@metric(
    "collision_impact_speed_mps",
    unit="m/s",
    source="Euro NCAP AEB C2C v3.0.2 (impact speed); NeuroNCAP score uses v_impact",
)
def collision_impact_speed(run: RunData) -> MetricValue:
    """Largest relative speed |v_a − v_b| at first contact over collisions with a controlled
    entity; 0 when there was none."""
    evs = run.events_of("collision")
    return MetricValue(max((e.details["relative_speed_mps"] for e in evs), default=0.0))


def _boxes(run: RunData) -> dict[str, np.ndarray]:
    """Every entity of every domain as a vertical prism, (T, N) per field: plan-view box
    (centre, heading, length, width) and vertical extent (centre z, height). Ground entities
    stand on z = 0 with height ``GROUND_HEIGHT_M``; aircraft fly at their altitude with
    their kind's height (as the engine's contact check)."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("x", "y", "h", "L", "W", "z", "H", "ok")}
    for dom, arr in run.log.arrays.items():
        info = run.log.meta["domains"].get(dom)
        if info is None or "x_m" not in arr:
            continue
        shape = arr["x_m"].shape
        cols["x"].append(arr["x_m"])
        cols["y"].append(arr["y_m"])
        cols["h"].append(arr["heading_rad"])
        cols["ok"].append(arr["valid"])
        cols["L"].append(np.broadcast_to(np.asarray(info["length_m"], float), shape))
        cols["W"].append(np.broadcast_to(np.asarray(info["width_m"], float), shape))
        height = info.get("extra", {}).get("height_m")
        if "alt_m" in arr and height is not None:
            cols["z"].append(arr["alt_m"])
            cols["H"].append(np.broadcast_to(np.asarray(height, float), shape))
        else:
            cols["z"].append(np.full(shape, 0.5 * GROUND_HEIGHT_M))
            cols["H"].append(np.full(shape, GROUND_HEIGHT_M))
    return {k: np.concatenate(v, axis=1) for k, v in cols.items()}


@metric(
    "min_distance_m",
    unit="m",
    version=2,
    source="nuPlan ego_min_distance_to_track (box clearance); 3-D for vertical prisms",
)
def min_distance(run: RunData) -> MetricValue:
    """Smallest clearance between a controlled entity and any other entity, of any domain.

    Each entity is a vertical prism: its oriented plan-view box over its vertical extent
    (ground entities z ∈ [0, 4 m]; aircraft their height about their altitude). Clearance
    d = √(d_plan² + d_z²), d_plan the distance between the boxes (0 when they overlap in
    plan) and d_z the gap between the vertical extents (0 when they overlap): for two
    ground entities it is the plan-view box distance; an aircraft passing 183 m over
    another is 183 m − heights away, not 0. Minimum over every pair and tick (0 in contact;
    inf with nothing else in the run).
    """
    g = _boxes(run)
    c = np.asarray(
        [off + k for d, off in _offsets(run).items() for k in run.controlled.get(d, [])], int
    )
    T, N = g["x"].shape
    if c.size == 0 or N < 2:
        return MetricValue(float("inf"))
    rad = 0.5 * np.sqrt(g["L"] ** 2 + g["W"] ** 2 + g["H"] ** 2)
    step = max(1, _CHUNK // (c.size * N))  # ticks per chunk: bounded memory

    def centres(k: slice) -> tuple[np.ndarray, np.ndarray]:
        dx = g["x"][k, None, :] - g["x"][k, c, None]
        dy = g["y"][k, None, :] - g["y"][k, c, None]
        dz = g["z"][k, None, :] - g["z"][k, c, None]
        both = g["ok"][k, c, None] & g["ok"][k, None, :]
        both[:, np.arange(c.size), c] = False
        return np.where(both, np.sqrt(dx * dx + dy * dy + dz * dz), np.inf), dz

    # the centre distance bounds the clearance from above, the centre distance less both
    # circumscribed radii from below: only pairs whose lower bound can beat the best upper
    # bound are measured exactly
    chunks = [slice(lo, lo + step) for lo in range(0, T, step)]
    best = min(float(centres(k)[0].min(initial=np.inf)) for k in chunks)
    if not np.isfinite(best):
        return MetricValue(best)
    args = [g[name] for name in ("x", "y", "h", "L", "W")]
    for k in chunks:
        centre, dz = centres(k)
        lower = centre - rad[k, c, None] - rad[k, None, :]
        ti, ci, oi = np.nonzero(np.isfinite(centre) & (lower <= best))
        if ti.size == 0:
            continue
        tg, ei = ti + k.start, c[ci]
        plan = boxes_distance(
            box_corners(*(a[tg, ei] for a in args)), box_corners(*(a[tg, oi] for a in args))
        )
        height = 0.5 * (g["H"][tg, ei] + g["H"][tg, oi])
        vert = np.maximum(np.abs(dz[ti, ci, oi]) - height, 0.0)
        best = min(best, float(np.hypot(plan, vert).min()))
    return MetricValue(best)


def _offsets(run: RunData) -> dict[str, int]:
    """Column of each domain's first entity in :func:`_boxes`' arrays."""
    out, off = {}, 0
    for dom, arr in run.log.arrays.items():
        if dom in run.log.meta["domains"] and "x_m" in arr:
            out[dom] = off
            off += arr["x_m"].shape[1]
    return out


@metric(
    "progress_m",
    unit="m",
    source="CARLA DrivenDistanceTest; nuPlan ego_progress_along_expert_route",
)
def progress(run: RunData) -> MetricValue:
    """Distance travelled by the controlled entity: Σ |p(k+1) − p(k)| over valid ticks
    (the smallest over controlled entities when there are several)."""
    out = np.inf
    for dom, slots in run.controlled.items():
        arr = run.log.arrays[dom]
        for e in slots:
            ok = arr["valid"][:, e]
            step = np.hypot(np.diff(arr["x_m"][:, e]), np.diff(arr["y_m"][:, e]))
            out = min(out, float(step[ok[1:] & ok[:-1]].sum()))
    return MetricValue(0.0 if out == np.inf else out)


@metric("time_to_goal_s", unit="s", source="CommonRoad goal_reached; CARLA RouteCompletionTest")
def time_to_goal(run: RunData) -> MetricValue:
    """Time of the last controlled entity's goal_reached event; inf when a goal was not
    reached; not applicable (invalid) when no controlled entity has a goal."""
    goals = [
        g
        for dom in run.log.meta["domains"].values()
        for g, c in zip(dom.get("goals", []), dom["controlled"], strict=False)
        if c and g
    ]
    if not goals:
        return MetricValue(float("nan"), valid=False)
    evs = run.events_of("goal_reached")
    if len({x for e in evs for x in e.entities}) < len(goals):
        return MetricValue(float("inf"))
    return MetricValue(max(e.time_s for e in evs))


@metric("agent_faults", unit="count", source="Proving Ground agent protocol (DESIGN.md §3)")
def agent_faults(run: RunData) -> MetricValue:
    """Agent faults: exceptions in reset/act and invalid (wrong type, NaN/inf) actions."""
    evs = run.events_of("agent_fault")
    return MetricValue(
        float(len(evs)), details={"faults": [{"time_s": e.time_s, **e.details} for e in evs]}
    )


@metric(
    "actions_clipped",
    unit="count",
    source="Proving Ground (DESIGN.md §3: out-of-limit actions are clipped and recorded)",
)
def actions_clipped(run: RunData) -> MetricValue:
    """Episodes in which an agent's action exceeded a vehicle limit and was clipped."""
    return MetricValue(float(len(run.events_of("action_clipped"))))


@metric(
    "validity_exceedances",
    unit="count",
    source="Proving Ground sim/validity.py: each domain's stated model validity, executable",
)
def validity_exceedances(run: RunData) -> MetricValue:
    """Times a controlled entity (or the run's time step) left a model's stated validity
    range: lateral acceleration beyond the kinematic bicycle's 0.5 g, speeds beyond the road
    models' range, flat-earth distance, time steps (validity_exceeded events)."""
    evs = run.events_of("validity_exceeded")
    return MetricValue(
        float(len(evs)),
        details={
            "exceeded": [
                {"time_s": e.time_s, "entities": list(e.entities), **e.details} for e in evs
            ]
        },
    )
