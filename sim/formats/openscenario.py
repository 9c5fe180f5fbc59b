"""ASAM OpenSCENARIO 1.x (``.xosc``) scenarios as Proving Ground road scenarios.

:func:`load_xosc` reads a scenario, its catalogs and its OpenDRIVE road and writes the
equivalent scenario in our format (a dict the YAML loader's validation then checks), so
``pground run file.xosc`` and ``pground convert file.xosc -o file.yaml`` give the same run.

The supported subset is what the 15 OSC-ALKS templates use (docs/openscenario.md lists it
with the reading of each element); anything else is an error naming file:line and the
element. How the storyboard becomes our manoeuvres:

* every ``Event`` with one ``ConditionGroup`` of one ``Condition`` becomes one manoeuvre per
  action and actor, started by the matching trigger (``SimulationTimeCondition`` ->
  ``at_time``; ``RelativeDistanceCondition`` longitudinal freespace -> ``gap_below``;
  ``TimeHeadwayCondition`` freespace -> ``headway_below``; ``StoryboardElementStateCondition``
  on an action's end -> ``after``), with the condition's delay;
* ``ActivateControllerAction`` on the ego -> ``control_from`` (before it the ego keeps its
  lane and speed, as OpenSCENARIO says for an entity whose controller is not active);
* the ``StopTrigger``: a simulation time becomes the run's duration; an action's end
  becomes an ``end`` manoeuvre (the run stops then) with a duration cap.

Positions: OpenSCENARIO places an entity's reference point (a vehicle's rear axle), we
place the centre of its bounding box: the box's ``Center`` offset is added along the lane.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from sim.domains.road.network import RoadNetwork
from sim.errors import ScenarioError
from sim.formats.opendrive import RoadImport, load_opendrive
from sim.formats.oscexpr import ExprError, resolve
from sim.formats.xmlio import Invalid, Problems, parse

#: How long a run whose StopTrigger waits for an action may last at most.
DEFAULT_DURATION_CAP_S = 120.0
DT_S = 0.05
CONTROL_PERIOD_S = 0.1
#: OpenSCENARIO vehicle / pedestrian / misc-object categories -> our kinds.
KINDS = {
    "car": "car", "van": "van", "truck": "truck", "trailer": "truck", "semitrailer": "truck",
    "bus": "bus", "motorbike": "motorcycle", "bicycle": "cyclist", "tram": "bus",
    "pedestrian": "pedestrian", "wheelchair": "pedestrian", "animal": "pedestrian",
    "obstacle": "obstacle", "barrier": "obstacle", "pole": "obstacle", "none": "obstacle",
}  # fmt: skip
PARAM_TYPES = ("double", "integer", "unsignedInt", "unsignedShort", "string", "boolean")
DEFAULT_AGENT = "acc"


class Unsupported(Invalid):
    """Reported already; stop reading this element."""


@dataclass
class Placed:
    """An entity's position in OpenDRIVE terms (reference point) and ours (box centre)."""

    odr_road: str
    lane_id: int
    s: float  # OpenDRIVE station of the reference point
    offset: float  # lateral offset from the lane centre (+ left of the reference line)
    heading: float = 0.0  # relative to the lane's direction of travel (absolute in the world)
    world: tuple[float, float] | None = None  # a WorldPosition (then no road)


@dataclass
class Entity:
    name: str
    el: etree._Element
    kind: str
    length: float
    width: float
    centre_x: float  # bounding-box centre ahead of the reference point
    controlled: bool
    placed: Placed | None = None
    speed: float | None = None
    manoeuvres: list[dict[str, Any]] = field(default_factory=list)
    control_from: float = 0.0
    path: list[tuple[float, float]] | None = None
    placed_s: float | None = None  # our station, when placed by a distance to another
    agent: str = DEFAULT_AGENT  # Property pground:agent of its controller (pground convert)
    agent_params: dict[str, Any] | None = None
    static: bool = False  # Property pground:behaviour = static


@dataclass
class XoscImport:
    """A translated scenario and everything that was read to make it."""

    data: dict[str, Any]
    files: list[Path]
    parameters: dict[str, Any]
    warnings: list[str]
    road: RoadImport

    def digest(self) -> str:
        """SHA-256 over every file read (name and bytes): the scenario, catalogs, road."""
        h = hashlib.sha256()
        for p in sorted(set(self.files)):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
        return h.hexdigest()


def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).strip("-").lower()
    return s or "scenario"


class _Reader:
    def __init__(self, path: Path, overrides: dict[str, Any]) -> None:
        self.path = path
        self.pr = Problems(path)
        self.overrides = overrides
        self.params: dict[str, Any] = {}
        self.files: list[Path] = [path]
        self.catalogs: dict[str, dict[str, tuple[etree._Element, Problems]]] = {}

    # ------------------------------------------------------------------ values
    def fail(self, el: etree._Element | None, msg: str) -> Unsupported:
        self.pr.add(el, msg)
        return Unsupported(msg)

    def raw(self, el: etree._Element, name: str, default: str | None = None) -> Any:
        text = el.get(name)
        if text is None:
            if default is not None:
                return default
            raise self.fail(el, f"missing attribute '{name}'")
        try:
            return resolve(text, self.params)
        except ExprError as exc:
            raise self.fail(el, f"{name}='{text}': {exc}") from None

    def num(self, el: etree._Element, name: str, default: float | None = None) -> float:
        v = self.raw(el, name, None if default is None else str(default))
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise self.fail(el, f"{name}='{el.get(name)}' is not a number") from None
        if isinstance(v, bool) or not math.isfinite(x):
            raise self.fail(el, f"{name}='{el.get(name)}' is not a finite number")
        return x

    def text(self, el: etree._Element, name: str, default: str | None = None) -> str:
        return str(self.raw(el, name, default))

    def flag(self, el: etree._Element, name: str, default: bool) -> bool:
        v = self.raw(el, name, "true" if default else "false")
        if isinstance(v, bool):
            return v
        if str(v) not in ("true", "false"):
            raise self.fail(el, f"{name}='{v}': expected true or false")
        return str(v) == "true"

    def one(self, el: etree._Element, *tags: str) -> etree._Element:
        kids = [c for c in el if isinstance(c.tag, str)]
        if len(kids) != 1 or kids[0].tag not in tags:
            found = ", ".join(c.tag for c in kids) or "nothing"
            raise self.fail(el, f"expected one of {', '.join(tags)}; found {found}")
        return kids[0]

    # ------------------------------------------------------------------ parameters
    def declare(self, decls: etree._Element | None, own: bool = True) -> list[etree._Element]:
        out = []
        if decls is None:
            return out
        for d in decls.findall("ParameterDeclaration"):
            name = d.get("name", "")
            ptype = d.get("parameterType", "double")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                self.pr.add(d, f"name='{name}' is not a parameter name")
                continue
            if ptype not in PARAM_TYPES:
                self.pr.add(d, f"parameterType='{ptype}' is not supported")
                continue
            raw = self.overrides.get(name, d.get("value")) if own else d.get("value")
            if raw is None:
                self.pr.add(d, "missing attribute 'value'")
                continue
            try:
                value = resolve(str(raw), self.params) if isinstance(raw, str) else raw
                self.params[name] = convert(value, ptype)
            except (ExprError, ValueError) as exc:
                where = "--set " if own and name in self.overrides else ""
                self.pr.add(d, f"{where}{name}='{raw}': {exc}")
                continue
            out.append(d)
        return out

    def constraints(self, decls: list[etree._Element]) -> None:
        """Every declared value must satisfy its ConstraintGroups: the groups are OR'ed and
        the constraints inside one group AND'ed (ASAM OpenSCENARIO 1.2, ValueConstraintGroup:
        "all constraints of a group must be fulfilled ... at least one group")."""
        for d in decls:
            groups = d.findall("ConstraintGroup")
            if not groups:
                continue
            value = self.params[d.get("name")]
            reasons = []
            for g in groups:
                failed = [c for c in g.findall("ValueConstraint") if not self._holds(c, value)]
                if not failed:
                    break
                c = failed[0]
                reasons.append(f"{c.get('rule')} {self.raw(c, 'value')}")
            else:
                self.pr.add(
                    d,
                    f"{d.get('name')}={value} violates its constraints ("
                    + " or ".join(reasons)
                    + ")",
                )

    def _holds(self, c: etree._Element, value: Any) -> bool:
        limit = self.raw(c, "value")
        rule = c.get("rule", "")
        try:
            a, b = float(value), float(limit)
        except (TypeError, ValueError):
            a, b = str(value), str(limit)  # type: ignore[assignment]
        ops = {
            "equalTo": lambda: a == b,
            "notEqualTo": lambda: a != b,
            "greaterThan": lambda: a > b,
            "greaterOrEqual": lambda: a >= b,
            "lessThan": lambda: a < b,
            "lessOrEqual": lambda: a <= b,
        }
        if rule not in ops:
            raise self.fail(c, f"rule='{rule}' is not a constraint rule")
        return bool(ops[rule]())

    # ------------------------------------------------------------------ catalogs
    def load_catalogs(self, root: etree._Element) -> None:
        locs = root.find("CatalogLocations")
        if locs is None:
            return
        for loc in locs:
            if not isinstance(loc.tag, str):
                continue
            d = loc.find("Directory")
            if d is None:
                self.pr.add(loc, "no <Directory>")
                continue
            folder = (self.path.parent / self.text(d, "path")).resolve()
            if not folder.is_dir():
                self.pr.add(d, f"catalog folder {folder} does not exist")
                continue
            for f in sorted(folder.glob("*.xosc")):
                cat_root = _cached(f, parse)
                self.files.append(f)
                cat = cat_root.find("Catalog")
                if cat is None:
                    continue
                entries = self.catalogs.setdefault(cat.get("name", ""), {})
                for entry in cat:
                    if isinstance(entry.tag, str) and entry.get("name"):
                        entries[entry.get("name")] = (entry, Problems(f))

    def catalog_entry(self, ref: etree._Element) -> etree._Element:
        cat = self.text(ref, "catalogName")
        name = self.text(ref, "entryName")
        if cat not in self.catalogs:
            raise self.fail(ref, f"no catalog '{cat}' in the CatalogLocations")
        if name not in self.catalogs[cat]:
            known = ", ".join(sorted(self.catalogs[cat]))
            raise self.fail(ref, f"catalog '{cat}' has no entry '{name}' (it has {known})")
        if ref.find("ParameterAssignments") is not None and len(ref.find("ParameterAssignments")):
            raise self.fail(ref, "parameter assignments to catalog entries are not supported")
        return self.catalogs[cat][name][0]


def convert(value: Any, ptype: str) -> Any:
    """A parameter's value as its declared type (OpenSCENARIO rounds doubles to integers
    half away from zero)."""
    if ptype == "string":
        return str(value) if not isinstance(value, bool) else str(value).lower()
    if ptype == "boolean":
        if isinstance(value, bool):
            return value
        if str(value) in ("true", "false"):
            return str(value) == "true"
        raise ValueError("expected true or false")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError("not a number") from None
    if not math.isfinite(x):
        raise ValueError("not finite")
    if ptype == "double":
        return x
    n = math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)
    if ptype in ("unsignedInt", "unsignedShort") and n < 0:
        raise ValueError("must not be negative")
    return n


# ---------------------------------------------------------------------------- entry point
def load_xosc(
    path: str | Path,
    overrides: dict[str, Any] | None = None,
    *,
    ego: str | None = None,
    criteria: str | Path | None = None,
) -> XoscImport:
    """Translate an OpenSCENARIO 1.x file; ScenarioError with one line per problem.

    Criteria come from ``criteria`` (a YAML file), else from ``<stem>.criteria.yaml`` beside
    the scenario, else the defaults (:func:`default_criteria`)."""
    path = Path(path)
    rd = _Reader(path, dict(overrides or {}))
    root = parse(path)
    if root.tag != "OpenSCENARIO":
        rd.pr.add(root, "the root element of an OpenSCENARIO file is <OpenSCENARIO>")
        rd.pr.raise_if_any()
    header = root.find("FileHeader")
    if header is None or header.get("revMajor") != "1":
        rd.pr.add(header if header is not None else root, "OpenSCENARIO 1.x is supported")
        rd.pr.raise_if_any()
    if root.find("ParameterValueDistribution") is not None:
        raise ScenarioError(
            f"{path}:{root.find('ParameterValueDistribution').sourceline}: a variation file: "
            f"run it with `pground suite {path}`"
        )
    if root.find("Catalog") is not None:
        raise ScenarioError(f"{path}:1: a catalog file, not a scenario")
    unknown = set(rd.overrides)
    decls = rd.declare(root.find("ParameterDeclarations"))
    unknown -= set(rd.params)
    if unknown:
        known = ", ".join(sorted(rd.params)) or "none"
        raise ScenarioError(
            f"{path}: --set {sorted(unknown)[0]}: the scenario declares no such parameter. "
            f"Parameters: {known}"
        )
    rd.pr.raise_if_any()
    rd.constraints(decls)
    rd.pr.raise_if_any()
    rd.load_catalogs(root)
    road, net = _road(rd, root)
    rd.pr.raise_if_any()
    tr = _Translator(rd, road, net)
    try:
        tr.entities(root, ego)
        tr.init(root)
        tr.storyboard(root)
    except Unsupported:
        pass
    rd.pr.raise_if_any()
    data = tr.scenario(header)
    sidecar = Path(criteria) if criteria is not None else path.with_suffix(".criteria.yaml")
    if criteria is not None or sidecar.is_file():
        data["criteria"], extra_tags = read_criteria(sidecar, rd.params)
        data["tags"] = list(dict.fromkeys(data["tags"] + extra_tags))
        rd.files.append(sidecar)
    else:  # said at every run: the defaults cannot tell stopping from driving
        rd.pr.warnings.append(
            f"{path}: no criteria file: judged by no collision"
            f"{' and lane keeping (R157 5.1.1, 5.2.1)' if 'alks' in data['tags'] else ''} only, "
            "which a controller that stops passes; give --criteria FILE or "
            f"{sidecar.name} with a progress criterion (docs/openscenario.md)"
        )
    return XoscImport(data, rd.files, dict(rd.params), rd.pr.warnings + road.warnings, road)


#: What an ALKS template is judged by when no criteria file is given: UN R157 5.1.1 (no
#: collision that is reasonably foreseeable and preventable) and 5.2.1 (the vehicle is
#: kept inside its lane). R157 states no progress requirement: a criteria file adds one
#: (docs/openscenario.md shows how), so that a controller that only stops fails.
R157_DEFAULTS = [
    {"metric": "collisions", "op": "==", "value": 0, "id": "R157-5.1.1",
     "description": "no collision (UN R157 5.1.1)"},
    {"metric": "lane_departures", "op": "==", "value": 0, "id": "R157-5.2.1",
     "description": "keeps the vehicle inside its lane (UN R157 5.2.1)"},
]  # fmt: skip
OTHER_DEFAULTS = [{"metric": "collisions", "op": "==", "value": 0, "id": "no-collision"}]


def default_criteria(description: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Criteria and tags of a scenario without a criteria file: the R157 ones for an ALKS
    scenario (its FileHeader says "ALKS Scenario 4.x_y"), else no collision."""
    m = re.search(r"ALKS Scenario (\d+\.\d+_\d+)", description)
    if m:
        return [dict(c) for c in R157_DEFAULTS], ["r157", "alks", f"r157-annex5:{m.group(1)}"]
    return [dict(c) for c in OTHER_DEFAULTS], []


def read_criteria(path: Path, params: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """A criteria file: ``criteria:`` (our criteria; a value may be an OpenSCENARIO
    expression over the scenario's parameters, ``"${$Ego_InitSpeed_Ve0_kph / 3.6 * 20}"``)
    and optional ``tags:``."""
    from pydantic import ValidationError

    from sim.scenario.model import Criterion
    from sim.scenario.yamlio import line_of, load_with_lines

    data, lines = load_with_lines(path)
    if not isinstance(data, dict) or not isinstance(data.get("criteria"), list):
        raise ScenarioError(f"{path}:1: expected 'criteria:' with a list of criteria")
    out, problems = [], []
    for i, c in enumerate(data["criteria"]):
        where = f"{path}:{line_of(lines, ('criteria', i)) or 1}: criteria[{i}]"
        if not isinstance(c, dict):
            problems.append(f"{where}: expected {{metric, op, value}}")
            continue
        c = dict(c)
        if isinstance(c.get("value"), str):
            try:
                c["value"] = float(resolve(c["value"], params))
            except (ExprError, TypeError, ValueError) as exc:
                problems.append(f"{where}.value: {exc}")
                continue
        try:
            Criterion.model_validate(c)
        except ValidationError as exc:
            err = exc.errors()[0]
            problems.append(f"{where}.{'.'.join(map(str, err['loc']))}: {err['msg']}")
            continue
        out.append(c)
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(f"{path}:{line_of(lines, ('tags',)) or 1}: tags: expected a list")
    if problems:
        raise ScenarioError(problems[0], problems)
    return out, list(tags)


#: Files read lately (catalogs, roads with their compiled network), by path, size and
#: modification time: a campaign or a validation translates one template for every point,
#: and building a curved road's network is most of a translation.
_CACHE: dict[tuple[str, int, int, str], Any] = {}
CACHE_SIZE = 32


def _cached(path: Path, make: Any) -> Any:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, make.__name__)
    if key not in _CACHE:
        _CACHE[key] = make(path)
        while len(_CACHE) > CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
    return _CACHE[key]


def _road_and_network(path: Path) -> tuple[RoadImport, RoadNetwork]:
    road = load_opendrive(path)
    return road, RoadNetwork.build(road.map)


def _road(rd: _Reader, root: etree._Element) -> tuple[RoadImport, RoadNetwork]:
    logic = root.find("RoadNetwork/LogicFile")
    if logic is None:
        rd.pr.add(root.find("RoadNetwork") or root, "no RoadNetwork/LogicFile (an OpenDRIVE road)")
        rd.pr.raise_if_any()
    target = (rd.path.parent / rd.text(logic, "filepath")).resolve()
    rd.pr.raise_if_any()
    if not target.is_file():
        raise ScenarioError(f"{rd.path}:{logic.sourceline}: <LogicFile> {target} does not exist")
    rd.files.append(target)
    return _cached(target, _road_and_network)


class _Translator:
    def __init__(self, rd: _Reader, road: RoadImport, net: RoadNetwork) -> None:
        self.rd, self.road, self.net = rd, road, net
        self.ents: dict[str, Entity] = {}
        self.duration: float | None = None
        self.action_owner: dict[str, str] = {}  # action name -> entity
        self.stops = 0  # end manoeuvres made from the StopTrigger

    # ------------------------------------------------------------------ entities
    def entities(self, root: etree._Element, ego: str | None) -> None:
        rd = self.rd
        objs = root.findall("Entities/ScenarioObject")
        if not objs:
            raise rd.fail(root.find("Entities") or root, "no ScenarioObject")
        for obj in objs:
            name = obj.get("name", "")
            try:
                body = self._object(obj)
                kind, length, width, cx = self._dims(body)
            except Unsupported:
                continue
            controlled = obj.find("ObjectController") is not None
            ent = Entity(name, obj, kind, length, width, cx, controlled)
            self._properties(ent, obj, body)
            self.ents[name] = ent
        if ego is not None:
            if ego not in self.ents:
                raise ScenarioError(
                    f"{rd.path}: --entity {ego}: no such entity ({', '.join(self.ents)})"
                )
            for e in self.ents.values():
                e.controlled = e.name == ego
        if not any(e.controlled for e in self.ents.values()):
            raise rd.fail(
                root.find("Entities"),
                "no entity has an ObjectController: name the one under test with --entity",
            )

    def _properties(self, ent: Entity, obj: etree._Element, body: etree._Element) -> None:
        """What `pground convert` wrote as Properties: the agent, its parameters, a vehicle
        that never moves. Other tools ignore them; other files do not have them."""
        for prop in obj.findall("ObjectController/Controller/Properties/Property"):
            if prop.get("name") == "pground:agent":
                ent.agent = self.rd.text(prop, "value")
            elif prop.get("name") == "pground:agent_params":
                try:
                    params = json.loads(prop.get("value", "{}"))
                except json.JSONDecodeError as exc:
                    raise self.rd.fail(prop, f"not JSON: {exc}") from None
                if not isinstance(params, dict):
                    raise self.rd.fail(prop, "expected a JSON object of agent parameters")
                ent.agent_params = params
        for prop in body.findall("Properties/Property"):
            if prop.get("name") == "pground:behaviour" and prop.get("value") == "static":
                ent.static = True

    def _object(self, obj: etree._Element) -> etree._Element:
        ref = obj.find("CatalogReference")
        if ref is not None:
            return self.rd.catalog_entry(ref)
        for tag in ("Vehicle", "Pedestrian", "MiscObject"):
            if obj.find(tag) is not None:
                return obj.find(tag)
        raise self.rd.fail(obj, "expected a CatalogReference, Vehicle, Pedestrian or MiscObject")

    def _dims(self, body: etree._Element) -> tuple[str, float, float, float]:
        rd = self.rd
        cat = {
            "Vehicle": "vehicleCategory",
            "Pedestrian": "pedestrianCategory",
            "MiscObject": "miscObjectCategory",
        }.get(body.tag)
        if cat is None:
            raise rd.fail(body, "not an entity (Vehicle, Pedestrian or MiscObject)")
        category = str(rd.raw(body, cat, "none"))
        name = body.get("name", "")
        kind = KINDS.get(name) or KINDS.get(category)
        if kind is None:
            raise rd.fail(body, f"{cat}='{category}' is not supported ({', '.join(KINDS)})")
        bb = body.find("BoundingBox")
        if bb is None or bb.find("Dimensions") is None or bb.find("Center") is None:
            raise rd.fail(body, "no BoundingBox with Center and Dimensions")
        dims, centre = bb.find("Dimensions"), bb.find("Center")
        length, width = rd.num(dims, "length"), rd.num(dims, "width")
        if length <= 0 or width <= 0:
            raise rd.fail(dims, "length and width must be positive")
        if abs(rd.num(centre, "y")) > 1e-9:
            raise rd.fail(centre, "a bounding box off the centre line (y != 0) is not supported")
        return kind, length, width, rd.num(centre, "x")

    # ------------------------------------------------------------------ init
    def init(self, root: etree._Element) -> None:
        rd = self.rd
        privates = root.findall("Storyboard/Init/Actions/Private")
        for el in root.findall("Storyboard/Init/Actions/*"):
            if el.tag != "Private":
                rd.pr.add(el, "global and user-defined init actions are not supported")
        pending: list[tuple[Entity, etree._Element]] = []
        for p in privates:
            ent = self._entity(p, "entityRef")
            for pa in p.findall("PrivateAction"):
                pending.append((ent, pa))
        # actions that refer to another entity wait until that one is placed
        for _ in range(len(pending) + 1):
            later = []
            for ent, pa in pending:
                if not self._init_action(ent, pa):
                    later.append((ent, pa))
            if len(later) == len(pending):
                break
            pending = later
        for ent, pa in pending:
            rd.pr.add(pa, f"'{ent.name}': refers to an entity that is never placed (a cycle?)")
        for e in self.ents.values():
            if e.placed is None:
                rd.pr.add(e.el, f"'{e.name}' is never placed (no TeleportAction in Init)")
            if e.speed is None:
                e.speed = 0.0

    def _entity(self, el: etree._Element, attr: str) -> Entity:
        name = self.rd.text(el, attr)
        if name not in self.ents:
            raise self.rd.fail(el, f"{attr}='{name}': no such entity ({', '.join(self.ents)})")
        return self.ents[name]

    def _init_action(self, ent: Entity, pa: etree._Element) -> bool:
        """Apply one Init action; False when it needs an entity not placed yet."""
        rd = self.rd
        act = rd.one(
            pa, "TeleportAction", "LongitudinalAction", "LateralAction", "ControllerAction",
            "RoutingAction",
        )  # fmt: skip
        if act.tag == "TeleportAction":
            pos = act.find("Position")
            if pos is None:
                raise rd.fail(act, "no Position")
            placed = self._position(pos, ent)
            if placed is None:
                return False
            ent.placed = placed
            return True
        if act.tag == "ControllerAction":
            inner = rd.one(act, "ActivateControllerAction")
            if not ent.controlled:
                raise rd.fail(inner, f"'{ent.name}' is not the entity under test")
            ent.control_from = 0.0
            return True
        if act.tag == "LongitudinalAction":
            inner = rd.one(act, "SpeedAction", "LongitudinalDistanceAction")
            if inner.tag == "SpeedAction":
                return self._init_speed(ent, inner)
            return self._init_distance(ent, inner)
        raise rd.fail(act, f"{act.tag} in Init is not supported")

    def _init_speed(self, ent: Entity, sa: etree._Element) -> bool:
        rd = self.rd
        dyn = sa.find("SpeedActionDynamics")
        if dyn is None or rd.text(dyn, "dynamicsShape") != "step":
            raise rd.fail(dyn if dyn is not None else sa, "an Init speed is a step")
        target = rd.one(sa.find("SpeedActionTarget"), "AbsoluteTargetSpeed", "RelativeTargetSpeed")
        if target.tag == "AbsoluteTargetSpeed":
            ent.speed = rd.num(target, "value")
        else:
            other = self._entity(target, "entityRef")
            if other.speed is None:
                return False
            kind = rd.text(target, "speedTargetValueType", "delta")
            v = rd.num(target, "value")
            if kind not in ("delta", "factor"):
                raise rd.fail(target, f"speedTargetValueType='{kind}' (delta or factor)")
            ent.speed = other.speed + v if kind == "delta" else other.speed * v
        if ent.speed < 0:
            raise rd.fail(target, f"speed {ent.speed:g} m/s: reversing is not supported")
        return True

    def _init_distance(self, ent: Entity, la: etree._Element) -> bool:
        """LongitudinalDistanceAction at Init: place ``ent`` at a distance (or time gap)
        ahead of or behind the referenced entity, along the lane."""
        rd = self.rd
        other = self._entity(la, "entityRef")
        if other.placed is None or other.speed is None:
            return False
        if other.placed.world is not None or (ent.placed and ent.placed.world is not None):
            raise rd.fail(la, "a distance between entities placed in the world: not supported")
        if rd.flag(la, "continuous", False):
            raise rd.fail(la, "continuous='true' is not supported (a one-off placement is)")
        if la.get("timeGap") is not None:
            # the referenced entity's speed: equal to the actor's in every ALKS template
            d = rd.num(la, "timeGap") * other.speed
        elif la.get("distance") is not None:
            d = rd.num(la, "distance")
        else:
            raise rd.fail(la, "give timeGap or distance")
        if d < 0:
            raise rd.fail(la, "a negative distance or time gap")
        freespace = rd.flag(la, "freespace", False)
        # ASAM OSC 1.x LongitudinalDisplacement: leadingReferencedEntity = "ahead of the
        # entity", the actor leads; trailingReferencedEntity = the actor trails
        disp = rd.text(la, "displacement", "any")
        if disp not in ("leadingReferencedEntity", "trailingReferencedEntity"):
            raise rd.fail(la, f"displacement='{disp}': say which of the two leads")
        ahead = disp == "leadingReferencedEntity"
        base = ent.placed or other.placed
        centre = d + 0.5 * (ent.length + other.length) if freespace else d
        if not freespace:  # reference points: from the other's to the actor's
            centre = d + (ent.centre_x - other.centre_x) * (1 if ahead else -1)
        road_id, lane = self.road.lane(base.odr_road, base.lane_id)
        other_s = self._our_s(other)
        t = lane * self.net.lane_width[self.net.ids.index(road_id)]
        # the distance is along the lane: our stations run along lane 0
        r = np.array([self.net.ids.index(road_id)])
        _, _, _, kappa = self.net.pose(r, np.array([other_s]), np.array([t]))
        stretch = 1.0 / max(1.0 - float(kappa[0]) * t, 0.1)
        s_centre = other_s + (centre if ahead else -centre) * stretch
        ent.placed = Placed(base.odr_road, base.lane_id, math.nan, base.offset)
        ent.placed_s = s_centre
        return True

    def _our_s(self, ent: Entity) -> float:
        """Our station of the centre of ``ent``'s box."""
        if ent.placed_s is not None:
            return ent.placed_s
        p = ent.placed
        s = self.road.station(p.odr_road, p.lane_id, p.s)
        return s + ent.centre_x * math.cos(p.heading)

    def _position(self, pos: etree._Element, ent: Entity) -> Placed | None:
        rd = self.rd
        el = rd.one(pos, "LanePosition", "RelativeLanePosition", "WorldPosition")
        if el.tag == "WorldPosition":
            for axis in ("z", "p", "r"):
                if rd.num(el, axis, 0.0):
                    raise rd.fail(el, f"{axis} is not supported (the world is 2-D)")
            xy = (rd.num(el, "x"), rd.num(el, "y"))
            return Placed("", 0, math.nan, 0.0, rd.num(el, "h", 0.0), world=xy)
        heading = 0.0
        o = el.find("Orientation")
        if o is not None:
            if rd.text(o, "type", "relative") != "relative":
                raise rd.fail(o, "only relative orientations are supported")
            heading = rd.num(o, "h", 0.0)
            if rd.num(o, "p", 0.0) or rd.num(o, "r", 0.0):
                raise rd.fail(o, "pitch and roll are not supported (the world is 2-D)")
        if el.tag == "LanePosition":
            odr = rd.text(el, "roadId")
            lid = int(rd.num(el, "laneId"))
            s = rd.num(el, "s")
            offset = rd.num(el, "offset", 0.0)
        else:
            other = self._entity(el, "entityRef")
            if other.placed is not None and other.placed.world is not None:
                raise rd.fail(el, f"relative to '{other.name}', placed in the world: not supported")
            if other.placed is None or other.placed_s is not None:
                if other.placed is None:
                    return None
                raise rd.fail(el, "relative to an entity placed by distance: not supported")
            if el.get("dsLane") is not None:
                raise rd.fail(el, "dsLane is not supported (ds is)")
            odr = other.placed.odr_road
            lid = _add_lanes(other.placed.lane_id, int(rd.num(el, "dLane")))
            s = other.placed.s + rd.num(el, "ds")
            offset = rd.num(el, "offset", 0.0)
        if odr not in self.road.pieces:
            roads = ", ".join(self.road.pieces)
            raise rd.fail(el, f"roadId='{odr}': the road network has roads {roads}")
        if (odr, lid) not in self.road.sides:
            raise rd.fail(el, f"lane {lid} of road {odr} is not a driving lane")
        if not 0.0 <= s <= self.road.length[odr]:
            raise rd.fail(el, f"s={s:g} is off road {odr} (0..{self.road.length[odr]:g} m)")
        return Placed(odr, lid, s, offset, heading)

    # ------------------------------------------------------------------ storyboard
    def storyboard(self, root: etree._Element) -> None:
        rd = self.rd
        sb = root.find("Storyboard")
        for story in sb.findall("Story"):
            rd.declare(story.find("ParameterDeclarations"), own=False)
            for act in story.findall("Act"):
                self._act_start(act)
                for mg in act.findall("ManeuverGroup"):
                    if rd.num(mg, "maximumExecutionCount", 1) != 1:
                        rd.pr.add(mg, "maximumExecutionCount other than 1 is not supported")
                    actors = [self._entity(a, "entityRef") for a in mg.findall("Actors/EntityRef")]
                    if not mg.findall("Maneuver"):
                        continue  # nothing to do (a placeholder act)
                    if not actors:
                        rd.pr.add(mg, "no actors")
                        continue
                    for man in mg.findall("Maneuver"):
                        for ev in man.findall("Event"):
                            try:
                                self._event(ev, actors)
                            except Unsupported:
                                continue
                    if mg.findall("CatalogReference"):
                        rd.pr.add(mg, "maneuver catalog references are not supported")
                if act.find("StopTrigger") is not None:
                    rd.pr.add(act.find("StopTrigger"), "an Act's StopTrigger is not supported")
        stop = sb.find("StopTrigger")
        if stop is not None:
            self._stop(stop)

    def _act_start(self, act: etree._Element) -> None:
        st = act.find("StartTrigger")
        if st is None:
            return
        cond = self._single(st)
        sim = cond.find("ByValueCondition/SimulationTimeCondition")
        if sim is None or self.rd.num(sim, "value") > 0 or self.rd.num(cond, "delay", 0.0) > 0:
            self.rd.pr.add(cond, "an Act that starts other than at t = 0 is not supported")

    def _single(self, trigger: etree._Element) -> etree._Element:
        groups = trigger.findall("ConditionGroup")
        if len(groups) != 1 or len(groups[0].findall("Condition")) != 1:
            raise self.rd.fail(
                trigger, "one ConditionGroup with one Condition is supported (no AND / OR)"
            )
        return groups[0].find("Condition")

    def _event(self, ev: etree._Element, actors: list[Entity]) -> None:
        rd = self.rd
        if rd.num(ev, "maximumExecutionCount", 1) != 1:
            raise rd.fail(ev, "maximumExecutionCount other than 1 is not supported")
        prio = rd.text(ev, "priority", "overwrite")
        if prio not in ("overwrite", "override", "parallel"):
            raise rd.fail(ev, f"priority='{prio}' is not supported")
        st = ev.find("StartTrigger")
        if st is None:
            raise rd.fail(ev, "no StartTrigger")
        trig_el = self._single(st)
        for action in ev.findall("Action"):
            name = rd.text(action, "name")
            pa = action.find("PrivateAction")
            if pa is None:
                raise rd.fail(action, "only private actions are supported in events")
            inner = rd.one(pa, "LongitudinalAction", "LateralAction", "ControllerAction",
                           "RoutingAction", "TeleportAction")  # fmt: skip
            for actor in actors:
                self.action_owner[name] = actor.name
                if inner.tag == "ControllerAction":
                    self._activate(inner, actor, trig_el)
                    continue
                when = self._trigger(trig_el, actor)
                man = self._action(inner, actor, name)
                if man is None:
                    continue
                man = {"id": slug_id(name), "when": when, **man}
                actor.manoeuvres.append(man)

    def _activate(self, ca: etree._Element, actor: Entity, cond: etree._Element) -> None:
        rd = self.rd
        act = rd.one(ca, "ActivateControllerAction", "AssignControllerAction")
        if act.tag != "ActivateControllerAction":
            raise rd.fail(act, "AssignControllerAction is not supported")
        if not actor.controlled:
            raise rd.fail(act, f"'{actor.name}' is not the entity under test (no ObjectController)")
        for side in ("lateral", "longitudinal"):
            if not rd.flag(act, side, True):
                raise rd.fail(act, f"{side}='false': the agent controls both or neither")
        sim = cond.find("ByValueCondition/SimulationTimeCondition")
        if sim is None:
            raise rd.fail(cond, "a controller is activated at a simulation time only")
        actor.control_from = rd.num(sim, "value") + rd.num(cond, "delay", 0.0)

    def _trigger(self, cond: etree._Element, actor: Entity) -> dict[str, Any]:
        rd = self.rd
        edge = rd.text(cond, "conditionEdge", "none")
        if edge not in ("none", "rising"):
            raise rd.fail(cond, f"conditionEdge='{edge}' is not supported (none, rising)")
        delay = rd.num(cond, "delay", 0.0)
        out: dict[str, Any] = {}
        by_value = cond.find("ByValueCondition")
        by_entity = cond.find("ByEntityCondition")
        if by_value is not None:
            c = rd.one(by_value, "SimulationTimeCondition", "StoryboardElementStateCondition")
            if c.tag == "SimulationTimeCondition":
                rule, value = rd.text(c, "rule"), rd.num(c, "value")
                if rule not in ("greaterThan", "greaterOrEqual"):
                    raise rd.fail(c, f"rule='{rule}' (greaterThan or greaterOrEqual)")
                # greaterThan T: the first tick after T
                out["at_time"] = value + (1e-6 if rule == "greaterThan" else 0.0)
            else:
                out["after"] = self._state_ref(c)
        elif by_entity is not None:
            trig = by_entity.findall("TriggeringEntities/EntityRef")
            if len(trig) != 1:
                raise rd.fail(by_entity, "one triggering entity is supported")
            first = self._entity(trig[0], "entityRef")
            c = rd.one(by_entity.find("EntityCondition"), "RelativeDistanceCondition",
                       "TimeHeadwayCondition")  # fmt: skip
            other = self._entity(c, "entityRef")
            pair = {first.name, other.name}
            if actor.name not in pair or len(pair) != 2:
                raise rd.fail(c, f"a condition between '{first.name}' and '{other.name}' "
                              f"starting an action of '{actor.name}': only conditions that "
                              "involve the actor are supported")  # fmt: skip
            to = (pair - {actor.name}).pop()
            if rd.text(c, "rule") != "lessThan":
                raise rd.fail(c, "rule='lessThan' is supported")
            kind = rd.text(c, "relativeDistanceType", "longitudinal")
            centred = first.centre_x == 0 and other.centre_x == 0
            if (
                c.tag == "RelativeDistanceCondition"
                and kind == "cartesianDistance"
                and not rd.flag(c, "freespace", False)
                and centred
            ):  # reference points at the box centres: our centre distance
                out["distance_below"] = rd.num(c, "value")
                out["to"] = to
                if delay:
                    out["delay"] = delay
                return out
            if not rd.flag(c, "freespace", False):
                raise rd.fail(c, "freespace='true' is supported (bumper-to-bumper distances)")
            if kind != "longitudinal":
                raise rd.fail(c, f"relativeDistanceType='{kind}' (longitudinal is supported)")
            if c.tag == "RelativeDistanceCondition":
                out["gap_below"] = rd.num(c, "value")
            else:
                if trig[0].get("entityRef") == actor.name:
                    raise rd.fail(c, "a headway measured from the actor itself is not supported")
                out["headway_below"] = rd.num(c, "value")
            out["to"] = to
        else:
            raise rd.fail(cond, "expected ByValueCondition or ByEntityCondition")
        if delay:
            out["delay"] = delay
        return out

    def _state_ref(self, c: etree._Element) -> str:
        rd = self.rd
        if rd.text(c, "storyboardElementType") != "action":
            raise rd.fail(c, "states of actions are supported (storyboardElementType='action')")
        state = rd.text(c, "state")
        if state not in ("completeState", "endTransition"):
            raise rd.fail(c, f"state='{state}' (completeState or endTransition: the action's end)")
        return slug_id(rd.text(c, "storyboardElementRef"))

    def _action(self, inner: etree._Element, actor: Entity, name: str) -> dict[str, Any] | None:
        rd = self.rd
        if inner.tag == "LongitudinalAction":
            sa = rd.one(inner, "SpeedAction")
            dyn = sa.find("SpeedActionDynamics")
            target_el = rd.one(sa.find("SpeedActionTarget"), "AbsoluteTargetSpeed",
                               "RelativeTargetSpeed")  # fmt: skip
            target = rd.num(target_el, "value")
            extra: dict[str, Any] = {}
            if target_el.tag == "RelativeTargetSpeed":
                if rd.text(target_el, "speedTargetValueType", "delta") != "delta":
                    raise rd.fail(target_el, "speedTargetValueType='delta' is supported")
                if rd.flag(target_el, "continuous", False):
                    raise rd.fail(target_el, "continuous='true' is not supported")
                extra["relative_to"] = self._entity(target_el, "entityRef").name
            elif target < 0:
                raise rd.fail(target_el, "a negative target speed (reversing) is not supported")
            shape, dim = rd.text(dyn, "dynamicsShape"), rd.text(dyn, "dynamicsDimension", "time")
            value = rd.num(dyn, "value")
            if shape == "step":
                return {"speed": {"target": target, **extra}}
            if shape != "linear":
                raise rd.fail(dyn, f"dynamicsShape='{shape}' for a speed (step or linear)")
            if dim == "rate":
                if value == 0:
                    rd.pr.warn(dyn, f"'{name}': rate 0: the speed of '{actor.name}' never changes")
                    return None
                return {"speed": {"target": target, "acceleration": abs(value), **extra}}
            if dim == "time" and value > 0:
                return {"speed": {"target": target, "duration": value, **extra}}
            raise rd.fail(dyn, f"dynamicsDimension='{dim}' for a speed (rate or time)")
        if inner.tag == "LateralAction":
            la = rd.one(inner, "LaneChangeAction", "LaneOffsetAction")
            if la.tag == "LaneChangeAction":
                return self._lane_change(la, actor)
            return self._lane_offset(la, actor)
        if inner.tag == "RoutingAction":
            return self._trajectory(rd.one(inner, "FollowTrajectoryAction"), actor)
        raise rd.fail(inner, f"{inner.tag} in an event is not supported")

    def _on_lane(self, el: etree._Element, actor: Entity) -> None:
        if actor.placed is None or actor.placed.world is not None:
            raise self.rd.fail(el, f"'{actor.name}' is not placed on a lane")

    def _lane_change(self, la: etree._Element, actor: Entity) -> dict[str, Any]:
        rd = self.rd
        self._on_lane(la, actor)
        if rd.num(la, "targetLaneOffset", 0.0) != 0:
            raise rd.fail(la, "targetLaneOffset is not supported")
        dyn = la.find("LaneChangeActionDynamics")
        shape, dim = rd.text(dyn, "dynamicsShape"), rd.text(dyn, "dynamicsDimension")
        if shape not in ("sinusoidal", "linear") or dim != "rate":
            raise rd.fail(dyn, "sinusoidal or linear lane changes at a lateral rate are supported")
        target = rd.one(la.find("LaneChangeTarget"), "RelativeTargetLane", "AbsoluteTargetLane")
        out: dict[str, Any] = {"lateral_speed": rd.num(dyn, "value"), "shape": shape}
        side = self.road.sides[(actor.placed.odr_road, actor.placed.lane_id)]
        flip = -1 if side.reverse else 1  # OpenDRIVE ids grow leftwards along s
        if target.tag == "RelativeTargetLane":
            other = self._entity(target, "entityRef")
            lanes = int(rd.num(target, "value")) * flip
            if other is actor:
                if lanes == 0:
                    raise rd.fail(target, "a lane change to the actor's own lane")
                out["lanes"] = lanes
            else:
                out["lanes"], out["of"] = lanes, other.name
        else:
            lid = int(rd.num(target, "value"))
            if (actor.placed.odr_road, lid) not in self.road.sides:
                raise rd.fail(target, f"lane {lid} is not a driving lane")
            out["to_lane"] = self.road.lane(actor.placed.odr_road, lid)[1]
        return {"lane_change": out}

    def _lane_offset(self, la: etree._Element, actor: Entity) -> dict[str, Any]:
        rd = self.rd
        self._on_lane(la, actor)
        if rd.flag(la, "continuous", False):
            raise rd.fail(la, "continuous='true' is not supported")
        dyn = la.find("LaneOffsetActionDynamics")
        if rd.text(dyn, "dynamicsShape") != "sinusoidal":
            raise rd.fail(dyn, "sinusoidal lane offsets are supported")
        target = rd.one(la.find("LaneOffsetTarget"), "AbsoluteTargetLaneOffset",
                        "RelativeTargetLaneOffset")  # fmt: skip
        value = rd.num(target, "value")
        if target.tag == "RelativeTargetLaneOffset":
            other = self._entity(target, "entityRef")
            if other.placed is None or (other.placed.odr_road, other.placed.lane_id) != (
                actor.placed.odr_road, actor.placed.lane_id,
            ):  # fmt: skip
                raise rd.fail(target, "relative to an entity in another lane: not supported")
            value += other.placed.offset  # its offset when the scenario starts
        offset = self.road.lateral(actor.placed.odr_road, actor.placed.lane_id, value)
        a_max = rd.num(dyn, "maxLateralAcc")
        return {"lane_offset": {"offset": offset, "max_lateral_accel": a_max}}

    def _trajectory(self, fa: etree._Element, actor: Entity) -> dict[str, Any]:
        """A constant-speed polyline: the actor walks it (our ``path``) from the trigger."""
        rd = self.rd
        traj = fa.find("TrajectoryRef/Trajectory")
        traj = fa.find("Trajectory") if traj is None else traj
        if traj is None:
            raise rd.fail(fa, "an inline Trajectory is supported (not a catalog reference)")
        mode = fa.find("TrajectoryFollowingMode")
        if mode is not None and rd.text(mode, "followingMode") != "position":
            raise rd.fail(mode, "followingMode='position' is supported")
        timing = fa.find("TimeReference/Timing")
        if timing is None or rd.num(timing, "scale", 1.0) != 1 or rd.num(timing, "offset", 0.0):
            raise rd.fail(fa, "relative timing with scale 1 and offset 0 is supported")
        if rd.text(timing, "domainAbsoluteRelative") != "relative":
            raise rd.fail(timing, "domainAbsoluteRelative='relative' is supported")
        verts = traj.findall("Shape/Polyline/Vertex")
        if len(verts) < 2:
            raise rd.fail(traj, "a Polyline of at least two vertices is supported")
        pts, times = [], []
        for v in verts:
            pos = v.find("Position")
            placed = self._position(pos, actor) if pos is not None else None
            if placed is None:
                raise rd.fail(v, "a vertex needs a lane position")
            pts.append(self._world(placed))
            times.append(rd.num(v, "time"))
        legs = np.hypot(*np.diff(np.asarray(pts), axis=0).T)
        dts = np.diff(times)
        if (dts <= 0).any():
            raise rd.fail(traj, "vertex times must increase")
        speeds = legs / dts
        if np.ptp(speeds) > 1e-6 * max(1.0, speeds.max()):
            raise rd.fail(traj, "a trajectory at varying speed is not supported (constant is)")
        if actor.path is not None:
            raise rd.fail(fa, f"'{actor.name}' follows one trajectory at most")
        if math.dist(self._world(actor.placed), pts[0]) > 1e-6:
            raise rd.fail(verts[0], "the trajectory must start where the actor stands")
        actor.path = pts
        speed = float(speeds[0])
        for d in traj.findall("ParameterDeclarations/ParameterDeclaration"):
            # written by pground convert: the speed the vertex times were made from
            if d.get("name") == "pground_speed_mps":
                exact = rd.num(d, "value")
                if abs(exact - speed) <= 1e-9 * max(1.0, speed):
                    speed = exact
        return {"speed": {"target": speed}}

    def _world(self, p: Placed) -> tuple[float, float]:
        if p.world is not None:
            return p.world
        road_id, lane = self.road.lane(p.odr_road, p.lane_id)
        r = self.net.ids.index(road_id)
        s = self.road.station(p.odr_road, p.lane_id, p.s)
        t = lane * self.net.lane_width[r] + self.road.lateral(p.odr_road, p.lane_id, p.offset)
        x, y, _, _ = self.net.pose(np.array([r]), np.array([s]), np.array([t]))
        return (float(x[0]), float(y[0]))

    def _stop(self, stop: etree._Element) -> None:
        """Each ConditionGroup of the StopTrigger (OR'ed) with one condition: a simulation
        time sets the duration, an action's end adds an `end` manoeuvre."""
        groups = stop.findall("ConditionGroup")
        if not groups:
            raise self.rd.fail(stop, "no ConditionGroup")
        for g in groups:
            conds = g.findall("Condition")
            if len(conds) != 1:
                raise self.rd.fail(g, "one Condition per ConditionGroup is supported (no AND)")
            self._stop_condition(conds[0])

    def _stop_condition(self, cond: etree._Element) -> None:
        rd = self.rd
        delay = rd.num(cond, "delay", 0.0)
        sim = cond.find("ByValueCondition/SimulationTimeCondition")
        state = cond.find("ByValueCondition/StoryboardElementStateCondition")
        if sim is not None:
            value = rd.num(sim, "value") + delay
            self.duration = value if self.duration is None else min(self.duration, value)
        elif state is not None:
            ref = self._state_ref(state)
            raw = rd.text(state, "storyboardElementRef")
            if raw not in self.action_owner:
                raise rd.fail(state, f"no action '{raw}' in the storyboard")
            owner = self.ents[self.action_owner[raw]]
            when: dict[str, Any] = {"after": ref}
            if delay:
                when["delay"] = delay
            self.stops += 1
            name = "stop-trigger" if self.stops == 1 else f"stop-trigger-{self.stops}"
            owner.manoeuvres.append({"id": name, "when": when, "end": True})
        else:
            raise rd.fail(cond, "a StopTrigger on a simulation time or an action's end")

    # ------------------------------------------------------------------ output
    def _world_entity(self, e: Entity) -> dict[str, Any]:
        """An entity placed by a WorldPosition: a walker on its trajectory, or fixed at its
        point (a reference point off the box centre is refused: it would need a heading)."""
        if e.controlled:
            raise self.rd.fail(e.el, f"'{e.name}' is under test: place it on a lane")
        if e.centre_x and e.path is None:
            raise self.rd.fail(e.el, f"'{e.name}': placed in the world with its box off its "
                               "reference point (Center x != 0): not supported")  # fmt: skip
        ent: dict[str, Any] = {"id": e.name, "domain": "road", "kind": e.kind,
                               "length": e.length, "width": e.width}  # fmt: skip
        if e.path is not None:
            ent["speed"] = float(e.speed or 0.0)
            ent["behaviour"] = {"type": "path", "points": [list(q) for q in e.path]}
        else:
            x, y = e.placed.world
            ent.update(x=x, y=y, heading=e.placed.heading, speed=0.0)
            ent["behaviour"] = {"type": "static"}
        if e.manoeuvres:
            ent["manoeuvres"] = e.manoeuvres
        return ent

    def scenario(self, header: etree._Element) -> dict[str, Any]:
        desc = header.get("description", "")
        entities = []
        for e in self.ents.values():
            p = e.placed
            if p.world is not None:
                entities.append(self._world_entity(e))
                continue
            road_id, lane = self.road.lane(p.odr_road, p.lane_id)
            ent: dict[str, Any] = {
                "id": e.name,
                "domain": "road",
                "kind": e.kind,
                "length": e.length,
                "width": e.width,
                "road": road_id,
                "lane": lane,
                "s": float(self._our_s(e)),
                "speed": float(e.speed),
            }
            offset = self.road.lateral(p.odr_road, p.lane_id, p.offset)
            if offset:
                ent["offset"] = offset
            if p.heading:
                ent["heading"] = p.heading
            if e.controlled:
                ent["agent"] = e.agent
                params = {"set_speed": float(e.speed)} if e.agent == DEFAULT_AGENT else {}
                ent["agent_params"] = params if e.agent_params is None else e.agent_params
                if e.control_from:
                    ent["control_from"] = e.control_from
            elif e.path is not None:  # on its road: tracked along it, so gaps are OSC's
                ent.pop("heading", None)
                # a walker's path is its reference point's: it starts there
                ent["s"] = float(self.road.station(p.odr_road, p.lane_id, p.s))
                ent["behaviour"] = {"type": "path", "points": [list(q) for q in e.path]}
                ent["speed"] = 0.0 if e.speed is None else e.speed
            elif e.kind == "obstacle" or e.static:
                ent["behaviour"] = {"type": "static"}
            else:
                ent["behaviour"] = {"type": "scripted"}
            if e.manoeuvres and not e.controlled:
                ent["manoeuvres"] = e.manoeuvres
            entities.append(ent)
        params = self.rd.params
        dt = float(params.get("pground_dt_s", DT_S))
        # the run ends at the first tick at or after the stop time (our durations are whole
        # ticks; OSC stop times need not be)
        duration = self.duration or DEFAULT_DURATION_CAP_S
        duration = round(math.ceil(duration / dt - 1e-9) * dt, 9)
        name = Path(self.rd.path).name
        criteria, tags = default_criteria(desc)
        return {
            "schema_version": 1,
            "id": slug(Path(self.rd.path).stem),
            "name": desc or Path(self.rd.path).stem,
            "description": f"Imported from {name} (ASAM OpenSCENARIO 1.x) by Proving Ground. "
            f"{desc.rstrip('.')}. Author: {header.get('author', 'unknown')}.",
            "tags": ["openscenario", *tags],
            # a file pground convert wrote carries our time step, control period and seed
            "dt": dt,
            "duration": duration,
            "seed": int(params.get("pground_seed", 1)),
            "control_period": float(params.get("pground_control_period_s", CONTROL_PERIOD_S)),
            "map": {"road": self.road.yaml_map()},
            "entities": entities,
            "criteria": criteria,
        }


def slug_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name) or "_"


def _add_lanes(lane_id: int, d: int) -> int:
    """OpenDRIVE lane ``lane_id`` moved by ``d`` lanes (ids skip 0: -1 + 1 is 1)."""
    out = lane_id + d
    if (lane_id < 0 <= out) or (lane_id > 0 >= out):
        out += 1 if d > 0 else -1
    return out
