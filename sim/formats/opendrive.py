"""ASAM OpenDRIVE 1.x roads as Proving Ground road maps.

Each OpenDRIVE road becomes up to two of our one-way roads, one per side of its reference
line that has driving lanes: ``<id>.right`` and ``<id>.left``. The geometry is kept exactly
(``line``, ``arc``, ``spiral`` as our ``clothoid``); ``reference_offset`` puts our lane 0
(the rightmost driving lane in the direction of travel) where OpenDRIVE's lanes put it, and
``reverse`` runs the side whose traffic goes against the reference line (the left side under
right-hand traffic, ``rule="RHT"``, the default). Driving lanes of one side must be
adjacent and of one constant width (our roads have equal lanes); borders, shoulders
(``stop``), sidewalks and the like are not driven on and are left out of the drivable area.

What is not supported is an error naming file:line and the element, never skipped:
junctions, ``paramPoly3``/``poly3`` geometry, elevation or superelevation that is not flat,
lane widths that vary, lane layouts that change between lane sections, vehicle lanes of
other types (``entry``, ``onRamp``, ``bidirectional`` ...). Records that change nothing we
simulate (objects, signals, surface, road links) are listed as warnings.

Stations: our station runs along lane 0's centre, OpenDRIVE's ``s`` along the reference
line. On a curve they differ; :meth:`RoadImport.station` converts exactly: a line at
constant lateral offset ``t`` from a curve has length ``ds - t·dθ`` per piece.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from sim.domains.road.network import clothoid_points
from sim.domains.road.schema import RoadMap
from sim.errors import ScenarioError
from sim.formats.xmlio import Invalid, Problems, number, parse

#: Our chord tolerance for imported roads: stations within 1 mm per km down to a 250 m radius
#: (the chord of a sampled curve is short of the arc by tol/(3R) of its length).
IMPORT_CHORD_TOLERANCE_M = 0.0005
#: How far a geometry record's stated start may lie from the end of the one before it.
JOIN_TOLERANCE_M = 0.01
JOIN_TOLERANCE_RAD = 1e-4
DRIVING = ("driving",)
#: Lanes nothing drives along: left out of the drivable area.
NOT_DRIVEN = (
    "none", "border", "stop", "shoulder", "sidewalk", "walking", "biking", "restricted",
    "parking", "median", "curb", "special1", "special2", "special3", "roadWorks", "tram",
    "rail",
)  # fmt: skip
MARKS = {"solid": "solid", "broken": "dashed", "none": "none", "botts dots": "dashed"}
SPEED_UNITS = {"m/s": 1.0, "km/h": 1 / 3.6, "mph": 0.44704}


@dataclass
class Piece:
    """One planView record: where it starts and how its heading turns."""

    s: float
    length: float
    kind: str  # line | arc | spiral
    k0: float
    k1: float
    x: float = 0.0
    y: float = 0.0
    hdg: float = 0.0  # continuous (unwrapped) heading at the start

    def heading(self, u: float) -> float:
        return self.hdg + self.k0 * u + 0.5 * (self.k1 - self.k0) / self.length * u * u

    def end(self) -> tuple[float, float, float]:
        if self.kind == "line":
            return (
                self.x + self.length * math.cos(self.hdg),
                self.y + self.length * math.sin(self.hdg),
                self.hdg,
            )
        u = np.array([0.0, self.length])
        if self.kind == "arc":  # exact: a circle through its centre
            r = 1.0 / self.k0
            cx, cy = self.x - r * math.sin(self.hdg), self.y + r * math.cos(self.hdg)
            a = self.heading(self.length)
            return cx + r * math.sin(a), cy - r * math.cos(a), a
        n = max(1, math.ceil(self.length))  # metre steps: quadrature exact to ~1e-12
        u = self.length * np.arange(n + 1) / n
        xs, ys, th = clothoid_points(self.x, self.y, self.hdg, self.k0, self.k1, self.length, u)
        return float(xs[-1]), float(ys[-1]), float(th[-1])


@dataclass
class Side:
    """The driving lanes of one side of one OpenDRIVE road, as one of our roads."""

    road_id: str  # ours
    odr_road: str
    sign: int  # -1 right of the reference line, +1 left
    reverse: bool
    t0: float  # lane 0's centre, lateral offset from the reference line (+ left)
    lanes: int
    width: float
    lane_ids: list[int]  # OpenDRIVE id of our lane 0, 1, ...
    markings: list[str]


@dataclass
class RoadImport:
    """The imported map with what relates it back to the OpenDRIVE file."""

    path: str
    map: RoadMap
    sides: dict[tuple[str, int], Side]  # (OpenDRIVE road id, lane id) -> our side
    pieces: dict[str, list[Piece]]  # OpenDRIVE road id -> planView
    length: dict[str, float]  # OpenDRIVE road id -> reference line length
    warnings: list[str] = field(default_factory=list)

    def lane(self, odr_road: str, lane_id: int) -> tuple[str, int]:
        """Our (road id, lane index) of an OpenDRIVE lane; KeyError if it is not driven."""
        side = self.sides[(odr_road, lane_id)]
        return side.road_id, side.lane_ids.index(lane_id)

    def heading(self, odr_road: str, s: float) -> float:
        """Continuous heading of the reference line at ``s``."""
        pieces = self.pieces[odr_road]
        k = max(0, np.searchsorted([p.s for p in pieces], s, side="right") - 1)
        p = pieces[k]
        return p.heading(min(max(s - p.s, 0.0), p.length))

    def station(self, odr_road: str, lane_id: int, s: float) -> float:
        """Our station (along lane 0's centre, in the direction of travel) of reference-line
        station ``s``: the offset line's length is ``s - t0·(θ(s) - θ(0))``."""
        side = self.sides[(odr_road, lane_id)]
        h0 = self.pieces[odr_road][0].hdg

        def along(u: float) -> float:
            return u - side.t0 * (self.heading(odr_road, u) - h0)

        if side.reverse:
            return along(self.length[odr_road]) - along(s)
        return along(s)

    def lateral(self, odr_road: str, lane_id: int, offset: float) -> float:
        """Our lateral offset from our lane's centre (+ left in the direction of travel) of
        an OpenDRIVE ``offset`` from the lane's centre (+ left of the reference line)."""
        return -offset if self.sides[(odr_road, lane_id)].reverse else offset

    def yaml_map(self) -> dict[str, Any]:
        """The map as it is written in a scenario file (``map: road: ...``)."""
        return self.map.model_dump(mode="json", exclude_defaults=True)


def road_id(odr_id: str, side: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", odr_id) or "_"
    return f"{safe}.{'left' if side > 0 else 'right'}"


def load_opendrive(path: str | Path) -> RoadImport:
    """Read an OpenDRIVE file into a road map; ScenarioError with one line per problem."""
    path = Path(path)
    root = parse(path)
    pr = Problems(path)
    if root.tag != "OpenDRIVE":
        pr.add(root, "the root element of an OpenDRIVE file is <OpenDRIVE>")
        pr.raise_if_any()
    header = root.find("header")
    if header is not None and header.get("revMajor", "1") != "1":
        pr.add(header, f"OpenDRIVE {header.get('revMajor')}.x is not supported (1.x is)")
    for tag in ("junction", "controller", "station", "junctionGroup"):
        for el in root.findall(tag):
            pr.add(el, f"{tag} records are not supported (junction-free roads only)")
    roads: list[dict[str, Any]] = []
    sides: dict[tuple[str, int], Side] = {}
    pieces: dict[str, list[Piece]] = {}
    lengths: dict[str, float] = {}
    roads_el = root.findall("road")
    if not roads_el:
        pr.add(root, "no <road>")
    seen: set[str] = set()
    for road in roads_el:
        try:
            rid = road.get("id")
            if rid is None:
                pr.add(road, "missing attribute 'id'")
                continue
            if rid in seen:
                pr.add(road, f"road id '{rid}' is repeated")
                continue
            seen.add(rid)
            out = _road(pr, road, rid)
        except Invalid:
            continue
        if out is None:
            continue
        specs, road_sides, road_pieces, length = out
        roads.extend(specs)
        pieces[rid], lengths[rid] = road_pieces, length
        for sd in road_sides:
            for lid in sd.lane_ids:
                sides[(rid, lid)] = sd
    pr.raise_if_any()
    if not roads:
        raise ScenarioError(f"{path}:1: no road has driving lanes")
    try:
        rmap = RoadMap.model_validate({"roads": roads})
    except Exception as exc:  # a value our format refuses (e.g. too many lanes)
        raise ScenarioError(f"{path}: {exc}".splitlines()[0]) from None
    return RoadImport(str(path), rmap, sides, pieces, lengths, pr.warnings)


def _road(pr: Problems, road: etree._Element, rid: str):
    junction = road.get("junction", "-1")
    if junction != "-1":
        pr.add(road, f"road '{rid}' belongs to junction {junction}: junctions are not supported")
        return None
    rule = road.get("rule", "RHT")
    if rule not in ("RHT", "LHT"):
        pr.add(road, f"rule='{rule}' (RHT or LHT)")
        return None
    length = number(pr, road, "length")
    plan = _plan_view(pr, road)
    if plan is None:
        return None
    total = sum(p.length for p in plan)
    if abs(total - length) > JOIN_TOLERANCE_M:
        pr.add(road, f"length={length:g} but its geometry records add up to {total:.4f} m")
    _flat(pr, road)
    _ignored(pr, road)
    speed = _speed(pr, road)
    lanes_el = road.find("lanes")
    if lanes_el is None:
        pr.add(road, "no <lanes>")
        return None
    extra = _lane_offset(pr, lanes_el)
    sections = lanes_el.findall("laneSection")
    if not sections:
        pr.add(lanes_el, "no <laneSection>")
        return None
    layouts = [_section(pr, sec, rule) for sec in sections]
    if any(lay is None for lay in layouts):
        return None
    out_sides: list[Side] = []
    specs: list[dict[str, Any]] = []
    first = plan[0]
    for sign in (-1, 1):
        lay0 = layouts[0][sign]
        for sec, lay in zip(sections[1:], layouts[1:], strict=True):
            if _shape(lay[sign]) != _shape(lay0):
                pr.add(
                    sec,
                    f"the {'left' if sign > 0 else 'right'} lanes change at s={sec.get('s')} "
                    "(lanes, widths or their offset): one layout per road is supported; split "
                    "the road where it changes",
                )
        if lay0 is None or not lay0["ids"]:
            continue
        reverse = (sign > 0) == (rule == "RHT")
        t0 = (lay0["hi"] - lay0["w"] / 2 if reverse else lay0["lo"] + lay0["w"] / 2) + extra
        t0 = round(t0, 9) + 0.0  # a written laneOffset comes back exact (and never -0.0)
        sd = Side(
            road_id=road_id(rid, sign),
            odr_road=rid,
            sign=sign,
            reverse=reverse,
            t0=t0,
            lanes=len(lay0["ids"]),
            width=lay0["w"],
            lane_ids=lay0["ids"],
            markings=lay0["marks"],
        )
        out_sides.append(sd)
        geometry = []
        for p in plan:
            if p.kind == "line":
                geometry.append({"line": p.length})
            elif p.kind == "arc":
                geometry.append({"arc": p.length, "radius": 1.0 / p.k0})
            else:
                geometry.append({"clothoid": p.length, "curvature": [p.k0, p.k1]})
        spec: dict[str, Any] = {
            "id": sd.road_id,
            "start": {"x": first.x, "y": first.y, "heading": first.hdg},
            "geometry": geometry,
            "lanes": sd.lanes,
            "lane_width": sd.width,
            "markings": sd.markings,
            "reference_offset": sd.t0,
            "reverse": sd.reverse,
            "chord_tolerance": _tolerance(pr, road),
        }
        if speed is not None:
            spec["speed_limit"] = speed
        specs.append(spec)
    return specs, out_sides, plan, length


def _tolerance(pr: Problems, road: etree._Element) -> float:
    """Our chord tolerance: written by `pground convert` as userData, else the import's."""
    for ud in road.findall("userData"):
        if ud.get("code") == "pground:chord_tolerance":
            try:
                return number(pr, ud, "value")
            except Invalid:
                break
    return IMPORT_CHORD_TOLERANCE_M


def _plan_view(pr: Problems, road: etree._Element) -> list[Piece] | None:
    pv = road.find("planView")
    if pv is None or not pv.findall("geometry"):
        pr.add(road, "no <planView> geometry")
        return None
    plan: list[Piece] = []
    ok = True
    for g in pv.findall("geometry"):
        try:
            s, x, y, hdg = (number(pr, g, a) for a in ("s", "x", "y", "hdg"))
            length = number(pr, g, "length")
        except Invalid:
            ok = False
            continue
        if length <= 0:
            pr.add(g, f"length={length:g}: must be positive")
            ok = False
            continue
        kinds = [c for c in g if isinstance(c.tag, str)]
        if len(kinds) != 1:
            pr.add(g, "a geometry record holds exactly one of line, arc, spiral")
            ok = False
            continue
        c = kinds[0]
        try:
            if c.tag == "line":
                piece = Piece(s, length, "line", 0.0, 0.0)
            elif c.tag == "arc":
                k = number(pr, c, "curvature")
                if k == 0:
                    piece = Piece(s, length, "line", 0.0, 0.0)
                else:
                    piece = Piece(s, length, "arc", k, k)
            elif c.tag == "spiral":
                piece = Piece(
                    s, length, "spiral", number(pr, c, "curvStart"), number(pr, c, "curvEnd")
                )
            else:
                pr.add(c, "geometry type not supported (line, arc and spiral are)")
                ok = False
                continue
        except Invalid:
            ok = False
            continue
        if not plan:
            piece.x, piece.y, piece.hdg = x, y, hdg
        else:
            prev = plan[-1]
            ex, ey, eh = prev.end()
            gap = math.hypot(x - ex, y - ey)
            turn = math.remainder(hdg - eh, 2 * math.pi)
            if abs(s - (prev.s + prev.length)) > JOIN_TOLERANCE_M:
                pr.add(g, f"s={s:g}, but the record before ends at s={prev.s + prev.length:g}")
                ok = False
            if gap > JOIN_TOLERANCE_M or abs(turn) > JOIN_TOLERANCE_RAD:
                pr.add(
                    g,
                    f"does not continue the record before: it starts {gap:.4f} m and "
                    f"{turn:.2e} rad from its end (gaps in the reference line are not "
                    "supported)",
                )
                ok = False
            piece.x, piece.y, piece.hdg = ex, ey, eh  # continuous heading
        plan.append(piece)
    return plan if ok else None


def _zero_poly(el: etree._Element, pr: Problems, names: tuple[str, ...]) -> bool:
    return all(number(pr, el, n, 0.0) == 0.0 for n in names)


def _flat(pr: Problems, road: etree._Element) -> None:
    for path, what in (
        ("elevationProfile/elevation", "elevation"),
        ("lateralProfile/superelevation", "superelevation"),
    ):
        for el in road.findall(path):
            names = ("b", "c", "d") if what == "elevation" else ("a", "b", "c", "d")
            if not _zero_poly(el, pr, names):
                pr.add(el, f"a {what} that is not flat is not supported (the world is 2-D)")
    for el in road.findall("lateralProfile/shape"):
        pr.add(el, "lateral shape is not supported (the world is 2-D)")


def _ignored(pr: Problems, road: etree._Element) -> None:
    for tag, what in (("objects/object", "objects"), ("signals/signal", "signals")):
        found = road.findall(tag)
        if found:
            pr.warn(found[0], f"{len(found)} {what} of road '{road.get('id')}' are not imported")
    link = road.find("link")
    if link is not None and len(link):
        pr.warn(link, f"road '{road.get('id')}' links to other roads; each road is imported alone")


def _speed(pr: Problems, road: etree._Element) -> float | None:
    speeds = []
    for t in road.findall("type"):
        sp = t.find("speed")
        if sp is None:
            continue
        raw, unit = sp.get("max", ""), sp.get("unit", "m/s")
        if raw in ("no limit", "undefined", ""):
            continue
        if unit not in SPEED_UNITS:
            pr.add(sp, f"unit='{unit}' (m/s, km/h or mph)")
            continue
        try:
            speeds.append(number(pr, sp, "max") * SPEED_UNITS[unit])
        except Invalid:
            continue
    if len(set(speeds)) > 1:
        pr.warn(road, "the speed limit changes along the road: the lowest is used")
    return min(speeds) if speeds else None


def _lane_offset(pr: Problems, lanes_el: etree._Element) -> float:
    values = []
    for el in lanes_el.findall("laneOffset"):
        if not _zero_poly(el, pr, ("b", "c", "d")):
            pr.add(el, "a lane offset that varies along the road is not supported")
        values.append(number(pr, el, "a", 0.0))
    if len(set(values)) > 1:
        pr.add(lanes_el.find("laneOffset"), "a lane offset that varies is not supported")
    return values[0] if values else 0.0


def _shape(lay: dict | None) -> tuple | None:
    if lay is None:
        return None
    return (tuple(lay["ids"]), round(lay["w"], 6), round(lay["lo"], 6), round(lay["hi"], 6))


def _section(pr: Problems, sec: etree._Element, rule: str) -> dict[int, dict | None] | None:
    """Per side (-1 right, +1 left): driving lane ids ordered from our lane 0, their width,
    the lateral span [lo, hi] of the driving lanes and the markings of our boundaries."""
    centre_mark = _mark(sec.find("center/lane"))
    out: dict[int, dict | None] = {}
    ok = True
    for sign, tag in ((-1, "right"), (1, "left")):
        side_el = sec.find(tag)
        if side_el is None:
            out[sign] = None
            continue
        lanes = sorted(side_el.findall("lane"), key=_lane_order)
        inner = 0.0  # distance from the reference line to the lane's inner edge
        driving: list[tuple[int, float, float, etree._Element]] = []
        edge_mark = {0.0: centre_mark}  # |offset| of a boundary -> its marking
        for lane in lanes:
            try:
                lid = int(lane.get("id", ""))
            except ValueError:
                pr.add(lane, f"id='{lane.get('id')}' is not an integer")
                ok = False
                continue
            if lid == 0 or (lid > 0) != (sign > 0):
                pr.add(lane, f"lane id {lid} does not belong to the {tag} side")
                ok = False
                continue
            try:
                w = _width(pr, lane)
            except Invalid:
                ok = False
                continue
            ltype = lane.get("type", "none")
            if ltype in DRIVING:
                if driving and abs(driving[-1][0]) != abs(lid) - 1:
                    pr.add(
                        lane,
                        f"driving lane {lid} is not next to driving lane "
                        f"{driving[-1][0]}: driving lanes must be adjacent",
                    )
                    ok = False
                driving.append((lid, inner, w, lane))
            elif ltype not in NOT_DRIVEN:
                pr.add(
                    lane,
                    f"lane type '{ltype}' is not supported (driving lanes, and "
                    f"lanes nothing drives on: {', '.join(NOT_DRIVEN[:6])}, ...)",
                )
                ok = False
            inner += w
            edge_mark[round(inner, 6)] = _mark(lane)
        if not driving:
            out[sign] = {"ids": [], "w": 0.0, "lo": 0.0, "hi": 0.0, "marks": []}
            continue
        widths = {round(w, 9) for _, _, w, _ in driving}
        if len(widths) > 1:
            pr.add(
                driving[0][3],
                f"the {tag} driving lanes have different widths "
                f"({', '.join(f'{w:g}' for w in sorted(widths))} m): our roads have "
                "lanes of one width",
            )
            ok = False
        w = driving[0][2]
        near, far = driving[0][1], driving[-1][1] + driving[-1][2]
        lo, hi = sorted((sign * near, sign * far))
        reverse = (sign > 0) == (rule == "RHT")
        # our lane 0 is the rightmost in the direction of travel: the lowest offset when
        # travelling along the reference line, the highest against it
        order = sorted(driving, key=lambda d: sign * (d[1] + d[2] / 2), reverse=reverse)
        # boundaries right to left in the direction of travel, as |offsets|
        edges = [
            abs(b)
            for b in np.linspace(hi if reverse else lo, lo if reverse else hi, len(driving) + 1)
        ]
        marks = [edge_mark.get(round(e, 6), "none") for e in edges]
        out[sign] = {
            "ids": [d[0] for d in order],
            "w": w,
            "lo": lo,
            "hi": hi,
            "marks": marks,
        }
    return out if ok else None


def _lane_order(lane: etree._Element) -> int:
    try:
        return abs(int(lane.get("id", "")))
    except ValueError:
        return 0  # reported where the lane is read


def _width(pr: Problems, lane: etree._Element) -> float:
    if lane.find("border") is not None:
        pr.add(lane.find("border"), "lane borders are not supported (give <width>)")
        raise Invalid("border")
    widths = lane.findall("width")
    if not widths:
        pr.add(lane, "no <width>")
        raise Invalid("width")
    values = set()
    for w in widths:
        if not _zero_poly(w, pr, ("b", "c", "d")):
            pr.add(w, "a lane width that varies along the road is not supported")
            raise Invalid("width")
        values.add(number(pr, w, "a"))
    if len(values) > 1:
        pr.add(widths[1], "a lane width that changes along the road is not supported")
        raise Invalid("width")
    a = values.pop()
    if a < 0:
        pr.add(widths[0], f"a={a:g}: a lane width cannot be negative")
        raise Invalid("width")
    return a


def _mark(lane: etree._Element | None) -> str:
    if lane is None:
        return "none"
    rm = lane.find("roadMark")
    if rm is None:
        return "none"
    kind = rm.get("type", "none").split(" ")[0]
    return MARKS.get(kind, "solid")
