"""The water domain: ships, charts and grounding, CPA/TCPA and rule-by-rule COLREG findings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from sim.domains.base import Loc
from sim.domains.geo import origin_problem
from sim.domains.water.colreg import place_encounter
from sim.domains.water.runtime import WaterRuntime
from sim.domains.water.schema import PRESETS, WaterEntity, WaterMap
from sim.errors import suggest


class WaterDomain:
    """Water plugin object registered as ``water``."""

    name = "water"
    entity_model = WaterEntity
    map_model = WaterMap
    draw_module = "sim.domains.water.draw"
    credibility: ClassVar[dict[str, Any]] = {
        "models": {
            "ships": "first-order Nomoto steering with the Norrbin cubic term (Fossen 2011), "
            "rudder angle and rate limits, first-order surge toward a commanded speed; no "
            "sway (drift angle) or speed loss in turns; presets gated by IMO MSC.137(76)",
            "environment": "uniform or area currents; wind as leeway (a fraction of wind "
            "speed); no waves",
            "chart": "land and depth polygons; grounding on under-keel clearance at the bow, "
            "centre and stern",
            "COLREG": "encounter classification by relative bearings (Rules 13-15, 19) at "
            "the first risk of collision (DCPA/TCPA thresholds); findings for Rules 8/16, "
            "13, 14, 15, 17 and 19 with documented thresholds",
            "sensing": "ideal AIS (identity, course, speed) within range for transmitting "
            "ships, ideal radar (no identity) within range",
        },
        "validity": "open water and harbour approaches at manoeuvring speeds of the presets; "
        "time step <= 1 s",
        "limitations": [
            "no hydrodynamic interaction (bank, ship-ship suction) or squat",
            "no waves, tide or shallow-water effect on manoeuvring",
            "background vessels do not follow COLREG on their own (use scripted manoeuvres)",
            "Rules 9 and 10 (channels, TSS) are drawn but not judged",
        ],
    }

    def check(self, scenario: Any) -> list[tuple[Loc, str]]:
        out: list[tuple[Loc, str]] = []
        wmap: WaterMap | None = scenario.map.water
        ships = [(i, e) for i, e in enumerate(scenario.entities) if e.domain == "water"]
        origin = wmap.origin if wmap is not None else None
        ids = {e.id for e in scenario.entities}
        water_ids = {e.id: e for _, e in ships}

        def latlon(loc: Loc, pos: Any) -> None:
            problem = origin_problem(pos, origin, "water")
            if problem:
                out.append((loc, problem))

        if wmap is not None:
            for name in ("land", "depth_areas", "area_currents"):
                for k, area in enumerate(getattr(wmap, name)):
                    for p, pos in enumerate(area.polygon):
                        latlon(("map", "water", name, k, "polygon", p), pos)
        for i, e in ships:
            latlon(("entities", i, "position"), e.position)
            for k, w in enumerate(e.route):
                latlon(("entities", i, "route", k, "position"), w.position)
            p = PRESETS[e.kind]
            speed = p.service_speed if e.speed is None else e.speed
            top = e.limits.max_speed or p.max_speed
            if speed > top:
                out.append(
                    (
                        ("entities", i, "speed"),
                        f"{speed:.2f} m/s is above the {e.kind}'s maximum {top:.2f} m/s",
                    )
                )
            pl = e.placement
            if pl is not None:
                if pl.to not in water_ids:
                    out.append(
                        (
                            ("entities", i, "placement", "to"),
                            f"no vessel '{pl.to}'.{suggest(pl.to, water_ids)}",
                        )
                    )
                elif water_ids[pl.to].placement is not None:
                    out.append(
                        (
                            ("entities", i, "placement", "to"),
                            "place relative to a vessel that is not placed itself",
                        )
                    )
                else:
                    ref = water_ids[pl.to]
                    ref_speed = (
                        ref.speed if ref.speed is not None else PRESETS[ref.kind].service_speed
                    )
                    try:  # the same solve as at build time, on the reference's initial state
                        place_encounter(
                            0.0,
                            0.0,
                            ref.heading,
                            ref_speed,
                            speed_ratio=pl.speed_ratio,
                            tcpa=pl.tcpa,
                            dcpa=pl.dcpa,
                            bearing=pl.bearing,
                            relative_course=pl.relative_course,
                        )
                    except ValueError as exc:
                        out.append((("entities", i, "placement"), str(exc)))
            for m, man in enumerate(e.manoeuvres):
                ref = man.when.to
                if ref is not None and ref not in ids:
                    out.append(
                        (
                            ("entities", i, "manoeuvres", m, "when", "to"),
                            f"no entity '{ref}'.{suggest(ref, ids)}",
                        )
                    )
            if e.controlled and not e.route and e.goal is None:
                out.append(
                    (("entities", i, "route"), "a controlled vessel needs a route (or a goal)")
                )
        return out

    def build(
        self,
        scenario: Any,
        entity_indices: Sequence[int],
        *,
        ref_id: str,
        seed: np.random.SeedSequence,
    ) -> WaterRuntime:
        entities = [scenario.entities[i] for i in entity_indices]
        wmap = scenario.map.water if scenario.map.water is not None else WaterMap()
        rt = WaterRuntime(scenario, entities, ref_id, wmap)
        for slot, e in enumerate(entities):
            if e.placement is not None:
                rt.place(slot, rt.slot_of[e.placement.to], e.placement)
        return rt


DOMAIN = WaterDomain()
