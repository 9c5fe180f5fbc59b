"""Criteria -> verdict. Each criterion reports expected, actual and a signed margin
(robustness: > 0 passed with room, < 0 failed by that much), so a reader sees how close a
pass was (STL robustness semantics, ρ(x ≥ c) = x − c; RTAMT README)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from metrics.registry import METRICS, MetricValue
from sim.core.events import json_ready

Verdict = Literal["pass", "fail", "error"]


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

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


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


def evaluate(
    criteria: Sequence[Any], values: Mapping[str, MetricValue], status: str
) -> tuple[Verdict, list[CriterionResult]]:
    """Verdict of a run: 'error' when the run ended in error or a criterion's metric does not
    apply; else 'fail' if any criterion fails; else 'pass'."""
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
                )
            )
            verdict = "error"
            continue
        ok = holds(mv.value, c.op, c.value)
        m = margin(mv.value, c.op, c.value)
        results.append(CriterionResult(c.metric, c.op, c.value, mv.value, m, ok, c.id, unit))
        if not ok and verdict == "pass":
            verdict = "fail"
    if status == "error":
        verdict = "error"
    return verdict, results
