"""Sensors (sim/sensors.py) and fault injection (sim/faults.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from agents.loading import load_agent
from agents.road.types import RoadAction
from sim.core.rollout import Session
from sim.errors import ScenarioError
from sim.runner.run import run_loaded
from sim.scenario.load import load_scenario
from tests.conftest import SCENARIOS

ROAD = """\
schema_version: 1
id: s
name: s
description: ego and one target on a straight road
dt: 0.1 s
duration: {duration}
map:
  road:
    roads:
      - id: r
        geometry: [{{line: 3000 m}}]
        lanes: 2
entities:
  - id: ego
    domain: road
    road: r
    s: 10 m
    speed: {ego_speed}
    agent: agents.road.null:ConstantSpeed
  - id: lead
    domain: road
    road: r
    s: {lead_s}
    speed: {lead_speed}
{extra}
"""


def _road(
    tmp_path,
    *,
    sensors="",
    faults="",
    extra="",
    duration="20 s",
    ego_speed="0 m/s",
    lead_s="60 m",
    lead_speed="0 m/s",
    name="s.yaml",
):
    text = ROAD.format(
        duration=duration, ego_speed=ego_speed, lead_s=lead_s, lead_speed=lead_speed, extra=extra
    )
    if sensors:
        text += "sensors:\n  ego:\n" + sensors
    if faults:
        text += "faults:\n" + faults
    p = tmp_path / name
    p.write_text(text)
    return load_scenario(p)


class Spy:
    """Keeps what it is shown, and the ideal observation of the same tick."""

    name, version = "spy", "1"

    def __init__(self) -> None:
        self.seen: list = []
        self.session = None

    def reset(self, briefing, *, rng):
        pass

    def act(self, obs):
        self.seen.append((obs, self.session._ideal("ego")))
        return RoadAction(0.0, 0.0)


def _observations(lo, n=None):
    """(what the agent saw, the ideal observation) at every control tick."""
    spy = Spy()
    s = Session(lo.scenario, {"ego": spy})
    spy.session = s
    s.start()
    while not s.done and (n is None or len(spy.seen) < n):
        s.step()
    return spy.seen, s


# ------------------------------------------------------------------ noise, detection, latency


@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(sigma=st.floats(0.1, 2.0), bias=st.floats(-1.0, 1.0))
def test_position_noise_has_the_declared_mean_and_spread(tmp_path_factory, sigma, bias):
    """Along-boresight errors of a stationary target: mean = bias, std = σ (±15 %, 400
    scans), and independent between scans (lag-1 correlation ≈ 0)."""
    lo = _road(
        tmp_path_factory.mktemp("n"),
        sensors=f"    - {{type: radar, sigma_pos: {sigma} m, bias_pos: [{bias} m, 0 m], "
        "p_detect: 1, p_detect_far: 1, hold: 0 s}\n",
        duration="40 s",
    )
    obs, _ = _observations(lo)
    err = np.array([o.objects.rel_s_m[0] - i.objects.rel_s_m[0] for o, i in obs])
    assert err.size == 400
    assert abs(err.mean() - bias) < 4 * sigma / math.sqrt(err.size)
    assert err.std() == pytest.approx(sigma, rel=0.15)
    assert abs(np.corrcoef(err[1:], err[:-1])[0, 1]) < 0.2


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(p=st.floats(0.2, 0.95))
def test_detection_probability_is_the_declared_one(tmp_path_factory, p):
    """A target at zero-ish range is reported in a share p of scans (binomial, 4σ)."""
    lo = _road(
        tmp_path_factory.mktemp("p"),
        sensors=f"    - {{type: radar, p_detect: {p}, p_detect_far: {p}, sigma_pos: 0 m, "
        "hold: 0 s}\n",
        duration="60 s",
    )
    obs, _ = _observations(lo)
    seen = np.array([len(o.objects) for o, _ in obs])
    n = seen.size
    assert abs(seen.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_latency_shifts_observations_by_exactly_k_ticks(tmp_path, k):
    lo = _road(
        tmp_path,
        sensors=f"    - {{type: radar, latency: {k * 0.1:.1f} s, sigma_pos: 0 m, sigma_vel: 0 m/s, "
        "p_detect: 1, p_detect_far: 1, hold: 0 s}\n",
        lead_speed="10 m/s",
    )
    obs, _ = _observations(lo, 60)
    truth = [i.objects.x_m[0] for _, i in obs]
    for t in range(k, 60):
        assert obs[t][0].objects.x_m[0] == truth[t - k]
    assert all(len(o.objects) == 0 for o, _ in obs[:k])  # nothing measured k ticks ago


def test_range_fov_weather_and_occlusion(tmp_path):
    hidden = "  - id: behind\n    domain: road\n    road: r\n    s: 100 m\n    speed: 0 m/s\n"
    lo = _road(
        tmp_path, sensors="    - {type: lidar, p_detect: 1, p_detect_far: 1}\n", extra=hidden
    )
    obs, _ = _observations(lo, 3)
    assert obs[-1][0].objects.ids == ("lead",)  # 'behind' is hidden by 'lead'
    assert set(obs[-1][1].objects.ids) == {"lead", "behind"}
    lo = _road(tmp_path, sensors="    - {type: camera, preset: fog, p_detect: 1}\n", name="f.yaml")
    obs, _ = _observations(lo, 3)
    assert len(obs[-1][0].objects) == 0  # fog: 80 m × 0.3 = 24 m < 50 m


def test_no_sensors_means_the_ideal_observation(tmp_path):
    lo = _road(tmp_path)
    obs, s = _observations(lo, 5)
    assert obs[-1][0] == obs[-1][1]
    assert "sensors" not in s.result().log.arrays


def test_sensor_metrics_closed_form(tmp_path):
    lo = _road(
        tmp_path,
        sensors="    - {type: radar, p_detect: 0.5, p_detect_far: 0.5, sigma_pos: 1 m}\n",
        duration="60 s",
    )
    out = run_loaded(lo)
    m = out.metrics
    assert m["missed_detection_rate"].value == pytest.approx(0.5, abs=0.05)
    assert m["track_error_rms_m"].value == pytest.approx(math.sqrt(2), rel=0.1)  # 2 axes
    assert m["first_detection_latency_s"].value < 1.0
    assert m["false_detections"].value == 0


def test_clutter_adds_false_targets_at_the_declared_rate(tmp_path):
    lo = _road(tmp_path, sensors="    - {type: lidar, clutter: 2, hold: 0 s}\n", duration="60 s")
    out = run_loaded(lo)
    scans = 600
    assert out.metrics["false_detections"].value / scans == pytest.approx(2.0, rel=0.1)


def test_ais_reports_at_the_class_a_interval():
    path = SCENARIOS / "water" / "fault_ais_dropout_crossing.yaml"
    lo = load_scenario(path)
    s = Session(lo.scenario, {"own": load_agent("keep-course")})
    s.start()
    xs = []
    for _ in range(240):  # 120 s at dt 0.5 s
        o = s.observe("own")
        xs.append(o.ais.x_m[0] if "target" in o.ais.ids else np.nan)
        s.step()
    xs = np.array(xs)
    xs = xs[np.flatnonzero(np.isfinite(xs))[0] :]  # from the first report on
    assert np.isfinite(xs).all()
    changes = np.flatnonzero(np.diff(xs) != 0)
    gaps = np.diff(changes) * 0.5
    assert gaps.size >= 8 and np.all(gaps % 10 == 0)  # 12 kn: a report every 10 s (or 20 s)


# ------------------------------------------------------------------ faults


def test_a_distance_triggered_fault_fires_at_the_right_tick(tmp_path):
    """Ego at 10 m/s towards a stopped car 100 m ahead (centres); the fault triggers when
    the centres are 40 m apart: after (100 - 40) / 10 = 6 s, tick 60."""
    lo = _road(
        tmp_path,
        ego_speed="10 m/s",
        lead_s="110 m",
        sensors="    - {type: radar}\n",
        faults="  - {id: f, kind: sensor_dropout, entity: ego, when: {distance: {to: lead, "
        "below: 40 m}}, duration: 1 s}\n",
        duration="10 s",
    )
    res = run_loaded(lo).result
    (start,) = [e for e in res.events if e.kind == "fault_start"]
    (end,) = [e for e in res.events if e.kind == "fault_end"]
    assert start.tick == 60 and end.tick == 70
    assert end.details["active_s"] == pytest.approx(1.0)


def test_an_event_triggered_fault_and_a_timed_one(tmp_path):
    lo = _road(
        tmp_path,
        sensors="    - {type: radar}\n",
        faults="  - {id: a, kind: sensor_frozen, entity: ego, at: 2 s, duration: 1 s}\n"
        "  - {id: b, kind: sensor_noise, entity: ego, factor: 2, when: {event: fault_end}}\n",
        duration="5 s",
    )
    res = run_loaded(lo).result
    starts = {e.details["fault"]: e.tick for e in res.events if e.kind == "fault_start"}
    assert starts == {"a": 20, "b": 31}  # b sees a's end (tick 30) at the next tick


def test_dropout_and_frozen_outputs(tmp_path):
    lo = _road(
        tmp_path,
        lead_speed="10 m/s",
        sensors="    - {type: radar, p_detect: 1, p_detect_far: 1, sigma_pos: 0 m}\n",
        faults="  - {id: d, kind: sensor_dropout, entity: ego, at: 1 s, duration: 2 s}\n"
        "  - {id: z, kind: sensor_frozen, entity: ego, at: 5 s, duration: 1 s}\n",
        duration="8 s",
    )
    obs, _ = _observations(lo)
    seen = [len(o.objects) for o, _ in obs]
    # dropout from tick 10; the track coasts 3 scans, then nothing until the fault ends
    assert seen[9] == 1 and seen[13:30] == [0] * 17 and seen[31] == 1
    x = [o.objects.x_m[0] for o, _ in obs[50:60]]
    assert len(set(x)) == 1  # frozen: the same stale report


def test_random_faults_are_seeded_and_leave_other_streams_alone(tmp_path):
    base = "    - {type: radar}\n"
    camera = "    - {type: camera}\n"
    rnd = (
        "  - {id: r, kind: false_targets, entity: ego, sensor: camera, rate: 600, duration: 1 s}\n"
    )
    a = run_loaded(_road(tmp_path, sensors=base + camera, name="a.yaml", duration="30 s"))
    b = run_loaded(
        _road(tmp_path, sensors=base + camera, faults=rnd, name="b.yaml", duration="30 s")
    )
    c = run_loaded(
        _road(tmp_path, sensors=base + camera, faults=rnd, name="c.yaml", duration="30 s")
    )
    radar_a = {k: v[:, 0] for k, v in a.result.log.arrays["sensors"].items()}
    radar_b = {k: v[:, 0] for k, v in b.result.log.arrays["sensors"].items()}
    for k in radar_a:  # the radar's stream did not change when a fault was added
        assert np.array_equal(radar_a[k], radar_b[k])
    assert np.array_equal(a.result.log.arrays["road"]["x_m"], b.result.log.arrays["road"]["x_m"])
    # the random fault struck, and identically with the same seed
    starts = [e.tick for e in b.result.events if e.kind == "fault_start"]
    assert len(starts) >= 2
    assert b.result.log.digest() == c.result.log.digest()
    assert [e.to_json() for e in b.result.events] == [e.to_json() for e in c.result.events]
    # adding a sensor leaves the first one's draws alone too
    d = run_loaded(_road(tmp_path, sensors=base, name="d.yaml", duration="30 s"))
    for k, v in d.result.log.arrays["sensors"].items():
        assert np.array_equal(v[:, 0], radar_a[k])


class Braker:
    name, version = "braker", "1"

    def reset(self, briefing, *, rng):
        self.t = 0

    def act(self, obs):
        self.t += 1
        return RoadAction(-4.0 if self.t > 10 else 1.0, 0.01 * self.t)


def _accel(tmp_path, faults, name):
    lo = _road(tmp_path, ego_speed="20 m/s", lead_s="2000 m", faults=faults, name=name)
    res = run_loaded(lo, agent="tests.test_sensors_faults:Braker").result
    return res.log.field("road", "accel_mps2")[:, 0], res


def test_actuator_faults_transform_the_command(tmp_path):
    base, _ = _accel(tmp_path, "", "a.yaml")
    wet, _ = _accel(
        tmp_path,
        "  - {id: w, kind: reduced_braking, entity: ego, factor: 0.5, at: 0 s}\n",
        "b.yaml",
    )
    assert wet[30] == pytest.approx(0.5 * base[30])  # braking halved
    assert wet[5] == pytest.approx(base[5])  # driving untouched
    late, _ = _accel(
        tmp_path,
        "  - {id: d, kind: actuator_delay, entity: ego, delay: 0.5 s, at: 0 s}\n",
        "c.yaml",
    )
    k = np.flatnonzero(base < 0)[0]
    assert np.flatnonzero(late < 0)[0] == k + 5  # the brake command arrives 5 ticks later
    stuck, _ = _accel(
        tmp_path, "  - {id: s, kind: actuator_stuck, entity: ego, at: 0.5 s}\n", "d.yaml"
    )
    assert stuck[40] > 0  # stuck driving: the brake command never arrives
    sat, _ = _accel(
        tmp_path,
        "  - {id: x, kind: actuator_saturation, entity: ego, factor: 0.25, at: 0 s}\n",
        "e.yaml",
    )
    assert sat.min() >= -0.25 * 9.0 - 1e-9 and base.min() < -3.9


def test_rail_link_loss_holds_the_authority_where_it_was():
    lo = load_scenario(SCENARIOS / "rail" / "fault_radio_loss_following.yaml")
    s = Session(lo.scenario, {"train": load_agent("supervised-ato")})
    s.start()
    held = []
    while not s.done and s.tick < 800:
        o = s.observe("train")
        if 500 < s.tick < 800:  # 100-160 s: the link is down
            held.append(o.own.position_m + o.eoa_m)
        s.step()
    assert len(set(np.round(held, 6))) == 1


def test_environment_faults(tmp_path):
    # a gust adds its vector to the aircraft's ground velocity
    lo = load_scenario(SCENARIOS / "air" / "fault_gust_gnss_drift_head_on.yaml")
    s = Session(lo.scenario, {"ownship": load_agent("plan-only")})
    s.start()
    wind = []
    while s.tick < 2000:
        we, wn = s.world.runtimes["air"].wind.at(np.zeros(1))
        wind.append((float(np.ravel(we)[0]), float(np.ravel(wn)[0])))
        s.step()
    calm = np.array(wind[500])
    assert np.allclose(np.array(wind[650]) - calm, [15.0, 0.0])  # from t = 30 s (tick 600)
    assert np.allclose(wind[1900], calm)  # over after 60 s
    # a dark traffic light: 'dark' in the observation and the log, no red light to pass
    sig = SCENARIOS / "road" / "signalised_intersection.yaml"
    text = (
        sig.read_text()
        + "faults:\n  - {id: dark, kind: traffic_light_dark, signal: east-light, at: 0 s}\n"
    )
    p = tmp_path / "dark.yaml"
    p.write_text(text)
    try:
        lo = load_scenario(p)
    except ScenarioError as exc:
        pytest.fail(str(exc))
    out = run_loaded(lo, agent="constant-speed")
    sigs = [x["id"] for x in out.result.log.meta["domains"]["road"]["map"]["signals"]]
    states = out.result.log.arrays["road"]["signal_state"]
    assert (states[:, sigs.index("east-light")] == 3).all()
    assert (states[:, sigs.index("north-light")] != 3).all()
    assert not [e for e in out.result.events if e.kind == "red_light"]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("sensors:\n  ego:\n    - {type: ais}\n", "road entities have no 'ais' sensor"),
        ("sensors:\n  lead:\n    - {type: radar}\n", "not a controlled entity"),
        ("sensors:\n  ego:\n    - {type: radar, rnge: 5 m}\n", "rnge"),
        (
            "faults:\n  - {id: f, kind: sensor_dropout, entity: ego, at: 1 s}\n",
            "declares no sensors",
        ),
        ("faults:\n  - {id: f, kind: gust, at: 1 s}\n", "needs vector"),
        (
            "faults:\n  - {id: f, kind: reduced_braking, entity: ego, factor: 0.5}\n",
            "exactly one of at, when, rate",
        ),
        (
            "faults:\n  - {id: f, kind: traffic_light_dark, signal: X, at: 1 s}\n",
            "no road signal 'X'",
        ),
    ],
)
def test_bad_sensor_and_fault_declarations_are_one_line_errors(tmp_path, snippet, message):
    text = (
        ROAD.format(duration="5 s", ego_speed="1 m/s", lead_s="60 m", lead_speed="0 m/s", extra="")
        + snippet
    )
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert message in str(info.value) and "bad.yaml" in str(info.value)


FAULT_SCENARIOS = sorted(SCENARIOS.glob("*/fault_*.yaml"))


def test_two_fault_scenarios_per_domain():
    by_domain = {}
    for p in FAULT_SCENARIOS:
        by_domain.setdefault(p.parent.name, []).append(p.name)
    assert {d: len(v) >= 2 for d, v in by_domain.items()} == {
        "road": True,
        "rail": True,
        "air": True,
        "water": True,
    }


@pytest.mark.slow  # about 60 s over the fault scenarios
@pytest.mark.parametrize("path", FAULT_SCENARIOS, ids=lambda p: p.stem)
def test_fault_scenarios_are_deterministic_and_record_their_faults(path):
    lo = load_scenario(path)
    a, b = run_loaded(lo), run_loaded(lo)
    assert a.verdict == "pass", a.result.reason
    assert a.result.log.digest() == b.result.log.digest()
    assert [e.to_json() for e in a.result.events] == [e.to_json() for e in b.result.events]
    starts = [e for e in a.result.events if e.kind == "fault_start"]
    assert starts and a.metrics["faults_activated"].value == len(starts)


def test_power_loss_scales_only_the_driving_command(tmp_path):
    base, _ = _accel(tmp_path, "", "a.yaml")
    weak, _ = _accel(
        tmp_path, "  - {id: p, kind: power_loss, entity: ego, factor: 0.4, at: 0 s}\n", "b.yaml"
    )
    assert weak[5] == pytest.approx(0.4 * base[5])
    assert weak[30] == pytest.approx(base[30])


def test_rudder_jam_holds_the_rudder_where_it_was():
    path = SCENARIOS / "water" / "head_on.yaml"
    text = path.read_text() + (
        "faults:\n  - {id: jam, kind: rudder_jam, entity: own, at: 400 s, duration: 100 s}\n"
    )
    p = Path(path.parent / "_jam_test.yaml")
    try:
        p.write_text(text)
        lo = load_scenario(p)
    finally:
        p.unlink()
    res = run_loaded(lo).result
    rudder = res.log.field("water", "rudder_rad")[:, 0]
    dt = lo.scenario.dt
    a, b = round(400 / dt) + 2, round(500 / dt) - 1
    assert np.ptp(rudder[a:b]) == 0.0
    assert np.ptp(rudder) > 0.0  # it moved before or after


def test_gnss_loss_holds_the_last_fix_and_bias_shifts_targets(tmp_path):
    lo = _road(
        tmp_path,
        ego_speed="10 m/s",
        sensors="    - {type: radar, sigma_pos: 0 m, p_detect: 1, p_detect_far: 1}\n",
        faults="  - {id: b, kind: sensor_bias, entity: ego, bias: [2 m, -1 m], at: 1 s}\n",
        duration="3 s",
    )
    obs, _ = _observations(lo)
    o, i = obs[20]
    assert o.objects.rel_s_m[0] - i.objects.rel_s_m[0] == pytest.approx(2.0)
    assert o.objects.rel_t_m[0] - i.objects.rel_t_m[0] == pytest.approx(-1.0)
    lo = load_scenario(SCENARIOS / "air" / "fault_gust_gnss_drift_head_on.yaml")
    spy_x = []

    class Pilot:
        name, version = "p", "1"

        def reset(self, briefing, *, rng):
            self.inner = load_agent("daa-pilot")
            self.inner.reset(briefing, rng=rng)

        def act(self, obs):
            spy_x.append(obs.own.x_m)
            return self.inner.act(obs)

    text = (SCENARIOS / "air" / "fault_gust_gnss_drift_head_on.yaml").read_text()
    text = text.replace(
        "kind: gnss_drift, entity: ownship, drift: [0.7 m/s, 0.7 m/s], at: 40 s",
        "kind: gnss_loss, entity: ownship, at: 40 s, duration: 10 s",
    )
    p = tmp_path / "loss.yaml"
    p.write_text(text)
    lo = load_scenario(p)
    s = Session(lo.scenario, {"ownship": Pilot()})
    s.start()
    while not s.done and s.tick < 1200:
        s.step()
    period = lo.scenario.control_every * lo.scenario.dt
    held = spy_x[round(40 / period) + 1 : round(50 / period)]
    assert len(set(held)) == 1 and len(set(spy_x[: round(40 / period)])) > 10


def test_rail_signal_failure_puts_the_signal_to_danger():
    path = SCENARIOS / "rail" / "following_train.yaml"
    text = path.read_text() + (
        "faults:\n  - {id: s, kind: signal_failure, signal: B6, at: 10 s, duration: 60 s}\n"
    )
    p = path.parent / "_sigfail_test.yaml"
    try:
        p.write_text(text)
        lo = load_scenario(p)
    finally:
        p.unlink()
    res = run_loaded(lo).result
    sigs = [x["id"] for x in res.log.meta["domains"]["rail"]["map"]["signals"]]
    aspect = res.log.arrays["rail"]["aspect"][:, sigs.index("B6")]
    dt = lo.scenario.dt
    assert (aspect[round(12 / dt) : round(68 / dt)] == 0).all()
    assert (aspect[round(75 / dt) :] > 0).any()  # the route is set again once repaired
    assert not [e for e in res.events if e.kind == "spad"]


def test_link_drop_with_certainty_is_a_loss(tmp_path):
    lo = _road(tmp_path)
    text = (SCENARIOS / "rail" / "fault_radio_loss_following.yaml").read_text()
    text = text.replace(
        "kind: link_loss, entity: train, at: 100 s, duration: 60 s",
        "kind: link_drop, entity: train, probability: 1, at: 100 s, duration: 60 s",
    )
    p = tmp_path / "drop.yaml"
    p.write_text(text)
    a = run_loaded(load_scenario(p))
    b = run_loaded(load_scenario(SCENARIOS / "rail" / "fault_radio_loss_following.yaml"))
    assert a.result.log.digest() == b.result.log.digest()
    del lo


def test_link_delay_hands_over_the_authority_exactly_delay_late():
    """From 250 s to 330 s the movement authority arrives 20 s late: the EoA the agent sees
    at t is the one the interlocking gave at t − 20 s (as positions along the path)."""
    lo = load_scenario(SCENARIOS / "rail" / "fault_radio_loss_following.yaml")
    seen: dict[int, tuple[float, float]] = {}

    class Watch:
        name, version = "watch", "1"

        def reset(self, briefing, *, rng):
            self.inner = load_agent("supervised-ato")
            self.inner.reset(briefing, rng=rng)

        def act(self, obs):
            ideal = s._ideal("train")
            seen[s.tick] = (
                obs.own.position_m + obs.eoa_m,
                ideal.own.position_m + ideal.eoa_m,
            )
            return self.inner.act(obs)

    s = Session(lo.scenario, {"train": Watch()})
    s.start()
    while not s.done and s.tick < round(330 / lo.scenario.dt):
        s.step()
    k = round(20 / lo.scenario.dt)
    for t in range(round(272 / lo.scenario.dt), round(328 / lo.scenario.dt)):
        if t in seen and t - k in seen:
            assert seen[t][0] == seen[t - k][1]
    late = [t for t in seen if 272 / lo.scenario.dt <= t < 328 / lo.scenario.dt]
    assert late and any(seen[t][0] != seen[t][1] for t in late)  # it did lag
