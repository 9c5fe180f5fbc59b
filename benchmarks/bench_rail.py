"""Rail engine throughput: train-steps per second (not a timed test).

    python benchmarks/bench_rail.py            # N = 10, 50, 100, 1,000 trains
    python benchmarks/bench_rail.py --quick    # N = 10, 50

N trains on N/10 parallel 30 km lines (10 trains per line, 2 km blocks with 183 m overlaps,
stations every 6 km with 30 s dwells), dt 1 s as Flatland and SUMO's rail steps; every tick:
dynamics (traction, Davis resistance, gradient, brake build-up, adhesion), interlocking
(automatic route setting and release), the timetable driver, the protection layer of the
controlled train, SPAD/overspeed/station monitors, contacts and full recording. The rollout
loop only; peak RSS reported.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import yaml

from agents.loading import load_agent
from sim.core.rollout import rollout
from sim.scenario import load_scenario


def scenario(n: int, seconds: float) -> dict:
    lines = max(1, n // 10)
    tracks, signals, stations, ents = [], [], [], []
    for li in range(lines):
        tid = f"l{li}"
        tracks.append(
            {
                "id": tid,
                "start": {"x": 0.0, "y": 50.0 * li},
                "geometry": [{"line": 30000.0}],
                "speed": [{"at": 0.0, "speed": 140 / 3.6}],
            }
        )
        signals += [{"id": f"{tid}s{k}", "track": tid, "at": 500.0 + 2000.0 * k} for k in range(14)]
        stations += [{"id": f"{tid}h{k}", "track": tid, "at": 6000.0 * (k + 1)} for k in range(4)]
        for j in range(min(10, n - 10 * li)):
            e = {
                "id": f"t{li}-{j}",
                "domain": "rail",
                "kind": "rb425",
                "path": [tid],
                "at": 29000.0 - 2600.0 * j,
                "speed": 0.0,
                "departs": 20.0 * j,
                "timetable": [
                    {"station": f"{tid}h{k}", "dwell": 30.0}
                    for k in range(4)
                    if 6000.0 * (k + 1) > 29000.0 - 2600.0 * j
                ],
            }
            ents.append(e)
    ents[0]["agent"] = "supervised-ato"
    return {
        "schema_version": 1,
        "id": f"bench-rail-{n}",
        "name": "bench",
        "description": "bench",
        "dt": 1.0,
        "duration": seconds,
        "seed": 1,
        "map": {
            "rail": {
                "tracks": tracks,
                "signals": signals,
                "stations": stations,
                "protection": {"enabled": True},
            }
        },
        "entities": ents,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=600.0, help="simulated seconds per run")
    args = ap.parse_args()
    sizes = [10, 50] if args.quick else [10, 50, 100, 1000]
    print("{:>7} {:>9} {:>15} {:>12}".format("trains", "ticks/s", "train-steps/s", "peak RSS MB"))
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.yaml"
            path.write_text(yaml.safe_dump(scenario(n, args.seconds)))
            lo = load_scenario(path)
        first = lo.scenario.entities[0].id
        t = time.perf_counter()
        res = rollout(lo.scenario, {first: load_agent("supervised-ato")})
        wall = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>7} {res.ticks / wall:>9.0f} {n * res.ticks / wall:>15,.0f} {rss:>12.0f}")


if __name__ == "__main__":
    main()
