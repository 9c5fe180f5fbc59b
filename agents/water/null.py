"""The null water agent: keeps its initial course and speed whatever happens."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.water.types import WaterAction, WaterBriefing, WaterObservation


class KeepCourse:
    """Holds the heading and speed it starts with (heading autopilot): it never gives way,
    so every scenario where it must act catches it."""

    name = "keep-course"
    version = "1.0"
    domains = ("water",)

    def __init__(self, **params: Any) -> None:
        if params:
            raise TypeError(f"unknown parameter(s): {', '.join(sorted(params))}")

    def reset(self, briefing: WaterBriefing, *, rng: np.random.Generator) -> None:
        self.hold: tuple[float, float] | None = None

    def act(self, obs: WaterObservation) -> WaterAction:
        if self.hold is None:
            self.hold = (obs.own.heading_rad, obs.own.speed_mps)
        return WaterAction(speed_mps=self.hold[1], heading_rad=self.hold[0])
