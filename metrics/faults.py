"""Fault metrics: how many scheduled faults struck and for how long (sim/faults.py)."""

from __future__ import annotations

import math

from metrics.registry import MetricValue, RunData, metric

SOURCE = "fault_start / fault_end events of the scenario's fault schedule (sim/faults.py)"


@metric("faults_activated", unit="count", source=SOURCE)
def faults_activated(run: RunData) -> MetricValue:
    """Fault activations (a random fault may strike several times)."""
    starts = [e for e in run.events if e.kind == "fault_start"]
    return MetricValue(
        float(len(starts)),
        details={"faults": [{"time_s": e.time_s, **e.details} for e in starts]},
    )


@metric("fault_active_s", unit="s", source=SOURCE)
def fault_active(run: RunData) -> MetricValue:
    """Total time faults were active, summed over faults (a fault still active at the end
    counts to the end of the run)."""
    total, open_at = 0.0, {}
    for e in run.events:
        if e.kind == "fault_start":
            open_at[e.details["fault"]] = e.time_s
        elif e.kind == "fault_end":
            total += e.time_s - open_at.pop(e.details["fault"], e.time_s)
    end = (run.log.n_rows - 1) * run.log.dt
    total += sum(end - t for t in open_at.values())
    return MetricValue(total if not math.isnan(total) else 0.0)
