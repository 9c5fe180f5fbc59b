"""The null rail agent: full traction, never brakes."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.rail.types import RailAction, RailBriefing, RailObservation


class FullTraction:
    """Full traction whatever it sees: scenarios that test signals, limits, stops and
    obstacles must catch it (SPADs, overspeed, missed stops, collisions)."""

    name = "full-traction"
    version = "1.0"
    domains = ("rail",)

    def __init__(self, **params: Any) -> None:
        if params:
            raise TypeError(f"unknown parameter(s): {', '.join(sorted(params))}")

    def reset(self, briefing: RailBriefing, *, rng: np.random.Generator) -> None:
        pass

    def act(self, obs: RailObservation) -> RailAction:
        return RailAction(1.0)
