"""The null air agent: flies its flight plan and ignores traffic and geofences."""

from __future__ import annotations

from agents.air.guidance import PlanFollower


class PlanOnly(PlanFollower):
    """Follows the plan (wind-corrected, altitude and speed constraints) and nothing else:
    encounter scenarios must catch it."""

    name = "plan-only"
    version = "1.0"
    domains = ("air",)  # checked before a run: no act() on another domain's briefing
