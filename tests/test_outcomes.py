"""One definition of preventable: the cut-in sweep is the set of points the R157 reference
driver itself passes, from outcomes committed beside the suite and refused when stale."""

from __future__ import annotations

import json
import shutil

import pytest

from sim.errors import ScenarioError
from sim.runner.outcomes import _outcome, point_key
from sim.runner.suite import load_suite, reference_points
from tests.conftest import SCENARIOS

SUITE = SCENARIOS / "suites" / "alks_cut_in.yaml"
OUTCOMES = SCENARIOS / "suites" / "alks_cut_in.r157.json"


def _stored() -> dict:
    return json.loads(OUTCOMES.read_text())["outcomes"]


def test_the_shipped_sweep_is_what_the_reference_passes():
    """The committed outcomes are current (else loading refuses them) and the suite keeps
    exactly the points whose stored reference verdict is 'pass'."""
    suite = load_suite(SUITE)
    ((spec, _, candidates),) = reference_points(SUITE)
    assert spec.agent == "r157-driver" and len(candidates) == 540
    passed = {k for k, o in _stored().items() if o["verdict"] == "pass"}
    assert {point_key(j.overrides, j.seed) for j in suite.entries} == passed
    assert 400 <= len(suite.entries) < 540


def test_a_stale_outcomes_file_is_refused_with_the_command_that_rebuilds_it(tmp_path):
    (tmp_path / "suites").mkdir()
    (tmp_path / "road").mkdir()
    shutil.copy(SUITE, tmp_path / "suites" / SUITE.name)
    shutil.copy(OUTCOMES, tmp_path / "suites" / OUTCOMES.name)
    scenario = tmp_path / "road" / "alks_cut_in.yaml"
    shutil.copy(SCENARIOS / "road" / "alks_cut_in.yaml", scenario)
    load_suite(tmp_path / "suites" / SUITE.name)  # an identical copy is current
    scenario.write_text(scenario.read_text().replace("duration: 20 s", "duration: 21 s"))
    with pytest.raises(
        ScenarioError,
        match=r"alks_cut_in\.yaml changed since.*pground "
        r"reference-outcomes",
    ):
        load_suite(tmp_path / "suites" / SUITE.name)
    (tmp_path / "suites" / OUTCOMES.name).unlink()
    with pytest.raises(ScenarioError, match=r"avoidable_by\.outcomes: no file"):
        load_suite(tmp_path / "suites" / SUITE.name)


@pytest.mark.parametrize("k", [0, 137, 274, 411, 539])
def test_sampled_points_agree_with_a_fresh_reference_run(k):
    """A few points, re-run now, give the stored outcome (the full grid runs in the slow set)."""
    ((spec, file, candidates),) = reference_points(SUITE)
    job = candidates[k]
    key, now = _outcome((str(file), job.overrides, job.seed, spec.agent))
    assert now == _stored()[key]


@pytest.mark.slow
def test_the_reference_and_the_sweep_agree_on_every_point_of_the_grid():
    """All 540 forward-moving points of the OSC-ALKS 4.4_1 grid, re-run: no disagreement."""
    from concurrent.futures import ProcessPoolExecutor

    ((spec, file, candidates),) = reference_points(SUITE)
    stored = _stored()
    jobs = [(str(file), j.overrides, j.seed, spec.agent) for j in candidates]
    with ProcessPoolExecutor(2) as ex:
        fresh = dict(ex.map(_outcome, jobs, chunksize=8))
    differ = [k for k in stored if fresh.get(k) != stored[k]]
    assert len(fresh) == len(stored) == 540 and not differ, differ[:5]


def test_the_agent_stamp_covers_the_modules_the_agent_imports():
    """A change to the control laws in agents/road/control.py makes the outcomes stale too."""
    from sim.runner.outcomes import agent_sources

    names = [n for n, _ in agent_sources("r157-driver")]
    assert "agents.road.reference_driver" in names and "agents.road.control" in names
    assert all(n.startswith("agents.") for n in names)
