"""Scenarios checked before they run, and runs that cannot judge the system are 'invalid'."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from sim.errors import CLASSES, ScenarioError
from sim.runner.campaign import run_campaign
from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from tests.conftest import MINIMAL, SCENARIOS

#: every class at 0: campaign counts list all five (sim.errors.CLASSES)
NONE = dict.fromkeys(CLASSES, 0)

LEAD = "  - id: lead\n    domain: road\n    road: r\n    s: {s}\n    speed: 20 m/s\n"
BRAKE = (
    "    behaviour: {{type: scripted}}\n    manoeuvres:\n      - when: {{at_time: {t}}}\n"
    "        brake: {{deceleration: 4 m/s^2}}\n"
)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=120
    )


def test_entities_overlapping_at_the_start_are_refused_with_file_line_and_field(write_yaml):
    """A lead on top of the ego is the file's error: one line, file:line, exit 2."""
    path = write_yaml(MINIMAL + LEAD.format(s="12 m") + BRAKE.format(t="1 s"))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert re.match(
        rf"{re.escape(str(path))}:\d+: entities\[1\]: 'ego' and 'lead' overlap", str(exc.value)
    )
    res = _cli("validate", str(path))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "overlap at t = 0" in res.stderr
    res = _cli("run", str(path), "--no-save")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_entities_apart_by_a_hair_are_accepted(write_yaml):
    """Boxes 4.5 m long, centres 4.6 m apart: no contact, the file loads."""
    load_scenario(write_yaml(MINIMAL + LEAD.format(s="14.6 m") + BRAKE.format(t="1 s")))


def test_a_criterion_on_a_metric_no_domain_of_the_scenario_produces_is_refused(write_yaml):
    text = MINIMAL + "criteria:\n  - {metric: min_cpa_m, op: '>', value: 100}\n"
    with pytest.raises(
        ScenarioError,
        match=r":\d+: criteria\[0\]\.metric: 'min_cpa_m' is "
        r"computed for water entities; this scenario has road",
    ):
        load_scenario(write_yaml(text))


def test_a_time_trigger_after_the_end_warns_and_the_run_is_invalid(write_yaml):
    """The stimulus can never happen: validate warns (exit 0), the run is 'invalid', exit 2,
    never a pass."""
    path = write_yaml(
        MINIMAL
        + LEAD.format(s="80 m")
        + BRAKE.format(t="9 s")
        + "criteria:\n  - {metric: collisions, op: '==', value: 0}\n"
    )
    lo = load_scenario(path)
    assert len(lo.warnings) == 1
    assert re.match(
        r".*:\d+: entities\[1\]\.manoeuvres\[0\]\.when\.at_time: the run ends at 5 s",
        lo.warnings[0],
    )
    res = _cli("validate", str(path))
    assert res.returncode == 0 and "warning:" in res.stderr
    out = run_loaded(lo)
    assert out.verdict == "invalid" and out.exit_code == 2
    assert "manoeuvre(s) of 'lead' never triggered" in out.invalid_reason
    res = _cli("run", str(path), "--no-save")
    assert res.returncode == 2 and "INVALID" in res.stdout


def test_the_same_scenario_with_its_stimulus_in_time_is_judged(write_yaml):
    path = write_yaml(
        MINIMAL
        + LEAD.format(s="80 m")
        + BRAKE.format(t="1 s")
        + "criteria:\n  - {metric: collisions, op: '==', value: 0}\n"
    )
    out = run_loaded(load_scenario(path))
    assert out.verdict == "pass" and not out.invalid_reason


def test_a_failure_stands_although_its_stimulus_never_came(write_yaml):
    """A controller that stops so early that the cut-in never happens fails its mission; it
    is not excused as 'invalid'."""
    out = run_loaded(load_scenario(SCENARIOS / "road" / "alks_cut_in.yaml"), agent="stop")
    assert out.verdict == "fail"
    assert not [e for e in out.result.events if e.kind == "manoeuvre"]


def test_a_scheduled_fault_that_never_starts_makes_a_passing_run_invalid(write_yaml):
    path = write_yaml(
        MINIMAL + "faults:\n  - {id: late, kind: sensor_dropout, entity: ego, sensor: radar, "
        "when: {event: collision}}\nsensors:\n  ego:\n    - {type: radar}\n"
    )
    out = run_loaded(load_scenario(path))
    assert out.verdict == "invalid" and "fault 'late' never started" in out.invalid_reason


def test_a_sweep_point_that_starts_in_contact_is_invalid_not_a_failure(tmp_path):
    """In a campaign, a combination that places two entities on top of each other is the
    suite's problem: 'invalid', with the reason, never counted against the system."""
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: contact\nscenarios:\n"
        f"  - path: {SCENARIOS / 'road' / 'alks_lead_brake.yaml'}\n"
        "    grid:\n      time_gap: {values: [0 s, 1.6 s]}\n"
    )
    quiet = Console(file=io.StringIO())
    s = run_campaign(
        load_suite(suite),
        tmp_path / "c",
        executor="serial",
        keep_logs="none",
        console=quiet,
        progress=False,
    )
    assert s.counts == {**NONE, "invalid": 1, "pass": 1}


@settings(max_examples=12, deadline=None)
@given(times=st.lists(st.sampled_from([0.5, 1.5, 2.5, 4.0, 6.0, 9.0]), min_size=1, max_size=3))
def test_a_run_is_invalid_exactly_when_a_declared_manoeuvre_never_fires(tmp_path_factory, times):
    """Manoeuvres at the given times on a 5 s run: 'invalid' iff one lies at or after 5 s
    (nothing else can fail here), and the reason counts the ones that never fired."""
    lead = (
        LEAD.format(s="200 m")
        + "    behaviour: {type: scripted}\n    manoeuvres:\n"
        + "".join(
            f"      - when: {{at_time: {t} s}}\n        speed: {{target: {10 + i} m/s}}\n"
            for i, t in enumerate(times)
        )
    )
    path = tmp_path_factory.mktemp("v") / "s.yaml"
    path.write_text(MINIMAL + lead + "criteria:\n  - {metric: collisions, op: '==', value: 0}\n")
    out = run_loaded(load_scenario(path))
    late = sum(t >= 5.0 for t in times)
    assert out.verdict == ("invalid" if late else "pass")
    if late:
        assert (
            f"{late} of {len(times)} manoeuvre(s) of 'lead' never triggered" in out.invalid_reason
        )


def test_a_run_that_starts_inside_an_air_separation_minimum_is_invalid():
    """Intruder 5 s from the closest approach at the start: already inside the 4000 ft
    minimum, so the encounter the scenario means to test never starts: 'invalid'."""
    lo = load_scenario(SCENARIOS / "air" / "crossing_left.yaml", {"t_cpa": 5})
    out = run_loaded(lo)
    assert out.verdict == "invalid" and "loss of separation at t = 0" in out.invalid_reason
    assert run_loaded(load_scenario(SCENARIOS / "air" / "crossing_left.yaml")).verdict == "pass"
