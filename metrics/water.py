"""Water metrics: grounding, closest approach, ship domain, COLREG findings per rule,
timing of the first avoidance manoeuvre, rudder usage (reference:
``../shared/reference/rail_air_water.md`` §3.2 W4-W8, ``regulatory.md`` §4). Counts are of
events involving a controlled vessel."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from metrics.registry import MetricValue, RunData, metric

WATER = ("water",)
RULES = {
    "8/16": "colreg_rule16_findings",
    "13": "colreg_rule13_findings",
    "14": "colreg_rule14_findings",
    "15": "colreg_rule15_findings",
    "17": "colreg_rule17_findings",
    "19": "colreg_rule19_findings",
}


#: What each rule's finding means (the monitor's test, sim/domains/water/colreg.py).
RULE_FINDINGS = {
    "8/16": "the give-way vessel made no course change >= 30 deg nor speed reduction >= 50 % "
    "before TCPA fell to action_tcpa",
    "13": "the overtaking vessel came closer than keep_clear",
    "14": "a turn to port beyond port_turn in a head-on encounter",
    "15": "the give-way vessel crossed the stand-on vessel's track ahead of it",
    "17": "the stand-on vessel altered course >= stand_on_tolerance (or speed by 20 %) while "
    "the give-way vessel's action sufficed (DCPA if kept >= cpa_risk) or before action_tcpa",
    "19": "in restricted visibility, no early action, or a turn to port for a vessel forward "
    "of the beam",
}


def _ctl(run: RunData) -> tuple[dict[str, np.ndarray], list[int]]:
    if "water" not in run.log.arrays:
        return {}, []
    return run.log.arrays["water"], run.controlled.get("water", [])


def _events(run: RunData, kind: str) -> MetricValue:
    evs = run.events_of(kind)
    return MetricValue(
        float(len(evs)),
        details={
            "events": [{"time_s": e.time_s, "entities": list(e.entities), **e.details} for e in evs]
        },
    )


@metric("groundings", unit="count", domains=WATER, source="rail_air_water.md W8 (UKC <= 0)")
def groundings(run: RunData) -> MetricValue:
    """Groundings of a controlled vessel: under-keel clearance UKC = depth − draft ≤ 0 at
    the bow, centre or stern (land counts as depth 0)."""
    return _events(run, "grounding")


@metric("near_groundings", unit="count", domains=WATER, source="rail_air_water.md W8")
def near_groundings(run: RunData) -> MetricValue:
    """Entries of a controlled vessel into 0 < UKC < map.water.ukc_margin."""
    return _events(run, "near_grounding")


@metric("min_ukc_m", unit="m", domains=WATER, source="rail_air_water.md W8 (under-keel clearance)")
def min_ukc(run: RunData) -> MetricValue:
    """Smallest under-keel clearance of a controlled vessel (depth − draft)."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(float(arr["ukc_m"][:, slots].min()))


@metric(
    "min_cpa_m",
    unit="m",
    domains=WATER,
    source="Lenart 1983 (CPA); TUD_RL VesselFnc.py; NTNU evaluator near miss 50 m (RIB)",
)
def min_cpa(run: RunData) -> MetricValue:
    """Closest realised approach: the smallest centre distance between a controlled vessel
    and any other vessel within the pair range (its time in details); inf when none came
    within range."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    d = arr["nearest_m"][:, slots]
    k = np.unravel_index(int(np.argmin(d)), d.shape)
    return MetricValue(float(d[k]), details={"time_s": float(k[0] * run.log.dt)})


@metric(
    "domain_violation_time_s",
    unit="s",
    domains=WATER,
    source="Chun et al. 2021 four-quadrant ship domain (TUD_RL get_ship_domain)",
)
def domain_violation_time(run: RunData) -> MetricValue:
    """Time during which another vessel was inside a controlled vessel's ship domain."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(0.0)
    return MetricValue(float(arr["in_domain"][1:, slots].any(axis=1).sum()) * run.log.dt)


@metric(
    "colreg_findings",
    unit="count",
    domains=WATER,
    source="COLREG 1972 Rules 8, 13-17, 19; thresholds map.water.colreg (NTNU evaluator)",
)
def colreg_findings(run: RunData) -> MetricValue:
    """All COLREG rule findings against controlled vessels (one per rule and encounter)."""
    return _events(run, "colreg_finding")


def _rule(rule: str) -> Callable[[RunData], MetricValue]:
    def fn(run: RunData) -> MetricValue:
        evs = [e for e in run.events_of("colreg_finding") if e.details["rule"] == rule]
        first = min((e.time_s for e in evs), default=None)
        return MetricValue(
            float(len(evs)),
            details={
                "first_time_s": first,
                "events": [{"time_s": e.time_s, **e.details} for e in evs],
            },
        )

    fn.__doc__ = (
        f"COLREG Rule {rule} findings against controlled vessels: {RULE_FINDINGS[rule]} "
        "(count; the first time in details)."
    )
    return fn


for _r, _name in RULES.items():
    metric(_name, unit="count", domains=WATER, source=f"COLREG 1972 Rule {_r}")(_rule(_r))


@metric(
    "first_action_tcpa_s",
    unit="s",
    domains=WATER,
    source="COLREG Rule 16 'early action'; Woerner et al. 2018 (protocol evaluation)",
)
def first_action_tcpa(run: RunData) -> MetricValue:
    """TCPA at a controlled vessel's first avoidance manoeuvre (course change >= 30 deg or
    speed -50 %) in each give-way encounter; the smallest over encounters (0 when a
    give-way encounter saw no action); invalid when there was no give-way encounter."""
    give = [
        e
        for e in run.events_of("encounter")
        if e.details["role"] == "give-way" and e.entities[0] in run.controlled_ids
    ]
    if not give:
        return MetricValue(float("nan"), valid=False)
    acts = {
        tuple(e.entities): e.details
        for e in reversed(run.events_of("avoidance_action"))
        if e.entities[0] in run.controlled_ids
    }
    worst = float("inf")
    rng = float("inf")
    for e in give:
        a = acts.get(tuple(e.entities))
        t = 0.0 if a is None else max(float(a["tcpa_s"]), 0.0)
        if t < worst:
            worst, rng = t, (0.0 if a is None else float(a["range_m"]))
    return MetricValue(worst, details={"range_m": rng})


@metric(
    "rudder_travel_deg", unit="deg", domains=WATER, source="rudder usage (actuator wear, comfort)"
)
def rudder_travel(run: RunData) -> MetricValue:
    """Total rudder travel Σ|Δδ| of the controlled vessels (degrees)."""
    arr, slots = _ctl(run)
    if not slots:
        return MetricValue(float("nan"), valid=False)
    return MetricValue(
        float(np.degrees(np.abs(np.diff(arr["rudder_rad"][:, slots], axis=0)).sum()))
    )
