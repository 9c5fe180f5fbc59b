"""Campaign throughput (not a timed test; figures go in the README).

    python benchmarks/bench_campaign.py [--runs 1000] [--skip-sweep]

1. Per-job overhead: jobs whose simulation is a single 0.1 s tick, serial executor, minus
   the bare simulation time: what scheduling + store + result handling costs per job.
2. --runs short cut-in runs (3 s simulated): serial vs 2 worker processes vs Dask
   LocalCluster (2 workers).
3. The shipped R157 cut-in sweep (scenarios/suites/alks_cut_in.yaml, 439 runs of 20 s) with 2
   processes: runs per hour.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console

from sim.runner.campaign import run_campaign
from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


def short_cut_in(tmp: Path, seconds: float) -> Path:
    text = (ROOT / "scenarios/road/alks_cut_in.yaml").read_text()
    text = text.replace("duration: 20 s", f"duration: {seconds} s")
    p = tmp / "cut_in_short.yaml"
    p.write_text(text)
    return p


def suite_file(tmp: Path, scenario: Path, runs: int) -> Path:
    """A grid of ``runs`` cut-ins (an a x a x b factorial as close to ``runs`` as it gets)."""
    a = max(1, round(runs ** (1 / 3)))
    b = max(1, round(runs / a**2))

    def spread(lo: float, hi: float, k: int, unit: str) -> str:
        vals = [lo + (hi - lo) * i / max(k - 1, 1) for i in range(k)]
        return "[" + ", ".join(f"{v:.4f} {unit}" for v in vals) + "]"

    p = tmp / f"suite-{runs}.yaml"
    p.write_text(f"""name: bench
scenarios:
  - path: {scenario}
    name: ci
    grid:
      ego_speed: {{values: {spread(30, 60, a, "km/h")}}}
      delta_v: {{values: {spread(-20, -5, a, "km/h")}}}
      trigger_gap: {{values: {spread(20, 60, b, "m")}}}
""")
    return p


def timed(suite, out: Path, **kw) -> float:
    t0 = time.perf_counter()
    s = run_campaign(suite, out, console=QUIET, progress=False, keep_logs="none", **kw)
    assert sum(s.counts.values()) == len(suite.entries), s.counts
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--skip-sweep", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())

    tiny = short_cut_in(tmp, 0.1)
    suite = load_suite(suite_file(tmp, tiny, 200))
    t = timed(suite, tmp / "overhead", executor="serial")
    bare = time.perf_counter()
    for job in suite.entries:
        run_loaded(load_scenario(job.path, job.overrides), seed=job.seed)
    bare = time.perf_counter() - bare
    n = len(suite.entries)
    print(
        f"per-job overhead: {(t - bare) / n * 1e3:.1f} ms "
        f"(campaign {t / n * 1e3:.1f} ms/job, load+simulate+metrics alone "
        f"{bare / n * 1e3:.1f} ms/job, {n} jobs)"
    )

    short = short_cut_in(tmp, 3.0)
    suite = load_suite(suite_file(tmp, short, args.runs))
    n = len(suite.entries)
    ts = timed(suite, tmp / "serial", executor="serial")
    tp = timed(suite, tmp / "proc", executor="processes", workers=2)
    td = timed(suite, tmp / "dask", executor="dask", workers=2)
    print(
        f"{n} short runs: serial {ts:.1f} s ({n / ts:.1f} runs/s), 2 processes {tp:.1f} s "
        f"(x{ts / tp:.2f}), Dask LocalCluster 2 workers {td:.1f} s (x{ts / td:.2f}; "
        f"{td / tp:.2f} x the process executor's time)"
    )

    if not args.skip_sweep:
        sweep = load_suite(ROOT / "scenarios/suites/alks_cut_in.yaml")
        tw = timed(sweep, tmp / "sweep", executor="processes", workers=2)
        print(
            f"R157 cut-in sweep: {len(sweep.entries)} runs in {tw:.1f} s with 2 processes = "
            f"{len(sweep.entries) / tw * 3600:,.0f} runs/hour"
        )


if __name__ == "__main__":
    main()
