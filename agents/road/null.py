"""ConstantSpeed: the null agent. Keeps its lane and its speed and reacts to nothing, so a
scenario that tests a reaction must fail with it (proof that the criteria can fail)."""

from __future__ import annotations

import numpy as np

from agents.road.control import clipped_lane_keep_steer
from agents.road.types import RoadAction, RoadBriefing, RoadObservation


class ConstantSpeed:
    """Keeps its lane and its speed and reacts to nothing (a road null agent)."""

    name = "ConstantSpeed"
    version = "1.0.0"
    domains = ("road",)

    def reset(self, briefing: RoadBriefing, *, rng: np.random.Generator) -> None:
        self.brief = briefing

    def act(self, obs: RoadObservation) -> RoadAction:
        return RoadAction(0.0, clipped_lane_keep_steer(obs.own, self.brief))
