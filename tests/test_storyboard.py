"""Scripted road stimuli that OpenSCENARIO needs, in our own format, against closed forms:
lane offsets (sinusoidal, peak lateral acceleration), ``after`` triggers with delays, lane
changes counted from another entity's lane, speeds relative to another's, a scripted end of
the run, and an agent that takes over at ``control_from``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.runner.run import run_loaded
from sim.scenario import load_scenario

HEAD = """\
schema_version: 1
id: story
name: story
description: scripted stimuli
dt: 0.05 s
duration: {duration} s
seed: 1
map:
  road:
    roads: [{{id: r, geometry: [{{line: 3000 m}}], lanes: 3, lane_width: 3.5 m}}]
entities:
  - {{id: ego, domain: road, road: r, lane: 0, s: 10 m, speed: 20 m/s, agent: {agent}{extra}}}
"""
DT = 0.05


def run(write_yaml, body: str, *, duration: float = 30, agent: str = "constant-speed",
        extra: str = ""):  # fmt: skip
    path = write_yaml(HEAD.format(duration=duration, agent=agent, extra=extra) + body)
    return run_loaded(load_scenario(path))


def scripted(entity: str, lane: int, s: float, *manoeuvres: str) -> str:
    """A scripted vehicle at 20 m/s on road r, with these manoeuvres (flow mappings)."""
    head = [f"  - id: {entity}", "    domain: road", "    road: r", f"    lane: {lane}",
            f"    s: {s} m", "    speed: 20 m/s", "    behaviour: {type: scripted}",
            "    manoeuvres:"]  # fmt: skip
    return "\n".join(head + [f"      - {m}" for m in manoeuvres]) + "\n"


def series(out, entity: str, name: str) -> np.ndarray:
    ids = list(out.result.log.meta["domains"]["road"]["ids"])
    return out.result.log.field("road", name)[:, ids.index(entity)]


def events(out, kind: str) -> list:
    return [e for e in out.result.events if e.kind == kind]


def test_lane_offset_is_sinusoidal_with_the_stated_peak_acceleration(write_yaml):
    """Offset Δ with peak lateral acceleration a: T = π·√(Δ/(2a)), y(τ) = Δ(1 − cos πτ)/2;
    the lateral acceleration peaks at a at both ends (OpenSCENARIO LaneOffsetAction)."""
    delta, a = 1.2, 0.8
    swerve = (
        "{id: swerve, when: {at_time: 2 s}, lane_offset: {offset: %s m, max_lateral_accel: %s}}"
    )
    out = run(write_yaml, scripted("lead", 1, 60, swerve % (delta, a)))
    t = series(out, "lead", "t_m") - 3.5
    T = math.pi * math.sqrt(delta / (2 * a))
    time = np.arange(len(t)) * DT
    tau = np.clip((time - 2.0) / T, 0.0, 1.0)
    expect = delta * (1 - np.cos(np.pi * tau)) / 2
    assert np.abs(t - expect).max() < 1e-9
    acc = np.diff(t, 2) / DT**2
    assert abs(np.abs(acc).max() - a) < 0.05 * a
    assert events(out, "manoeuvre")[0].details["id"] == "swerve"


def test_after_trigger_waits_for_the_end_plus_its_delay(write_yaml):
    """B starts `delay` after A ends: A is a 2 m/s² slow-down from 20 to 14 m/s (3 s), so
    B starts at 1 + 3 + 2.5 = 6.5 s; C waits for B's lane change (3.5 m at 1 m/s peak:
    T = π·3.5/2 s)."""
    out = run(write_yaml, scripted(
        "lead", 1, 80,
        "{id: A, when: {at_time: 1 s}, speed: {target: 14 m/s, acceleration: 2}}",
        "{id: B, when: {after: A, delay: 2.5 s}, lane_change: {lanes: 1, lateral_speed: 1}}",
        "{id: C, when: {after: B}, speed: {target: 10 m/s}}",
    ))  # fmt: skip
    started = {e.details["id"]: e.time_s for e in events(out, "manoeuvre")}
    assert started["A"] == pytest.approx(1.0)
    assert started["B"] == pytest.approx(6.5, abs=DT + 1e-9)
    assert started["C"] == pytest.approx(started["B"] + math.pi * 3.5 / 2, abs=DT + 1e-9)
    assert out.verdict in ("pass", "fail")


def test_lane_change_of_another_entity_and_speed_relative_to_it(write_yaml):
    """`lanes: 0, of: ego` goes to the ego's lane; `relative_to: ego` adds to the ego's
    speed when the manoeuvre starts (20 m/s ego: target 20 - 5 = 15 m/s)."""
    out = run(write_yaml, scripted(
        "cutter", 2, 100,
        "{when: {at_time: 1 s}, lane_change: {lanes: 0, of: ego, lateral_speed: 2}}",
        "{when: {at_time: 1 s}, speed: {target: -5 m/s, relative_to: ego}}",
    ))  # fmt: skip
    assert series(out, "cutter", "t_m")[-1] == pytest.approx(0.0, abs=1e-9)
    assert series(out, "cutter", "speed_mps")[-1] == pytest.approx(15.0)


def test_a_scripted_end_ends_the_run_and_is_no_stimulus(write_yaml):
    """`end` stops the run (terminated) 4 s after A; a run that ends before it fires is
    still valid (the end is not a stimulus)."""
    body = scripted(
        "lead", 1, 80,
        "{id: A, when: {at_time: 1 s}, speed: {target: 18 m/s}}",
        "{when: {after: A, delay: 4 s}, end: true}",
    )  # fmt: skip
    out = run(write_yaml, body)
    assert out.result.status == "terminated"
    # the step to 18 m/s is reached at the end of the tick it starts in (1.05 s)
    (end,) = events(out, "end")
    assert end.time_s == pytest.approx(1.05 + 4.0)
    assert (out.result.log.n_rows - 1) * DT == pytest.approx(end.time_s + DT)
    short = run(write_yaml, body, duration=3)
    assert short.result.status == "truncated" and short.verdict == "pass"


def test_control_from_holds_lane_and_speed_until_the_agent_takes_over(write_yaml):
    """Before `control_from` the vehicle keeps its initial speed whatever its agent asks
    (here: stop); from then the agent drives: a `control` event marks the hand-over."""
    out = run(write_yaml, "", agent="stop", extra=", control_from: 3 s", duration=8)
    v = series(out, "ego", "speed_mps")
    k = round(3.0 / DT)
    assert np.all(v[: k + 1] == 20.0) and v[-1] < 20.0
    (ev,) = events(out, "control")
    assert ev.time_s == pytest.approx(3.0) and ev.entities == ("ego",)
    assert np.all(series(out, "ego", "t_m")[: k + 1] == 0.0)


@pytest.mark.parametrize(
    "manoeuvre, needle",
    [
        ("{when: {after: nope}, speed: {target: 1}}", "no manoeuvre with id 'nope'"),
        ("{when: {at_time: 1 s}, lane_change: {lanes: 1, of: nobody}}", "no entity 'nobody'"),
        ("{when: {at_time: 1 s}, speed: {target: -1}}", "speed.target: must be >= 0"),
        ("{id: x, when: {at_time: 1 s}, end: true, speed: {target: 1}}", "exactly one action"),
    ],
)
def test_bad_storyboard_fields_are_named(write_yaml, manoeuvre, needle):
    path = write_yaml(HEAD.format(duration=5, agent="acc", extra="") + f"""\
  - {{id: lead, domain: road, road: r, lane: 1, s: 50 m, behaviour: {{type: scripted}},
     manoeuvres: [{manoeuvre}]}}
""")  # fmt: skip
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert any(needle in p for p in exc.value.problems), exc.value.problems


def test_control_from_needs_an_agent(write_yaml):
    path = write_yaml(
        HEAD.format(duration=5, agent="acc", extra="")
        + """\
  - {id: lead, domain: road, road: r, lane: 1, s: 50 m, control_from: 2 s}
"""
    )
    want = r"entities\[1\].control_from: belongs to a controlled entity"
    with pytest.raises(ScenarioError, match=want):
        load_scenario(path)
