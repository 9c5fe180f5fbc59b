"""Step-size convergence as executed evidence: re-run a campaign's failed runs and the
passing runs nearest their pass/fail boundary (smallest |criterion margin|) at dt/2 and
dt/4; a run whose verdict changes with the time step is *step-size sensitive*.

The result is ``convergence.json`` in the campaign folder (covered by its digest, read by
the report's credibility section).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from sim.errors import ProvingGroundError

FORMAT = "proving-ground-convergence/1"
FACTORS = (1, 2, 4)  # dt, dt/2, dt/4
KEY_METRICS = ("collisions", "min_ttc_s", "min_distance_m", "max_decel_mps2")


def _margin(row: dict[str, Any]) -> float:
    ms = [
        abs(float(c["margin"]))
        for c in row.get("criteria") or []
        if isinstance(c.get("margin"), int | float) and math.isfinite(c["margin"])
    ]
    return min(ms, default=math.inf)


def pick(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The failed runs first (by name), then the passing runs with the smallest |margin|,
    ``k`` in all."""
    sut = [r for r in rows if (r.get("role") or "sut") == "sut" and r.get("log_sha256")]
    failed = sorted((r for r in sut if r["verdict"] == "fail"), key=lambda r: r["name"])
    near = sorted((r for r in sut if r["verdict"] == "pass"), key=lambda r: (_margin(r), r["name"]))
    return (failed + near)[:k]


def convergence(folder: Path, k: int = 10, *, allow_file_agents: bool = False) -> dict[str, Any]:
    """Re-run ``k`` runs of the campaign in ``folder`` at dt/2 and dt/4; write and return
    ``convergence.json``."""
    from metrics.report import file_sha256, stored_rows
    from sim.runner.run import run_loaded
    from sim.scenario.load import load_scenario

    folder = Path(folder)
    cwd = json.loads((folder / "manifest.json").read_text()).get("cwd")
    runs = []
    for row in pick(stored_rows(folder), k):
        path = Path(row["scenario_file"])
        if not path.exists() and cwd and not path.is_absolute():
            path = Path(cwd) / path
        entry: dict[str, Any] = {"name": row["name"], "family": row["family"]}
        try:
            if file_sha256(path) != row["file_sha256"]:
                raise ProvingGroundError(f"{path} changed since the run")
            base = load_scenario(path, row.get("params") or {})
        except (ProvingGroundError, OSError) as exc:
            entry["error"] = str(exc)
            runs.append(entry)
            continue
        dt0 = base.scenario.dt
        verdicts, metrics = (
            [row["verdict"]],
            {m: [(row.get("metrics") or {}).get(m)] for m in KEY_METRICS},
        )
        for f in FACTORS[1:]:
            finer = dataclasses.replace(
                base, scenario=base.scenario.model_copy(update={"dt": dt0 / f})
            )
            out = run_loaded(
                finer,
                agent=row.get("agent"),
                seed=row["seed"],
                trusted_agent=False,  # read back from the store: a file's word
                allow_file_agents=allow_file_agents,
            )
            verdicts.append(out.verdict)
            for m in KEY_METRICS:
                v = out.metrics.get(m)
                metrics[m].append(v.value if v is not None and v.valid else None)
        entry.update(
            dt_s=[dt0 / f for f in FACTORS],
            verdicts=verdicts,
            metrics=metrics,
            sensitive=len(set(verdicts)) > 1,
            margin=_margin(row),
        )
        runs.append(entry)
    doc = {
        "format": FORMAT,
        "method": f"failed runs, then the passing runs with the smallest |criterion margin| "
        f"({k} in all), re-run at dt/2 and dt/4 with the same agent and seed",
        "runs": runs,
        "sensitive": [r["name"] for r in runs if r.get("sensitive")],
    }
    from sim.core.events import json_ready

    (folder / "convergence.json").write_text(
        json.dumps(json_ready(doc), indent=1, sort_keys=True) + "\n"
    )
    return doc
