"""How well each `pground search` method finds failures, against the ground truth of an
exhaustive grid (not a timed test).

    python benchmarks/bench_search.py [--case FAMILY:AGENT[:CRITERION]]… [--seeds 20] [--budget 200]
                                      [--workers 2] [--json FILE]

Cases (default: all five): the lead-brake (192 points) and cut-in (540 points) spaces of
``scenarios/suites/search_spaces.yaml``, each driven by two imperfect systems under test,
``late-braking-acc`` and ``idm-acc`` (agents/benchmarks), and a space with rare failures:
lead-brake-r157 (792 points within R157's own lead-braking range) with ``idm-acc``,
searched on its safety criterion ``min_distance_m`` (the smallest normalised margin there
is led astray by the progress criterion, whose margin is smallest where the lead brakes
gently: a decoy a user avoids with ``--criterion``). Each
case's grid is run once as a campaign and stored in
``benchmarks/data/search_truth_<family>_<agent>.json`` with the digests of what made it
(scenario file, agent source, grid) and of its points; it is recomputed when an input
changes. Then every method searches that grid with the table as its oracle: a candidate
becomes parameters exactly as ``pground search`` makes them, a candidate the space's
constraints exclude is skipped and not counted (as in a search), and the others snap to the
nearest grid point and read its stored result. Over ``--seeds`` seeds, the
script reports per method:

- runs to the first failure (median and IQR; the search goes on past the budget until it
  finds one, up to FIRST_CAP runs, FIRST_CAP + 1 when none was found), and its ratio to
  random search's;
- distinct failures found within the budget;
- failure modes found within a quarter of the grid's size (the same search's first runs),
  of the grid's modes: failures grouped as ``pground search`` groups them (what failed and
  how the run ended), then into regions of grid neighbours (one step in every coordinate),
  all of them and those of at least BIG points;
- boundary recall: the share of the grid's boundary points (failures with a passing
  neighbour one grid step away) that have a found failure and a found pass each within one
  grid step;
- boundary accuracy: the search's pass/fail classifier (``sim.runner.search.classifier``,
  the one the report draws), fitted to the runs within the budget, scored on every grid point.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.runner.search import (  # noqa: E402
    MAKERS,
    Space,
    classifier,
    mode_key,
    robustness,
    search_space,
)

SUITE = ROOT / "scenarios" / "suites" / "search_spaces.yaml"
#: (family, system under test, criterion searched: None for the smallest normalised margin)
CASES = (
    ("lead-brake-r157", "idm-acc", "min_distance_m"),
    ("lead-brake", "late-braking-acc", None),
    ("lead-brake", "idm-acc", None),
    ("cut-in", "late-braking-acc", None),
    ("cut-in", "idm-acc", None),
)
#: What the stored grid keeps of each criterion result (what robustness and mode_key read).
CRITERION_KEYS = ("requirement", "metric", "op", "expected", "margin", "scale", "passed")
#: A search goes on past the budget until its first failure, up to this many runs, so that
#: runs to the first failure are measured, not cut off, where failures are rare.
FIRST_CAP = 2000
#: Modes of at least this many grid points are counted apart too (a mode of one point is a
#: needle no sampler is sure to hit in a quarter of the grid).
BIG = 3
DATA = ROOT / "benchmarks" / "data"


def truth_path(family: str, agent: str) -> Path:
    return DATA / f"search_truth_{family}_{agent}.json"


def _inputs(space: Space, agent: str) -> dict[str, str]:
    from agents.identity import python_identity
    from agents.loading import load_agent

    ident = python_identity(type(load_agent(agent)).__module__)
    grid = [j.overrides for j in space.suite.entries if j.family == space.family]
    return {
        "scenario_sha256": space.file_sha256,
        "agent_sha256": str(ident["sha256"]),
        "grid_sha256": hashlib.sha256(json.dumps(grid, sort_keys=True).encode()).hexdigest(),
    }


def _points_sha256(points: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(points, sort_keys=True).encode()).hexdigest()


def truth(space: Space, agent: str, workers: int) -> dict[str, Any]:
    """The grid's results, from the stored file when its inputs are unchanged."""
    path = truth_path(space.family, agent)
    inputs = _inputs(space, agent)
    if path.exists():
        stored = json.loads(path.read_text())
        if stored["inputs"] == inputs and stored.get("points_sha256") == _points_sha256(
            stored["points"]
        ):
            return stored
    from rich.console import Console

    from sim.runner.campaign import run_campaign
    from sim.runner.store import ResultsStore

    jobs = [j for j in space.suite.entries if j.family == space.family]
    suite = dataclasses.replace(space.suite, entries=jobs).with_agent(agent, None)
    with tempfile.TemporaryDirectory() as tmp:
        run_campaign(suite, Path(tmp), workers=workers, keep_logs="none",
                     console=Console(stderr=True), progress=True)  # fmt: skip
        rows = list(ResultsStore(Path(tmp) / "results.sqlite").rows())
    points = [
        {
            "params": r["params"],
            "verdict": r["verdict"],
            # what `pground search` steers by (robustness) and groups by (mode_key)
            "row": {
                "criteria": [
                    {k: c[k] for k in CRITERION_KEYS if c.get(k) is not None}
                    for c in r["criteria"] or []
                ],
                "status": r["status"],
                "reason": r["reason"],
            },
        }
        for r in sorted(rows, key=lambda r: json.dumps(r["params"], sort_keys=True))
    ]
    bad = [p for p in points if p["verdict"] not in ("pass", "fail")]
    if bad:
        raise SystemExit(f"{space.family} with {agent}: {len(bad)} grid runs neither passed "
                         f"nor failed (first: {bad[0]})")  # fmt: skip
    doc = {
        "family": space.family,
        "agent": agent,
        "inputs": inputs,
        "points_sha256": _points_sha256(points),
        "points": points,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # one point per line: compact, and a change shows as the points that changed
    head = json.dumps({k: v for k, v in doc.items() if k != "points"}, sort_keys=True)
    lines = ",\n".join(json.dumps(p, sort_keys=True, separators=(",", ":")) for p in points)
    path.write_text(f'{head[:-1]}, "points": [\n{lines}\n]}}\n')
    return doc


def _apart(i: tuple[int, ...], j: tuple[int, ...]) -> int:
    """Grid steps between two points (the largest along any axis)."""
    return int(np.abs(np.subtract(i, j)).max())


@dataclasses.dataclass
class Grid:
    """A case's ground truth as grid cells."""

    space: Space
    axes: list[list[float]]
    index: dict[tuple[int, ...], dict[str, Any]]
    fail: set[tuple[int, ...]]
    modes: list[set[tuple[int, ...]]]
    boundary: set[tuple[int, ...]]

    @classmethod
    def of(cls, space: Space, doc: dict[str, Any]) -> Grid:
        names = [d.name for d in space.dims]
        axes = [sorted({p["params"][n] for p in doc["points"]}) for n in names]
        index = {
            tuple(axes[k].index(p["params"][n]) for k, n in enumerate(names)): p
            for p in doc["points"]
        }
        fail = {i for i, p in index.items() if p["verdict"] == "fail"}
        modes: list[set[tuple[int, ...]]] = []
        for key in sorted({mode_key(index[i]["row"]) for i in fail}):
            members = {i for i in fail if mode_key(index[i]["row"]) == key}
            while members:
                region, stack = set(), [min(members)]
                members.discard(stack[0])
                while stack:
                    i = stack.pop()
                    region.add(i)
                    near = {j for j in members if _apart(i, j) <= 1}
                    members -= near
                    stack.extend(near)
                modes.append(region)
        steps = list(itertools.product((-1, 0, 1), repeat=len(names)))
        boundary = {
            i
            for i in fail
            if any(
                (j := tuple(int(v) for v in np.add(i, s))) in index and j not in fail for s in steps
            )
        }
        return cls(space, axes, index, fail, modes, boundary)

    def unit(self, cell: tuple[int, ...]) -> np.ndarray:
        """A grid cell's point in the search's unit cube."""
        return np.array(
            [
                (self.axes[k][c] - d.low) / (d.high - d.low)
                for k, (c, d) in enumerate(zip(cell, self.space.dims, strict=True))
            ]
        )

    def snap(self, u: np.ndarray) -> tuple[int, ...] | None:
        """The grid cell a candidate runs as (None: excluded by the space's constraints, or
        nearest to a grid point they exclude)."""
        if not self.space.allowed(self.space.params(u)):
            return None
        out = []
        for k, d in enumerate(self.space.dims):
            value = d.low + u[k] * (d.high - d.low)
            out.append(int(np.argmin(np.abs(np.array(self.axes[k]) - value))))
        cell = tuple(out)
        return cell if cell in self.index else None


def search_once(
    grid: Grid, method: str, seed: int, budget: int, wave: int, criterion: str | None
) -> list[tuple]:
    """The cells a method's search runs, in order (the table as its oracle): ``budget``
    runs, and on until the first failure (at most FIRST_CAP)."""
    searcher = MAKERS[method](len(grid.space.dims), wave, np.random.default_rng(seed))
    seen: list[tuple[int, ...]] = []
    proposals, found = 0, False
    while len(seen) < budget or (len(seen) < FIRST_CAP and not found):
        u = searcher.propose(wave if len(seen) >= budget else min(wave, budget - len(seen)))
        proposals += len(u)
        cells = [grid.snap(x) for x in u]
        seen.extend(c for c in cells if c is not None)
        found = found or any(c in grid.fail for c in cells)
        f = [
            robustness(grid.index[c]["row"]["criteria"], criterion) if c else math.inf
            for c in cells
        ]
        searcher.tell(u, np.array(f))
        if proposals > 100 * max(budget, FIRST_CAP):
            break
    return seen


def score(grid: Grid, runs: list[tuple], budget: int, early: int) -> dict[str, float]:
    first = next((k + 1 for k, c in enumerate(runs) if c in grid.fail), FIRST_CAP + 1)
    seen = runs[:budget]
    found = {c for c in seen if c in grid.fail}
    passed = {c for c in seen if c not in grid.fail}
    found_early = {c for c in seen[:early] if c in grid.fail}

    def near(i: tuple[int, ...], cells: set) -> bool:
        return any(_apart(i, c) <= 1 for c in cells)

    hit = [b for b in grid.boundary if near(b, found) and near(b, passed)]
    cells = sorted(set(seen))
    truth = np.array([c in grid.fail for c in cells])
    all_cells = sorted(grid.index)
    grid_truth = np.array([c in grid.fail for c in all_cells])
    if truth.all() or not truth.any():
        accuracy = float((grid_truth == bool(truth.any())).mean())  # one verdict seen
    else:
        gp, _ = classifier(np.array([grid.unit(c) for c in cells]), truth)
        mean, _ = gp.predict(np.array([grid.unit(c) for c in all_cells]))
        accuracy = float(((mean < 0) == grid_truth).mean())
    return {
        "first": first,
        "found": len(found),
        "modes_early": sum(bool(m & found_early) for m in grid.modes),
        "big_modes_early": sum(bool(m & found_early) for m in grid.modes if len(m) >= BIG),
        "recall": len(hit) / max(len(grid.boundary), 1),
        "accuracy": accuracy,
    }


def bench_case(
    family: str, agent: str, criterion: str | None, args: argparse.Namespace
) -> dict[str, Any]:
    space = search_space(SUITE, family)
    grid = Grid.of(space, truth(space, agent, args.workers))
    early = math.ceil(0.25 * len(grid.index))
    share = len(grid.fail) / len(grid.index)
    print(
        f"\n{family} with {agent}, objective {criterion or 'robustness'}: "
        f"{len(grid.index)} grid points, {len(grid.fail)} failures "
        f"({share:.1%}), {len(grid.modes)} modes, {len(grid.boundary)} boundary points; "
        f"budget {args.budget}, modes within {early} runs, waves of {args.wave}, "
        f"{args.seeds} seeds"
    )
    print(
        f"{'method':<8} {'first failure (median, IQR)':>28} {'failures found':>15} "
        f"{'modes found (of >= 3 points)':>28} {'boundary recall':>16} {'accuracy':>9}"
    )
    out: dict[str, Any] = {
        "family": family,
        "agent": agent,
        "criterion": criterion,
        "grid_points": len(grid.index),
        "failures": len(grid.fail),
        "modes": len(grid.modes),
        "big_modes": sum(len(m) >= BIG for m in grid.modes),
        "boundary_points": len(grid.boundary),
        "budget": args.budget,
        "early_budget": early,
        "seeds": args.seeds,
        "methods": {},
    }
    random_median = math.nan
    big = sum(len(m) >= BIG for m in grid.modes)
    for method in MAKERS:  # random first: the others' ratios are to its median
        rows = [
            score(
                grid,
                search_once(grid, method, seed, args.budget, args.wave, criterion),
                args.budget,
                early,
            )
            for seed in range(args.seeds)
        ]
        firsts = [r["first"] for r in rows]
        q1, med, q3 = np.percentile(firsts, [25, 50, 75])
        if method == "random":
            random_median = float(med)
        m = {
            "first_median": float(med),
            "first_vs_random": random_median / float(med),
            "first_iqr": [float(q1), float(q3)],
            "found": float(np.mean([r["found"] for r in rows])),
            "modes_early": float(np.mean([r["modes_early"] for r in rows])),
            "big_modes_early": float(np.mean([r["big_modes_early"] for r in rows])),
            "recall": float(np.mean([r["recall"] for r in rows])),
            "accuracy": float(np.mean([r["accuracy"] for r in rows])),
        }
        out["methods"][method] = m
        print(
            f"{method:<8} {med:>9.1f} ({q1:.0f}-{q3:.0f}) {m['first_vs_random']:>5.1f}x "
            f"{m['found']:>15.1f} "
            f"{m['modes_early']:>8.1f}/{len(grid.modes)} ({m['big_modes_early']:.1f}/{big}) "
            f"{m['recall']:>10.0%} "
            f"{m['accuracy']:>17.1%}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", metavar="FAMILY:AGENT[:CRITERION]",
                    help="a case (repeatable; default: all five)")  # fmt: skip
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--wave", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    cases = list(CASES)
    if args.case:
        cases = [(*c.split(":", 2), None)[:3] for c in args.case]
    results = [bench_case(f, a, c or None, args) for f, a, c in cases]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
