"""Rough edges new users met (issue 24): each reproduction from the issue, as a test."""

from __future__ import annotations

import os
import time

from tests.conftest import MINIMAL, SCENARIOS, pground

CUT_IN = SCENARIOS / "road" / "alks_cut_in.yaml"


def _headless_env() -> dict[str, str]:
    drop = {"DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "XDG_RUNTIME_DIR"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_no_display_is_one_line_and_exit_2_at_once(write_yaml, tmp_path):
    """Without a display `view` and `run --view` used to print an SDL error and hang."""
    scenario = write_yaml(MINIMAL)
    run = tmp_path / "run"
    assert pground("run", scenario, "--out", run).returncode in (0, 1)
    for args in (["view", run], ["run", scenario, "--view", "--no-save"]):
        t0 = time.monotonic()
        r = pground(*args, env=_headless_env(), timeout=60)
        assert r.returncode == 2 and time.monotonic() - t0 < 30, r.stderr
        assert r.stderr.strip() == (
            "error: no display: use --frames DIR or --gif FILE (or --mp4 FILE)"
        )


def test_a_suite_with_a_misspelt_agent_stops_before_any_job(tmp_path):
    """It used to run every job as 'error' and write a whole campaign and report."""
    for flags in (["--agent", "acc_typo"], ["--agent", "acc", "--reference", "nope"]):
        out = tmp_path / "c"
        r = pground("suite", SCENARIOS / "suites" / "road.yaml", *flags, "--out", out)
        assert r.returncode == 3 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "no agent named" in r.stderr and not out.exists()


def test_a_bad_set_value_is_one_line_naming_the_flag():
    r = pground("run", CUT_IN, "--set", "ego_speed=fast", "--no-save")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: {CUT_IN}: --set ego_speed: expected a speed like '60 km/h', got 'fast'"
    ]
    ok = pground("run", CUT_IN, "--set", "ego_speed=15", "--set", "delta_v=-5 km/h", "--no-save")
    assert ok.returncode in (0, 1), ok.stderr


def test_a_suite_entry_value_of_the_wrong_kind_is_named_at_its_line(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: s\nscenarios:\n  - {{path: {CUT_IN}, set: {{ego_speed: fast}}}}\n")
    r = pground("validate", suite)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"{suite}:3: scenarios[0]: parameter ego_speed: expected a speed like '60 km/h', got 'fast'"
    )


def test_each_command_says_which_kind_of_file_it_wants(tmp_path):
    """`run` on a suite names `pground suite`; `suite` on a scenario runs it as a suite of
    one (as it runs a folder), with its report."""
    road = SCENARIOS / "suites" / "road.yaml"
    r = pground("run", road)
    assert r.returncode == 2 and r.stderr.strip() == (
        f"error: {road}:1: this is a suite file: use `pground suite {road}`"
    )
    out = tmp_path / "one"
    r = pground("suite", CUT_IN, "--agent", "acc", "--out", out, "--no-progress")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pass: 1" in r.stdout and (out / "report.html").exists()
    assert pground("verify", out).returncode == 0


class _Broken:
    name, version = "broken", "1"

    def reset(self, briefing, *, rng):
        pass

    def act(self, obs):
        return self._helper(obs)

    def _helper(self, obs):
        return obs.no_such_field


def test_an_agent_exception_says_where_it_was_raised(write_yaml, monkeypatch, capsys):
    """The event names the agent's file and line (not the simulator's); PGROUND_DEBUG=1
    prints the whole traceback too."""
    from sim.core.rollout import rollout
    from sim.scenario import load_scenario

    monkeypatch.setenv("PGROUND_DEBUG", "1")
    res = rollout(load_scenario(write_yaml(MINIMAL)).scenario, {"ego": _Broken()})
    (ev,) = [e for e in res.events if e.kind == "agent_fault"]
    tb = ev.details["traceback"]
    assert [t.rsplit(" in ", 1)[1] for t in tb] == ["act", "_helper"]
    assert all("test_rough_edges.py:" in t for t in tb)
    assert ev.details["message"].startswith("AttributeError: ")
    assert ev.details["message"].endswith(f"(at {tb[-1]})")
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "no_such_field" in err


def test_an_agent_of_another_domain_is_one_line_before_anything_runs():
    r = pground("check-agent", "acc", "--domain", "rail")
    assert r.returncode == 3
    assert r.stderr.strip() == "error: agent 'acc' is a road agent; 'train' is a rail entity"
    r = pground("run", SCENARIOS / "rail" / "red_signal_approach.yaml", "--agent", "acc")
    assert r.returncode == 3 and len(r.stderr.strip().splitlines()) == 1
    assert "is a road agent" in r.stderr and not r.stdout


def test_check_agent_says_when_the_scenario_ends_before_the_steps(tmp_path):
    r = pground("check-agent", "acc", "--domain", "road", "--json")
    assert r.returncode == 0, r.stderr
    import json

    steps = [c for c in json.loads(r.stdout)["checks"] if c["name"].startswith("control steps")]
    assert steps[0]["detail"] == "200 actions, no fault (the scenario ended before 300 steps)"
    assert "fewer when the scenario ends first" in " ".join(
        pground("check-agent", "--help").stdout.split()
    )
