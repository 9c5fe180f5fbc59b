"""Metrics (pure functions of a recorded run), criteria and verdicts."""

from metrics.criteria import CriterionResult, Verdict, evaluate
from metrics.registry import METRICS, MetricSpec, MetricValue, RunData, compute_metrics

__all__ = [
    "METRICS",
    "CriterionResult",
    "MetricSpec",
    "MetricValue",
    "RunData",
    "Verdict",
    "compute_metrics",
    "evaluate",
]
