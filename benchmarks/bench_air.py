"""Air engine throughput: aircraft-steps per second at BlueSky's settings (not a timed test).

    python benchmarks/bench_air.py            # N = 100, 1,000, 10,000, 50,000
    python benchmarks/bench_air.py --quick    # N = 100, 1,000

Random cruise traffic (uniform headings, 200-250 m/s, FL250-FL400 in 1000 ft steps) at the
density of BlueSky's measurement (1,000 aircraft over 450 km x 650 km; the area scales with
N), one controlled airliner flown by PlanOnly, dt 0.05 s (BlueSky simdt), state-based
conflict detection every 1 s with a 300 s lookahead and 5 NM / 1000 ft, per-tick LoS, NMAC
and well-clear monitors, collisions and full recording. The rollout loop only (loading and
metrics excluded); peak RSS reported.
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
from pathlib import Path

import yaml

from sim.core.rollout import rollout
from sim.scenario import load_scenario


def scenario(n: int, seconds: float) -> dict:
    scale = math.sqrt(n / 1000.0)
    return {
        "schema_version": 1,
        "id": f"bench-air-{n}",
        "name": "bench",
        "description": "bench",
        "dt": 0.05,
        "duration": seconds,
        "seed": 1,
        "control_period": 1.0,
        "map": {
            "air": {
                "traffic": [
                    {
                        "count": n - 1,
                        "x_range": [-225e3 * scale, 225e3 * scale],
                        "y_range": [-325e3 * scale, 325e3 * scale],
                        "altitude_range": ["FL250", "FL400"],
                        "levels": "1000 ft",
                        "speed_range": [200, 250],
                    }
                ]
            }
        },
        "entities": [
            {
                "id": "ownship",
                "domain": "air",
                "kind": "airliner",
                "position": {"x": 0, "y": 0},
                "altitude": "FL350",
                "agent": "plan-only",
                "plan": [{"position": {"x": 0, "y": 500e3}}],
            }
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per run")
    args = ap.parse_args()
    sizes = [100, 1000] if args.quick else [100, 1000, 10_000, 50_000]
    from agents.loading import load_agent

    print(f"{'aircraft':>9} {'ticks/s':>9} {'aircraft-steps/s':>17} {'peak RSS MB':>12}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.yaml"
            path.write_text(yaml.safe_dump(scenario(n, args.seconds)))
            lo = load_scenario(path)
        agents = {"ownship": load_agent("plan-only")}
        t = time.perf_counter()
        res = rollout(lo.scenario, agents)
        wall = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>9} {res.ticks / wall:>9.0f} {n * res.ticks / wall:>17,.0f} {rss:>12.0f}")


if __name__ == "__main__":
    main()
