"""Scenario schema of the rail domain: tracks with kilometre posts, speed and gradient
profiles, signals and interlocking, stations, level crossings, trains and timetables.

Tracks are directed (a double-track line is two tracks); a track's ``successors`` make
switches. Positions on a track are metres from its start (``at``); a train's position is the
front of the train along its ``path`` (the tracks it runs over, in order).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.domains.road.schema import Pose, Segment
from sim.scenario.model import ID_PATTERN, EntityBase, StrictModel
from sim.units import Acceleration, Duration, Length, Speed

Kind = Literal["ice3", "rb425", "freight", "obstacle"]
KMH = 1 / 3.6


class TrainPreset(StrictModel):
    """A train type (SUMO ``MSCFModel_Rail.h`` tables; see ``PRESETS``)."""

    mass_t: float
    rho: float = Field(description="rotating-mass factor (SUMO mf) minus 1")
    length: Length
    service_decel: Acceleration
    emergency_decel: Acceleration
    max_speed: Speed
    traction_0_kn: float
    traction_vmax_kn: float
    resistance_0_kn: float
    resistance_vmax_kn: float
    adhesive_fraction: float = Field(description="share of the weight on powered axles")
    brake_time_constant: Duration = Field(description="brake build-up (first order)")
    source: str


#: SUMO train presets (eclipse-sumo/sumo src/microsim/cfmodels/MSCFModel_Rail.h, tables in
#: kN and km/h): mass, mass factor, length, braking deceleration, v_max, traction at 0 and
#: at v_max, resistance at 0 and at v_max. Emergency deceleration = decl + 0.3 m/s² (SUMO's
#: default). Brake build-up: 2 s for EMUs, 10 s for a freight air brake (typical values).
PRESETS: dict[str, TrainPreset] = {
    "ice3": TrainPreset(
        mass_t=420.0,
        rho=0.04,
        length=200.0,
        service_decel=0.5,
        emergency_decel=0.8,
        max_speed=300 * KMH,
        traction_0_kn=300.0,
        traction_vmax_kn=96.0,
        resistance_0_kn=7.4,
        resistance_vmax_kn=71.8,
        adhesive_fraction=0.5,
        brake_time_constant=2.0,
        source="SUMO MSCFModel_Rail.h ICE3 (420 t, mf 1.04, 200 m, 0.5 m/s², 300 km/h)",
    ),
    "rb425": TrainPreset(
        mass_t=138.0,
        rho=0.04,
        length=67.5,
        service_decel=1.0,
        emergency_decel=1.3,
        max_speed=160 * KMH,
        traction_0_kn=150.0,
        traction_vmax_kn=40.0,
        resistance_0_kn=2.6,
        resistance_vmax_kn=18.7,
        adhesive_fraction=0.5,
        brake_time_constant=2.0,
        source="SUMO MSCFModel_Rail.h RB425 (138 t, mf 1.04, 67.5 m, 1.0 m/s², 160 km/h)",
    ),
    "freight": TrainPreset(
        mass_t=1440.0,
        rho=0.06,
        length=512.0,
        service_decel=0.3,
        emergency_decel=0.6,
        max_speed=120 * KMH,
        traction_0_kn=300.0,
        traction_vmax_kn=190.0,
        resistance_0_kn=1.9,
        resistance_vmax_kn=140.2,
        adhesive_fraction=0.0625,
        brake_time_constant=10.0,
        source="SUMO MSCFModel_Rail.h Freight (1440 t, mf 1.06, 512 m, 0.3 m/s², 120 km/h)",
    ),
    "obstacle": TrainPreset(
        mass_t=2.0,
        rho=0.0,
        length=2.0,
        service_decel=0.0,
        emergency_decel=0.0,
        max_speed=0.0,
        traction_0_kn=0.0,
        traction_vmax_kn=0.0,
        resistance_0_kn=0.0,
        resistance_vmax_kn=0.0,
        adhesive_fraction=0.0,
        brake_time_constant=1.0,
        source="a static object on the track (fallen tree, vehicle, person)",
    ),
}


class ProfilePoint(StrictModel):
    at: Length = Field(ge=0, description="metres from the track start")


class SpeedPoint(ProfilePoint):
    speed: Speed = Field(gt=0, description="line speed from this point on")


class GradientPoint(ProfilePoint):
    gradient: float = Field(ge=-60, le=60, description="‰, + uphill in the track direction")


class Track(StrictModel):
    """A directed track: geometry from a start pose (line, arc, points as for roads),
    line-speed and gradient profiles (piecewise constant from each ``at``)."""

    id: str = Field(
        pattern=ID_PATTERN,
        description="name of the track (paths, signals and stations refer to it)",
    )
    start: Pose = Field(default_factory=Pose, description="world pose of the track's start")
    geometry: list[Segment] = Field(
        min_length=1, description="pieces of the centre line: line, arc or points, as for roads"
    )
    km: float = Field(0.0, description="kilometre post at the start (display)")
    speed: list[SpeedPoint] = Field(
        min_length=1, description="line-speed profile (piecewise constant from each at)"
    )
    gradient: list[GradientPoint] = Field(
        default_factory=list, description="gradient profile (piecewise constant from each at)"
    )
    successors: list[str] = Field(default_factory=list, description="more than one: a switch")


class Signal(StrictModel):
    id: str = Field(pattern=ID_PATTERN, description="name of the signal (in events)")
    track: str = Field(description="track id")
    at: Length = Field(ge=0, description="position along the track")
    overlap: Length = Field(183.0, ge=0, description="safety overlap beyond the next signal")
    fails_at: Duration | None = Field(
        None, ge=0, description="the signal drops to stop at this time (route revoked)"
    )


class Station(StrictModel):
    id: str = Field(pattern=ID_PATTERN, description="name of the station (timetables refer to it)")
    track: str = Field(description="track id")
    at: Length = Field(ge=0, description="stopping point for the front of the train")
    platform: Length = Field(
        200.0, gt=0, description="platform length, ending at the stopping point"
    )


class SpeedRestriction(StrictModel):
    """A temporary (or permanent) speed restriction on a stretch of track."""

    track: str = Field(description="track id")
    start: Length = Field(ge=0, description="where the restriction starts (along the track)")
    end: Length = Field(gt=0, description="where the restriction ends (along the track)")
    speed: Speed = Field(gt=0, description="speed limit on the stretch")


class Adhesion(StrictModel):
    """A stretch with degraded adhesion (wet rail, leaves): the Curtius-Kniffler coefficient
    is multiplied by ``factor``."""

    track: str = Field(description="track id")
    start: Length = Field(ge=0, description="where the stretch starts (along the track)")
    end: Length = Field(gt=0, description="where the stretch ends (along the track)")
    factor: float = Field(gt=0, le=1, description="multiplier of the adhesion coefficient (0-1]")


class LevelCrossing(StrictModel):
    """A level crossing at ``at`` on ``track``, protecting the road signal ``road_signal``
    (a road-domain signal with ``external`` set to this id). Barriers are down while a train
    is within ``warning_time`` of the crossing (at its current speed) or on it."""

    id: str = Field(
        pattern=ID_PATTERN,
        description="name of the crossing (a road signal's external refers to it)",
    )
    track: str = Field(description="track id")
    at: Length = Field(ge=0, description="position along the track")
    warning_time: Duration = Field(
        30.0, gt=0, description="barriers go down this long before a train arrives"
    )
    min_warning_distance: Length = Field(
        300.0, ge=0, description="barriers are also down while a train is this close"
    )
    yellow_time: Duration = Field(3.0, ge=0, description="road light yellow before red (SUMO 3 s)")


class Protection(StrictModel):
    """ETCS-like supervision between the agent and the train (SUBSET-026 §3.13, simplified:
    constant guaranteed deceleration): ceiling-speed margins and target supervision of the
    end of authority with EBI, SBI, warning and permitted curves."""

    enabled: bool = Field(True, description="supervise trains (ETCS-like); off by default")
    brake_build_up: Duration = Field(3.0, gt=0, description="T_be before EBI braking acts")
    service_build_up: Duration = Field(2.0, ge=0, description="T_bs between SBI and EBI")
    warning_time: Duration = Field(
        2.0, ge=0, description="a warning is given this long before service brake intervention"
    )
    driver_time: Duration = Field(4.0, ge=0, description="T_driver: permitted before SBI")
    decel_factor: float = Field(
        0.8, gt=0, le=1, description="safe deceleration = factor × emergency deceleration"
    )


class RailMap(StrictModel):
    """Rail map: tracks, signals, stations, restrictions, adhesion, level crossings and
    train protection."""

    tracks: list[Track] = Field(min_length=1, description="directed tracks (at least one)")
    signals: list[Signal] = Field(default_factory=list, description="main signals")
    stations: list[Station] = Field(default_factory=list, description="stations (stopping points)")
    speed_restrictions: list[SpeedRestriction] = Field(
        default_factory=list, description="temporary or permanent speed restrictions"
    )
    adhesion: list[Adhesion] = Field(
        default_factory=list, description="stretches of degraded adhesion"
    )
    level_crossings: list[LevelCrossing] = Field(
        default_factory=list, description="level crossings with road traffic lights"
    )
    protection: Protection = Field(
        default_factory=lambda: Protection(enabled=False),
        description="train protection (ETCS-like supervision)",
    )
    sighting_distance: Length = Field(
        800.0, gt=0, description="how far ahead a driver sees signals and obstacles"
    )
    approach_distance: Length = Field(
        4000.0, gt=0, description="routes are requested when a train is this close"
    )


class Stop(StrictModel):
    station: str = Field(description="station id")
    arrive: Duration | None = Field(
        None, ge=0, description="planned arrival time (for delay metrics)"
    )
    depart: Duration | None = Field(
        None, ge=0, description="planned departure time (default: arrival + dwell)"
    )
    dwell: Duration = Field(30.0, ge=0, description="minimum time stopped at the station")


class RailEntity(EntityBase):
    """A train (or a static obstacle on the track)."""

    domain: Literal["rail"] = Field(description="the entity's domain: rail")
    kind: Kind = Field(
        "rb425",
        description="train type: sets length, mass, traction and braking (or a static obstacle)",
    )
    path: list[str] = Field(min_length=1, description="track ids, in order of travel")
    at: Length = Field(ge=0, description="front position along the path (m)")
    speed: Speed = Field(0.0, ge=0, description="initial speed")
    length: Length | None = Field(None, gt=0, description="overrides the type's length")
    timetable: list[Stop] = Field(
        default_factory=list, description="stops in order (arrival and departure times)"
    )
    departs: Duration = Field(0.0, ge=0, description="a background train starts moving then")

    @model_validator(mode="after")
    def _obstacle(self) -> RailEntity:
        if self.kind == "obstacle" and (self.speed or self.timetable or self.controlled):
            raise ValueError("an obstacle stands still: no speed, timetable or agent")
        return self
