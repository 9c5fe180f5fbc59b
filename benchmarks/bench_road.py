"""Road engine throughput: vehicle-steps per second, as the issue asks (not a timed test).

    python benchmarks/bench_road.py            # full table (N = 10 … 10,000)
    python benchmarks/bench_road.py --quick    # smaller, for a smoke check

Measures the rollout loop only (loading, set-up, metrics and writing excluded), best of
--repeat runs:
1. N background IDM/MOBIL vehicles + 1 controlled car on a 4-lane loop sized for N
   (≈ 40 m per vehicle per lane), dt 0.05 s;
2. the shipped 50-vehicle highway scenario (scenarios/road/highway_traffic.yaml);
3. the 1-ego ALKS cut-in scenario with its AdaptiveCruise agent: ticks per second.
"""

from __future__ import annotations

import argparse
import math
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from agents.loading import load_agent
from sim.core.rollout import World, rollout
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def loop_scenario(n: int, seconds: float) -> dict:
    per_lane_m = 40.0
    lanes = 4
    length = max(2000.0, n * per_lane_m / lanes)
    radius = 200.0
    straight = (length - 2 * math.pi * radius) / 2
    return {
        "schema_version": 1,
        "id": f"bench-{n}",
        "name": f"bench {n}",
        "description": "bench",
        "dt": 0.05,
        "duration": seconds,
        "seed": 1,
        "map": {
            "road": {
                "roads": [
                    {
                        "id": "loop",
                        "lanes": lanes,
                        "lane_width": 3.75,
                        "closed": True,
                        "speed_limit": 40.0,
                        "geometry": [
                            {"line": straight},
                            {"arc": math.pi * radius, "radius": radius},
                            {"line": straight},
                            {"arc": math.pi * radius, "radius": radius},
                        ],
                    }
                ],
                "traffic": [
                    {
                        "road": "loop",
                        "count": n,
                        "speed": [20, 30],
                        "desired_speed": [22, 34],
                        "kinds": {"car": 0.9, "truck": 0.1},
                    }
                ],
            }
        },
        "entities": [
            {
                "id": "ego",
                "domain": "road",
                "road": "loop",
                "lane": 1,
                "s": 1.0,
                "speed": 25.0,
                "agent": "agents.road.null:ConstantSpeed",
            }
        ],
        "terminate_on": [],
    }


def time_rollout(scenario, agent_spec: str, repeat: int) -> tuple[float, int, int]:
    """Best wall time of ``repeat`` rollouts minus the one-off set-up (building the map and
    the fleet, generating traffic), ticks run, entities."""
    best, ticks, n = math.inf, 0, 0
    for _ in range(repeat):
        agents = {
            e.id: load_agent(e.agent if agent_spec == "default" else agent_spec, e.agent_params)
            for e in scenario.entities
            if e.controlled
        }
        t0 = time.perf_counter()
        World.build(scenario, np.random.SeedSequence(scenario.seed).spawn(2)[0])
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = rollout(scenario, agents)
        best = min(best, time.perf_counter() - t0 - setup)
        ticks = res.ticks
        n = int(res.log.field("road", "valid").shape[1])
    return best, ticks, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = [10, 100, 1000] if args.quick else [10, 50, 100, 200, 1000, 10000]
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, numpy {np.__version__}"
    )
    print(f"{'case':<34}{'entities':>9}{'ticks':>7}{'wall s':>9}{'veh-steps/s':>14}{'ticks/s':>10}")
    tmp = Path(tempfile.mkdtemp())
    for n in sizes:
        seconds = 20.0 if n <= 1000 else 5.0
        p = tmp / f"bench-{n}.yaml"
        p.write_text(yaml.safe_dump(loop_scenario(n, seconds)))
        sc = load_scenario(p).scenario
        wall, ticks, ents = time_rollout(sc, "default", 1 if n >= 10000 else args.repeat)
        print(
            f"{'loop, IDM/MOBIL':<34}{ents:>9}{ticks:>7}{wall:>9.3f}"
            f"{ents * ticks / wall:>14,.0f}{ticks / wall:>10,.0f}"
        )
    for name, path, agent in [
        ("highway_traffic.yaml (ACC ego)", "scenarios/road/highway_traffic.yaml", "default"),
        ("alks_cut_in.yaml (ACC ego)", "scenarios/road/alks_cut_in.yaml", "default"),
    ]:
        sc = load_scenario(ROOT / path).scenario
        wall, ticks, ents = time_rollout(sc, agent, args.repeat)
        print(
            f"{name:<34}{ents:>9}{ticks:>7}{wall:>9.3f}{ents * ticks / wall:>14,.0f}"
            f"{ticks / wall:>10,.0f}"
        )


if __name__ == "__main__":
    main()
