"""Suite variation: grids, coupled sets, samples, constraints, repetitions, errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.runner.suite import load_suite
from sim.runner.variation import Sample, Variation, draw, expand, repetition_seed
from tests.conftest import ROOT

CUT_IN = ROOT / "scenarios" / "road" / "alks_cut_in.yaml"


def V(**kw) -> Variation:
    return Variation.model_validate(kw)


def test_grid_ranges_and_units():
    """20–60 km/h step 10 km/h is five SI values; the full factorial multiplies axes."""
    combos = expand(
        V(
            grid={
                "a": {"range": ["20 km/h", "60 km/h"], "step": "10 km/h"},
                "b": {"values": ["1 s", "2 s", 3]},
            }
        ),
        "x",
    )
    assert len(combos) == 15
    assert sorted({c["a"] for c in combos}) == pytest.approx(
        [20 / 3.6 * k for k in (1, 1.5, 2, 2.5, 3)]
    )
    assert {c["b"] for c in combos} == {1.0, 2.0, 3.0}


@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.integers(1, 4))
def test_factorial_count_is_the_product(sizes, coupled_rows):
    grid = {f"p{i}": {"values": list(range(n))} for i, n in enumerate(sizes)}
    coupled = [{"names": ["c1", "c2"], "values": [[k, -k] for k in range(coupled_rows)]}]
    combos = expand(V(grid=grid, coupled=coupled), "x")
    assert len(combos) == math.prod(sizes) * coupled_rows
    assert all(c["c2"] == -c["c1"] for c in combos)  # coupled values stay together
    assert len({tuple(sorted(c.items())) for c in combos}) == len(combos)


@given(st.integers(0, 10), st.integers(0, 10))
def test_constraints_keep_exactly_the_satisfying_combinations(lo, hi):
    combos = expand(
        V(grid={"a": {"values": list(range(11))}}, constraints=[f"a >= {lo}", f"a <= {hi}"]), "x"
    )
    assert [c["a"] for c in combos] == [float(a) for a in range(lo, hi + 1)]


@pytest.mark.parametrize("method", ["random", "lhs", "sobol", "halton"])
@given(n=st.integers(1, 70), seed=st.integers(0, 1000))
def test_samples_respect_their_distributions(method, n, seed):
    """n points, inside uniform bounds and truncation limits, the same for the same seed."""
    sample = Sample.model_validate(
        {
            "n": n,
            "method": method,
            "seed": seed,
            "parameters": {
                "u": {"uniform": ["10 m", "20 m"]},
                "g": {"normal": {"mean": 0, "std": 1, "min": -0.5, "max": 2}},
                "k": {"choice": {"car": 1, "truck": 0}},
                "l": {"lognormal": {"mu": 0, "sigma": 0.5}},
            },
        }
    )
    pts = draw(sample, "x")
    assert len(pts) == n and pts == draw(sample, "x")
    assert all(10 <= p["u"] <= 20 and -0.5 <= p["g"] <= 2 and p["l"] > 0 for p in pts)
    assert {p["k"] for p in pts} == {"car"}


def test_latin_hypercube_stratifies():
    """LHS puts exactly one of n points in each of n equal strata of every dimension."""
    pts = draw(
        Sample.model_validate({"n": 10, "method": "lhs", "parameters": {"u": {"uniform": [0, 1]}}}),
        "x",
    )
    assert sorted(int(p["u"] * 10) for p in pts) == list(range(10))


def test_repetition_seeds():
    assert repetition_seed(7, 0) == 7
    seeds = {repetition_seed(7, r) for r in range(100)}
    assert len(seeds) == 100


def test_suite_expansion_and_errors(tmp_path):
    """A suite's entries expand to named jobs; unknown parameters are named with a hint."""
    suite = tmp_path / "s.yaml"
    suite.write_text(f"""name: t
scenarios:
  - path: {CUT_IN}
    name: ci
    grid: {{ego_speed: {{values: [40 km/h, 60 km/h]}}}}
    repetitions: 2
""")
    jobs = load_suite(suite).entries
    assert [j.name for j in jobs] == ["ci-00000-r0", "ci-00000-r1", "ci-00001-r0", "ci-00001-r1"]
    assert jobs[0].seed == 1 and jobs[1].seed != 1 and len({j.id for j in jobs}) == 4
    suite.write_text(
        f"name: t\nscenarios:\n  - path: {CUT_IN}\n    grid: {{ego_sped: {{values: [1]}}}}\n"
    )
    with pytest.raises(
        ScenarioError,
        match=r"no parameter 'ego_sped'\. Did you mean "
        r"'ego_speed'\?",
    ):
        load_suite(suite)
    suite.write_text(
        f"name: t\nscenarios:\n  - path: {CUT_IN}\n    grid: "
        "{ego_speed: {values: [1]}}\n    constraints: ['ego_speed > 5']\n"
    )
    with pytest.raises(ScenarioError, match="the constraints leave no run"):
        load_suite(suite)


def test_shipped_cut_in_sweep_keeps_forward_moving_cutters_the_reference_passes():
    """The shipped sweep keeps forward-moving cutters (540 grid points) that the R157
    careful driver passes (tests/test_outcomes.py checks the outcomes themselves)."""
    jobs = load_suite(ROOT / "scenarios" / "suites" / "alks_cut_in.yaml").entries
    assert 400 <= len(jobs) < 540
    for j in jobs:
        p = j.overrides
        assert p["ego_speed"] + p["delta_v"] > 0


def test_sampled_subset_is_stable():
    suite = load_suite(ROOT / "scenarios" / "suites" / "alks_cut_in.yaml")
    a = [j.id for j in suite.sample(20, 3).entries]
    assert a == [j.id for j in suite.sample(20, 3).entries]
    assert a != [j.id for j in suite.sample(20, 4).entries]


def test_readme_suite_example_is_valid(tmp_path):
    """The suite example in the README loads and expands as described."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```yaml\nschema_version: 1\nname: demo")[1].split("```")[0]
    road = ROOT / "scenarios" / "road"
    suite = tmp_path / "demo.yaml"
    suite.write_text(("schema_version: 1\nname: demo" + block).replace("../road/", f"{road}/"))
    jobs = load_suite(suite).entries
    cut = [j for j in jobs if j.family == "cut-in"]
    assert len(cut) == 3 * 2 * 8 * 2  # delta_v x coupled x samples x repetitions
    assert {j.family for j in jobs} == {
        "ncap_ccrb",
        "ncap_ccrm",
        "ncap_ccrs",
        "ccrb-6-12",
        "cut-in",
    }
