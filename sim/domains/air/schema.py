"""Scenario schema of the air domain: aircraft and drones, flight plans, wind, airspace.

Conventions (documented in README "Air scenarios"): the world is local east-north-up metres
(x east, y north, z up); a position is ``{x, y}`` in metres or ``{lat, lon}`` in degrees when
``map.air.origin`` gives the reference point (converted once at load, flat-earth as BlueSky's
``kwikdist``). Headings and wind directions are aviation bearings: degrees clockwise from true
north. Altitudes accept metres, feet or flight levels (``FL350``); speeds m/s, kt or km/h;
vertical rates m/s or ft/min (``fpm``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from sim.domains.geo import Origin, Position, Trigger, point_form
from sim.scenario.model import ID_PATTERN, EntityBase, StrictModel
from sim.units import Acceleration, Altitude, Angle, AngularRate, Duration, Length, Speed

Kind = Literal["airliner", "turboprop", "general_aviation", "multirotor", "fixed_wing_drone"]


class TypePreset(StrictModel):
    """Dimensions and manoeuvre limits of one aircraft type."""

    length: Length
    span: Length
    min_speed: Speed
    max_speed: Speed
    cruise_speed: Speed
    max_bank: Angle
    max_turn_rate: AngularRate
    max_accel: Acceleration
    max_vertical_rate: Speed
    max_vertical_accel: Acceleration
    source: str


FT = 0.3048
KT = 1852.0 / 3600.0
FPM = 0.00508

#: Type presets. Dimensions and speeds are the manufacturers' published figures for a
#: representative type; bank limits follow BlueSky's default bank per flight phase (35° en
#: route, ``bluesky/traffic/performance``), vertical acceleration BlueSky's 300 fpm/s for
#: aeroplanes (``traffic.py``); drone figures are typical specification-sheet values.
PRESETS: dict[str, TypePreset] = {
    "airliner": TypePreset(
        length=37.57,
        span=35.8,
        min_speed=70.0,
        max_speed=260.0,
        cruise_speed=230.0,
        max_bank=math.radians(35),
        max_turn_rate=math.radians(6),
        max_accel=0.7,
        max_vertical_rate=4000 * FPM,
        max_vertical_accel=300 * FPM,
        source="A320-200 (Airbus airport planning doc: 37.57 m x 35.8 m, M0.78 cruise); "
        "BlueSky bank 35 deg, 300 fpm/s",
    ),
    "turboprop": TypePreset(
        length=27.17,
        span=27.05,
        min_speed=55.0,
        max_speed=160.0,
        cruise_speed=140.0,
        max_bank=math.radians(30),
        max_turn_rate=math.radians(6),
        max_accel=0.6,
        max_vertical_rate=2000 * FPM,
        max_vertical_accel=300 * FPM,
        source="ATR 72-600 (ATR: 27.17 m x 27.05 m, 275 kt cruise)",
    ),
    "general_aviation": TypePreset(
        length=8.28,
        span=11.0,
        min_speed=26.0,
        max_speed=80.0,
        cruise_speed=62.0,
        max_bank=math.radians(30),
        max_turn_rate=math.radians(12),
        max_accel=0.5,
        max_vertical_rate=730 * FPM,
        max_vertical_accel=200 * FPM,
        source="Cessna 172S (POH: 8.28 m x 11.0 m, 124 kt cruise, 730 fpm climb, stall 48 kt)",
    ),
    "multirotor": TypePreset(
        length=0.9,
        span=0.9,
        min_speed=0.0,
        max_speed=23.0,
        cruise_speed=12.0,
        max_bank=math.radians(35),
        max_turn_rate=math.radians(90),
        max_accel=3.0,
        max_vertical_rate=6.0,
        max_vertical_accel=3.0,
        source="DJI Matrice 300 RTK class (spec sheet: 23 m/s max, 6 m/s ascent)",
    ),
    "fixed_wing_drone": TypePreset(
        length=1.2,
        span=2.0,
        min_speed=12.0,
        max_speed=30.0,
        cruise_speed=18.0,
        max_bank=math.radians(45),
        max_turn_rate=math.radians(45),
        max_accel=2.0,
        max_vertical_rate=4.0,
        max_vertical_accel=2.0,
        source="small survey fixed-wing UAS class (e.g. senseFly eBee X: 1.16 m span "
        "class, 11-30 m/s)",
    ),
}


class WindLayer(StrictModel):
    altitude: Altitude = Field(description="altitude of this layer")
    speed: Speed = Field(ge=0, description="wind speed at this altitude")
    direction: Angle = Field(description="where the wind blows FROM (bearing, like a METAR)")


class Wind(StrictModel):
    """Uniform wind, or layers by altitude (interpolated linearly, constant beyond the
    ends), plus an optional gust process."""

    speed: Speed = Field(0.0, ge=0, description="uniform wind speed")
    direction: Angle = Field(0.0, description="where the wind blows FROM (bearing)")
    layers: list[WindLayer] = Field(
        default_factory=list, description="wind by altitude, instead of a uniform wind"
    )
    gust_sigma: Speed = Field(
        0.0, ge=0, description="std. dev. of each horizontal gust component (m/s)"
    )
    gust_time_constant: Duration = Field(
        5.0, gt=0, description="correlation time of the first-order Gauss-Markov gusts"
    )

    @model_validator(mode="after")
    def _layers(self) -> Wind:
        alts = [w.altitude for w in self.layers]
        if alts != sorted(alts) or len(set(alts)) != len(alts):
            raise ValueError("wind layers must have strictly increasing altitudes")
        if self.layers and self.speed:
            raise ValueError("give either a uniform wind (speed, direction) or layers")
        return self


class Geofence(StrictModel):
    """A keep-out volume: polygon, floor, ceiling, active in a time window."""

    id: str = Field(pattern=ID_PATTERN, description="name of the geofence (in events)")
    polygon: list[Position] = Field(
        min_length=3, description="horizontal outline (at least 3 positions)"
    )
    floor: Altitude = Field(0.0, description="bottom of the volume")
    ceiling: Altitude = Field(1e6, description="top of the volume")
    active_from: Duration = Field(0.0, description="the geofence applies from this time")
    active_until: Duration = Field(math.inf, description="the geofence applies until this time")
    notice: Duration = Field(
        0.0, ge=0, description="published to agents this long before it becomes active"
    )

    @model_validator(mode="after")
    def _window(self) -> Geofence:
        if self.ceiling <= self.floor:
            raise ValueError("ceiling must be above floor")
        if self.active_until <= self.active_from:
            raise ValueError("active_until must be after active_from")
        return self


class Sector(StrictModel):
    """An airspace sector (polygon, floor, ceiling) whose traffic count is recorded each
    tick; ``capacity`` (aircraft) makes time over capacity a metric."""

    id: str = Field(pattern=ID_PATTERN, description="name of the sector (in metrics)")
    polygon: list[Position] = Field(
        min_length=3, description="horizontal outline (at least 3 positions)"
    )
    floor: Altitude = Field(0.0, description="bottom of the sector")
    ceiling: Altitude = Field(1e6, description="top of the sector")
    capacity: int | None = Field(
        None, ge=1, description="aircraft the sector may hold; above it counts as over capacity"
    )


class Separation(StrictModel):
    """Separation minima for loss of separation (LoS): full minima, as BlueSky's
    ``asas_pzr``/``asas_pzh`` (default en-route radar 5 NM / 1000 ft, ICAO Doc 4444)."""

    horizontal: Length = Field(5 * 1852.0, gt=0, description="horizontal separation minimum")
    vertical: Length = Field(1000 * FT, gt=0, description="vertical separation minimum")


class WellClear(StrictModel):
    """DO-365 well clear (DAIDALUS ``WCV_TAUMOD``): DTHR = HMD, ZTHR, TTHR (τ_mod), TCOA.
    Default: Phase I en route, DTHR 0.66 NM (4000 ft), ZTHR 450 ft, TTHR 35 s, TCOA 0."""

    dthr: Length = Field(4000 * FT, gt=0, description="horizontal miss distance threshold (DTHR)")
    zthr: Length = Field(450 * FT, gt=0, description="vertical threshold (ZTHR)")
    tthr: Duration = Field(
        35.0, ge=0, description="modified tau threshold (TTHR; 0 for non-cooperative)"
    )


class NMAC(StrictModel):
    """Near mid-air collision volume (DAIDALUS DO_365B: 500 ft horizontal, 100 ft vertical)."""

    horizontal: Length = Field(500 * FT, gt=0, description="horizontal radius of the NMAC cylinder")
    vertical: Length = Field(
        100 * FT, gt=0, description="vertical half-height of the NMAC cylinder"
    )


class Detection(StrictModel):
    """State-based conflict detection (BlueSky ``statebased.py``): every ``interval``,
    pairs predicted to lose separation within ``lookahead`` are in conflict."""

    lookahead: Duration = Field(300.0, gt=0, description="how far ahead conflicts are predicted")
    interval: Duration = Field(1.0, gt=0, description="time between detection passes")


class Alerting(StrictModel):
    """The DAA alerting service given to agents (DO-365 Phase I timings, DAIDALUS
    ``DO_365B_no_SUM.conf``): corrective when LoWC is predicted within ``corrective``,
    warning within ``warning``; preventive when only the ZTHR-700 ft volume is predicted."""

    enabled: bool = Field(True, description="give agents the alerting service")
    preventive_zthr: Length = Field(
        700 * FT, gt=0, description="vertical threshold of the preventive alert volume"
    )
    corrective: Duration = Field(
        55.0, gt=0, description="corrective alert when loss of well clear is predicted within this"
    )
    warning: Duration = Field(
        25.0, gt=0, description="warning alert when loss of well clear is predicted within this"
    )


class Traffic(StrictModel):
    """``count`` background aircraft placed reproducibly from the seed in a box, flying
    straight and level at random headings (sector-scale scenarios)."""

    id: str = Field(
        "traffic", pattern=ID_PATTERN, description="prefix of the generated ids (<id>-<k>)"
    )
    count: int = Field(ge=1, le=1_000_000, description="number of aircraft")
    kind: Kind = Field("airliner", description="aircraft type of every generated aircraft")
    x_range: tuple[Length, Length] = Field(
        description="east positions drawn uniformly from [min, max]"
    )
    y_range: tuple[Length, Length] = Field(
        description="north positions drawn uniformly from [min, max]"
    )
    altitude_range: tuple[Altitude, Altitude] = Field(
        description="altitudes drawn uniformly from [min, max]"
    )
    speed_range: tuple[Speed, Speed] = Field(
        description="true airspeeds drawn uniformly from [min, max]"
    )
    vertical_rate_range: tuple[Speed, Speed] = Field(
        (0.0, 0.0), description="vertical speeds drawn uniformly from [min, max]"
    )
    levels: Length | None = Field(
        None, gt=0, description="snap altitudes to multiples of this (e.g. 1000 ft)"
    )
    cooperative: bool = Field(True, description="the generated aircraft transmit ADS-B")


class AirMap(StrictModel):
    """Air map: wind, geofences, sectors, separation and well-clear volumes, alerting and
    generated background traffic."""

    origin: Origin | None = Field(None, description="reference point for lat/lon positions")
    wind: Wind = Field(
        default_factory=Wind, description="wind field (uniform or layered) and gusts"
    )
    geofences: list[Geofence] = Field(default_factory=list, description="keep-out volumes")
    sectors: list[Sector] = Field(
        default_factory=list, description="airspace sectors whose traffic count is recorded"
    )
    separation: Separation = Field(
        default_factory=Separation, description="separation minima for loss of separation"
    )
    well_clear: WellClear = Field(default_factory=WellClear, description="DO-365 well-clear volume")
    nmac: NMAC = Field(default_factory=NMAC, description="near mid-air collision volume")
    detection: Detection = Field(
        default_factory=Detection, description="state-based conflict detection settings"
    )
    alerting: Alerting = Field(
        default_factory=lambda: Alerting(enabled=False),
        description="DAA alerting service given to agents",
    )
    min_altitude: Altitude | None = Field(None, description="low-altitude alert below this")
    traffic: list[Traffic] = Field(
        default_factory=list, description="generated background aircraft"
    )


class Waypoint(StrictModel):
    """``{position: {x, y}, …}``, or briefly ``[x, y]`` or ``{x, y, …}``."""

    position: Position = Field(description="where the waypoint is")
    altitude: Altitude | None = Field(None, description="default: keep the current altitude")
    speed: Speed | None = Field(None, gt=0, description="default: keep the current speed")

    @model_validator(mode="before")
    @classmethod
    def _brief(cls, data: Any) -> Any:
        return point_form(data, ("altitude", "speed"))


class Limits(StrictModel):
    """Overrides of the type preset's limits."""

    min_speed: Speed | None = Field(
        None, ge=0, description="smallest true airspeed (stall margin; 0 for rotorcraft)"
    )
    max_speed: Speed | None = Field(None, gt=0, description="largest true airspeed")
    max_bank: Angle | None = Field(None, gt=0, lt=math.pi / 2, description="largest bank angle")
    max_turn_rate: AngularRate | None = Field(None, gt=0, description="largest turn rate")
    max_accel: Acceleration | None = Field(
        None, gt=0, description="largest speed change per second"
    )
    max_vertical_rate: Speed | None = Field(None, gt=0, description="largest climb or descent rate")
    max_vertical_accel: Acceleration | None = Field(
        None, gt=0, description="largest change of vertical speed per second"
    )


class Surveillance(StrictModel):
    """What the aircraft's agent can see: cooperative (ADS-B-like) traffic within
    ``adsb_range``, non-cooperative traffic only within its own ``radar_range``."""

    adsb_range: Length = Field(
        20 * 1852.0, ge=0, description="cooperative (ADS-B) traffic is seen within this range"
    )
    radar_range: Length = Field(
        0.0, ge=0, description="non-cooperative traffic is seen within this range (0: not at all)"
    )


class Manoeuvre(StrictModel):
    """A scripted change of targets; the plan is abandoned on the axes it sets."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"when": {"at_time": "30 s"}, "turn": "30 deg"}]}
    )

    when: Trigger = Field(
        default_factory=lambda: Trigger(at_time=0.0), description="when the manoeuvre starts"
    )
    heading: Angle | None = Field(None, description="new heading (bearing)")
    turn: Angle | None = Field(None, description="turn by this much (+ right)")
    altitude: Altitude | None = Field(None, description="new target altitude")
    vertical_rate: Speed | None = Field(None, gt=0, description="to reach `altitude`")
    speed: Speed | None = Field(None, ge=0, description="new target true airspeed")

    @model_validator(mode="after")
    def _something(self) -> Manoeuvre:
        if self.heading is not None and self.turn is not None:
            raise ValueError("give heading or turn, not both")
        if all(v is None for v in (self.heading, self.turn, self.altitude, self.speed)):
            raise ValueError("a manoeuvre needs heading, turn, altitude or speed")
        return self


class Goal(StrictModel):
    """Come within ``radius`` of ``position``."""

    position: Position = Field(description="centre of the goal")
    radius: Length | None = Field(
        None, gt=0, description="default: the entity's goal_radius, else by type"
    )


class AirEntity(EntityBase):
    """An aircraft or drone. Background ones fly their ``plan`` (autopilot: lateral and
    vertical navigation) or hold heading, speed and altitude; manoeuvres override."""

    domain: Literal["air"] = Field(description="the entity's domain: air")
    kind: Kind = Field("airliner", description="aircraft type: sets size and performance limits")
    position: Position = Field(description="initial horizontal position")
    altitude: Altitude = Field(description="altitude above mean sea level")
    heading: Angle = Field(0.0, description="true heading, bearing clockwise from north")
    speed: Speed | None = Field(None, ge=0, description="true airspeed; default: cruise")
    vertical_rate: Speed = Field(0.0, description="initial vertical speed (+ climbing)")
    cooperative: bool = Field(True, description="transmits ADS-B (visible beyond radar range)")
    plan: list[Waypoint] = Field(
        default_factory=list, description="flight plan: waypoints flown in order"
    )
    manoeuvres: list[Manoeuvre] = Field(
        default_factory=list,
        description="scripted changes of heading, altitude or speed (background aircraft)",
    )
    limits: Limits = Field(
        default_factory=Limits, description="overrides of the type's performance limits"
    )
    surveillance: Surveillance = Field(
        default_factory=Surveillance, description="what the aircraft's agent can see"
    )
    goal: Goal | None = Field(None, description="default: the last waypoint of the plan")
    goal_radius: Length | None = Field(
        None, gt=0, description="radius around the goal or last waypoint (default: by type)"
    )
