"""How well each `pground search` method finds failures, against the ground truth of an
exhaustive grid (not a timed test).

    python benchmarks/bench_search.py [--seeds 20] [--budget 100] [--workers 2]

Ground truth: the lead-brake space of ``scenarios/suites/search_spaces.yaml`` (ego speed
3 x time gap 8 x lead deceleration 8 = 192 points) driven by ``late-braking-acc``, run once
as a campaign and stored in ``benchmarks/data/search_truth_lead_brake.json`` with the
digests of what made it (scenario file, agent source, grid): it is recomputed when they
change. Then every method searches that grid with the table as its oracle (a candidate
snaps to the nearest grid point and reads its stored result), over ``--seeds`` seeds, and
the script reports per method: runs to the first failure (median, IQR), failures found
within the budget, failure modes found (of the grid's; modes as `pground search` groups
them), and boundary recall (the share of the grid's boundary points, failures with a
passing neighbour one grid step away, that have a found failure and a found pass each
within one grid step).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.runner.search import MAKERS, mode_key, robustness, search_space  # noqa: E402

SUITE = ROOT / "scenarios" / "suites" / "search_spaces.yaml"
FAMILY = "lead-brake"
AGENT = "late-braking-acc"
TRUTH = ROOT / "benchmarks" / "data" / "search_truth_lead_brake.json"


def _inputs(space) -> dict[str, str]:
    from agents.identity import python_identity
    from agents.loading import load_agent

    ident = python_identity(type(load_agent(AGENT)).__module__)
    grid = [j.overrides for j in space.suite.entries if j.family == FAMILY]
    return {
        "scenario_sha256": space.file_sha256,
        "agent_sha256": str(ident["sha256"]),
        "grid_sha256": hashlib.sha256(json.dumps(grid, sort_keys=True).encode()).hexdigest(),
    }


def truth(workers: int) -> dict:
    """The grid's results, from the stored file when its inputs are unchanged."""
    space = search_space(SUITE, FAMILY)
    inputs = _inputs(space)
    if TRUTH.exists():
        stored = json.loads(TRUTH.read_text())
        if stored["inputs"] == inputs:
            return stored
    from rich.console import Console

    from sim.runner.campaign import run_campaign

    jobs = [j for j in space.suite.entries if j.family == FAMILY]
    suite = dataclasses.replace(space.suite, entries=jobs).with_agent(AGENT, None)
    with tempfile.TemporaryDirectory() as tmp:
        run_campaign(suite, Path(tmp), workers=workers, keep_logs="none",
                     console=Console(stderr=True), progress=True)  # fmt: skip
        from sim.runner.store import ResultsStore

        rows = list(ResultsStore(Path(tmp) / "results.sqlite").rows())
    points = [
        {
            "params": r["params"],
            "verdict": r["verdict"],
            "robustness": robustness(r["criteria"]),
            "mode": list(mode_key(r)),  # as `pground search` groups failures
        }
        for r in rows
    ]
    doc = {"family": FAMILY, "agent": AGENT, "inputs": inputs, "points": points}
    TRUTH.parent.mkdir(parents=True, exist_ok=True)
    TRUTH.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc


def _apart(i: tuple[int, ...], j: tuple[int, ...]) -> int:
    """Grid steps between two points (the largest along any axis)."""
    return int(np.abs(np.subtract(i, j)).max())


def _shift(i: tuple[int, ...], step: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(v) for v in np.add(i, step))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--wave", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    doc = truth(args.workers)
    space = search_space(SUITE, FAMILY)
    names = [d.name for d in space.dims]
    axes = [sorted({p["params"][n] for p in doc["points"]}) for n in names]
    index = {
        tuple(axes[k].index(p["params"][n]) for k, n in enumerate(names)): p for p in doc["points"]
    }
    fail = {i for i, p in index.items() if p["verdict"] == "fail"}
    share = len(fail) / len(index)
    # modes of the grid: (what failed, how it ended), then connected regions (one step)
    modes: list[set] = []
    for key in {tuple(index[i]["mode"]) for i in fail}:
        members = {i for i in fail if tuple(index[i]["mode"]) == key}
        while members:
            region, stack = set(), [members.pop()]
            while stack:
                i = stack.pop()
                region.add(i)
                near = {j for j in members if _apart(i, j) <= 1}
                members -= near
                stack.extend(near)
            modes.append(region)
    steps = list(itertools.product((-1, 0, 1), repeat=len(names)))
    boundary = {
        i for i in fail if any(_shift(i, s) in index and _shift(i, s) not in fail for s in steps)
    }

    def snap(u: np.ndarray) -> tuple[int, ...]:
        out = []
        for k, d in enumerate(space.dims):
            value = d.low + u[k] * (d.high - d.low)
            out.append(int(np.argmin(np.abs(np.array(axes[k]) - value))))
        return tuple(out)

    print(
        f"{FAMILY} with {AGENT}: {len(index)} grid points, {len(fail)} failures "
        f"({share:.0%}), {len(modes)} modes, {len(boundary)} boundary points; "
        f"budget {args.budget}, waves of {args.wave}, {args.seeds} seeds"
    )
    print(
        f"{'method':<8} {'first failure (median, IQR)':>28} {'failures found':>15} "
        f"{'modes found':>12} {'boundary recall':>16}"
    )
    for method in MAKERS:
        firsts, founds, mode_hits, recalls = [], [], [], []
        for seed in range(args.seeds):
            searcher = MAKERS[method](len(names), args.wave, np.random.default_rng(seed))
            seen: list[tuple[int, ...]] = []
            while len(seen) < args.budget:
                u = searcher.propose(min(args.wave, args.budget - len(seen)))
                cells = [snap(x) for x in u]
                seen.extend(cells)
                searcher.tell(u, np.array([index[c]["robustness"] for c in cells]))
            first = next((k + 1 for k, c in enumerate(seen) if c in fail), args.budget + 1)
            firsts.append(first)
            found = {c for c in seen if c in fail}
            passed = {c for c in seen if c not in fail}
            founds.append(len(found))
            mode_hits.append(sum(bool(m & found) for m in modes))

            def near(i: tuple[int, ...], cells: set) -> bool:
                return any(_apart(i, c) <= 1 for c in cells)

            hit = [b for b in boundary if near(b, found) and near(b, passed)]
            recalls.append(len(hit) / max(len(boundary), 1))
        q1, med, q3 = np.percentile(firsts, [25, 50, 75])
        print(
            f"{method:<8} {med:>16.1f} ({q1:.0f}-{q3:.0f}) {np.mean(founds):>15.1f} "
            f"{np.mean(mode_hits):>8.1f}/{len(modes)} {np.mean(recalls):>15.0%}"
        )


if __name__ == "__main__":
    main()
