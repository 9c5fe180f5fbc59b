"""The road domain: lanes and signals, bicycle ego, IDM/MOBIL traffic, scripted manoeuvres."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from sim.domains.base import Loc
from sim.domains.road import traffic
from sim.domains.road.network import RoadNetwork, road_reference
from sim.domains.road.runtime import RoadRuntime
from sim.domains.road.schema import RoadEntity, RoadMap, Static
from sim.errors import suggest


class RoadDomain:
    """Road plugin object registered as ``road``."""

    name = "road"
    entity_model = RoadEntity
    map_model = RoadMap
    draw_module = "sim.domains.road.draw"
    credibility: ClassVar[dict[str, Any]] = {
        "models": {
            "controlled vehicles": "kinematic bicycle about the centre of gravity (Rajamani "
            "2012 §2.2) with acceleration, braking, jerk, steering and steering-rate limits",
            "background traffic": "Intelligent Driver Model (Treiber et al. 2000) with MOBIL "
            "lane changes (Kesting et al. 2007), highway-env default parameters",
            "scripted actors": "exact speed ramps and sinusoidal/linear lane changes "
            "(OpenSCENARIO dynamics shapes)",
            "collisions": "oriented rectangles, shapely 2 intersection, checked every tick",
            "sensing": "ideal object list within range and field of view (no noise, latency "
            "or occlusion)",
        },
        "validity": "dry, flat roads; speeds up to motorway speeds; longitudinal and lateral "
        "accelerations below the tyre limits (the bicycle model has no slip dynamics); time "
        "step 0.05 s or smaller",
        "limitations": [
            "no tyre or load-transfer dynamics: emergency manoeuvres near the friction limit "
            "are optimistic",
            "controlled vehicles follow their road and its successors; turns at junctions are "
            "not modelled",
            "sensors are ideal: perception failures are not represented",
            "background drivers do not react to pedestrians",
        ],
    }

    def check(self, scenario: Any) -> list[tuple[Loc, str]]:
        out: list[tuple[Loc, str]] = []
        rmap: RoadMap | None = scenario.map.road
        road_entities = [(i, e) for i, e in enumerate(scenario.entities) if e.domain == "road"]
        if rmap is None:
            if road_entities:
                out.append((("map",), "road entities need a map with a 'road' section"))
            return out
        roads = {r.id: r for r in rmap.roads}
        ids = [r.id for r in rmap.roads]
        for i, r in enumerate(rmap.roads):
            if ids.count(r.id) > 1:
                out.append((("map", "road", "roads", i, "id"), f"road id '{r.id}' is repeated"))
            if r.successor and r.successor not in roads:
                out.append(
                    (
                        ("map", "road", "roads", i, "successor"),
                        f"no road '{r.successor}'.{suggest(r.successor, roads)}",
                    )
                )
            if r.closed:
                pts, _, _ = road_reference(r)
                gap = math.dist(pts[0], pts[-1])
                if gap > 0.5:
                    out.append(
                        (
                            ("map", "road", "roads", i, "closed"),
                            f"the road is closed but its end is {gap:.2f} m from its start",
                        )
                    )
        for k, sig in enumerate(rmap.signals):
            if sig.road not in roads:
                out.append(
                    (
                        ("map", "road", "signals", k, "road"),
                        f"no road '{sig.road}'.{suggest(sig.road, roads)}",
                    )
                )
        for k, tr in enumerate(rmap.traffic):
            if tr.road not in roads:
                out.append(
                    (
                        ("map", "road", "traffic", k, "road"),
                        f"no road '{tr.road}'.{suggest(tr.road, roads)}",
                    )
                )
            elif tr.lanes and max(tr.lanes) >= roads[tr.road].lanes:
                out.append(
                    (
                        ("map", "road", "traffic", k, "lanes"),
                        f"road '{tr.road}' has lanes 0..{roads[tr.road].lanes - 1}",
                    )
                )
        entity_ids = {e.id for e in scenario.entities}
        manoeuvre_ids = [m.id for _, e in road_entities for m in e.manoeuvres if m.id]
        for i, e in road_entities:
            if e.road is not None:
                if e.road not in roads:
                    out.append(
                        (
                            ("entities", i, "road"),
                            f"no road '{e.road}'.{suggest(e.road, roads)} "
                            f"Roads: {', '.join(roads)}",
                        )
                    )
                elif e.lane >= roads[e.road].lanes:
                    out.append(
                        (
                            ("entities", i, "lane"),
                            f"road '{e.road}' has lanes 0..{roads[e.road].lanes - 1}, got {e.lane}",
                        )
                    )
            if e.goal is not None and e.goal.road is not None and e.goal.road not in roads:
                out.append(
                    (
                        ("entities", i, "goal", "road"),
                        f"no road '{e.goal.road}'.{suggest(e.goal.road, roads)}",
                    )
                )
            static = isinstance(e.behaviour, Static) or (
                e.kind == "obstacle" and e.behaviour is None
            )
            if e.manoeuvres and static:
                out.append(
                    (
                        ("entities", i, "manoeuvres"),
                        "a static entity never moves: "
                        "give it behaviour scripted or idm to use manoeuvres",
                    )
                )
            for m, man in enumerate(e.manoeuvres):
                lateral = "lane_change" if man.lane_change is not None else "lane_offset"
                if (man.lane_change or man.lane_offset) is not None and e.road is None:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, lateral),
                            f"{lateral.replace('_', ' ')}s need an entity placed on a road "
                            "(road, lane, s)",
                        )
                    )
                of = man.lane_change.of if man.lane_change is not None else None
                if of is not None and of not in entity_ids:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, "lane_change", "of"),
                            f"no entity '{of}'.{suggest(of, entity_ids)}",
                        )
                    )
                if man.when.after is not None and man.when.after not in manoeuvre_ids:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, "when", "after"),
                            f"no manoeuvre with id '{man.when.after}'."
                            f"{suggest(man.when.after, manoeuvre_ids)}",
                        )
                    )
                if man.id is not None and manoeuvre_ids.count(man.id) > 1:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, "id"),
                            f"manoeuvre id '{man.id}' is repeated",
                        )
                    )
                if man.when.to is not None and man.when.to not in entity_ids:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, "when", "to"),
                            f"no entity '{man.when.to}'.{suggest(man.when.to, entity_ids)}",
                        )
                    )
                if man.when.to == e.id:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, "when", "to"),
                            "a trigger cannot refer to its own entity",
                        )
                    )
        return out

    def build(
        self,
        scenario: Any,
        entity_indices: Sequence[int],
        *,
        ref_id: str,
        seed: np.random.SeedSequence,
    ) -> RoadRuntime:
        entities = [scenario.entities[i] for i in entity_indices]
        net = RoadNetwork.build(scenario.map.road)
        if scenario.map.road.traffic:
            rng = np.random.default_rng(seed)
            entities = entities + traffic.generate(scenario.map.road.traffic, net, entities, rng)
        return RoadRuntime(scenario, entities, ref_id, net)


DOMAIN = RoadDomain()
