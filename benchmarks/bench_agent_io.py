"""Round-trip overhead of an out-of-process agent step, and what it leaves of a 1-ego run.

For each agent: the same scenario (one ego among traffic) in process and over the protocol;
the median and 99th percentile round trip of a step (observation encoded, sent, answered,
action decoded: ``RemoteAgent.latencies_s``) and simulated ticks per second of the whole run.

    python benchmarks/bench_agent_io.py [--scenario FILE] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.loading import load_agent  # noqa: E402
from sim.core.rollout import rollout  # noqa: E402
from sim.scenario.load import load_scenario  # noqa: E402


class Timed:
    """Times the agent's reset (process start, hello, briefing) and close (process exit)
    apart from the run."""

    def __init__(self, agent) -> None:
        self.agent, self.name, self.version = agent, agent.name, agent.version
        self.startup_s = 0.0

    def reset(self, briefing, *, rng) -> None:
        t0 = time.perf_counter()
        self.agent.reset(briefing, rng=rng)
        self.startup_s = time.perf_counter() - t0

    def act(self, obs):
        return self.agent.act(obs)

    def close(self) -> None:
        t0 = time.perf_counter()
        getattr(self.agent, "close", lambda: None)()
        self.startup_s += time.perf_counter() - t0


def run(scenario, spec: str, eid: str) -> tuple[float, float, int, np.ndarray]:
    agent = Timed(load_agent(spec))
    t0 = time.perf_counter()
    res = rollout(scenario, {eid: agent})
    wall = time.perf_counter() - t0
    lat = np.array(getattr(agent.agent, "latencies_s", []))
    assert not [e for e in res.events if e.kind == "agent_fault"], "agent faults"
    return wall - agent.startup_s, agent.startup_s, res.ticks, lat


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", default=str(ROOT / "scenarios/road/alks_lead_brake.yaml"))
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    lo = load_scenario(args.scenario)
    eid = next(e.id for e in lo.scenario.entities if e.controlled)
    py = sys.executable
    echo = ROOT / "benchmarks" / "echo_agent.py"
    agents = [
        ("in process (constant-speed)", "constant-speed"),
        ("echo agent, JSON lines", f"cmd:{py} {echo} json"),
        ("echo agent, MessagePack", f"cmd:{py} {echo} msgpack"),
        ("Python, JSON lines", f"cmd:{py} -m agents.serve constant-speed"),
        ("Python, MessagePack", f"cmd:{py} -m agents.serve constant-speed --framing msgpack"),
    ]
    tmp = Path(tempfile.mkdtemp())
    cc = shutil.which("cc")
    if cc:
        exe = tmp / "road_keeper"
        src = ROOT / "agents/examples/road_keeper.c"
        subprocess.run([cc, "-O2", "-o", str(exe), str(src), "-lm"], check=True)
        agents.append(("C, JSON lines (road_keeper.c)", f"cmd:{exe}"))
    print(
        f"scenario {Path(args.scenario).name}: dt {lo.scenario.dt} s, "
        f"{len(lo.scenario.entities)} entities, best of {args.repeat}"
    )
    print(f"control period {lo.scenario.control_every} ticks; ticks/s without start-up and exit")
    print(f"{'agent':34s} {'start+exit ms':>13s} {'ticks/s':>8s} {'median µs':>10s} {'p99 µs':>8s}")
    for label, spec in agents:
        best = None
        for _ in range(args.repeat):
            wall, startup, ticks, lat = run(lo.scenario, spec, eid)
            if best is None or wall < best[0]:
                best = (wall, startup, ticks, lat)
        wall, startup, ticks, lat = best
        med = f"{np.median(lat) * 1e6:10.0f}" if lat.size else f"{'-':>10s}"
        p99 = f"{np.percentile(lat, 99) * 1e6:8.0f}" if lat.size else f"{'-':>8s}"
        print(f"{label:34s} {startup * 1e3:13.1f} {ticks / wall:8.0f} {med} {p99}")


if __name__ == "__main__":
    main()
