"""Pydantic models of the scenario format (the common part; domains add entities and maps).

The full model is composed at load time from the domains a file names, with ``domain`` as the
discriminator of ``entities`` and one optional section per domain under ``map``.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import Field, create_model, field_validator, model_validator

from sim.scenario.faulting import FaultSpec
from sim.scenario.model_base import StrictModel
from sim.scenario.sensing import SensorSpec
from sim.units import Duration

SCHEMA_VERSION = 1
ID_PATTERN = r"^[A-Za-z0-9_.\-]+$"
#: Bounds on one run's log (memory is allocated for every tick at the start).
MAX_TICKS = 10_000_000
MAX_ENTITY_TICKS = 20_000_000
#: A name that becomes a folder: no '/', and not '.', '..' or hidden.
SAFE_NAME = r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$"


Operator = Literal[">=", "<=", ">", "<", "==", "!="]


class Criterion(StrictModel):
    """A pass/fail rule over one metric: ``{metric: min_ttc_s, op: ">=", value: 1.5}``."""

    metric: str = Field(description="metric name, see `pground metrics` / metrics/README")
    op: Operator = Field(description="comparison: metric op value passes")
    value: float = Field(allow_inf_nan=False, description="the threshold (a finite number)")
    id: str | None = Field(None, description="requirement id, e.g. 'R157-5.2.5.2'")
    description: str | None = Field(
        None, description="what the requirement says, in words (shown in reports)"
    )
    scale: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="for `pground search`: the margin, in the metric's unit, that counts as "
        "far from failing (robustness is margin / scale; default: max(|value|, 1))",
    )


class EntityBase(StrictModel):
    """Fields every entity has, whatever its domain."""

    id: str = Field(pattern=ID_PATTERN, description="name of the entity (unique in the scenario)")
    agent: str | None = Field(
        None,
        description="default agent controlling this entity ('module:Class' or an entry-point "
        "name); absent for background entities",
    )
    agent_params: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments given to the agent's constructor"
    )

    @property
    def controlled(self) -> bool:
        return self.agent is not None


class ScenarioBase(StrictModel):
    """Common part of every scenario file."""

    schema_version: Literal[1] = Field(SCHEMA_VERSION, description="version of this format (1)")
    id: str = Field(
        pattern=ID_PATTERN, description="identifier (letters, digits, _ . -): names run folders"
    )
    name: str = Field(description="short title")
    description: str = Field(description="what is tested and its source (regulation, protocol)")
    tags: list[str] = Field(
        default_factory=list,
        description="labels; 'reactive' means a do-nothing controller must fail",
    )
    dt: Duration = Field(0.05, gt=0, description="time step (s)")
    duration: Duration = Field(gt=0, description="simulated time (s)")
    seed: int = Field(0, ge=0, description="seed of every random draw in the run")
    control_period: Duration | None = Field(
        None, description="agent period, an integer multiple of dt (default: dt)"
    )
    parameters: dict[str, float | str] = Field(
        default_factory=dict, description="named values, referenced as ${name} in the file"
    )
    criteria: list[Criterion] = Field(
        default_factory=list, description="pass/fail rules; a run passes when all hold"
    )
    terminate_on: list[
        Literal["collision", "offroad", "red_light", "goal", "nmac", "geofence_breach"]
    ] = Field(
        default_factory=lambda: ["collision", "goal"],
        description="events that end the run early (terminated)",
    )
    agent_fault: Literal["error", "hold", "fallback"] = Field(
        "error",
        description="on an agent fault (exception, timeout, crash, NaN/invalid action): end "
        "the run as error, hold the last command, or apply the domain's safe fallback",
    )
    sensors: dict[str, list[SensorSpec]] = Field(
        default_factory=dict,
        description="per controlled entity id, the sensors its agent sees through (default: "
        "the domain's ideal observation); see sim/sensors.py",
    )
    faults: list[FaultSpec] = Field(
        default_factory=list,
        description="fault schedule: sensor, actuator, link and environment faults "
        "(see sim/faults.py)",
    )
    # Filled by the composed model:
    entities: list[Any]
    map: Any

    @field_validator("parameters")
    @classmethod
    def _param_names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not name.isidentifier():
                raise ValueError(f"parameter name {name!r} is not an identifier")
        return v

    @field_validator("duration")
    @classmethod
    def _bounded(cls, v: float, info: Any) -> float:
        dt = info.data.get("dt")
        if dt:
            ticks = v / dt
            if not math.isfinite(ticks) or ticks > MAX_TICKS:
                raise ValueError(
                    f"{v:.6g} s at dt {dt:.6g} s is {ticks:.3g} ticks; a run has at most "
                    f"{MAX_TICKS:,} (its log holds every tick): shorten it or raise dt"
                )
        return v

    @model_validator(mode="after")
    def _timing(self) -> ScenarioBase:
        ticks = self.duration / self.dt
        if len(self.entities) * ticks > MAX_ENTITY_TICKS:
            raise ValueError(
                f"{len(self.entities)} entities for {ticks:,.0f} ticks: the log would exceed "
                f"{MAX_ENTITY_TICKS:,} entity-ticks (about 2 GB); shorten the run or raise dt"
            )
        _multiple_of_dt(self.duration, self.dt, "duration")
        if self.control_period is not None:
            if self.control_period > self.duration:
                raise ValueError(
                    f"control_period {self.control_period:g} s is longer than the run "
                    f"({self.duration:g} s): the agent would never act"
                )
            _multiple_of_dt(self.control_period, self.dt, "control_period")
        ids = [e.id for e in self.entities]
        dup = sorted(i for i, c in Counter(ids).items() if c > 1)
        if dup:
            raise ValueError(f"entities: ids must be unique; repeated: {', '.join(dup)}")
        if not any(e.controlled for e in self.entities):
            raise ValueError("entities: none has an 'agent'; at least one must be controlled")
        return self

    @property
    def n_ticks(self) -> int:
        return round(self.duration / self.dt)

    @property
    def control_every(self) -> int:
        return 1 if self.control_period is None else round(self.control_period / self.dt)


def _multiple_of_dt(value: float, dt: float, name: str) -> None:
    ratio = value / dt
    if not 1 - 1e-9 <= ratio <= MAX_TICKS:  # negative, zero, or more ticks than a log holds
        raise ValueError(f"{name} {value:g} s must be between dt ({dt:g} s) and the run's length")
    if not math.isclose(ratio, round(ratio), rel_tol=0, abs_tol=1e-9):
        lo = max(1, math.floor(ratio)) * dt
        raise ValueError(
            f"{name} {value:g} s is not an integer multiple of dt {dt:g} s "
            f"(e.g. {lo:g} s or {lo + dt:g} s)"
        )


@cache
def scenario_model(domains: tuple[str, ...]) -> type[ScenarioBase]:
    """The full scenario model for ``domains`` (sorted names), built once per combination."""
    from sim.domains import get_domain

    plugins = [get_domain(d) for d in domains]
    entity_types = tuple(p.entity_model for p in plugins)
    if len(entity_types) == 1:
        entity_t: Any = entity_types[0]
    else:
        entity_t = Annotated[Union[entity_types], Field(discriminator="domain")]  # noqa: UP007
    map_fields: dict[str, Any] = {}
    for p in plugins:  # each section described by its model's docstring
        about = " ".join((p.map_model.__doc__ or f"{p.name} map").split())
        map_fields[p.name] = (p.map_model | None, Field(None, description=about))
    map_model = create_model(
        "Map", __base__=StrictModel, __doc__="One section per domain.", **map_fields
    )
    return create_model(
        "Scenario",
        __base__=ScenarioBase,
        __doc__="A Proving Ground scenario file.",
        entities=(
            list[entity_t],
            Field(
                min_length=1,
                description="every vehicle, train, aircraft, vessel or obstacle; its domain "
                "decides which fields it takes",
            ),
        ),
        map=(
            map_model,
            Field(default_factory=map_model, description="the world: one section per domain"),
        ),
    )
