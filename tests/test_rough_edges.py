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
