"""Criteria -> verdict. Each criterion reports expected, actual and a signed margin
(robustness: > 0 passed with room, < 0 failed by that much), so a reader sees how close a
pass was (STL robustness semantics, ρ(x ≥ c) = x − c; RTAMT README)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from metrics.registry import METRICS, MetricValue
from sim.core.events import json_ready
from sim.errors import VERDICTS

#: see sim.errors.VERDICTS (the one classification every output uses)
Verdict = Literal["pass", "fail", "error", "invalid"]
assert set(get_args(Verdict)) == set(VERDICTS)


@dataclass(frozen=True)
class CriterionResult:
    metric: str
    op: str
    expected: float
    actual: float | None
    margin: float | None
    passed: bool
    requirement: str | None
    unit: str
    note: str = ""
    scale: float | None = None  # the scenario's robustness scale (pground search)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if out["scale"] is None:  # stated only where the scenario states one
            del out["scale"]
        return json_ready(out)


def margin(actual: float, op: str, expected: float) -> float:
    """Signed robustness of ``actual op expected`` (≥ 0 when it holds, except strict ops at
    equality, which hold only when > 0; '==' and '!=' give −|Δ| and |Δ|)."""
    if op in (">=", ">"):
        return actual - expected
    if op in ("<=", "<"):
        return expected - actual
    if op == "==":
        return 0.0 - abs(actual - expected)  # 0.0 - 0.0 is +0.0: no "-0" in reports
    return abs(actual - expected)


def holds(actual: float, op: str, expected: float) -> bool:
    return {
        ">=": actual >= expected,
        "<=": actual <= expected,
        ">": actual > expected,
        "<": actual < expected,
        "==": actual == expected,
        "!=": actual != expected,
    }[op]


#: events that, at t = 0 and involving a controlled entity, mean the run starts inside what
#: it is meant to test: in contact, inside an air separation minimum, or aground
START_VIOLATIONS = ("collision", "loss_of_separation", "nmac", "grounding")


def validity_problems(scenario: Any, events: Sequence[Any]) -> tuple[list[str], list[str]]:
    """Why a run cannot judge the system: (a controlled entity in contact, inside a
    separation minimum or aground at t = 0; stimuli that never happened).

    A stimulus is a scripted manoeuvre (each declared one must fire: a ``manoeuvre`` event of
    its entity) or a scheduled fault (``at``/``when``: a ``fault_start``). Random faults
    (``rate``) may rightly never strike and are not counted."""
    controlled = {e.id for e in scenario.entities if e.controlled}
    contacts = [
        f"{' and '.join(e.entities)}: {e.kind.replace('_', ' ')} at t = 0"
        for e in events
        if e.kind in START_VIOLATIONS and e.tick == 0 and controlled & set(e.entities)
    ]
    fired: dict[str, int] = {}
    started = set()
    for e in events:
        if e.kind == "manoeuvre" and "resume" not in e.details:
            fired[e.entities[0]] = fired.get(e.entities[0], 0) + 1
        elif e.kind == "fault_start":
            started.add(e.details.get("fault"))
    missing = []
    for ent in scenario.entities:
        # a scripted end of the run is no stimulus: the run may rightly end before it
        declared = sum(not getattr(m, "end", False) for m in getattr(ent, "manoeuvres", None) or [])
        if fired.get(ent.id, 0) < declared:
            missing.append(
                f"{declared - fired.get(ent.id, 0)} of {declared} manoeuvre(s) of '{ent.id}' "
                "never triggered"
            )
    for f in getattr(scenario, "faults", None) or []:
        if f.rate is None and f.id not in started:
            missing.append(f"fault '{f.id}' never started")
    return contacts, missing


def evaluate(
    criteria: Sequence[Any],
    values: Mapping[str, MetricValue],
    status: str,
    *,
    validity: tuple[list[str], list[str]] = ([], []),
) -> tuple[Verdict, list[CriterionResult], str]:
    """Verdict of a run and why: 'invalid' when it started in contact; 'error' when the run
    ended in error or a criterion's metric does not apply; else 'fail' if any criterion
    fails; else 'invalid' when a stimulus never happened (a pass would be vacuous); else
    'pass'. A failure stands although a stimulus was missing: the system did not do its job
    (e.g. it stopped, so the cut-in it should have met never came)."""
    results = []
    verdict: Verdict = "pass"
    for c in criteria:
        unit = METRICS[c.metric].unit if c.metric in METRICS else ""
        mv = values.get(c.metric)
        if mv is None or not mv.valid:
            results.append(
                CriterionResult(
                    c.metric,
                    c.op,
                    c.value,
                    None,
                    None,
                    False,
                    c.id,
                    unit,
                    "metric not applicable to this run",
                    scale=c.scale,
                )
            )
            verdict = "error"
            continue
        ok = holds(mv.value, c.op, c.value)
        m = margin(mv.value, c.op, c.value)
        results.append(
            CriterionResult(c.metric, c.op, c.value, mv.value, m, ok, c.id, unit, scale=c.scale)
        )
        if not ok and verdict == "pass":
            verdict = "fail"
    contacts, missing = validity
    why = ""
    if status == "error":
        verdict = "error"
    if contacts:
        verdict, why = "invalid", "; ".join(contacts)
    elif missing and verdict == "pass":
        verdict, why = "invalid", "stimulus never happened: " + "; ".join(missing)
    return verdict, results, why
