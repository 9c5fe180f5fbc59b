"""Report scale: time `pground report` and `pground verify` and measure report.html for a
campaign of N runs. The rows are copies (new job ids, names and parameter values) of a
real campaign's rows, so no simulation is needed.

    python benchmarks/bench_report.py CAMPAIGN_DIR [--runs 10000]

CAMPAIGN_DIR: any finished campaign (e.g. `pground suite scenarios/suites/alks_cut_in.yaml
--out /tmp/sweep`); it is copied, never changed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from metrics.report import write
from sim.runner.store import ResultsStore
from sim.runner.verify import verify


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("campaign", type=Path)
    ap.add_argument("--runs", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp) / "c"
        shutil.copytree(args.campaign, c, ignore=shutil.ignore_patterns("runs"))
        store = ResultsStore(c / "results.sqlite")
        rows = [r for r in store.rows() if (r.get("role") or "sut") == "sut"]
        k = 0
        while len(rows) + k < args.runs:
            r = dict(rows[k % len(rows)])
            r["job_id"] = f"copy{k:08d}"
            r["name"] = f"{r['name']}-copy{k}"
            r["params"] = {
                n: v + 1e-3 * k if isinstance(v, float) else v
                for n, v in (r["params"] or {}).items()
            }
            r["run_dir"] = None
            store.record(r)
            k += 1
        store.close()
        t0 = time.perf_counter()
        write(c)
        t1 = time.perf_counter()
        res = verify(c)
        t2 = time.perf_counter()
        size = (c / "report.html").stat().st_size
        print(
            f"{len(rows) + k} runs: report {t1 - t0:.2f} s, report.html {size / 1e6:.2f} MB, "
            f"verify {t2 - t1:.2f} s ({'verified' if res.ok else res.problems[:3]})"
        )


if __name__ == "__main__":
    main()
