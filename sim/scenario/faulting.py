"""Scenario schema of the fault schedule (the live layer is :mod:`sim.faults`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from sim.scenario.model_base import StrictModel
from sim.scenario.sensing import Weather
from sim.units import Angle, Duration, Length, Speed

#: Fault kinds by family. Sensor faults act on a declared sensor (``sensor``: its id; all of
#: the entity's sensors when omitted); actuator and link faults on a controlled entity;
#: environment faults on the world.
SENSOR_FAULTS = (
    "sensor_dropout",
    "sensor_frozen",
    "sensor_noise",
    "sensor_bias",
    "sensor_latency",
    "false_targets",
    "reduced_range",
    "gnss_loss",
    "gnss_drift",
    "ais_spoof",
)
ACTUATOR_FAULTS = (
    "actuator_delay",
    "actuator_saturation",
    "actuator_stuck",
    "reduced_braking",
    "rudder_jam",
    "power_loss",
)
LINK_FAULTS = ("link_loss", "link_delay", "link_drop")
ENVIRONMENT_FAULTS = ("gust", "current_change", "signal_failure", "traffic_light_dark")
FaultKind = Literal[
    "sensor_dropout", "sensor_frozen", "sensor_noise", "sensor_bias", "sensor_latency",
    "false_targets", "reduced_range", "gnss_loss", "gnss_drift", "ais_spoof",
    "actuator_delay", "actuator_saturation", "actuator_stuck", "reduced_braking",
    "rudder_jam", "power_loss", "link_loss", "link_delay", "link_drop",
    "gust", "current_change", "signal_failure", "traffic_light_dark",
]  # fmt: skip


class DistanceTrigger(StrictModel):
    """Fires when the entity's centre comes within ``below`` of ``to``'s."""

    to: str = Field(description="id of the other entity")
    below: Length = Field(description="start when the centres are closer than this")


class FaultTrigger(StrictModel):
    """When a fault starts: at the first tick the condition holds (once)."""

    distance: DistanceTrigger | None = Field(
        None, description="start when an entity comes close to another"
    )
    event: str | None = Field(None, description="the first event of this kind (e.g. 'alert')")

    @model_validator(mode="after")
    def _one(self) -> FaultTrigger:
        if (self.distance is None) == (self.event is None):
            raise ValueError("give exactly one of distance, event")
        return self


class Ghost(StrictModel):
    """A spoofed AIS target placed relative to the ship when the fault starts."""

    bearing: Angle = Field(description="true bearing from the ship")
    range: Length = Field(description="distance from the ship")
    course: Angle = Field(description="course of the spoofed target")
    speed: Speed = Field(description="speed of the spoofed target")
    mmsi: int = Field(999_000_001, description="AIS identity of the spoofed target")


class FaultSpec(StrictModel):
    """One fault: what, on whom, when (``at``, ``when`` or random at ``rate``), how long."""

    id: str = Field(
        pattern=r"^[A-Za-z0-9_.\-]+$", description="name of the fault (in events and metrics)"
    )
    kind: FaultKind = Field(
        description="what fails; each kind takes its own fields "
        "(docs/scenario-format.md lists them)"
    )
    entity: str | None = Field(None, description="controlled entity (sensor/actuator/link)")
    sensor: str | None = Field(None, description="sensor id (sensor faults; default: all)")
    at: Duration | None = Field(None, description="start time")
    when: FaultTrigger | None = Field(None, description="start on a condition instead of a time")
    rate: float | None = Field(
        None, gt=0, description="random starts per hour (Poisson), each lasting 'duration'"
    )
    duration: Duration | None = Field(None, gt=0, description="default: to the end of the run")
    factor: float | None = Field(
        None, ge=0, description="noise ×, range ×, braking ×, power ×, limits ×, P_D ×"
    )
    sigma: Length | None = Field(None, description="sensor_noise: added σ (m)")
    bias: tuple[Length, Length] | None = Field(None, description="sensor_bias (along, across)")
    delay: Duration | None = Field(None, description="latency / actuator / link delay")
    clutter: float | None = Field(None, ge=0, description="false_targets: per scan (mean)")
    preset: Weather | None = Field(None, description="reduced_range: fog, rain or night")
    drift: tuple[Speed, Speed] | None = Field(None, description="gnss_drift: (east, north)")
    ghost: Ghost | None = Field(None, description="ais_spoof: the spoofed target")
    field: str | None = Field(None, description="actuator_stuck: one action field")
    value: float | None = Field(None, description="actuator_stuck: the value it sticks at")
    probability: float | None = Field(None, ge=0, le=1, description="link_drop per update")
    vector: tuple[Speed, Speed] | None = Field(
        None, description="gust / current_change: (east, north)"
    )
    signal: str | None = Field(None, description="signal_failure / traffic_light_dark")

    @model_validator(mode="after")
    def _check(self) -> FaultSpec:
        starts = sum(x is not None for x in (self.at, self.when, self.rate))
        if starts != 1:
            raise ValueError("give exactly one of at, when, rate")
        if self.rate is not None and self.duration is None:
            raise ValueError("a random fault (rate) needs a duration")
        need: dict[str, tuple[str, ...]] = {
            "ais_spoof": ("ghost",),
            "gnss_drift": ("drift",),
            "sensor_bias": ("bias",),
            "sensor_latency": ("delay",),
            "actuator_delay": ("delay",),
            "link_delay": ("delay",),
            "link_drop": ("probability",),
            "gust": ("vector",),
            "current_change": ("vector",),
            "signal_failure": ("signal",),
            "traffic_light_dark": ("signal",),
            "reduced_braking": ("factor",),
            "power_loss": ("factor",),
            "actuator_saturation": ("factor",),
        }
        missing = [f for f in need.get(self.kind, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} fault needs {', '.join(missing)}")
        if self.kind not in ENVIRONMENT_FAULTS and self.entity is None:
            raise ValueError(f"a {self.kind} fault needs the entity it acts on")
        return self

    def params(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"id", "kind", "at", "when", "rate"})


def fault_problems(scenario: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Semantic problems of a scenario's ``faults`` (references to entities and sensors)."""
    out: list[tuple[tuple[Any, ...], str]] = []
    ents = {e.id: e for e in scenario.entities}
    ids = [f.id for f in scenario.faults]
    for k, f in enumerate(scenario.faults):
        loc = ("faults", k)
        if ids.count(f.id) > 1:
            out.append(((*loc, "id"), f"fault id {f.id!r} is repeated"))
        if f.entity is not None:
            e = ents.get(f.entity)
            if e is None or not e.controlled:
                out.append(((*loc, "entity"), f"{f.entity!r} is not a controlled entity"))
                continue
            sensors = {s.id: s for s in scenario.sensors.get(f.entity, [])}
            if f.kind in SENSOR_FAULTS:
                if not sensors:
                    out.append(((*loc, "kind"), f"{f.entity!r} declares no sensors to fault"))
                elif f.sensor is not None and f.sensor not in sensors:
                    out.append(
                        (
                            (*loc, "sensor"),
                            f"{f.entity!r} has no sensor {f.sensor!r} "
                            f"(sensors: {', '.join(sensors)})",
                        )
                    )
            if f.kind == "rudder_jam" and e.domain != "water":
                out.append(((*loc, "kind"), "rudder_jam is a water fault"))
        need = {
            "gust": "air",
            "current_change": "water",
            "signal_failure": "rail",
            "traffic_light_dark": "road",
        }.get(f.kind)
        if need is not None:
            section = getattr(scenario.map, need, None)
            if section is None and not any(e.domain == need for e in scenario.entities):
                out.append(((*loc, "kind"), f"a {f.kind} fault needs a {need} domain"))
            elif f.signal is not None:
                sigs = [s.id for s in getattr(section, "signals", [])]
                if f.signal not in sigs:
                    out.append(
                        (
                            (*loc, "signal"),
                            f"no {need} signal {f.signal!r} (signals: {', '.join(sigs) or 'none'})",
                        )
                    )
        if f.when is not None and f.when.distance is not None and f.when.distance.to not in ents:
            out.append(((*loc, "when", "distance", "to"), f"no entity {f.when.distance.to!r}"))
    return out
