"""Scenario schema of the road domain: roads, lanes, signals, vehicles, behaviours, manoeuvres."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from sim.scenario.model import ID_PATTERN, EntityBase, StrictModel
from sim.units import Acceleration, Angle, AngularRate, Duration, Jerk, Length, Speed

Kind = Literal["car", "van", "truck", "bus", "motorcycle", "cyclist", "pedestrian", "obstacle"]

#: Default (length, width) in metres per kind: typical European vehicles; the Euro NCAP
#: global vehicle target is car-sized (≈4.0 x 1.85 m). Override per entity with length/width.
DIMENSIONS: dict[str, tuple[float, float]] = {
    "car": (4.5, 1.8),
    "van": (5.2, 2.0),
    "truck": (12.0, 2.55),
    "bus": (12.0, 2.55),
    "motorcycle": (2.2, 0.8),
    "cyclist": (1.8, 0.6),
    "pedestrian": (0.5, 0.5),
    "obstacle": (4.5, 1.8),
}
VULNERABLE = ("pedestrian", "cyclist")


class Pose(StrictModel):
    x: Length = Field(0.0, description="world x (east)")
    y: Length = Field(0.0, description="world y (north)")
    heading: Angle = Field(0.0, description="heading (0: east, counter-clockwise positive)")


class Segment(StrictModel):
    """One piece of a road's reference line: ``{line: 200 m}``, ``{arc: 300 m, radius: 250 m}``
    (positive radius turns left), ``{clothoid: 100 m, curvature: [0, 0.004]}`` (curvature
    changing linearly with length, OpenDRIVE's ``spiral``; 1/m, positive turns left) or
    ``{points: [[x, y], ...]}`` (world metres)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"line": "200 m"}]})

    line: Length | None = Field(None, gt=0, description="a straight piece of this length")
    arc: Length | None = Field(None, gt=0, description="arc length")
    radius: Length | None = Field(None, description="signed radius: > 0 left, < 0 right")
    clothoid: Length | None = Field(
        None, gt=0, description="length of a clothoid (curvature linear in length)"
    )
    curvature: tuple[float, float] | None = Field(
        None, description="a clothoid's curvature at its start and end (1/m, > 0 turns left)"
    )
    points: list[tuple[Length, Length]] | None = Field(
        None, min_length=1, description="a polyline of world points [x, y] (m)"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Segment:
        kinds = [k for k in ("line", "arc", "clothoid", "points") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of line, arc (with radius), clothoid or points")
        if self.arc is not None and (self.radius is None or self.radius == 0):
            raise ValueError("an arc needs a non-zero radius (positive turns left)")
        if self.arc is None and self.radius is not None:
            raise ValueError("radius belongs to an arc")
        if (self.clothoid is None) != (self.curvature is None):
            raise ValueError("a clothoid needs curvature: [start, end] (1/m), and only it")
        if self.curvature is not None and not all(math.isfinite(k) for k in self.curvature):
            raise ValueError("curvature must be finite")
        return self


Marking = Literal["solid", "dashed", "none"]


class RoadSpec(StrictModel):
    """A one-way road: reference line = centre of lane 0 (rightmost); lanes count leftwards."""

    id: str = Field(
        pattern=ID_PATTERN, description="name of the road (entities and signals refer to it)"
    )
    start: Pose = Field(default_factory=Pose, description="world pose of the road's start")
    geometry: list[Segment] = Field(
        min_length=1, description="pieces of the reference line, in order"
    )
    lanes: int = Field(1, ge=1, le=8, description="number of lanes")
    lane_width: Length = Field(3.5, gt=0, description="width of every lane")
    speed_limit: Speed = Field(130 / 3.6, gt=0, description="speed limit of every lane")
    lane_speed_limits: list[Speed] | None = Field(None, description="per lane, right to left")
    markings: list[Marking] | None = Field(
        None, description="lanes+1 boundaries right to left (default: outer solid, inner dashed)"
    )
    closed: bool = Field(False, description="the road is a loop: its end joins its start")
    reference_offset: Length = Field(
        0.0,
        description="lateral distance from the geometry line to lane 0's centre (+ left of "
        "the geometry's direction): an OpenDRIVE road keeps its own reference line",
    )
    reverse: bool = Field(
        False,
        description="traffic runs against the geometry's direction (the other carriageway "
        "of an OpenDRIVE road); stations then count from the geometry's end",
    )
    chord_tolerance: Length = Field(
        0.01,
        ge=1e-5,
        le=1.0,
        description="largest distance between a sampled curve and its chords: 1 cm by "
        "default, 0.5 mm for imported OpenDRIVE roads (stations within 1 mm per km)",
    )
    successor: str | None = Field(None, description="road that continues this one")

    @model_validator(mode="after")
    def _lists(self) -> RoadSpec:
        if self.lane_speed_limits is not None and len(self.lane_speed_limits) != self.lanes:
            raise ValueError(f"lane_speed_limits needs {self.lanes} values (one per lane)")
        if self.markings is not None and len(self.markings) != self.lanes + 1:
            raise ValueError(f"markings needs {self.lanes + 1} values (lanes + 1 boundaries)")
        if self.closed and self.successor:
            raise ValueError("a closed road cannot have a successor")
        return self


class Phase(StrictModel):
    state: Literal["green", "yellow", "red"] = Field(
        description="the light's colour during the phase"
    )
    duration: Duration = Field(gt=0, description="how long the phase lasts")


class SignalSpec(StrictModel):
    """A traffic light with its stop line across every lane of ``road`` at station ``s``."""

    id: str = Field(pattern=ID_PATTERN, description="name of the traffic light (in events)")
    road: str = Field(description="road id")
    s: Length = Field(ge=0, description="station of the stop line")
    phases: list[Phase] = Field(
        default_factory=lambda: [Phase(state="green", duration=60.0)],
        min_length=1,
        description="repeating phase plan",
    )
    offset: Duration = Field(0.0, description="time into the plan at t = 0")
    external: str | None = Field(
        None,
        description="driven by another domain instead of phases: the id of a rail level "
        "crossing (red while its barriers are down)",
    )
    box_length: Length = Field(
        10.0, gt=0, description="length of the conflict zone beyond the stop line (crossing)"
    )


class Traffic(StrictModel):
    """Background IDM/MOBIL vehicles spread along a road, placed reproducibly from the run's
    seed: ``count`` vehicles over ``lanes``, evenly spaced with random jitter, uniform initial
    and desired speeds, kinds drawn by weight. Ids are ``<id>-<k>``."""

    id: str = Field(
        "traffic", pattern=ID_PATTERN, description="prefix of the generated ids (<id>-<k>)"
    )
    road: str = Field(description="road id")
    count: int = Field(ge=1, le=1_000_000, description="number of vehicles")
    lanes: list[int] | None = Field(None, description="default: every lane")
    s_range: tuple[Length, Length] | None = Field(None, description="default: the whole road")
    speed: tuple[Speed, Speed] = Field(description="initial speed range [min, max]")
    desired_speed: tuple[Speed, Speed] | None = Field(None, description="default: speed")
    kinds: dict[Kind, float] = Field(
        default_factory=lambda: {"car": 1.0},
        description="vehicle kinds and their weights, e.g. {car: 0.9, truck: 0.1}",
    )
    lane_changes: bool = Field(True, description="the generated vehicles change lanes (MOBIL)")
    clearance: Length = Field(10.0, ge=0, description="free space kept around other entities")

    @model_validator(mode="after")
    def _ranges(self) -> Traffic:
        for name in ("speed", "desired_speed", "s_range"):
            r = getattr(self, name)
            if r is not None and r[0] > r[1]:
                raise ValueError(f"{name}: min {r[0]:g} exceeds max {r[1]:g}")
        if not self.kinds or min(self.kinds.values()) < 0 or sum(self.kinds.values()) <= 0:
            raise ValueError("kinds: give positive weights, e.g. {car: 0.9, truck: 0.1}")
        return self


class RoadMap(StrictModel):
    """Road map: one-way roads, traffic lights and generated background traffic."""

    roads: list[RoadSpec] = Field(min_length=1, description="one-way roads (at least one)")
    signals: list[SignalSpec] = Field(default_factory=list, description="traffic lights")
    traffic: list[Traffic] = Field(default_factory=list, description="generated background")


class Limits(StrictModel):
    """Vehicle limits of a controlled entity (defaults: a passenger car)."""

    max_accel: Acceleration = Field(3.0, gt=0, description="largest acceleration")
    max_decel: Acceleration = Field(9.0, gt=0, description="braking capability (positive)")
    max_jerk: Jerk = Field(30.0, gt=0, description="largest rate of change of acceleration")
    max_steer: Angle = Field(0.6, gt=0, description="road-wheel angle")
    max_steer_rate: AngularRate = Field(0.8, gt=0, description="largest road-wheel angle rate")
    wheelbase: Length | None = Field(None, gt=0, description="default 0.6 x length")
    max_speed: Speed = Field(70.0, gt=0, description="largest speed")


class Sensor(StrictModel):
    """Ideal object sensor: every object whose centre is within range and field of view."""

    range: Length = Field(200.0, gt=0, description="objects within this range are seen")
    fov: Angle = Field(
        2 * math.pi,
        gt=0,
        le=2 * math.pi + 1e-9,
        description="field of view (full angle; 360 deg sees all round)",
    )


class IDM(StrictModel):
    """Intelligent Driver Model + MOBIL lane changes. Defaults from highway-env
    ``vehicle/behavior.py`` (a 3, b 5 m/s², s0 5 m, T 1.5 s, δ 4; MOBIL p 0, Δa_th 0.2,
    b_safe 2 m/s², 1 s between decisions)."""

    type: Literal["idm"] = Field(description="behaviour model: idm")
    desired_speed: Speed | None = Field(None, description="default: the initial speed")
    time_headway: Duration = Field(1.5, description="IDM desired time headway T")
    min_gap: Length = Field(5.0, description="IDM minimum gap s0 at standstill")
    max_accel: Acceleration = Field(3.0, description="IDM maximum acceleration a")
    comfortable_decel: Acceleration = Field(5.0, description="IDM comfortable deceleration b")
    delta: float = Field(4.0, description="IDM acceleration exponent")
    lane_changes: bool = Field(True, description="change lanes by MOBIL")
    politeness: float = Field(0.0, ge=0, description="MOBIL politeness factor p (0: selfish)")
    change_threshold: Acceleration = Field(
        0.2, description="MOBIL: acceleration gain that justifies a lane change"
    )
    safe_decel: Acceleration = Field(
        2.0, description="MOBIL: the new follower must not brake harder than this"
    )
    lateral_speed: Speed = Field(1.0, gt=0, description="peak lateral speed of a lane change")


class Scripted(StrictModel):
    """Keep lane and speed; change only through manoeuvres (exactly reproducible)."""

    type: Literal["scripted"] = Field(description="behaviour model: scripted")


class Path(StrictModel):
    """Move along a polyline of world points (pedestrians, cyclists) at the entity's speed."""

    type: Literal["path"] = Field(description="behaviour model: path")
    points: list[tuple[Length, Length]] = Field(
        min_length=2, description="world points [x, y] (m) to walk through, in order"
    )


class Static(StrictModel):
    """Never moves (obstacles, parked vehicles)."""

    type: Literal["static"] = Field(description="behaviour model: static")


Behaviour = Annotated[IDM | Scripted | Path | Static, Field(discriminator="type")]


class Trigger(StrictModel):
    """When a manoeuvre starts: one condition, relative to entity ``to`` where it needs one.
    Gaps are free-space, along the road when both are on it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"at_time": "3 s"}]})

    at_time: Duration | None = Field(None, ge=0, description="start at this simulated time")
    distance_below: Length | None = Field(None, description="centre distance to `to`")
    gap_below: Length | None = Field(None, description="free-space gap to `to` below this")
    headway_below: Duration | None = Field(None, description="gap / speed of the rear one")
    ttc_below: Duration | None = Field(None, description="gap / closing speed")
    after: str | None = Field(
        None,
        description="when the manoeuvre with this id has ended: a lane change or lane offset "
        "at its target, a speed change at its target speed (OpenSCENARIO's "
        "StoryboardElementStateCondition on an action's end)",
    )
    to: str | None = Field(None, description="reference entity (default: first controlled)")
    delay: Duration = Field(0.0, ge=0, description="wait this long after the condition holds")

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        conds = [k for k in TRIGGER_CONDITIONS if getattr(self, k) is not None]
        if len(conds) != 1:
            raise ValueError(f"give exactly one of {', '.join(TRIGGER_CONDITIONS)}")
        return self


TRIGGER_CONDITIONS = (
    "at_time", "distance_below", "gap_below", "headway_below", "ttc_below", "after",
)  # fmt: skip


class SpeedChange(StrictModel):
    """Go to ``target`` at constant ``acceleration`` (magnitude), or within ``duration``;
    with neither, the speed steps at once."""

    target: Speed = Field(description="the speed to reach (with relative_to: the difference)")
    relative_to: str | None = Field(
        None,
        description="target is added to this entity's speed when the manoeuvre starts "
        "(OpenSCENARIO's RelativeTargetSpeed, delta)",
    )
    acceleration: Acceleration | None = Field(
        None, gt=0, description="at this constant rate (magnitude)"
    )
    duration: Duration | None = Field(None, gt=0, description="or within this time")

    @model_validator(mode="after")
    def _rate(self) -> SpeedChange:
        if self.acceleration is not None and self.duration is not None:
            raise ValueError("give acceleration or duration, not both")
        if self.relative_to is None and self.target < 0:
            raise ValueError("target must be >= 0 (a difference only with relative_to)")
        return self


class Brake(StrictModel):
    """Brake at ``deceleration`` down to ``to_speed`` (0: stop)."""

    deceleration: Acceleration = Field(gt=0, description="braking deceleration (positive)")
    to_speed: Speed = Field(0.0, ge=0, description="brake down to this speed (0: stop)")


class LaneChange(StrictModel):
    """Move ``lanes`` lanes (+ left, - right) or ``to_lane``, with peak ``lateral_speed``.
    ``sinusoidal`` (OpenSCENARIO ``dynamicsShape``): offset Δ·(1 − cos πτ)/2, τ ∈ [0, 1]."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"lanes": -1}]})

    lanes: int | None = Field(None, description="lanes to move (+ left, - right)")
    to_lane: int | None = Field(None, ge=0, description="target lane index (0: rightmost)")
    of: str | None = Field(
        None,
        description="count `lanes` from this entity's lane when the manoeuvre starts "
        "(OpenSCENARIO's RelativeTargetLane; default: the entity's own lane)",
    )
    lateral_speed: Speed = Field(1.0, gt=0, description="peak lateral speed")
    shape: Literal["sinusoidal", "linear"] = Field(
        "sinusoidal", description="lateral profile: sinusoidal (smooth) or linear"
    )

    @model_validator(mode="after")
    def _target(self) -> LaneChange:
        if (self.lanes is None) == (self.to_lane is None):
            raise ValueError("give exactly one of lanes (relative) or to_lane")
        if self.lanes == 0 and self.of is None:
            raise ValueError("lanes must be non-zero")
        if self.of is not None and self.lanes is None:
            raise ValueError("of counts lanes from another entity: give lanes with it")
        return self


class LaneOffset(StrictModel):
    """Move sideways to ``offset`` from the centre of the current lane with a sinusoidal
    profile whose peak lateral acceleration is ``max_lateral_accel`` (OpenSCENARIO's
    LaneOffsetAction): offset Δ·(1 − cos πτ)/2 over T = π·√(|Δ| / (2·a_max))."""

    offset: Length = Field(description="target offset from the lane's centre (+ left)")
    max_lateral_accel: Acceleration = Field(gt=0, description="peak lateral acceleration")
    shape: Literal["sinusoidal"] = Field("sinusoidal", description="lateral profile")


class Manoeuvre(StrictModel):
    """One scripted action (speed, brake, lane_change, lane_offset, or end: the run ends)
    started by ``when``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"when": {"at_time": "3 s"}, "brake": {"deceleration": "6 m/s^2"}}]
        }
    )

    id: str | None = Field(
        None, pattern=ID_PATTERN, description="name (for `after` triggers and in events)"
    )
    when: Trigger = Field(
        default_factory=lambda: Trigger(at_time=0.0),
        description="when the manoeuvre starts (default: at once)",
    )
    speed: SpeedChange | None = Field(None, description="change speed")
    brake: Brake | None = Field(None, description="brake down to a speed")
    lane_change: LaneChange | None = Field(None, description="change lane")
    lane_offset: LaneOffset | None = Field(None, description="move sideways within the lane")
    end: bool = Field(
        False,
        description="end the run when triggered (OpenSCENARIO's StopTrigger): status "
        "'terminated'; not a stimulus, so it need not fire for a valid run",
    )

    @model_validator(mode="after")
    def _one(self) -> Manoeuvre:
        acts = [k for k in MANOEUVRE_ACTIONS if getattr(self, k) not in (None, False)]
        if len(acts) != 1:
            raise ValueError(f"give exactly one action: {', '.join(MANOEUVRE_ACTIONS)}")
        return self


MANOEUVRE_ACTIONS = ("speed", "brake", "lane_change", "lane_offset", "end")


class Goal(StrictModel):
    """Reach station ``s`` on ``road``, or come within ``radius`` of (x, y)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"road": "main", "s": "900 m"}]})

    road: str | None = Field(None, description="road id (with s)")
    s: Length | None = Field(None, description="station along the road to reach")
    x: Length | None = Field(None, description="world x of the goal point (with y)")
    y: Length | None = Field(None, description="world y of the goal point (with x)")
    radius: Length = Field(5.0, gt=0, description="come within this of (x, y)")

    @model_validator(mode="after")
    def _form(self) -> Goal:
        on_road = self.road is not None and self.s is not None
        point = self.x is not None and self.y is not None
        if on_road == point:
            raise ValueError("give either road and s, or x and y")
        return self


class RoadEntity(EntityBase):
    """A vehicle, vulnerable road user or obstacle. Place it on a road (road, lane, s,
    offset) or in the world (x, y, heading)."""

    domain: Literal["road"] = Field(description="the entity's domain: road")
    kind: Kind = Field("car", description="vehicle or road-user type: sets the default size")
    length: Length | None = Field(None, gt=0, description="overrides the kind's length")
    width: Length | None = Field(None, gt=0, description="overrides the kind's width")
    road: str | None = Field(None, description="road id to place the entity on")
    lane: int = Field(0, ge=0, description="lane index on the road (0: rightmost)")
    s: Length = Field(0.0, description="station (distance along the road) of the entity's centre")
    offset: Length = Field(0.0, description="lateral offset from the lane centre, + left")
    x: Length | None = Field(None, description="world x (instead of road, lane, s)")
    y: Length | None = Field(None, description="world y (instead of road, lane, s)")
    heading: Angle | None = Field(
        None, description="world heading when placed by x, y (default: along the nearest road)"
    )
    speed: Speed = Field(0.0, ge=0, description="initial speed")
    behaviour: Behaviour | None = Field(
        None, description="how a background entity drives: idm, scripted, path or static"
    )
    manoeuvres: list[Manoeuvre] = Field(
        default_factory=list, description="scripted actions of a background entity"
    )
    limits: Limits = Field(
        default_factory=Limits, description="vehicle limits of a controlled entity"
    )
    sensor: Sensor = Field(
        default_factory=Sensor, description="ideal object sensor of a controlled entity"
    )
    goal: Goal | None = Field(None, description="where a controlled entity should get to")
    control_from: Duration = Field(
        0.0,
        ge=0,
        description="a controlled entity's agent takes over at this time (OpenSCENARIO's "
        "ActivateControllerAction); before it the vehicle keeps its lane and initial speed",
    )

    @model_validator(mode="after")
    def _placement(self) -> RoadEntity:
        world = self.x is not None or self.y is not None
        if world and (self.x is None or self.y is None):
            raise ValueError("give both x and y")
        path = isinstance(self.behaviour, Path)
        if not world and self.road is None and not path:
            raise ValueError("place the entity: give road (with lane, s) or x and y")
        if world and self.road is not None:
            raise ValueError("give road/lane/s or x/y, not both")
        if self.controlled:
            if self.behaviour is not None or self.manoeuvres:
                raise ValueError(
                    "a controlled entity (with an agent) has no behaviour or "
                    "manoeuvres: its agent drives it"
                )
            if self.road is None:
                raise ValueError("a controlled entity starts on a road (give road, lane, s)")
        elif self.control_from:
            raise ValueError("control_from belongs to a controlled entity (one with an agent)")
        return self

    @property
    def dims(self) -> tuple[float, float]:
        dl, dw = DIMENSIONS[self.kind]
        return (self.length or dl, self.width or dw)
