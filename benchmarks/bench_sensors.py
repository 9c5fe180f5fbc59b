"""What declared sensors cost: the same scenario with the ideal observation and with sensors.

Default: highway_traffic.yaml (50 IDM/MOBIL vehicles) with a radar, a camera and a lidar
(all with occlusion) on the ego; best of ``--repeat`` runs.

    python benchmarks/bench_sensors.py [--scenario FILE] [--entity ID] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.runner.run import run_loaded  # noqa: E402
from sim.scenario.load import load_scenario  # noqa: E402

SENSORS = (
    "sensors:\n  {eid}:\n    - {{type: radar}}\n    - {{type: camera}}\n    - {{type: lidar}}\n"
)


def best(path: Path, repeat: int) -> float:
    lo = load_scenario(path)
    run_loaded(lo)  # warm-up
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = run_loaded(lo)
        out.append(res.result.ticks / (time.perf_counter() - t0))
    return max(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", default=str(ROOT / "scenarios/road/highway_traffic.yaml"))
    p.add_argument("--entity", default="ego")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    src = Path(args.scenario)
    with tempfile.TemporaryDirectory() as tmp:
        with_sensors = Path(tmp) / src.name
        with_sensors.write_text(src.read_text() + SENSORS.format(eid=args.entity))
        ideal = best(src, args.repeat)
        sensed = best(with_sensors, args.repeat)
    print(
        f"{src.name}: ideal observation {ideal:,.0f} ticks/s; radar + camera + lidar "
        f"{sensed:,.0f} ticks/s ({(1 / sensed - 1 / ideal) * 1e3:.2f} ms per tick)"
    )


if __name__ == "__main__":
    main()
