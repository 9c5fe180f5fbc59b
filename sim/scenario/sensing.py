"""Scenario schema of sensors (the live layer is :mod:`sim.sensors`)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from sim.scenario.model_base import StrictModel
from sim.units import Angle, Duration, Length, Speed

SensorType = Literal["radar", "camera", "lidar", "odometry", "driver", "adsb", "gnss", "ais"]
Weather = Literal["clear", "fog", "rain", "night"]

#: Which sensor types each domain has: type -> observation group fed (None: own state).
DOMAIN_SENSORS: dict[str, dict[str, str | None]] = {
    "road": {"radar": "objects", "camera": "objects", "lidar": "objects", "odometry": None},
    "rail": {"driver": "signals", "odometry": None},
    "air": {"adsb": "traffic", "radar": "traffic", "gnss": None},
    "water": {"ais": "ais", "radar": "radar", "gnss": None},
}

#: Defaults by (domain, type). Road: long-range automotive radar ~200 m / ±10°, camera
#: ~80 m / ±25°, spinning lidar 100 m / 360° (orders of magnitude of current automotive
#: sensors); rail: a driver's sighting distance of 400 m (EN 16494 design minimum is 7 s of
#: running at line speed; 400 m is ~9 s at 160 km/h); air: ADS-B 1 Hz with 10 m position
#: noise (DO-260B NACp 9: 95 % < 30 m), airborne radar 10 NM; water: AIS class A, X-band radar
#: 12 NM with P_D 0.95 and a clutter option (as in NTNU's radar model, reference §3.1), GNSS
#: σ 2 m horizontal.
SENSOR_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("road", "radar"): dict(
        range=200.0,
        fov=math.radians(20),
        period=0.05,
        sigma_pos=0.25,
        sigma_vel=0.1,
        p_detect=0.99,
        p_detect_far=0.9,
        occlusion=True,
    ),
    ("road", "camera"): dict(
        range=80.0,
        fov=math.radians(50),
        period=0.05,
        sigma_pos=0.6,
        sigma_vel=0.5,
        p_detect=0.98,
        p_detect_far=0.8,
        occlusion=True,
    ),
    ("road", "lidar"): dict(
        range=100.0,
        fov=2 * math.pi,
        period=0.1,
        sigma_pos=0.05,
        sigma_vel=0.2,
        p_detect=0.99,
        p_detect_far=0.9,
        occlusion=True,
    ),
    ("road", "odometry"): dict(sigma_speed=0.05),
    ("rail", "driver"): dict(
        range=400.0,
        fov=2 * math.pi,
        period=0.2,
        sigma_pos=2.0,
        p_detect=1.0,
        p_detect_far=0.95,
        hold=2.0,
    ),
    ("rail", "odometry"): dict(sigma_speed=0.1, odometry_error=0.0),
    ("air", "adsb"): dict(
        range=40 * 1852.0,
        fov=2 * math.pi,
        period=1.0,
        sigma_pos=10.0,
        sigma_alt=7.5,
        sigma_vel=0.5,
        p_detect=0.98,
        p_detect_far=0.9,
        hold=3.0,
    ),
    ("air", "radar"): dict(
        range=10 * 1852.0,
        fov=2 * math.pi,
        period=1.0,
        sigma_pos=50.0,
        sigma_alt=30.0,
        sigma_vel=2.0,
        p_detect=0.95,
        p_detect_far=0.8,
    ),
    ("air", "gnss"): dict(sigma_pos=3.0),
    ("water", "ais"): dict(
        range=40 * 1852.0,
        fov=2 * math.pi,
        sigma_pos=10.0,
        sigma_vel=0.1,
        p_detect=0.95,
        p_detect_far=0.8,
    ),
    ("water", "radar"): dict(
        range=12 * 1852.0,
        fov=2 * math.pi,
        period=2.5,
        sigma_pos=20.0,
        sigma_vel=0.3,
        p_detect=0.95,
        p_detect_far=0.7,
        clutter=0.0,
        occlusion=True,
    ),
    ("water", "gnss"): dict(sigma_pos=2.0),
}

#: Weather presets: factors on range and on the far detection probability (fog halves a
#: camera's range and more, rain mostly hurts lidar and camera, night the camera).
WEATHER: dict[str, dict[str, tuple[float, float]]] = {
    "fog": {"camera": (0.3, 0.7), "lidar": (0.5, 0.8), "radar": (0.9, 0.95), "driver": (0.25, 0.8)},
    "rain": {
        "camera": (0.6, 0.85),
        "lidar": (0.7, 0.85),
        "radar": (0.85, 0.9),
        "driver": (0.6, 0.9),
    },
    "night": {"camera": (0.5, 0.8), "driver": (0.5, 0.9)},
}
AIS_CLASS_B_S = 30.0


class SensorSpec(StrictModel):
    """One sensor of a controlled entity (unset fields take the type's defaults)."""

    id: str | None = Field(None, description="name (default: the type)")
    type: SensorType = Field(
        description="sensor type; each domain has its own (docs/scenario-format.md lists them)"
    )
    preset: Weather = Field("clear", description="weather: scales range and detection")
    range: Length | None = Field(None, description="detection range (default: by type)")
    fov: Angle | None = Field(None, description="field of view (full angle)")
    period: Duration | None = Field(None, description="time between scans")
    latency: Duration = Field(0.0, ge=0, description="age of the data the agent gets")
    hold: Duration | None = Field(None, description="how long a track outlives its last report")
    p_detect: float | None = Field(None, ge=0, le=1, description="detection probability, near")
    p_detect_far: float | None = Field(None, ge=0, le=1, description="… at the maximum range")
    clutter: float | None = Field(None, ge=0, description="false targets per scan (mean)")
    sigma_pos: Length | None = Field(None, description="position noise (standard deviation)")
    sigma_alt: Length | None = Field(None, description="altitude noise (standard deviation)")
    sigma_vel: Speed | None = Field(None, description="velocity noise (standard deviation)")
    bias_pos: tuple[Length, Length] = Field((0.0, 0.0), description="(along, across) boresight")
    sigma_speed: Speed | None = Field(None, description="odometry: speed noise")
    bias_speed: Speed = Field(0.0, description="odometry: speed bias")
    odometry_error: float | None = Field(
        None, description="rail odometry: relative distance error (SUBSET-041: up to ±5 %)"
    )
    ais_class: Literal["A", "B"] = Field("A", description="AIS transponder class (reporting rate)")
    occlusion: bool | None = Field(
        None, description="objects hidden behind others are not seen (default: by type)"
    )

    @model_validator(mode="after")
    def _name(self) -> SensorSpec:
        if self.id is None:
            object.__setattr__(self, "id", self.type)
        return self


def sensor_problems(scenario: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Semantic problems of a scenario's ``sensors`` section."""
    out = []
    ents = {e.id: e for e in scenario.entities}
    for eid, specs in scenario.sensors.items():
        e = ents.get(eid)
        if e is None or not e.controlled:
            known = ", ".join(x.id for x in scenario.entities if x.controlled)
            out.append((("sensors", eid), f"not a controlled entity (controlled: {known})"))
            continue
        types = DOMAIN_SENSORS.get(e.domain, {})
        ids = [s.id for s in specs]
        for k, s in enumerate(specs):
            if s.type not in types:
                out.append(
                    (
                        ("sensors", eid, k, "type"),
                        f"{e.domain} entities have no {s.type!r} sensor "
                        f"(known: {', '.join(types)})",
                    )
                )
            if ids.count(s.id) > 1:
                out.append((("sensors", eid, k, "id"), f"sensor id {s.id!r} is repeated"))
    return out
