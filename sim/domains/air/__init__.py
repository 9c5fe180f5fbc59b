"""The air domain: aircraft and drones, flight plans, wind, geofences, separation monitors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from sim.domains.air.runtime import AirRuntime
from sim.domains.air.schema import PRESETS, AirEntity, AirMap
from sim.domains.base import Loc
from sim.domains.geo import origin_problem
from sim.errors import suggest


def generate_traffic(amap: AirMap, taken: set[str], rng: np.random.Generator) -> dict[str, Any]:
    """Background aircraft of every ``traffic`` block, reproducible from ``rng``: uniform
    positions in the box, uniform headings, altitudes (snapped to ``levels``), speeds and
    vertical rates drawn uniformly in their ranges."""
    cols: dict[str, list[Any]] = {
        k: [] for k in ("ids", "kinds", "x", "y", "alt", "hdg", "tas", "vs", "cooperative")
    }
    for block in amap.traffic:
        n = block.count
        ids = [f"{block.id}-{k}" for k in range(n)]
        clash = taken.intersection(ids)
        if clash:
            raise ValueError(f"traffic id '{sorted(clash)[0]}' is already an entity id")
        taken.update(ids)
        alt = rng.uniform(*block.altitude_range, n)
        if block.levels:
            alt = np.clip(
                np.round(alt / block.levels) * block.levels,
                math.ceil(block.altitude_range[0] / block.levels) * block.levels,
                block.altitude_range[1],
            )
        cols["ids"] += ids
        cols["kinds"] += [block.kind] * n
        cols["x"].append(rng.uniform(*block.x_range, n))
        cols["y"].append(rng.uniform(*block.y_range, n))
        cols["alt"].append(alt)
        cols["hdg"].append(rng.uniform(-math.pi, math.pi, n))
        cols["tas"].append(rng.uniform(*block.speed_range, n))
        cols["vs"].append(rng.uniform(*block.vertical_rate_range, n))
        cols["cooperative"] += [block.cooperative] * n
    out: dict[str, Any] = {"ids": cols["ids"], "kinds": cols["kinds"]}
    for k in ("x", "y", "alt", "hdg", "tas", "vs"):
        out[k] = np.concatenate(cols[k]) if cols[k] else np.zeros(0)
    out["cooperative"] = cols["cooperative"]
    return out


class AirDomain:
    """Air plugin object registered as ``air``."""

    name = "air"
    entity_model = AirEntity
    map_model = AirMap
    draw_module = "sim.domains.air.draw"
    credibility: ClassVar[dict[str, Any]] = {
        "models": {
            "aircraft": "3-D point mass: true airspeed, heading, altitude and vertical rate "
            "with acceleration, bank-angle turn-rate (ω = g·tan φ / V), vertical-rate and "
            "vertical-acceleration limits per type (BlueSky traffic.py kinematics); exact "
            "arcs within a step; instantaneous roll",
            "wind": "uniform or layered by altitude, plus area-wide first-order Gauss-Markov gusts",
            "background traffic": "autopilot with lateral (fly-by waypoints, wind-corrected "
            "track) and vertical (altitude capture) navigation; scripted manoeuvres",
            "separation": "LoS against configurable minima (default 5 NM / 1000 ft), NMAC "
            "500 ft / 100 ft, DO-365 well clear with modified tau (DAIDALUS WCV_TAUMOD), "
            "state-based conflict detection with lookahead (BlueSky statebased.py)",
            "surveillance": "ideal: cooperative traffic within ADS-B range, non-cooperative "
            "within radar range, no noise or latency",
        },
        "validity": "flat earth around the origin (errors < 0.1 % within ~100 km); "
        "no performance model (thrust, drag, fuel): limits are constants per type; "
        "time step 0.05-1 s",
        "limitations": [
            "no pressure/temperature model: flight levels are geometric altitudes",
            "no terrain: ground proximity is a minimum altitude",
            "roll dynamics are instantaneous (as BlueSky)",
            "gusts are one process for the whole area (no spatial correlation)",
        ],
    }

    def check(self, scenario: Any) -> list[tuple[Loc, str]]:
        out: list[tuple[Loc, str]] = []
        amap: AirMap | None = scenario.map.air
        air = [(i, e) for i, e in enumerate(scenario.entities) if e.domain == "air"]
        origin = amap.origin if amap is not None else None
        ids = {e.id for e in scenario.entities}

        def latlon(loc: Loc, pos: Any) -> None:
            problem = origin_problem(pos, origin, "air")
            if problem:
                out.append((loc, problem))

        if amap is not None:
            fence_ids = [g.id for g in amap.geofences]
            for k, g in enumerate(amap.geofences):
                if fence_ids.count(g.id) > 1:
                    out.append(
                        (("map", "air", "geofences", k, "id"), f"geofence id '{g.id}' is repeated")
                    )
                for p, pos in enumerate(g.polygon):
                    latlon(("map", "air", "geofences", k, "polygon", p), pos)
            traffic_ids = [t.id for t in amap.traffic]
            for k, t in enumerate(amap.traffic):
                if t.id in traffic_ids[:k]:  # the second block that takes an id
                    out.append(
                        (
                            ("map", "air", "traffic", k, "id"),
                            f"traffic id '{t.id}' is repeated: give each block its own id",
                        )
                    )
                for name in ("x_range", "y_range", "altitude_range", "speed_range"):
                    lo, hi = getattr(t, name)
                    if hi < lo:
                        out.append((("map", "air", "traffic", k, name), "range is [min, max]"))
        for i, e in air:
            p = PRESETS[e.kind]
            latlon(("entities", i, "position"), e.position)
            for k, w in enumerate(e.plan):
                latlon(("entities", i, "plan", k, "position"), w.position)
            if e.goal is not None:
                latlon(("entities", i, "goal", "position"), e.goal.position)
            speed = p.cruise_speed if e.speed is None else e.speed
            lo = e.limits.min_speed if e.limits.min_speed is not None else p.min_speed
            hi = e.limits.max_speed if e.limits.max_speed is not None else p.max_speed
            if not lo <= speed <= hi:
                out.append(
                    (
                        ("entities", i, "speed"),
                        f"{speed:.1f} m/s is outside the {e.kind}'s speed range "
                        f"{lo:.1f}-{hi:.1f} m/s (set limits to override)",
                    )
                )
            for m, man in enumerate(e.manoeuvres):
                ref = man.when.to
                if ref is not None and ref not in ids:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, "when", "to"),
                            f"no entity '{ref}'.{suggest(ref, ids)}",
                        )
                    )
                if ref == e.id:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, "when", "to"),
                            "a trigger cannot refer to its own entity",
                        )
                    )
            if e.controlled and not e.plan and e.goal is None:
                out.append(
                    (("entities", i, "plan"), "a controlled aircraft needs a plan (or a goal)")
                )
        return out

    def build(
        self,
        scenario: Any,
        entity_indices: Sequence[int],
        *,
        ref_id: str,
        seed: np.random.SeedSequence,
    ) -> AirRuntime:
        entities = [scenario.entities[i] for i in entity_indices]
        amap = scenario.map.air if scenario.map.air is not None else AirMap()
        traffic_seed, wind_seed = seed.spawn(2)
        extra = None
        if amap.traffic:
            taken = {e.id for e in scenario.entities}
            extra = generate_traffic(amap, taken, np.random.default_rng(traffic_seed))
        return AirRuntime(scenario, entities, ref_id, amap, np.random.default_rng(wind_seed), extra)


DOMAIN = AirDomain()
