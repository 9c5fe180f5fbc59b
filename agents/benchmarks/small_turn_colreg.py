"""SmallTurnColreg: :class:`ColregPilot` whose alterations are small (a benchmark SUT).

COLREG Rule 8(b) asks for an alteration "large enough to be readily apparent to another
vessel observing visually or by radar"; a succession of small alterations should be avoided.
Guidance and practice read that as 30° or more (the reference pilot's ``min_turn_deg`` is
35°). This master alters by 10° (``min_turn_deg``) and never more than 15°
(``max_turn_deg``), and judges a CPA of 0.6 of the risk distance safe: enough for targets
crossing far ahead, too little for close, broad crossings — what a search must find. It is
not a reference agent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.water.colreg import ColregPilot
from agents.water.types import WaterBriefing

SMALL_DEFAULTS = {"min_turn_deg": 10.0, "max_turn_deg": 15.0}
SAFE_SHARE = 0.6  # of the risk CPA, where the reference uses 1.2


class SmallTurnColreg(ColregPilot):
    """ColregPilot altering 10-15° with a short safe CPA."""

    name = "small-turn-colreg"
    version = "1.0"
    domains = ("water",)

    def __init__(self, **params: Any) -> None:
        super().__init__(**{**SMALL_DEFAULTS, **params})

    def reset(self, briefing: WaterBriefing, *, rng: np.random.Generator) -> None:
        super().reset(briefing, rng=rng)
        if "safe_cpa_m" not in self.params:
            self.safe = SAFE_SHARE * float(briefing.colreg["cpa_risk"])
