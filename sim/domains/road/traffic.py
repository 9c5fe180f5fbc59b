"""Expand ``map.road.traffic`` blocks into background entities, reproducibly from a seed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.domains.road.network import RoadNetwork
from sim.domains.road.schema import DIMENSIONS, IDM, RoadEntity, Traffic
from sim.errors import ScenarioError


def generate(
    specs: Sequence[Traffic],
    net: RoadNetwork,
    existing: Sequence[RoadEntity],
    rng: np.random.Generator,
) -> list[RoadEntity]:
    """Background entities for every traffic block, clear of ``existing`` entities.

    Candidate slots are evenly spaced per lane (lanes staggered), jittered by at most half the
    free space of a slot so that generated vehicles never overlap; slots too close to an
    existing entity are skipped. One extra slot per lane per existing entity leaves room.
    """
    out: list[RoadEntity] = []
    for b, spec in enumerate(specs):
        r = net.ids.index(spec.road)
        lanes = np.array(spec.lanes if spec.lanes is not None else range(int(net.lanes[r])))
        s0, s1 = spec.s_range if spec.s_range is not None else (0.0, float(net.length[r]))
        s1 = min(s1, float(net.length[r]))
        kinds = sorted(spec.kinds)
        weights = np.array([spec.kinds[k] for k in kinds], dtype=float)
        others = [e for e in (*existing, *out) if e.road == spec.road]
        per_lane = math.ceil((spec.count + len(others)) / lanes.size) + len(others)
        longest = max(DIMENSIONS[k][0] for k in kinds)
        pitch = (s1 - s0) / per_lane
        if pitch < longest + 2.0:
            raise ScenarioError(
                f"map.road.traffic[{b}]: {spec.count} vehicles do not fit on road '{spec.road}' "
                f"({lanes.size} lanes of {s1 - s0:.0f} m; each needs {longest + 2:.0f} m)"
            )
        k = np.arange(per_lane * lanes.size)
        lane = lanes[k % lanes.size]
        s = s0 + (k // lanes.size + (k % lanes.size) / lanes.size) * pitch
        s = s + rng.uniform(0.0, 0.5 * (pitch - longest - 2.0), size=k.size)
        kind_idx = rng.choice(len(kinds), size=k.size, p=weights / weights.sum())
        length = np.array([DIMENSIONS[kinds[i]][0] for i in kind_idx])
        ok = s <= s1 - 0.5 * length
        for e in others:
            near = np.abs(s - e.s) < 0.5 * (length + e.dims[0]) + spec.clearance
            ok &= ~((lane == e.lane) & near)
        chosen = np.flatnonzero(ok)[: spec.count]
        if chosen.size < spec.count:
            raise ScenarioError(
                f"map.road.traffic[{b}]: placed only {chosen.size} of {spec.count} vehicles on "
                f"road '{spec.road}' clear of the other entities; lower count or clearance"
            )
        v = rng.uniform(*spec.speed, size=chosen.size)
        vd = rng.uniform(*(spec.desired_speed or spec.speed), size=chosen.size)
        for n, c in enumerate(chosen):
            out.append(
                RoadEntity(
                    id=f"{spec.id}-{n}",
                    domain="road",
                    kind=kinds[kind_idx[c]],
                    road=spec.road,
                    lane=int(lane[c]),
                    s=float(s[c]),
                    speed=float(v[n]),
                    behaviour=IDM(
                        type="idm", desired_speed=float(vd[n]), lane_changes=spec.lane_changes
                    ),
                )
            )
    return out
