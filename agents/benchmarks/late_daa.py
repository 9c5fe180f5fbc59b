"""LateDAAPilot: :class:`DAAPilot` that alerts late and turns little (a benchmark SUT).

It resolves a conflict only when it predicts a loss of well clear or separation within
``lookahead_s`` = 25 s — the *warning* alert time of RTCA DO-365 Phase I (DAIDALUS
``DO_365B_no_SUM.conf``: corrective 55 s, warning 25 s), where the reference pilot looks 90 s
ahead — and its heading bands reach only ±30° (the reference: ±150°). Late and small, the
resolutions of a pilot who waits for the last alert: it keeps well clear of slow, wide
encounters and loses well clear in fast, close ones, which is what a search must find. It is
not a reference agent.
"""

from __future__ import annotations

from typing import Any

from agents.air.daa import DAAPilot

#: DO-365 Phase I warning alert time (s) and the band limit (deg).
LATE_DEFAULTS = {"lookahead_s": 25.0, "max_offset_deg": 30.0}


class LateDAAPilot(DAAPilot):
    """DAAPilot with a 25 s alert and ±30° bands."""

    name = "late-daa-pilot"
    version = "1.0"
    domains = ("air",)

    def __init__(self, **params: Any) -> None:
        super().__init__(**{**LATE_DEFAULTS, **params})
