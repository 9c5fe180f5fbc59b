"""LateBrakingACC: :class:`AdaptiveCruise` seeing other road users late.

Its object list is ``perception_delay_s`` (0.5 s) old (sensor processing and tracking latency; a
human driver's perception-reaction time is about 1 s, and R157's careful and competent
driver model allows 0.75 s for the ALKS to react: UN R157 Annex 4 Appendix 3), and its
emergency braking starts at a shorter time to collision (``aeb_ttc_s`` 0.8 s instead of
1.5 s). Its own state is current. It passes gentle scenarios and fails hard ones: lead
vehicles that brake hard at short gaps, cut-ins close ahead, which is what a search must
find.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

import numpy as np

from agents.road.acc import AdaptiveCruise
from agents.road.types import RoadAction, RoadBriefing, RoadObservation


class LateBrakingACC(AdaptiveCruise):
    """AdaptiveCruise with a perception delay and a late emergency brake (a benchmark SUT)."""

    name = "LateBrakingACC"
    version = "1.0.0"
    domains = ("road",)

    def __init__(
        self,
        set_speed: float | str | None = None,
        *,
        perception_delay_s: float = 0.5,
        aeb_ttc_s: float = 0.8,
        **kwargs: Any,
    ) -> None:
        super().__init__(set_speed, aeb_ttc_s=aeb_ttc_s, **kwargs)
        if not 0 <= perception_delay_s <= 10:
            raise ValueError(f"perception_delay_s {perception_delay_s}: expected 0 … 10 s")
        self.perception_delay_s = perception_delay_s

    def reset(self, briefing: RoadBriefing, *, rng: np.random.Generator) -> None:
        super().reset(briefing, rng=rng)
        steps = round(self.perception_delay_s / briefing.control_period_s)
        self._seen: deque[Any] = deque(maxlen=steps + 1)

    def act(self, obs: RoadObservation) -> RoadAction:
        self._seen.append(obs.objects)
        # the oldest object list held: the one perception_delay_s ago (or the first)
        return super().act(dataclasses.replace(obs, objects=self._seen[0]))
