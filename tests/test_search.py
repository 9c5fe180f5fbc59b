"""`pground search` (issue 21, first part): the space a suite entry declares, the robustness
objective, seeded methods that beat random search, a planted failure found and replayed bit
for bit from its counterexample file, resume equal to an uninterrupted search, bad input."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from sim.errors import UsageError
from sim.runner.search import MAKERS, robustness, search_space
from tests.conftest import SCENARIOS, pground

LEAD = SCENARIOS / "road" / "alks_lead_brake.yaml"
SUT = "late-braking-acc"


def _suite(tmp_path, body: str, name: str = "s.yaml"):
    p = tmp_path / name
    p.write_text(f"name: search-test\nscenarios:\n{body}")
    return p


LEAD_RANGES = f"""  - path: {LEAD}
    name: lead
    grid:
      time_gap: {{range: [0.8 s, 2.0 s], step: 0.2 s}}
      lead_decel: {{range: [3 m/s^2, 10 m/s^2], step: 1 m/s^2}}
"""


def test_robustness_is_the_smallest_margin_over_the_threshold_scale():
    """min_k margin_k / max(|threshold_k|, 1), written out by hand for three criteria."""
    crit = [
        {"requirement": "a", "metric": "collisions", "expected": 0.0, "margin": -1.0},
        {"requirement": "b", "metric": "min_ttc_s", "expected": 2.0, "margin": 0.5},
        {"requirement": "c", "metric": "progress_m", "expected": 100.0, "margin": -20.0},
    ]
    assert robustness(crit) == min(-1.0 / 1.0, 0.5 / 2.0, -20.0 / 100.0) == -1.0
    assert robustness(crit, "c") == -0.2 and robustness(crit, "min_ttc_s") == 0.25
    assert robustness([]) == math.inf
    assert robustness([{"expected": 1.0, "margin": float("nan")}]) == math.inf
    # an equality that holds (collisions == 0: margin 0 at every pass) is left out; one that
    # fails counts
    held = {"metric": "collisions", "op": "==", "expected": 0.0, "margin": 0.0, "passed": True}
    gap = {"metric": "min_distance_m", "op": ">", "expected": 0.5, "margin": 0.3, "passed": True}
    assert robustness([held, gap]) == 0.3 and robustness([held]) == math.inf
    broken = {**held, "margin": -1.0, "passed": False}
    assert robustness([broken, gap]) == -1.0
    # a scale the scenario states replaces the threshold's: 12 m of a 15 m allowance
    progress = {"metric": "progress_m", "op": ">=", "expected": 140.0, "margin": 12.0}
    assert robustness([progress]) == 12.0 / 140.0
    assert robustness([{**progress, "scale": 15.0}]) == 12.0 / 15.0


def test_the_space_is_what_the_entry_declares(tmp_path):
    suite = _suite(
        tmp_path,
        f"""  - path: {LEAD}
    name: lead
    set: {{ego_speed: 50 km/h}}
    grid:
      time_gap: {{range: [0.8 s, 2.0 s], step: 0.2 s}}
      lead_decel: {{values: [4 m/s^2, 8 m/s^2]}}
    constraints: ["lead_decel * time_gap < 12"]
""",
    )
    space = search_space(suite)
    gap, decel = space.dims
    assert (gap.name, gap.low, gap.high) == ("time_gap", 0.8, 2.0)
    assert decel.choices == ({"lead_decel": 4.0}, {"lead_decel": 8.0})
    assert space.fixed == {"ego_speed": pytest.approx(50 / 3.6)}
    p = space.params(np.array([0.5, 0.99]))
    assert p["time_gap"] == pytest.approx(1.4) and p["lead_decel"] == 8.0
    assert space.allowed(p) and not space.allowed(space.params(np.array([1.0, 0.99])))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"  - path: {LEAD}\n", "no entry varies a parameter"),
        (
            f"  - path: {LEAD}\n    sample:\n      n: 5\n      parameters:\n"
            "        lead_decel: {lognormal: {mu: 1.5, sigma: 0.2}}\n",
            "a log-normal parameter has no bounds to search",
        ),
        (
            LEAD_RANGES + LEAD_RANGES.replace("name: lead", "name: lead2"),
            "several entries vary parameters; choose one: --family lead, lead2",
        ),
    ],
)
def test_a_space_that_cannot_be_searched_is_one_line(tmp_path, body, message):
    with pytest.raises(UsageError, match=message):
        search_space(_suite(tmp_path, body))


def _first_hit(method: str, seed: int, budget: int = 400, wave: int = 10) -> int:
    """Evaluations until a point in the corner u0, u1 > 0.93 (0.49 % of the square)."""
    searcher = MAKERS[method](2, wave, np.random.default_rng(seed))
    n = 0
    while n < budget:
        u = searcher.propose(wave)
        assert u.shape == (wave, 2) and (u >= 0).all() and (u <= 1).all()
        f = np.maximum(0.93 - u[:, 0], 0.93 - u[:, 1])
        hit = np.flatnonzero(f < 0)
        if hit.size:
            return n + int(hit[0]) + 1
        n += wave
        searcher.tell(u, f)
    return budget


def test_guided_methods_find_a_small_failure_region_sooner_than_random():
    """Seeded (the same numbers every run): cross-entropy, differential evolution, the
    genetic algorithm, CMA-ES and Bayesian optimisation reach a 0.5 % corner in well under
    half the evaluations random search needs (median over 20 seeds); Halton's even coverage
    beats random too."""
    median = {m: float(np.median([_first_hit(m, s) for s in range(20)])) for m in MAKERS}
    for guided in ("ce", "de", "ga", "bo", "cmaes"):
        assert median[guided] < median["random"] / 2, median
    assert median["halton"] < median["random"], median
    again = [_first_hit("ce", s) for s in range(5)]
    assert again == [_first_hit("ce", s) for s in range(5)]  # seeded


def test_search_finds_the_planted_failure_and_its_file_replays_bit_for_bit(tmp_path):
    """LateBrakingACC fails where the lead brakes hard; a cross-entropy search of 20 runs
    finds it, writes the failure as a scenario file, and `pground run` of that file gives
    the stored run's log digest."""
    from sim.runner.store import ResultsStore

    suite = _suite(tmp_path, LEAD_RANGES)
    out = tmp_path / "search"
    args = ["search", suite, "--agent", SUT, "--budget", "20", "--seed", "1"]
    r = pground(*args, "--out", out, "--executor", "serial", "--no-progress", timeout=600)
    assert r.returncode == 1, r.stderr  # a failure was found
    doc = json.loads((out / "search.json").read_text())
    assert doc["runs"] == 20 and doc["failures"] >= 1 and doc["first_failure_at"] <= 20
    fails = [c for c in doc["candidates"] if c["verdict"] == "fail"]
    assert all(c["robustness"] < 0 for c in fails)
    assert all(c["robustness"] >= 0 for c in doc["candidates"] if c["verdict"] == "pass")
    assert all(c["params"]["lead_decel"] > 6.0 for c in fails)  # where it was planted
    best = min(fails, key=lambda c: (c["robustness"], c["index"]))
    rows = {row["job_id"]: row for row in ResultsStore(out / "results.sqlite").rows()}
    counterexample = out / "counterexamples" / "lead-1.yaml"
    assert counterexample.exists() and (out / "report.html").exists()
    replay = tmp_path / "replay"
    r = pground("run", counterexample, "--agent", SUT, "--out", replay)
    assert r.returncode == 1, r.stderr
    manifest = json.loads((replay / "manifest.json").read_text())
    assert manifest["log_sha256"] == rows[best["job_id"]]["log_sha256"]
    assert pground("verify", out).returncode == 0  # search.json and the files are covered
    # the error table: every run with its wave, robustness, margins, parameters in units
    table = list(csv.DictReader(io.StringIO(pground("results", out, "--format", "csv").stdout)))
    assert len(table) == 20 and {"margin.R157-5.1.1", "margin.min_distance_m"} <= set(table[0])
    assert {r["search.wave"] for r in table} == {"0", "1"}
    assert all(r["search.reference_verdict"] == "" for r in table)
    assert all(" m/s^2" in r["search.params"] for r in table)
    assert sorted(float(r["search.robustness"]) for r in table) == sorted(
        c["robustness"] for c in doc["candidates"]
    )
    report = json.loads((out / "report.json").read_text())
    assert report["search"]["failures"] == doc["failures"] and report["search"]["modes"]
    assert report["search"]["boundary"]["accuracy_loo"] >= 0.8
    page = (out / "report.html").read_text()
    assert "id='search'" in page and "id='boundary'" in page


@pytest.mark.parametrize("method", ["de", pytest.param("bo", marks=pytest.mark.slow)])
def test_resume_gives_the_same_search_on_any_worker_count(tmp_path, method):
    """A search cut short (here: a first call with half the budget) and resumed proposes
    the same candidates and gets the same results as one uninterrupted search, serial or
    on two worker processes."""
    suite = _suite(tmp_path, LEAD_RANGES)
    common = ["--agent", SUT, "--method", method, "--wave", "5", "--seed", "3", "--no-progress"]
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert pground("search", suite, *common, "--budget", "10", "--out", whole,
                   "--executor", "serial", timeout=600).returncode in (0, 1)  # fmt: skip
    assert pground("search", suite, *common, "--budget", "5", "--out", part,
                   "--workers", "2", timeout=600).returncode in (0, 1)  # fmt: skip
    r = pground("search", suite, *common, "--budget", "10", "--out", part, "--resume",
                "--workers", "2", timeout=600)  # fmt: skip
    assert r.returncode in (0, 1), r.stderr

    def table(folder):
        doc = json.loads((folder / "search.json").read_text())
        return [(c["params"], c["verdict"], c["robustness"]) for c in doc["candidates"]]

    assert table(whole) == table(part) and len(table(whole)) == 10


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--method", "bayes"], "unknown method 'bayes'; choose one of random, halton, ce, de, "),
        (["--budget", "0"], "--budget 0: must be at least 1"),
        (["--wave", "1"], "--wave 1: must be at least 2"),
        (["--agent", "acc_typo"], "no agent named 'acc_typo'"),
        (["--objective", "preventable"], "--objective preventable needs --reference SPEC"),
        (["--objective", "fastest"], "unknown objective 'fastest'"),
    ],
)
def test_bad_search_arguments_are_one_line_before_anything_runs(tmp_path, flags, message):
    out = tmp_path / "out"
    r = pground("search", _suite(tmp_path, LEAD_RANGES), *flags, "--out", out)
    assert r.returncode in (2, 3) and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()


def test_failure_modes_group_by_what_failed_how_it_ended_and_where(tmp_path):
    """Hand-made failures: two collision regions far apart and one near miss are three
    modes; each representative is the member nearest the scenario's own values
    (time_gap 1.6 s, lead_decel 6 m/s^2: (0.667, 0.429) in the unit square)."""
    from sim.runner.search import Candidate, SearchResult, failure_modes
    from sim.runner.suite import Job

    space = search_space(_suite(tmp_path, LEAD_RANGES))
    collision = {
        "criteria": [{"requirement": "R157-5.1.1", "passed": False}],
        "status": "terminated",
        "reason": "collision at 8.15 s (ego, lead)",
    }
    near = {
        "criteria": [{"metric": "min_distance_m", "passed": False}],
        "status": "truncated",
        "reason": "duration 15 s reached",
    }
    cases = [
        ((0.90, 0.90), collision),
        ((0.80, 0.95), collision),
        ((0.70, 0.70), collision),  # within 0.25 of (0.90, 0.90) in both coordinates
        ((0.10, 0.90), collision),
        ((0.60, 0.50), near),
    ]
    cands = []
    for k, (u, row) in enumerate(cases):
        job = Job(f"c{k}", "lead", space.path, {}, 1, space.file_sha256)
        c = Candidate(k, 0, list(u), space.params(np.array(u)), job, -1.0, "fail", row)
        cands.append(c)
    modes = failure_modes(SearchResult(space, "ce", 0, cands, tmp_path))
    got = sorted((m["failed"], m["ended"], m["runs"], m["representative"]) for m in modes)
    assert got == [
        ("R157-5.1.1", "terminated: collision", 1, "c3"),
        ("R157-5.1.1", "terminated: collision", 3, "c2"),
        ("min_distance_m", "truncated", 1, "c4"),
    ]
    big = next(m for m in modes if m["runs"] == 3)
    lo = space.dims[0].low + 0.70 * (space.dims[0].high - space.dims[0].low)
    assert big["extent"]["time_gap"][0] == pytest.approx(lo)


@pytest.mark.slow  # 16 s
def test_preventable_search_counts_only_failures_the_reference_avoids(tmp_path):
    """With the R157 careful driver as reference, a failure where the driver fails too (the
    hardest braking at short gaps) steers nothing and is no counterexample; one it passes
    is."""
    suite = _suite(tmp_path, LEAD_RANGES)
    out = tmp_path / "p"
    flags = ["--agent", SUT, "--reference", "r157-driver", "--objective", "preventable"]
    r = pground("search", suite, *flags, "--budget", "20", "--seed", "1", "--out", out,
                "--executor", "serial", "--no-progress", timeout=900)  # fmt: skip
    assert r.returncode == 1, r.stderr
    doc = json.loads((out / "search.json").read_text())
    assert doc["search_objective"] == "preventable" and doc["reference"] == "r157-driver"
    both = [c for c in doc["candidates"] if c["verdict"] == "fail"]
    preventable = [c for c in both if c["reference_verdict"] == "pass"]
    assert preventable and len(preventable) < len(both)  # some failures were unavoidable
    assert doc["failures"] == len(preventable)
    assert len(doc["counterexamples"]) == min(len(preventable), 10)
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["counts"]["not_preventable"] == len(both) - len(preventable)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["red-signal", "noncooperative", "crossing"])
def test_search_finds_the_reference_agents_limits_in_every_domain(tmp_path, family):
    """Rail, air and water: 20 cross-entropy runs over the shipped search spaces find where
    the reference agents fail (the ATO at low adhesion downhill, the DAA pilot with a short
    radar, the COLREG pilot on late crossings)."""
    suite = SCENARIOS / "suites" / "search_spaces.yaml"
    out = tmp_path / family
    r = pground("search", suite, "--family", family, "--budget", "20", "--seed", "0",
                "--out", out, "--workers", "2", "--no-progress", timeout=1800)  # fmt: skip
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr
    doc = json.loads((out / "search.json").read_text())
    assert doc["failures"] >= 1 and doc["counterexamples"]


def test_gaussian_process_leave_one_out_is_the_refit_without_the_point():
    """The closed-form leave-one-out mean and deviation equal a GP refitted on the other
    points (same length scale and standardisation), and the fit interpolates its data."""
    from sim.runner.surrogate import GaussianProcess

    rng = np.random.default_rng(5)
    x = rng.random((25, 3))
    y = np.sin(4 * x[:, 0]) + x[:, 1] ** 2 - 0.5 * x[:, 2]
    gp = GaussianProcess(x, y, 0.4)
    assert np.allclose(gp.predict(x)[0], y, atol=1e-3)
    mean, std = gp.loo()
    for i in (0, 7, 24):
        rest = np.delete(np.arange(25), i)
        other = GaussianProcess(x[rest], y[rest], 0.4)
        # the same standardisation as the full fit, so the refit is comparable
        other.mean0, other.scale = gp.mean0, gp.scale
        other.z = (y[rest] - gp.mean0) / gp.scale
        other._fit(0.4)
        m, s = other.predict(x[i : i + 1])
        assert m[0] == pytest.approx(mean[i], rel=1e-6, abs=1e-9)
        assert s[0] == pytest.approx(std[i], rel=1e-4)


def test_the_boundary_classifier_finds_a_planted_boundary(tmp_path):
    """Verdicts planted by a rule (fail where the second parameter is above 0.6 of its
    range): the classifier's leave-one-out accuracy is high and its map on the grid agrees
    with the rule in at least 90 % of the cells."""
    from sim.runner.search import Candidate, SearchResult, boundary
    from sim.runner.suite import Job

    space = search_space(_suite(tmp_path, LEAD_RANGES))
    rng = np.random.default_rng(11)
    cands = []
    for k, u in enumerate(rng.random((60, 2))):
        fail = bool(u[1] > 0.6)
        job = Job(f"c{k}", "lead", space.path, {}, 1, space.file_sha256)
        row = {"criteria": [], "status": "truncated", "reason": ""}
        margin, verdict = (-0.5, "fail") if fail else (0.5, "pass")
        cands.append(Candidate(k, 0, u.tolist(), space.params(u), job, margin, verdict, row))
    b = boundary(SearchResult(space, "bo", 0, cands, tmp_path))
    assert b is not None and b["accuracy_loo"] >= 0.9 and b["axes"] == ["time_gap", "lead_decel"]
    grid = np.array(b["grid"])
    centre = (np.arange(grid.shape[0]) + 0.5) / grid.shape[0]
    truth = (centre[:, None] > 0.6) & np.ones(grid.shape[1], dtype=bool)[None, :]
    assert (grid.astype(bool) == truth).mean() >= 0.9
    assert boundary(SearchResult(space, "bo", 0, cands[:4], tmp_path)) is None  # too few
