"""`pground estimate` (issue 22): failure probability over a declared operating distribution.

Truths are closed forms written from the definitions (Φ of a reliability index; a stopping
distance v²/(2a) against a gap, all log-normal), never from the code under test. Each
method's 95 % interval must cover the truth in >= 90 of 100 seeds and its mean must be
within its own stated error."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from sim.errors import ScenarioError, UsageError
from sim.runner import rare
from sim.runner.estimate import operating_distribution, run_estimate
from tests.conftest import SCENARIOS, pground

LEAD = SCENARIOS / "road" / "alks_lead_brake.yaml"
OPERATING = SCENARIOS / "suites" / "operating.yaml"


def _linear(beta: float, d: int = 2) -> rare.Evaluate:
    a = np.ones(d) / math.sqrt(d)

    def ev(z: np.ndarray, tags: list) -> tuple[np.ndarray, rare.Events]:
        g = beta - z @ a
        return g, {"fail": g < 0}

    return ev


def _coverage(method: str, ev: rare.Evaluate, truth: float, d: int, **kw) -> tuple[int, float]:
    cover, ests, rels = 0, [], []
    for seed in range(100):
        est = rare.drive(rare.make(method, d, seed, **kw), ev).estimates()["fail"]
        cover += est.low <= truth <= est.high
        ests.append(est.p)
        rels.append(est.rel_error)
    return cover, float(np.mean(ests))


@pytest.mark.parametrize(
    ("method", "beta", "kw"),
    [
        ("mc", 2.326, {"budget": 20_000, "wave": 500}),  # p = 0.01
        ("is", 3.090, {"budget": 20_000, "level_size": 500}),  # p = 1e-3
        ("is", 3.719, {"budget": 20_000, "level_size": 500}),  # p = 1e-4
        pytest.param("ss", 3.090, {"budget": 60_000, "level_size": 1000}, marks=pytest.mark.slow),
    ],
)
def test_interval_covers_a_linear_limit_state_in_90_of_100_seeds(method, beta, kw):
    """g(z) = β − (z1 + z2)/√2 fails with probability Φ(−β) exactly."""
    truth = float(norm.sf(beta))
    cover, mean = _coverage(method, _linear(beta), truth, 2, target=0.2, **kw)
    assert cover >= 90, f"{method}: {cover} of 100 intervals cover {truth:.3g}"
    # unbiased within the stated error: the mean of 100 estimates at ~20 % each is within
    # 3 standard errors (3 × 0.2/√100 = 6 %, with room for the ~5 % small-sample bias of SS)
    assert abs(mean / truth - 1) < 0.1, f"{method}: mean {mean:.4g} vs {truth:.4g}"


def test_importance_sampling_keeps_two_failure_modes():
    """Two separate modes (z1 > 3.09 or z2 < −3.4, in 3-D): P = Φ(−3.09) + Φ(−3.4). One
    Gaussian fitted to both sat between them (66 of 100 intervals covered the truth)."""

    def two(z: np.ndarray, tags: list) -> tuple[np.ndarray, rare.Events]:
        g = np.minimum(3.09 - z[:, 0], 3.4 + z[:, 1])
        return g, {"fail": g < 0}

    truth = float(norm.sf(3.09) + norm.sf(3.4))
    cover, mean = _coverage("is", two, truth, 3, budget=20_000, level_size=300, target=0.2)
    assert cover >= 90 and abs(mean / truth - 1) < 0.1, (cover, mean / truth)


@pytest.mark.slow
def test_subset_simulation_covers_p_1e4_and_a_series_system():
    """SS at p = 1e-4, and a two-mode series system P = 1 − (1 − Φ(−β))² (a single Gaussian
    proposal cannot hold two modes: importance sampling is not held to it)."""
    truth = float(norm.sf(3.719))
    cover, _ = _coverage("ss", _linear(3.719), truth, 2, budget=60_000, level_size=1000, target=0.2)
    assert cover >= 90

    def series(z: np.ndarray, tags: list) -> tuple[np.ndarray, rare.Events]:
        g = np.minimum(3.09 - z[:, 0], 3.09 - z[:, 1])
        return g, {"fail": g < 0}

    truth = 1 - (1 - float(norm.sf(3.09))) ** 2
    cover, _ = _coverage("ss", series, truth, 2, budget=60_000, level_size=1000, target=0.2)
    assert cover >= 90


STOP_SUITE = """name: stopping
scenarios:
  - path: {lead}
    name: stop
    sample:
      n: 10
      parameters:
        ego_speed: {{lognormal: {{mu: 2.5, sigma: 0.2}}, source: test}}
        lead_decel: {{lognormal: {{mu: 1.6, sigma: 0.25}}, source: test}}
        time_gap: {{lognormal: {{mu: 4.5, sigma: 0.3}}, source: "test: used as a gap in m"}}
"""


def _stopping(points):
    """A closed-form system: it stops in v²/(2a) and fails when that exceeds the gap."""
    for p in points:
        v, a, gap = p.params["ego_speed"], p.params["lead_decel"], p.params["time_gap"]
        margin = gap - v * v / (2 * a)
        p.verdict = "fail" if margin < 0 else "pass"
        p.g = margin / 10.0


@pytest.mark.parametrize("method", ["is", pytest.param("ss", marks=pytest.mark.slow)])
def test_road_stopping_problem_matches_its_closed_form(tmp_path, method):
    """ln D − 2 ln v + ln 2 + ln a is normal, so P(D < v²/2a) = Φ(−m/s) with
    m = μ_D − 2μ_v + ln 2 + μ_a, s² = σ_D² + 4σ_v² + σ_a². Through the suite's own
    distribution map (z → parameters), not through the estimator's coordinates."""
    suite = tmp_path / "stop.yaml"
    suite.write_text(STOP_SUITE.format(lead=LEAD))
    m = 4.5 - 2 * 2.5 + math.log(2) + 1.6
    s = math.sqrt(0.3**2 + 4 * 0.2**2 + 0.25**2)
    truth = float(norm.cdf(-m / s))
    assert 1e-4 < truth < 1e-2
    covered = 0
    for seed in range(30):
        res = run_estimate(
            suite,
            tmp_path / f"o{seed}",
            method=method,
            budget=20_000,
            seed=seed,
            campaign=lambda *a, **k: None,
            evaluate=_stopping,
        )
        e = res.estimator.estimates()["fail"]
        covered += e.low <= truth <= e.high
    assert covered >= 25  # 95 % intervals: >= 25 of 30 is far from chance at 90 %


def test_copula_couples_normal_scores_and_each_parameter_keeps_its_distribution(tmp_path):
    suite = tmp_path / "c.yaml"
    suite.write_text(
        f"""name: c
scenarios:
  - path: {LEAD}
    sample:
      n: 4000
      parameters:
        ego_speed: {{uniform: [10 km/h, 60 km/h], source: a}}
        time_gap: {{lognormal: {{mu: 0.4, sigma: 0.25}}, source: b}}
      copula: {{names: [ego_speed, time_gap], correlation: [[1, 0.6], [0.6, 1]], source: c}}
"""
    )
    dist = operating_distribution(suite)
    z = np.random.default_rng(1).standard_normal((20_000, 2))
    ps = dist.params(z)
    v = np.array([p["ego_speed"] for p in ps])
    g = np.array([p["time_gap"] for p in ps])
    scores = np.corrcoef(norm.ppf((v - 10 / 3.6) / (50 / 3.6)), (np.log(g) - 0.4) / 0.25)[0, 1]
    assert scores == pytest.approx(0.6, abs=0.02)
    assert np.mean(v) == pytest.approx(35 / 3.6, rel=0.01)  # still uniform
    assert np.median(g) == pytest.approx(math.exp(0.4), rel=0.01)  # still log-normal
    # `pground suite` draws through the same copula
    from sim.runner.suite import load_suite

    jobs = load_suite(suite).entries
    v2 = np.array([j.overrides["ego_speed"] for j in jobs])
    g2 = np.array([j.overrides["time_gap"] for j in jobs])
    r2 = np.corrcoef(norm.ppf((v2 - 10 / 3.6) / (50 / 3.6)), (np.log(g2) - 0.4) / 0.25)[0, 1]
    assert r2 == pytest.approx(0.6, abs=0.05)


def test_empirical_table_is_its_step_quantile_and_a_bad_row_names_file_and_line(tmp_path):
    (tmp_path / "gaps.csv").write_text("gap,w\n2.0,1\n1.0,1\n3.0,2\n")
    suite = tmp_path / "e.yaml"
    suite.write_text(
        f"""name: e
scenarios:
  - path: {LEAD}
    sample:
      n: 10
      parameters:
        time_gap: {{empirical: {{file: gaps.csv, column: gap, weight: w, unit: s}}, source: obs}}
"""
    )
    dist = operating_distribution(suite)
    # weights 1, 1, 2 over the sorted values 1, 2, 3: CDF 0.25, 0.5, 1
    z = norm.ppf(np.array([[0.1], [0.3], [0.6], [0.99]]))
    assert [p["time_gap"] for p in dist.params(z)] == [1.0, 2.0, 3.0, 3.0]
    (tmp_path / "gaps.csv").write_text("gap,w\n2.0,1\nfast,1\n")
    with pytest.raises(ScenarioError, match=r"gaps.csv:3: gap is not a number"):
        operating_distribution(suite)


def _estimate(out, *args):
    """`pground estimate` of operating.yaml's lead-brake family with idm-acc into ``out``."""
    common = ["--family", "lead-brake", "--agent", "idm-acc", "--no-progress"]
    return pground("estimate", str(OPERATING), *common, "--out", str(out), *args, timeout=600)


def _run(tmp_path, out, *extra, budget="60"):
    return _estimate(
        out, "--method", "is", "--level-size", "20", "--wave", "20", "--budget", budget, *extra
    )


def _record(folder):
    doc = json.loads((folder / "estimate.json").read_text())
    return doc["result"]["events"], [
        (p["z"], p["seed"], p["verdict"], p["g"]) for p in doc["points"]
    ]


def test_a_small_estimate_end_to_end_replays_and_reports(tmp_path):
    r = _estimate(
        tmp_path / "o", "--method", "mc", "--budget", "12", "--wave", "6", "--max-rate", "0.1"
    )
    # 12 runs cannot show a rate below 0.1: the exact upper bound is >= 1 - 0.025^(1/12)
    assert r.returncode == 1 and "not shown to be below 0.1" in r.stdout, r.stdout
    doc = json.loads((tmp_path / "o" / "estimate.json").read_text())
    assert len(doc["points"]) == 12 and doc["result"]["interval"].startswith("Clopper")
    v = pground("verify", str(tmp_path / "o"), "--recompute")
    assert v.returncode == 0 and "replayed" in v.stdout, v.stdout
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["estimate"]["method"] == "mc" and "points" not in report["estimate"]


@pytest.mark.slow
def test_same_seed_same_estimate_on_1_or_2_workers_and_after_an_interrupt(tmp_path):
    a = _run(tmp_path, tmp_path / "a", "--workers", "1")
    assert a.returncode == 0, a.stderr
    b = _run(tmp_path, tmp_path / "b", "--workers", "2")
    assert b.returncode == 0, b.stderr
    assert _record(tmp_path / "a") == _record(tmp_path / "b")
    # interrupted after its second wave (the stored runs stay), then resumed
    from sim.runner.campaign import run_campaign

    calls = []

    def campaign(suite, *, resume, force):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return run_campaign(
            suite, tmp_path / "c", resume=resume, force=force, workers=2, progress=False
        )

    with pytest.raises(KeyboardInterrupt):
        run_estimate(
            OPERATING,
            tmp_path / "c",
            family="lead-brake",
            agent="idm-acc",
            method="is",
            level_size=20,
            wave=20,
            budget=60,
            campaign=campaign,
        )
    assert not (tmp_path / "c" / "estimate.json").exists()
    c = _run(tmp_path, tmp_path / "c", "--resume")
    assert c.returncode == 0, c.stderr
    assert _record(tmp_path / "a") == _record(tmp_path / "c")
    # the record replays, and a changed weight is caught
    v = pground("verify", str(tmp_path / "a"), "--recompute")
    assert v.returncode == 0 and "replayed" in v.stdout, v.stdout
    doc = json.loads((tmp_path / "a" / "estimate.json").read_text())
    last = next(p for p in reversed(doc["points"]) if "log_weight" in p)
    last["log_weight"] += 0.5
    (tmp_path / "a" / "estimate.json").write_text(json.dumps(doc))
    v = pground("verify", str(tmp_path / "a"), "--recompute")
    assert v.returncode == 1 and f"point {last['index']}: its weight differs" in v.stdout
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["estimate"]["method"] == "is" and report["summary"]["pass_rate"] is None
    assert (
        "Estimated failure rate over the operating domain"
        in (tmp_path / "b" / "report.html").read_text()
    )


@pytest.mark.parametrize(
    ("body", "args", "message"),
    [
        (
            "    grid:\n      time_gap: {range: [1 s, 2 s], step: 0.5 s}\n",
            [],
            r"s\.yaml:6: scenarios\[0\]\.grid\.time_gap: a grid axis is a test matrix",
        ),
        (
            "    coupled:\n      - names: [ego_speed, time_gap]\n"
            "        values: [[20, 1], [30, 2]]\n",
            [],
            r"s\.yaml:6: scenarios\[0\]\.coupled\[0\]: a coupled set needs weights",
        ),
        (
            "    sample: {n: 5, parameters: {time_gap: {uniform: [1 s, 2 s], source: x}}}\n",
            ["--method", "ss", "--budget", "1000"],
            r"--budget 1000 is below the 1900 runs subset simulation needs to reach its first",
        ),
        (
            "    sample: {n: 5, parameters: {time_gap: {uniform: [1 s, 2 s], source: x}}}\n",
            ["--method", "is", "--budget", "300"],
            r"--budget 300 is below the 400 runs importance sampling needs",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_before_anything_runs(tmp_path, body, args, message):
    import re

    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: s\nscenarios:\n  - path: {LEAD}\n    name: x\n{body}")
    r = pground("estimate", str(suite), "--out", str(tmp_path / "o"), *args)
    assert r.returncode == 2, r.stderr
    assert re.search(message, r.stderr), r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_distribution_without_a_source_is_warned_about(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        f"name: s\nscenarios:\n  - path: {LEAD}\n    sample: {{n: 5, parameters: "
        "{time_gap: {uniform: [1 s, 2 s]}}}\n"
    )

    def system(points):
        for p in points:
            p.verdict, p.g = "pass", 1.0

    res = run_estimate(
        suite,
        tmp_path / "o",
        method="mc",
        budget=50,
        wave=50,
        campaign=lambda *a, **k: None,
        evaluate=system,
    )
    assert any(
        "no source stated for the distribution of time_gap" in w for w in res.estimator.warnings
    )
    e = res.estimator.estimates()["fail"]
    assert e.p == 0 and e.high == pytest.approx(1 - 0.025 ** (1 / 50))  # Clopper-Pearson


def test_unknown_method_and_bad_numbers_are_usage_errors():
    for kw in ({"method": "x"}, {"budget": 0}, {"target": 1.5}, {"confidence": 1.0}):
        args = {
            "method": "mc",
            "budget": 10,
            "target": 0.2,
            "confidence": 0.95,
            "wave": 10,
            "level_size": None,
            **kw,
        }
        from sim.runner.estimate import check_estimate_args

        with pytest.raises(UsageError):
            check_estimate_args(**args)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "agent"),
    [
        ("red-signal", "supervised-ato"),
        ("encounter", "late-daa-pilot"),
        ("crossing-cpa", "small-turn-colreg"),
        ("cut-in", "idm-acc"),
    ],
)
def test_every_domain_has_an_operating_distribution_that_estimates(tmp_path, family, agent):
    r = pground(
        "estimate",
        str(OPERATING),
        "--family",
        family,
        "--agent",
        agent,
        "--method",
        "mc",
        "--budget",
        "40",
        "--wave",
        "20",
        "--out",
        str(tmp_path / "o"),
        "--no-progress",
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "o" / "estimate.json").read_text())
    assert doc["result"]["runs"] == sum(p["job_id"] is not None for p in doc["points"])
    assert all(m["source"] for m in doc["distribution"])


@pytest.mark.slow
def test_reference_reruns_only_the_failures_and_estimates_the_preventable_share(tmp_path):
    suite = tmp_path / "harsh.yaml"
    suite.write_text(
        f"name: harsh\nscenarios:\n  - path: {LEAD}\n    sample:\n      n: 5\n"
        "      parameters:\n        lead_decel: {uniform: [6 m/s^2, 10 m/s^2], source: t}\n"
        "        time_gap: {uniform: [0.8 s, 1.4 s], source: t}\n"
    )
    args = ["--agent", "late-braking-acc", "--reference", "r157-driver", "--method", "mc"]
    args += ["--budget", "30", "--wave", "15", "--out", str(tmp_path / "o"), "--no-progress"]
    r = pground("estimate", str(suite), *args, timeout=900)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "o" / "estimate.json").read_text())
    fails = [p for p in doc["points"] if p["verdict"] == "fail"]
    assert fails, "late-braking-acc fails often enough here to exercise the reference"
    assert all(p["reference_verdict"] in ("pass", "fail") for p in fails)
    assert all(p["reference_verdict"] is None for p in doc["points"] if p["verdict"] != "fail")
    ev = doc["result"]["events"]
    assert doc["result"]["reference_runs"] == len(fails)
    prevent = sum(p["reference_verdict"] == "pass" for p in fails)
    n = len(doc["points"])  # Monte Carlo stops once the target error is reached
    assert ev["fail"]["p"] == len(fails) / n and ev["preventable"]["p"] == prevent / n
