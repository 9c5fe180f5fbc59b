"""Proving Ground road scenarios out as ASAM OpenSCENARIO 1.1 + OpenDRIVE 1.6.

``pground convert SCENARIO.yaml|RUN_FOLDER|COUNTEREXAMPLE.yaml -o out.xosc`` writes
``out.xosc``, its road ``out.xodr`` and its criteria ``out.criteria.yaml`` (which
``pground run out.xosc`` reads back). The files validate against the ASAM schemas and a
re-import gives the same run: every road keeps its geometry (``line``, ``arc``, ``spiral``),
its lanes sit on the right of the reference line (the left for a road that runs against it)
shifted by a ``laneOffset`` so that lane 0's centre is where ours is, and each box's
reference point is its centre (``Center x="0"``). Our fields with no OpenSCENARIO element
travel as standard extension points: ``userData`` (chord tolerance), ``Properties``
(the agent and its parameters, a static vehicle) and parameters named ``pground_*`` (time
step, control period, seed), which other tools ignore.

What OpenSCENARIO (or this writer) cannot say is refused, one line per field: IDM traffic,
walkers on paths, sensors, faults, signals, generated traffic, loops, road successors,
distance and TTC triggers, world placements.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from sim.errors import ScenarioError
from sim.formats.opendrive import Piece

KIND_CATEGORY = {
    "car": "car", "van": "van", "truck": "truck", "bus": "bus", "motorcycle": "motorbike",
    "cyclist": "bicycle",
}  # fmt: skip
HEADER = {"revMajor": "1", "revMinor": "1", "author": "Proving Ground (pground convert)"}


def _num(x: float) -> str:
    return repr(float(x))


def _sub(parent: etree._Element, tag: str, **attrs: Any) -> etree._Element:
    return etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})


class _Writer:
    def __init__(self, scenario: Any, out: Path) -> None:
        self.sc, self.out = scenario, out
        self.problems: list[str] = []
        self.rmap = scenario.map.road
        self.roads = {r.id: r for r in self.rmap.roads} if self.rmap else {}
        self.pieces = {rid: _pieces(r) for rid, r in self.roads.items()}
        self.controlled = [e.id for e in scenario.entities if e.controlled]
        self.engage_later: list[Any] = []  # controlled entities with a control_from

    def refuse(self, where: str, why: str) -> None:
        self.problems.append(f"{where}: cannot be written to OpenSCENARIO: {why}")

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        sc = self.sc
        if self.rmap is None:
            self.refuse("map.road", "a road scenario needs a road map")
            return
        if sc.sensors:
            self.refuse("sensors", "sensor models have no OpenSCENARIO element")
        if sc.faults:
            self.refuse("faults", "fault injection has no OpenSCENARIO element")
        if sorted(sc.terminate_on) != ["collision", "goal"]:
            self.refuse("terminate_on", "only the default (collision, goal) is written")
        if self.rmap.signals:
            self.refuse("map.road.signals", "traffic lights are not written")
        if self.rmap.traffic:
            self.refuse("map.road.traffic", "generated traffic is not written")
        for i, r in enumerate(self.rmap.roads):
            where = f"map.road.roads[{i}]"
            if r.closed or r.successor:
                self.refuse(where, "loops and successors need OpenDRIVE junctions/links")
            if r.lane_speed_limits:
                self.refuse(f"{where}.lane_speed_limits", "per-lane limits are not written")
            if any(seg.points is not None for seg in r.geometry):
                self.refuse(f"{where}.geometry", "'points' segments are not written")
        for i, e in enumerate(sc.entities):
            where = f"entities[{i}] ({e.id})"
            if e.domain != "road":
                self.refuse(where, f"a {e.domain} entity (OpenSCENARIO here is road only)")
                continue
            b = e.behaviour.type if e.behaviour is not None else None
            if b == "path":
                starts = [m for m in e.manoeuvres if not m.end]
                if (
                    e.speed != 0
                    or len(starts) != 1
                    or starts[0].speed is None
                    or starts[0].speed.acceleration is not None
                    or starts[0].speed.duration is not None
                    or starts[0].speed.relative_to is not None
                    or starts[0].speed.target <= 0
                ):
                    self.refuse(
                        f"{where}.behaviour",
                        "a walker is written as a trajectory: it stands (speed 0) until one "
                        "step speed manoeuvre starts it",
                    )
            elif e.road is None:
                self.refuse(where, "placed in the world (x, y): give road, lane, s")
            if b == "idm":
                self.refuse(f"{where}.behaviour", "'idm' has no OpenSCENARIO action")
            if e.goal is not None:
                self.refuse(f"{where}.goal", "goals are not written")
            for k, m in enumerate(e.manoeuvres):
                w = m.when
                if w.ttc_below is not None:
                    self.refuse(
                        f"{where}.manoeuvres[{k}].when",
                        "ttc_below is not written (distance, gap, headway, time and after are)",
                    )

    # ------------------------------------------------------------------ OpenDRIVE
    def xodr(self) -> etree._Element:
        root = etree.Element("OpenDRIVE")
        _sub(root, "header", revMajor=1, revMinor=6, name=self.sc.id, vendor="Proving Ground")
        for r in self.rmap.roads:
            pieces = self.pieces[r.id]
            length = sum(p.length for p in pieces)
            road = _sub(root, "road", name=r.id, length=_num(length), id=r.id, junction=-1,
                        rule="RHT")  # fmt: skip
            _sub(road, "link")
            t = _sub(road, "type", s=0, type="motorway")
            _sub(t, "speed", max=_num(r.speed_limit), unit="m/s")
            pv = _sub(road, "planView")
            for p in pieces:
                g = _sub(pv, "geometry", s=_num(p.s), x=_num(p.x), y=_num(p.y),
                         hdg=_num(p.hdg), length=_num(p.length))  # fmt: skip
                if p.kind == "line":
                    _sub(g, "line")
                elif p.kind == "arc":
                    _sub(g, "arc", curvature=_num(p.k0))
                else:
                    _sub(g, "spiral", curvStart=_num(p.k0), curvEnd=_num(p.k1))
            lanes = _sub(road, "lanes")
            n, w = r.lanes, r.lane_width
            marks = r.markings or ["solid"] + ["dashed"] * (n - 1) + ["solid"]
            # lanes from the reference line outwards; lane 0's centre lands on ours
            off = r.reference_offset + (-1 if r.reverse else 1) * (n * w - w / 2)
            _sub(lanes, "laneOffset", s=0, a=_num(off), b=0, c=0, d=0)
            sec = _sub(lanes, "laneSection", s=0)
            side = _sub(sec, "left") if r.reverse else None  # the schema's order: left,
            centre = _sub(_sub(sec, "center"), "lane", id=0, type="none", level="false")
            _mark(centre, marks[n])
            side = side if side is not None else _sub(sec, "right")  # center, right
            sign = 1 if r.reverse else -1
            for k in range(1, n + 1):
                lane = _sub(side, "lane", id=sign * k, type="driving", level="false")
                _sub(lane, "width", sOffset=0, a=_num(w), b=0, c=0, d=0)
                _mark(lane, marks[n - k])
            # our sampling tolerance, where OpenDRIVE keeps extensions: last in the record
            _sub(road, "userData", code="pground:chord_tolerance", value=_num(r.chord_tolerance))
        return root

    def lane_id(self, road: str, lane: int) -> int:
        r = self.roads[road]
        return (r.lanes - lane) * (1 if r.reverse else -1)

    def odr_s(self, road: str, s: float) -> float:
        """Reference-line station of our station ``s`` (lane 0's centre): the inverse of
        s = u - t0·(θ(u) - θ0), by Newton's method (exact at once when t0 = 0)."""
        r, pieces = self.roads[road], self.pieces[road]
        total = sum(p.length for p in pieces)
        t0 = r.reference_offset

        def along(u: float) -> tuple[float, float]:
            k = max(i for i, p in enumerate(pieces) if p.s <= u or i == 0)
            p = pieces[k]
            du = min(max(u - p.s, 0.0), p.length)
            kappa = p.k0 + (p.k1 - p.k0) * du / p.length
            return u - t0 * (p.heading(du) - pieces[0].hdg), 1.0 - t0 * kappa

        target = s if not r.reverse else along(total)[0] - s
        u = target  # exact when t0 = 0: the loop's first step is then 0
        for _ in range(50):
            f, df = along(u)
            step = (f - target) / df
            u -= step
            if abs(step) < 1e-12:
                break
        return u

    # ------------------------------------------------------------------ OpenSCENARIO
    def xosc(self, road_file: str) -> etree._Element:
        sc = self.sc
        root = etree.Element("OpenSCENARIO")
        _sub(root, "FileHeader", description=f"{sc.name}: {sc.description}".strip()[:2000],
             date="2026-01-01T00:00:00", **HEADER)  # fmt: skip
        decls = _sub(root, "ParameterDeclarations")
        for name, value, ptype in (
            ("pground_dt_s", sc.dt, "double"),
            ("pground_control_period_s", sc.dt * sc.control_every, "double"),
            ("pground_seed", sc.seed, "integer"),
            ("pground_duration_s", sc.duration, "double"),
        ):
            v = _num(value) if ptype == "double" else str(value)
            _sub(decls, "ParameterDeclaration", name=name, parameterType=ptype, value=v)
        _sub(root, "CatalogLocations")
        _sub(_sub(root, "RoadNetwork"), "LogicFile", filepath=road_file)
        ents = _sub(root, "Entities")
        for e in sc.entities:
            self._entity(ents, e)
        sb = _sub(root, "Storyboard")
        init = _sub(_sub(sb, "Init"), "Actions")
        for e in sc.entities:
            self._init(init, e)
        for e in sc.entities:
            for k, m in enumerate(e.manoeuvres):
                if not m.end:
                    self._story(sb, e, m, k)
        self._engage(sb)
        if sb.find("Story") is None:  # the schema wants one: an act with nothing to do
            act = _sub(_sub(sb, "Story", name="idle"), "Act", name="idle")
            mg = _sub(act, "ManeuverGroup", maximumExecutionCount=1, name="idle")
            _sub(mg, "Actors", selectTriggeringEntities="false")
            self._start_at_zero(act)
        self._stop(sb)
        return root

    def _entity(self, ents: etree._Element, e: Any) -> None:
        obj = _sub(ents, "ScenarioObject", name=e.id)
        length, width = e.dims
        if e.kind == "pedestrian":
            body = _sub(obj, "Pedestrian", name="pedestrian", mass=70, model="pedestrian",
                        pedestrianCategory="pedestrian")  # fmt: skip
        elif e.kind == "obstacle":
            body = _sub(obj, "MiscObject", name="obstacle", mass=500,
                        miscObjectCategory="obstacle")  # fmt: skip
        else:
            body = _sub(obj, "Vehicle", name=e.kind, vehicleCategory=KIND_CATEGORY[e.kind])
        _sub(body, "ParameterDeclarations")
        bb = _sub(body, "BoundingBox")
        _sub(bb, "Center", x=0, y=0, z=0.75)
        _sub(bb, "Dimensions", width=_num(width), length=_num(length), height=1.5)
        if body.tag == "Vehicle":
            _sub(body, "Performance", maxSpeed=70, maxAcceleration=10, maxDeceleration=10)
            axles = _sub(body, "Axles")
            _sub(axles, "FrontAxle", maxSteering=0.5, wheelDiameter=0.6, trackWidth=1.6,
                 positionX=_num(0.3 * length), positionZ=0.3)  # fmt: skip
            _sub(axles, "RearAxle", maxSteering=0, wheelDiameter=0.6, trackWidth=1.6,
                 positionX=_num(-0.3 * length), positionZ=0.3)  # fmt: skip
        props = _sub(body, "Properties")
        if e.behaviour is not None and e.behaviour.type == "static" and e.kind != "obstacle":
            _sub(props, "Property", name="pground:behaviour", value="static")
        if e.controlled:
            ctl = _sub(_sub(obj, "ObjectController"), "Controller", name=f"{e.id}-agent")
            cp = _sub(ctl, "Properties")
            _sub(cp, "Property", name="pground:agent", value=e.agent)
            params = json.dumps(e.agent_params or {}, sort_keys=True)
            _sub(cp, "Property", name="pground:agent_params", value=params)

    def _init(self, init: etree._Element, e: Any) -> None:
        priv = _sub(init, "Private", entityRef=e.id)
        pos = _sub(_sub(_sub(priv, "PrivateAction"), "TeleportAction"), "Position")
        if e.road is None:  # a walker off the roads: at its path's start, facing along it
            pts = e.behaviour.points
            h = math.atan2(pts[1][1] - pts[0][1], pts[1][0] - pts[0][0])
            _sub(pos, "WorldPosition", x=_num(pts[0][0]), y=_num(pts[0][1]), z=0, h=_num(h))
            self._speed0(priv, e)
            return
        r = self.roads[e.road]
        offset = -e.offset if r.reverse else e.offset
        lp = _sub(pos, "LanePosition", roadId=e.road, laneId=self.lane_id(e.road, e.lane),
                  offset=_num(offset), s=_num(self.odr_s(e.road, e.s)))  # fmt: skip
        if e.heading:
            _sub(lp, "Orientation", type="relative", h=_num(e.heading), p=0, r=0)
        self._speed0(priv, e)
        if e.controlled and not e.control_from:
            ca = _sub(_sub(priv, "PrivateAction"), "ControllerAction")
            _sub(ca, "ActivateControllerAction", lateral="true", longitudinal="true")
        if e.controlled and e.control_from:
            self.engage_later.append(e)

    def _speed0(self, priv: etree._Element, e: Any) -> None:
        sa = _sub(_sub(_sub(priv, "PrivateAction"), "LongitudinalAction"), "SpeedAction")
        _sub(sa, "SpeedActionDynamics", dynamicsShape="step", value=0, dynamicsDimension="time")
        _sub(_sub(sa, "SpeedActionTarget"), "AbsoluteTargetSpeed", value=_num(e.speed))

    def _trajectory(self, pa: etree._Element, e: Any, speed: float) -> None:
        """A walker's path at its speed: a polyline whose vertex times are distance/speed."""
        fa = _sub(_sub(pa, "RoutingAction"), "FollowTrajectoryAction")
        traj = _sub(_sub(fa, "TrajectoryRef"), "Trajectory", name=f"{e.id}-path", closed="false")
        # the exact speed (vertex times divided back into distances lose the last bit)
        _sub(_sub(traj, "ParameterDeclarations"), "ParameterDeclaration",
             name="pground_speed_mps", parameterType="double", value=_num(speed))  # fmt: skip
        poly = _sub(_sub(traj, "Shape"), "Polyline")
        pts = e.behaviour.points
        t = 0.0
        for i, (x, y) in enumerate(pts):
            if i:
                t += math.hypot(x - pts[i - 1][0], y - pts[i - 1][1]) / speed
            v = _sub(poly, "Vertex", time=_num(t))
            _sub(_sub(v, "Position"), "WorldPosition", x=_num(x), y=_num(y), z=0)
        timing = _sub(fa, "TimeReference")
        _sub(timing, "Timing", domainAbsoluteRelative="relative", scale=1, offset=0)
        _sub(fa, "TrajectoryFollowingMode", followingMode="position")

    def _story(self, sb: etree._Element, e: Any, m: Any, k: int) -> None:
        name = m.id or f"{e.id}-m{k}"
        story = _sub(sb, "Story", name=f"{name}-story")
        act = _sub(story, "Act", name=f"{name}-act")
        mg = _sub(act, "ManeuverGroup", maximumExecutionCount=1, name=f"{name}-group")
        _sub(_sub(mg, "Actors", selectTriggeringEntities="false"), "EntityRef", entityRef=e.id)
        man = _sub(mg, "Maneuver", name=f"{name}-maneuver")
        ev = _sub(man, "Event", name=f"{name}-event", priority="overwrite",
                  maximumExecutionCount=1)  # fmt: skip
        action = _sub(ev, "Action", name=name)
        self._action(_sub(action, "PrivateAction"), e, m)
        self._condition(_sub(_sub(ev, "StartTrigger"), "ConditionGroup"), e, m.when, name)
        self._start_at_zero(act)

    def _start_at_zero(self, act: etree._Element) -> None:
        c = _sub(_sub(_sub(act, "StartTrigger"), "ConditionGroup"), "Condition",
                 name=f"{act.get('name')}-start", delay=0, conditionEdge="none")  # fmt: skip
        _sub(_sub(c, "ByValueCondition"), "SimulationTimeCondition", value=0,
             rule="greaterOrEqual")  # fmt: skip

    def _action(self, pa: etree._Element, e: Any, m: Any) -> None:
        if e.behaviour is not None and e.behaviour.type == "path":  # a walker's start
            self._trajectory(pa, e, m.speed.target)
            return
        r = self.roads[e.road]
        flip = -1 if r.reverse else 1
        if m.speed is not None or m.brake is not None:
            sa = _sub(_sub(pa, "LongitudinalAction"), "SpeedAction")
            if m.brake is not None:
                target, rel = m.brake.to_speed, None
                dyn = ("linear", m.brake.deceleration, "rate")
            else:
                target, rel = m.speed.target, m.speed.relative_to
                if m.speed.acceleration is not None:
                    dyn = ("linear", m.speed.acceleration, "rate")
                elif m.speed.duration is not None:
                    dyn = ("linear", m.speed.duration, "time")
                else:
                    dyn = ("step", 0.0, "time")
            _sub(sa, "SpeedActionDynamics", dynamicsShape=dyn[0], value=_num(dyn[1]),
                 dynamicsDimension=dyn[2])  # fmt: skip
            tgt = _sub(sa, "SpeedActionTarget")
            if rel is None:
                _sub(tgt, "AbsoluteTargetSpeed", value=_num(target))
            else:
                _sub(tgt, "RelativeTargetSpeed", entityRef=rel, value=_num(target),
                     speedTargetValueType="delta", continuous="false")  # fmt: skip
            return
        lat = _sub(pa, "LateralAction")
        if m.lane_change is not None:
            lc = m.lane_change
            la = _sub(lat, "LaneChangeAction")
            _sub(la, "LaneChangeActionDynamics", dynamicsShape=lc.shape,
                 value=_num(lc.lateral_speed), dynamicsDimension="rate")  # fmt: skip
            tgt = _sub(la, "LaneChangeTarget")
            if lc.lanes is not None:
                _sub(tgt, "RelativeTargetLane", entityRef=lc.of or e.id, value=lc.lanes * flip)
            else:
                _sub(tgt, "AbsoluteTargetLane", value=self.lane_id(e.road, lc.to_lane))
            return
        lo = m.lane_offset
        la = _sub(lat, "LaneOffsetAction", continuous="false")
        _sub(la, "LaneOffsetActionDynamics", maxLateralAcc=_num(lo.max_lateral_accel),
             dynamicsShape="sinusoidal")  # fmt: skip
        _sub(_sub(la, "LaneOffsetTarget"), "AbsoluteTargetLaneOffset", value=_num(lo.offset * flip))

    def _condition(self, group: etree._Element, e: Any, w: Any, name: str) -> None:
        cond = _sub(group, "Condition", name=f"{name}-when", delay=_num(w.delay),
                    conditionEdge="rising" if w.at_time is None else "none")  # fmt: skip
        if w.at_time is not None:
            _sub(_sub(cond, "ByValueCondition"), "SimulationTimeCondition",
                 value=_num(w.at_time), rule="greaterOrEqual")  # fmt: skip
            return
        if w.after is not None:
            _sub(_sub(cond, "ByValueCondition"), "StoryboardElementStateCondition",
                 storyboardElementType="action", storyboardElementRef=w.after,
                 state="endTransition")  # fmt: skip
            return
        to = w.to or self.controlled[0]
        by = _sub(cond, "ByEntityCondition")
        _sub(_sub(by, "TriggeringEntities", triggeringEntitiesRule="any"), "EntityRef",
             entityRef=to)  # fmt: skip
        ec = _sub(by, "EntityCondition")
        if w.distance_below is not None:  # centre to centre: our reference points
            _sub(ec, "RelativeDistanceCondition", entityRef=e.id,
                 relativeDistanceType="cartesianDistance", value=_num(w.distance_below),
                 freespace="false", rule="lessThan", coordinateSystem="entity")  # fmt: skip
        elif w.gap_below is not None:
            _sub(ec, "RelativeDistanceCondition", entityRef=e.id,
                 relativeDistanceType="longitudinal", value=_num(w.gap_below), freespace="true",
                 rule="lessThan", coordinateSystem="entity")  # fmt: skip
        else:
            _sub(ec, "TimeHeadwayCondition", entityRef=e.id, value=_num(w.headway_below),
                 freespace="true", rule="lessThan", coordinateSystem="road",
                 relativeDistanceType="longitudinal")  # fmt: skip

    def _engage(self, sb: etree._Element) -> None:
        for e in self.engage_later:
            name = f"{e.id}-engage"
            story = _sub(sb, "Story", name=f"{name}-story")
            act = _sub(story, "Act", name=f"{name}-act")
            mg = _sub(act, "ManeuverGroup", maximumExecutionCount=1, name=f"{name}-group")
            _sub(_sub(mg, "Actors", selectTriggeringEntities="false"), "EntityRef", entityRef=e.id)
            ev = _sub(_sub(mg, "Maneuver", name=f"{name}-maneuver"), "Event", name=f"{name}-event",
                      priority="overwrite", maximumExecutionCount=1)  # fmt: skip
            ca = _sub(_sub(_sub(ev, "Action", name=name), "PrivateAction"), "ControllerAction")
            _sub(ca, "ActivateControllerAction", lateral="true", longitudinal="true")
            c = _sub(_sub(_sub(ev, "StartTrigger"), "ConditionGroup"), "Condition",
                     name=f"{name}-when", delay=0, conditionEdge="none")  # fmt: skip
            _sub(_sub(c, "ByValueCondition"), "SimulationTimeCondition",
                 value=_num(e.control_from), rule="greaterOrEqual")  # fmt: skip
            self._start_at_zero(act)

    def _stop(self, sb: etree._Element) -> None:
        stop = _sub(sb, "StopTrigger")
        for e in self.sc.entities:
            for m in e.manoeuvres:
                if m.end:
                    g = _sub(stop, "ConditionGroup")
                    self._condition(g, e, m.when, m.id or f"{e.id}-end")
        c = _sub(_sub(stop, "ConditionGroup"), "Condition", name="duration", delay=0,
                 conditionEdge="rising")  # fmt: skip
        _sub(_sub(c, "ByValueCondition"), "SimulationTimeCondition",
             value=_num(self.sc.duration), rule="greaterOrEqual")  # fmt: skip


def _mark(lane: etree._Element, mark: str) -> None:
    kind = {"solid": "solid", "dashed": "broken", "none": "none"}[mark]
    _sub(lane, "roadMark", sOffset=0, type=kind, weight="standard", color="standard",
         width=0.15, laneChange="none" if kind == "solid" else "both")  # fmt: skip


def _pieces(r: Any) -> list[Piece]:
    """Our road's geometry as chained OpenDRIVE planView records."""
    out: list[Piece] = []
    s, x, y, h = 0.0, r.start.x, r.start.y, r.start.heading
    for seg in r.geometry:
        if seg.line is not None:
            p = Piece(s, seg.line, "line", 0.0, 0.0, x, y, h)
        elif seg.arc is not None:
            k = 1.0 / seg.radius
            p = Piece(s, seg.arc, "arc", k, k, x, y, h)
        elif seg.clothoid is not None:
            p = Piece(s, seg.clothoid, "spiral", *seg.curvature, x, y, h)
        else:
            continue  # refused by the checks
        out.append(p)
        x, y, h = p.end()
        s += p.length
    return out


def export_xosc(scenario: Any, out: Path) -> list[Path]:
    """Write ``out`` (.xosc), its road and its criteria; ScenarioError listing what cannot
    be written."""
    w = _Writer(scenario, out)
    w.check()
    if w.problems:
        raise ScenarioError(w.problems[0], w.problems)
    road = out.with_suffix(".xodr")
    crit = out.with_suffix(".criteria.yaml")
    files = {
        road: etree.tostring(w.xodr(), pretty_print=True, xml_declaration=True, encoding="utf-8"),
        out: etree.tostring(
            w.xosc(road.name), pretty_print=True, xml_declaration=True, encoding="utf-8"
        ),
        crit: (
            f"# criteria of {out.name} (pground convert): pground run {out.name} reads them\n"
            + yaml.safe_dump(
                {
                    "tags": list(scenario.tags),
                    "criteria": [
                        c.model_dump(exclude_none=True, mode="json") for c in scenario.criteria
                    ],
                },
                sort_keys=False,
            )
        ).encode(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return list(files)
