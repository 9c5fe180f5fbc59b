"""Water engine throughput: ship-steps per second (not a timed test).

    python benchmarks/bench_water.py            # N = 10, 100, 1,000, 10,000
    python benchmarks/bench_water.py --quick    # N = 10, 100, 1,000

N ships in open water at a constant density (1,000 ships per 300 km x 300 km; the area
scales with N) on random straight routes at 5-10 m/s, dt 0.5 s (the NTNU COLAV simulator's
step); every tick: Nomoto dynamics and route guidance, CPA/TCPA, COLREG classification
(both ways) and ship-domain tests for all pairs within 12 NM, grounding look-up, the
engine's contact check and full recording; one controlled ship with KeepCourse. The
rollout loop only (set-up and metrics excluded); peak RSS reported.
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from agents.loading import load_agent
from sim.core.pairs import pairs_within
from sim.core.rollout import rollout
from sim.scenario import load_scenario


def scenario(n: int, seconds: float) -> dict:
    side = 300e3 * math.sqrt(n / 1000.0)
    rng = np.random.default_rng(1)
    ents = []
    for k in range(n):
        x, y = rng.uniform(0, side, 2)
        h = rng.uniform(0, 2 * math.pi)
        ents.append(
            {
                "id": f"s{k}",
                "domain": "water",
                "kind": "coaster",
                "position": {"x": float(x), "y": float(y)},
                "heading": float(h),
                "speed": float(rng.uniform(5, 7.5)),
                "route": [
                    {
                        "position": {
                            "x": float(x + 1e6 * math.sin(h)),
                            "y": float(y + 1e6 * math.cos(h)),
                        }
                    }
                ],
            }
        )
    ents[0]["agent"] = "keep-course"
    return {
        "schema_version": 1,
        "id": f"bench-water-{n}",
        "name": "bench",
        "description": "bench",
        "dt": 0.5,
        "duration": seconds,
        "seed": 1,
        "map": {"water": {"default_depth": 100.0}},
        "entities": ents,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=100.0, help="simulated seconds per run")
    args = ap.parse_args()
    sizes = [10, 100, 1000] if args.quick else [10, 100, 1000, 10_000]
    head = ("ships", "ticks/s", "ship-steps/s", "pairs in 12 NM", "peak RSS MB")
    print("{:>7} {:>9} {:>14} {:>15} {:>12}".format(*head))
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.yaml"
            path.write_text(yaml.safe_dump(scenario(n, args.seconds)))
            lo = load_scenario(path)
        t = time.perf_counter()
        res = rollout(lo.scenario, {"s0": load_agent("keep-course")})
        wall = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        x, y = res.log.arrays["water"]["x_m"][-1], res.log.arrays["water"]["y_m"][-1]
        pairs = pairs_within(x, y, np.ones(n, dtype=bool), 12 * 1852.0)[0].size
        rate = n * res.ticks / wall
        print(f"{n:>7} {res.ticks / wall:>9.0f} {rate:>14,.0f} {pairs:>15,} {rss:>12.0f}")


if __name__ == "__main__":
    main()
