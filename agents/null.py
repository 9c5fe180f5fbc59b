"""Controllers that do not do the job, in every domain: the proof that a pass is earned.

A scenario tagged ``reactive`` must be failed by each of them (``tests/test_vacuity.py`` is the
definition):

- ``stop``: brings the vehicle to rest at once and stays there (road: brake at the vehicle's
  limit in lane; rail: full service brake; air: level off, hold the heading and fly at the
  type's minimum speed — an aircraft cannot stop; water: stop engines, hold the heading);
- ``dawdle``: does the nominal thing at a crawl and reacts to nothing (road: keep the lane at
  a quarter of the initial speed; rail: hold a quarter of the line speed; air: fly the plan at
  the minimum speed; water: hold the course at a quarter of the initial speed);
- ``random``: a new action drawn uniformly over the action limits every control period, from
  the agent's seeded generator (reproducible).

Each class picks its per-domain behaviour from the briefing it is given, so one name serves
every domain and mixed scenarios (``--agent stop``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.air.guidance import PlanFollower
from agents.air.types import AirAction, AirBriefing, AirObservation
from agents.rail.types import RailAction, RailBriefing, RailObservation
from agents.road.control import clipped_lane_keep_steer
from agents.road.types import RoadAction, RoadBriefing, RoadObservation
from agents.water.types import WaterAction, WaterBriefing, WaterObservation

#: share of the initial (or line) speed a dawdler holds
DAWDLE_SHARE = 0.25


def _no_params(params: dict[str, Any]) -> None:
    if params:
        raise TypeError(f"unknown parameter(s): {', '.join(sorted(params))}")


class _ByDomain:
    """Dispatches ``act`` to ``_<domain>`` by the briefing's type."""

    version = "1.0"
    _KINDS = (
        (RoadBriefing, "road"),
        (RailBriefing, "rail"),
        (AirBriefing, "air"),
        (WaterBriefing, "water"),
    )

    def __init__(self, **params: Any) -> None:
        _no_params(params)

    def reset(self, briefing: Any, *, rng: np.random.Generator) -> None:
        kind = next((k for t, k in self._KINDS if isinstance(briefing, t)), None)
        if kind is None:
            raise TypeError(f"{self.name}: no behaviour for a {type(briefing).__name__}")
        self.b, self.rng, self.kind = briefing, rng, kind
        self.hold: tuple[float, float] | None = None  # (heading, speed) at the first step
        self._reset_kind()

    def _reset_kind(self) -> None:
        pass

    def act(self, obs: Any) -> Any:
        return getattr(self, f"_{self.kind}")(obs)

    def _first(self, heading: float, speed: float) -> tuple[float, float]:
        if self.hold is None:
            self.hold = (heading, speed)
        return self.hold


class Stop(_ByDomain):
    """Comes to rest at once (or, in the air, flies straight and level at minimum speed)."""

    name = "stop"

    def _road(self, obs: RoadObservation) -> RoadAction:
        return RoadAction(
            -self.b.max_decel_mps2 if obs.own.speed_mps > 0 else 0.0,
            clipped_lane_keep_steer(obs.own, self.b),
        )

    def _rail(self, obs: RailObservation) -> RailAction:
        return RailAction(-1.0)

    def _air(self, obs: AirObservation) -> AirAction:
        hdg, _ = self._first(obs.own.hdg_rad, obs.own.tas_mps)
        return AirAction(hdg, self.b.min_speed_mps, 0.0)

    def _water(self, obs: WaterObservation) -> WaterAction:
        hdg, _ = self._first(obs.own.heading_rad, obs.own.speed_mps)
        return WaterAction(speed_mps=0.0, heading_rad=hdg)


class Dawdle(_ByDomain):
    """Does the nominal thing at a crawl and reacts to nothing."""

    name = "dawdle"

    def _reset_kind(self) -> None:
        if self.kind == "air":
            self.plan = PlanFollower()
            self.plan.reset(self.b, rng=self.rng)

    def _road(self, obs: RoadObservation) -> RoadAction:
        _, v0 = self._first(obs.own.heading_rad, obs.own.speed_mps)
        target = DAWDLE_SHARE * (v0 if v0 > 1.0 else obs.own.speed_limit_mps)
        dv = target - obs.own.speed_mps
        a = float(np.clip(dv / 1.0, -self.b.max_decel_mps2, self.b.max_accel_mps2))
        return RoadAction(a, clipped_lane_keep_steer(obs.own, self.b))

    def _rail(self, obs: RailObservation) -> RailAction:
        target = DAWDLE_SHARE * obs.own.speed_limit_mps
        return RailAction(float(np.clip((target - obs.own.speed_mps) / 2.0, -1.0, 1.0)))

    def _air(self, obs: AirObservation) -> AirAction:
        a = self.plan.nominal(obs)
        return AirAction(a.hdg_rad, self.b.min_speed_mps, a.vs_mps)

    def _water(self, obs: WaterObservation) -> WaterAction:
        hdg, v0 = self._first(obs.own.heading_rad, obs.own.speed_mps)
        return WaterAction(speed_mps=DAWDLE_SHARE * v0, heading_rad=hdg)


class RandomPolicy(_ByDomain):
    """Uniform over the action limits every control period, from its seeded generator."""

    name = "random"

    def _road(self, obs: RoadObservation) -> RoadAction:
        b, u = self.b, self.rng.uniform
        return RoadAction(
            float(u(-b.max_decel_mps2, b.max_accel_mps2)),
            float(u(-b.max_steer_rad, b.max_steer_rad)),
        )

    def _rail(self, obs: RailObservation) -> RailAction:
        return RailAction(float(self.rng.uniform(-1.0, 1.0)))

    def _air(self, obs: AirObservation) -> AirAction:
        b, u = self.b, self.rng.uniform
        return AirAction(
            float(u(0.0, 2 * math.pi)),
            float(u(b.min_speed_mps, b.max_speed_mps)),
            float(u(-b.max_vertical_rate_mps, b.max_vertical_rate_mps)),
        )

    def _water(self, obs: WaterObservation) -> WaterAction:
        b, u = self.b, self.rng.uniform
        return WaterAction(
            speed_mps=float(u(0.0, b.max_speed_mps)),
            rudder_rad=float(u(-b.max_rudder_rad, b.max_rudder_rad)),
        )
