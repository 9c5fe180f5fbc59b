"""Agents that misbehave on purpose, chosen by the id of the entity they drive."""

from __future__ import annotations

import os
import time

from agents.road.types import RoadAction


class Hostile:
    """'hang' sleeps forever, 'die' kills its process, 'raise' raises; others coast."""

    name, version = "hostile", "0"

    def reset(self, briefing, *, rng):
        self.mode = briefing.entity_id

    def act(self, obs):
        if self.mode == "hang":
            time.sleep(3600)
        if self.mode == "die":
            os._exit(17)
        if self.mode == "raise":
            raise RuntimeError("boom")
        return RoadAction(0.0, 0.0)


class Slow:
    """Takes 50 ms a step: campaigns with it last long enough to be killed mid-way."""

    name, version = "slow", "0"

    def reset(self, briefing, *, rng):
        pass

    def act(self, obs):
        time.sleep(0.05)
        return RoadAction(0.0, 0.0)
