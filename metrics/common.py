"""Domain-agnostic metrics: they read only x, y, heading, speed and validity, plus events."""

from __future__ import annotations

import numpy as np

from metrics.registry import MetricValue, RunData, metric
from sim.core.geometry import box_corners, boxes_distance

#: Beyond this centre distance, free space is not computed exactly (it is large anyway).
NEAR_M = 100.0


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


@metric("min_distance_m", unit="m", source="nuPlan ego_min_distance_to_track (box clearance)")
def min_distance(run: RunData) -> MetricValue:
    """Smallest free-space distance between a controlled entity's box and any other box.

    d = min over ticks and others of the polygon distance (0 in contact), for pairs whose
    centres are within 100 m; inf when nothing came that close.
    """
    best = np.inf
    for dom, slots in run.controlled.items():
        arr = run.log.arrays[dom]
        info = run.log.meta["domains"][dom]
        L, W = np.asarray(info["length_m"]), np.asarray(info["width_m"])
        x, y, h, valid = arr["x_m"], arr["y_m"], arr["heading_rad"], arr["valid"]
        for e in slots:
            d = np.hypot(x - x[:, e : e + 1], y - y[:, e : e + 1])
            near = valid & valid[:, e : e + 1] & (d < NEAR_M)
            near[:, e] = False
            ti, oi = np.nonzero(near)
            if ti.size == 0:
                continue
            ca = box_corners(
                x[ti, e], y[ti, e], h[ti, e], np.full(ti.size, L[e]), np.full(ti.size, W[e])
            )
            cb = box_corners(x[ti, oi], y[ti, oi], h[ti, oi], L[oi], W[oi])
            best = min(best, float(boxes_distance(ca, cb).min()))
    return MetricValue(best)


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
