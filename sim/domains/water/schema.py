"""Scenario schema of the water domain: ships, routes, charts (land, depths, channels, traffic
separation schemes), current and wind, COLREG evaluation settings.

Conventions: local east-north metres (x east, y north) or ``{lat, lon}`` with ``map.water.origin``;
headings, courses and current/wind directions are bearings (clockwise from north); current
``direction`` is where it sets TO, wind ``direction`` where it blows FROM (as in a forecast).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from sim.domains.geo import Origin, Position, Trigger, point_form
from sim.scenario.model import ID_PATTERN, EntityBase, StrictModel
from sim.units import Acceleration, Angle, AngularRate, Duration, Length, Speed

Kind = Literal["frigate", "usv", "coaster", "tanker", "ferry"]


class ShipPreset(StrictModel):
    """A ship type: dimensions, Nomoto steering constants and limits.

    Steering: T·ṙ + r + n3·r³ = K·δ with K = K'·U/L and T = T'·L/U (Nomoto's
    non-dimensional K', T', constant over speed for a given hull); ``table`` overrides them
    with (U, K, T, n3) rows where a source gives speed-dependent values.
    """

    length: Length
    beam: Length
    draft: Length
    k_prime: float
    t_prime: float
    n3: float = Field(0.0, description="Norrbin cubic coefficient (s²)")
    table: list[tuple[float, float, float, float]] = Field(default_factory=list)
    max_rudder: Angle
    max_rudder_rate: AngularRate
    service_speed: Speed
    max_speed: Speed
    speed_time_constant: Duration = Field(description="first-order surge response time")
    max_accel: Acceleration
    max_decel: Acceleration
    source: str


#: Ship presets. The frigate is the Fossen/Norrbin frigate of PythonVehicleSimulator
#: (frigate.py: K = 0.08/0.18/0.23 1/s, T = 20/27/21 s, n3 = 0.4/0.6/0.3 at 6/9/12 m/s,
#: rudder ≤ 30° at 10°/s). The others use typical Nomoto K', T' of their hull class
#: (Fossen 2011, Handbook of Marine Craft Hydrodynamics, Table 7.2 ranges: cargo/tanker
#: K' ≈ 1.5-2.5, T' ≈ 1.5-4) and published dimensions; all pass the IMO MSC.137(76) gates
#: (tests/test_water.py).
PRESETS: dict[str, ShipPreset] = {
    "frigate": ShipPreset(
        length=100.0,
        beam=12.0,
        draft=4.0,
        k_prime=2.0,
        t_prime=2.4,
        table=[(6.0, 0.08, 20.0, 0.4), (9.0, 0.18, 27.0, 0.6), (12.0, 0.23, 21.0, 0.3)],
        max_rudder=math.radians(30),
        max_rudder_rate=math.radians(10),
        service_speed=9.0,
        max_speed=15.0,
        speed_time_constant=40.0,
        max_accel=0.3,
        max_decel=0.3,
        source="Fossen frigate (cybergalactic/PythonVehicleSimulator frigate.py), L 100 m",
    ),
    "usv": ShipPreset(
        length=8.45,
        beam=2.71,
        draft=0.5,
        k_prime=1.8,
        t_prime=1.2,
        max_rudder=math.radians(35),
        max_rudder_rate=math.radians(30),
        service_speed=6.0,
        max_speed=10.0,
        speed_time_constant=5.0,
        max_accel=1.0,
        max_decel=1.0,
        source="Telemetron RIB (NTNU colav_simulator models.py: 8.45 x 2.71 m, draft 0.5 m, "
        "U <= 10 m/s)",
    ),
    "coaster": ShipPreset(
        length=90.0,
        beam=13.5,
        draft=5.5,
        k_prime=2.0,
        t_prime=1.5,
        n3=0.0,
        max_rudder=math.radians(35),
        max_rudder_rate=math.radians(2.5),
        service_speed=6.2,
        max_speed=7.5,
        speed_time_constant=60.0,
        max_accel=0.1,
        max_decel=0.15,
        source="short-sea general cargo ship class (90 m, 12 kn service speed); rudder rate "
        "2.5 deg/s from SOLAS II-1/29 (35 to 30 deg on the other side within 28 s)",
    ),
    "tanker": ShipPreset(
        length=320.0,
        beam=58.0,
        draft=20.8,
        k_prime=1.7,
        t_prime=3.2,
        max_rudder=math.radians(35),
        max_rudder_rate=math.radians(2.5),
        service_speed=7.97,
        max_speed=8.5,
        speed_time_constant=300.0,
        max_accel=0.02,
        max_decel=0.04,
        source="KVLCC2 full scale (SIMMAN 2008: Lpp 320 m, B 58 m, T 20.8 m, 15.5 kn); "
        "rudder rate SOLAS II-1/29",
    ),
    "ferry": ShipPreset(
        length=120.0,
        beam=21.0,
        draft=5.0,
        k_prime=2.3,
        t_prime=1.6,
        max_rudder=math.radians(35),
        max_rudder_rate=math.radians(5),
        service_speed=9.0,
        max_speed=11.0,
        speed_time_constant=40.0,
        max_accel=0.2,
        max_decel=0.3,
        source="Ro-pax ferry class (120 m, 17.5 kn)",
    ),
}


class Polygon(StrictModel):
    id: str | None = Field(None, pattern=ID_PATTERN, description="name of the area")
    polygon: list[Position] = Field(min_length=3, description="outline (at least 3 positions)")


class DepthArea(Polygon):
    depth: Length = Field(ge=0, description="charted depth (the shallowest point counts)")


class Buoy(StrictModel):
    id: str = Field(pattern=ID_PATTERN, description="name of the buoy")
    position: Position = Field(description="where the buoy is")
    kind: Literal["port", "starboard", "cardinal", "isolated_danger", "safe_water"] = Field(
        "cardinal", description="IALA mark type (drawn; port and starboard marks bound channels)"
    )


class Channel(StrictModel):
    """A narrow channel or fairway (COLREG Rule 9): a centreline and a width. Vessels
    proceeding along it keep to the starboard side of the centreline."""

    id: str = Field(pattern=ID_PATTERN, description="name of the channel")
    centreline: list[Position] = Field(
        min_length=2, description="centre line of the channel (at least 2 positions)"
    )
    width: Length = Field(gt=0, description="width of the channel")


class TrafficLane(StrictModel):
    """One lane of a traffic separation scheme (COLREG Rule 10): a polygon and its
    direction of traffic flow (bearing)."""

    id: str = Field(pattern=ID_PATTERN, description="name of the lane")
    polygon: list[Position] = Field(
        min_length=3, description="outline of the lane (at least 3 positions)"
    )
    direction: Angle = Field(description="direction of traffic flow (bearing)")


class Current(StrictModel):
    speed: Speed = Field(0.0, ge=0, description="current speed")
    direction: Angle = Field(0.0, description="where the current sets TO (bearing)")


class AreaCurrent(Current):
    polygon: list[Position] = Field(
        min_length=3, description="where this current sets (at least 3 positions)"
    )


class Wind(StrictModel):
    speed: Speed = Field(0.0, ge=0, description="wind speed")
    direction: Angle = Field(0.0, description="where the wind blows FROM (bearing)")
    leeway: float = Field(
        0.03, ge=0, le=0.2, description="drift as a fraction of wind speed (leeway)"
    )


class ShipDomain(StrictModel):
    """Four-quadrant elliptic ship domain in ship lengths (plus half the beam sideways):
    A ahead, B to port, C astern, D to starboard. Defaults: TUD_RL / Chun et al. 2021."""

    ahead: float = Field(3.5, gt=0, description="A: extent ahead, in ship lengths")
    port: float = Field(1.0, gt=0, description="B: extent to port, in ship lengths")
    astern: float = Field(1.5, gt=0, description="C: extent astern, in ship lengths")
    starboard: float = Field(3.0, gt=0, description="D: extent to starboard, in ship lengths")


class Colreg(StrictModel):
    """Encounter classification and rule-finding thresholds (documented defaults)."""

    range: Length = Field(6 * 1852.0, gt=0, description="encounters are judged within this")
    cpa_risk: Length = Field(
        1852.0 * 0.5, gt=0, description="risk of collision: predicted DCPA below this"
    )
    tcpa_risk: Duration = Field(20 * 60.0, gt=0, description="... within this TCPA")
    head_on_sector: Angle = Field(
        math.radians(13), gt=0, description="NTNU evaluator θ_critical_ho = 13°"
    )
    overtaking_sector: Angle = Field(
        math.radians(112.5), description="Rule 13: more than 22.5° abaft the beam"
    )
    action_tcpa: Duration = Field(
        6 * 60.0, gt=0, description="Rule 16/8: the give-way vessel acts before this TCPA"
    )
    react_time: Duration = Field(
        120.0,
        ge=0,
        description="Rule 16: time allowed to act once the risk first arises and for the "
        "action to show (a ship takes minutes to halve her speed)",
    )
    min_course_change: Angle = Field(
        math.radians(30), description="Rule 8 readily apparent: course change >= 30°"
    )
    min_speed_reduction: float = Field(
        0.5, gt=0, le=1, description="Rule 8: or speed reduced by >= this fraction"
    )
    port_turn: Angle = Field(
        math.radians(10), description="Rule 14: a turn to port beyond this is a finding"
    )
    stand_on_tolerance: Angle = Field(
        math.radians(10), description="Rule 17: course change counted as a manoeuvre"
    )
    stand_on_act_tcpa: Duration = Field(
        3 * 60.0, gt=0, description="Rule 17(b): the stand-on vessel may act inside this TCPA"
    )
    keep_clear: Length = Field(
        1852.0 * 0.25, gt=0, description="Rule 13: an overtaking vessel keeps at least this"
    )


class WaterMap(StrictModel):
    """Water map: land, depths, buoys, channels, traffic separation, currents, wind, ship
    domain and COLREG thresholds."""

    origin: Origin | None = Field(None, description="reference point for lat/lon positions")
    land: list[Polygon] = Field(default_factory=list, description="land areas (grounding)")
    depth_areas: list[DepthArea] = Field(default_factory=list, description="areas of charted depth")
    default_depth: Length = Field(200.0, gt=0, description="depth outside every depth area")
    buoys: list[Buoy] = Field(default_factory=list, description="buoys")
    channels: list[Channel] = Field(
        default_factory=list, description="narrow channels (COLREG Rule 9)"
    )
    tss: list[TrafficLane] = Field(
        default_factory=list, description="traffic separation scheme lanes (COLREG Rule 10)"
    )
    current: Current = Field(default_factory=Current, description="uniform current")
    area_currents: list[AreaCurrent] = Field(
        default_factory=list, description="currents inside polygons (instead of the uniform one)"
    )
    wind: Wind = Field(default_factory=Wind, description="wind (leeway drift)")
    ship_domain: ShipDomain = Field(
        default_factory=ShipDomain, description="ship domain used by the domain-violation metric"
    )
    colreg: Colreg = Field(
        default_factory=Colreg, description="COLREG encounter and finding thresholds"
    )
    ukc_margin: Length = Field(1.0, ge=0, description="near-grounding below this clearance")
    pair_range: Length = Field(
        12 * 1852.0, gt=0, description="CPA/TCPA and classification for pairs within this"
    )
    visibility: Literal["good", "restricted"] = Field(
        "good", description="restricted: vessels not in sight of one another (Rule 19)"
    )


class RoutePoint(StrictModel):
    """``{position: {x, y}, …}``, or briefly ``[x, y]`` or ``{x, y, …}``."""

    position: Position = Field(description="where the route point is")
    speed: Speed | None = Field(None, ge=0, description="speed from this point on (default: keep)")

    @model_validator(mode="before")
    @classmethod
    def _brief(cls, data: Any) -> Any:
        return point_form(data, ("speed",))


class Limits(StrictModel):
    max_rudder: Angle | None = Field(None, gt=0, description="largest rudder angle")
    max_rudder_rate: AngularRate | None = Field(None, gt=0, description="largest rudder rate")
    max_speed: Speed | None = Field(None, gt=0, description="largest speed through water")


class Sensors(StrictModel):
    """AIS targets within ``ais_range`` (those that transmit), radar targets (no identity)
    within ``radar_range``."""

    ais_range: Length = Field(
        12 * 1852.0, ge=0, description="AIS targets are received within this range"
    )
    radar_range: Length = Field(
        6 * 1852.0, ge=0, description="radar targets (no identity) within this range"
    )


class Manoeuvre(StrictModel):
    """A scripted change of course or speed; the route is abandoned on a course change."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"when": {"at_time": "60 s"}, "turn": "30 deg"}]}
    )

    when: Trigger = Field(
        default_factory=lambda: Trigger(at_time=0.0), description="when the manoeuvre starts"
    )
    course: Angle | None = Field(None, description="new heading (bearing)")
    turn: Angle | None = Field(None, description="turn by this much (+ starboard)")
    speed: Speed | None = Field(None, ge=0, description="new speed through water")
    resume_after: Duration | None = Field(
        None, gt=0, description="return to the route this long after the manoeuvre"
    )

    @model_validator(mode="after")
    def _something(self) -> Manoeuvre:
        if self.course is not None and self.turn is not None:
            raise ValueError("give course or turn, not both")
        if self.course is None and self.turn is None and self.speed is None:
            raise ValueError("a manoeuvre needs course, turn or speed")
        return self


class Placement(StrictModel):
    """Place this vessel for an encounter with ``to`` (the DNV ship-traffic-generator
    parameters): both on straight tracks, it reaches its closest point of approach after
    ``tcpa`` at distance ``dcpa``, moving at ``speed_ratio`` times the other's speed, from
    the initial relative ``bearing`` (seen from the other's bow) or on ``relative_course``.
    Overrides position, heading and speed."""

    to: str = Field(description="id of the other vessel")
    speed_ratio: float = Field(gt=0, description="this vessel's speed / the other's speed")
    tcpa: Duration = Field(gt=0, description="time to the closest point of approach")
    dcpa: Length = Field(0.0, description="distance at the closest point of approach")
    bearing: Angle | None = Field(
        None, description="initial bearing of this vessel seen from the other's bow"
    )
    relative_course: Angle | None = Field(
        None, description="this vessel's course relative to the other's"
    )

    @model_validator(mode="after")
    def _one(self) -> Placement:
        if (self.bearing is None) == (self.relative_course is None):
            raise ValueError("give exactly one of bearing and relative_course")
        return self


class Goal(StrictModel):
    """Come within ``radius`` of ``position``."""

    position: Position = Field(description="centre of the goal")
    radius: Length | None = Field(
        None, gt=0, description="default: the entity's goal_radius, else one ship length"
    )


class WaterEntity(EntityBase):
    """A vessel. Background vessels follow their ``route`` (line-of-sight guidance) or keep
    course and speed; scripted manoeuvres override."""

    domain: Literal["water"] = Field(description="the entity's domain: water")
    kind: Kind = Field(
        "coaster", description="vessel type: sets size, manoeuvring model and service speed"
    )
    position: Position = Field(
        default_factory=lambda: Position(x=0.0, y=0.0), description="initial position"
    )
    placement: Placement | None = Field(None, description="place relative to another vessel")
    heading: Angle = Field(0.0, description="bearing, clockwise from north")
    speed: Speed | None = Field(None, ge=0, description="speed through water; default service")
    length: Length | None = Field(None, gt=0, description="overrides the kind's length")
    beam: Length | None = Field(None, gt=0, description="overrides the kind's beam")
    draft: Length | None = Field(None, gt=0, description="overrides the kind's draught (grounding)")
    mmsi: int | None = Field(
        None, ge=0, le=999_999_999, description="AIS identity (default: from the entity order)"
    )
    ais: bool = Field(True, description="transmits AIS")
    route: list[RoutePoint] = Field(
        default_factory=list, description="route points followed in order"
    )
    manoeuvres: list[Manoeuvre] = Field(
        default_factory=list, description="scripted course or speed changes"
    )
    limits: Limits = Field(
        default_factory=Limits, description="overrides of the kind's rudder and speed limits"
    )
    sensors: Sensors = Field(default_factory=Sensors, description="what the vessel's agent can see")
    goal: Goal | None = Field(None, description="default: the last route point")
    goal_radius: Length | None = Field(
        None,
        gt=0,
        description="radius around the goal or last route point (default: one ship length)",
    )
