"""The rail domain: tracks, fixed-block interlocking, train dynamics, ETCS-like protection,
SPAD and station monitors, level crossings shared with the road domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from sim.domains.base import Loc
from sim.domains.rail.runtime import RailRuntime
from sim.domains.rail.schema import RailEntity, RailMap
from sim.errors import suggest


class RailDomain:
    """Rail plugin object registered as ``rail``."""

    name = "rail"
    entity_model = RailEntity
    map_model = RailMap
    draw_module = "sim.domains.rail.draw"
    credibility: ClassVar[dict[str, Any]] = {
        "models": {
            "trains": "point-mass longitudinal dynamics m(1+ρ)·dv/dt = F_t − R(v) − m·g·i − "
            "F_b; traction min(F_max, P/v); Davis resistance fitted to SUMO's presets; "
            "first-order brake build-up; Curtius-Kniffler adhesion limit (degradable)",
            "interlocking": "fixed blocks between signals, automatic route setting, section "
            "and overlap locking against every other train's body and routes (rear-end, "
            "converging and flank conflicts), release when the rear clears the next signal",
            "protection": "ETCS-like: ceiling margins of SUBSET-026 App. A.3.1 and target "
            "supervision to the supervised location with a constant safe deceleration",
            "background trains": "timetable driver: braking curves at 70 % of service "
            "braking to limits, the end of authority and stops; dwell and departure times",
        },
        "validity": "directed tracks (no bidirectional single-track working); train body "
        "as one box for contacts; time step <= 0.5 s",
        "limitations": [
            "no speed-dependent braking or gradient integration in the protection curves",
            "no driver reaction model in background trains",
            "no train length on curves for contacts (one box along the chord)",
        ],
    }

    def check(self, scenario: Any) -> list[tuple[Loc, str]]:
        out: list[tuple[Loc, str]] = []
        rmap: RailMap | None = scenario.map.rail
        trains = [(i, e) for i, e in enumerate(scenario.entities) if e.domain == "rail"]
        if rmap is None:
            if trains:
                out.append((("map",), "rail entities need a map with a 'rail' section"))
            return out
        tracks = {t.id: t for t in rmap.tracks}
        stations = {s.id for s in rmap.stations}

        def track_ref(loc: Loc, tid: str) -> bool:
            if tid not in tracks:
                out.append((loc, f"no track '{tid}'.{suggest(tid, tracks)}"))
                return False
            return True

        for k, t in enumerate(rmap.tracks):
            for j, succ in enumerate(t.successors):
                track_ref(("map", "rail", "tracks", k, "successors", j), succ)
        for name in ("signals", "stations", "level_crossings", "speed_restrictions", "adhesion"):
            for k, item in enumerate(getattr(rmap, name)):
                track_ref(("map", "rail", name, k, "track"), item.track)
        for i, e in trains:
            ok = all(track_ref(("entities", i, "path", j), t) for j, t in enumerate(e.path))
            if ok:
                for j in range(len(e.path) - 1):
                    if e.path[j + 1] not in tracks[e.path[j]].successors:
                        out.append(
                            (
                                ("entities", i, "path", j + 1),
                                f"track '{e.path[j + 1]}' does not follow '{e.path[j]}' "
                                "(its successors: "
                                f"{', '.join(tracks[e.path[j]].successors) or 'none'})",
                            )
                        )
            st_track = {st.id: st.track for st in rmap.stations}
            for j, stop in enumerate(e.timetable):
                if stop.station in stations and st_track[stop.station] not in e.path:
                    out.append(
                        (
                            ("entities", i, "timetable", j, "station"),
                            f"station '{stop.station}' is on track "
                            f"'{st_track[stop.station]}', not on this train's path",
                        )
                    )
                if stop.station not in stations:
                    out.append(
                        (
                            ("entities", i, "timetable", j, "station"),
                            f"no station '{stop.station}'.{suggest(stop.station, stations)}",
                        )
                    )
            if e.controlled and e.kind == "obstacle":
                out.append((("entities", i, "agent"), "an obstacle cannot be controlled"))
        return out

    def build(
        self,
        scenario: Any,
        entity_indices: Sequence[int],
        *,
        ref_id: str,
        seed: np.random.SeedSequence,
    ) -> RailRuntime:
        entities = [scenario.entities[i] for i in entity_indices]
        return RailRuntime(scenario, entities, scenario.map.rail)


DOMAIN = RailDomain()
