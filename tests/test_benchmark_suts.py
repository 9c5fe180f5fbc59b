"""The deliberately imperfect systems under test (agents/benchmarks) and searches that find
their planted failures in the road, air and water domains, failures the reference agents
avoid at the same points (issue 21). Expected values are worked by hand from the sources."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.conftest import SCENARIOS, pground

SPACES = SCENARIOS / "suites" / "search_spaces.yaml"


@pytest.mark.parametrize(
    ("v", "gap", "v_lead", "a_lead", "expected"),
    [
        # free road: a [1 - (v/v0)^4] = 1.4 (1 - (20/30)^4)
        (20.0, math.inf, 0.0, 0.0, 1.4 * (1 - 16 / 81)),
        # steady lead, gap 50 m: s* = 2 + 20 * 1.5 = 32; IDM 1.4 (1 - 16/81 - 0.64^2) =
        # 0.55002 is above CAH (0: the lead does not accelerate and nobody closes)
        (20.0, 50.0, 20.0, 0.0, 0.550017),
        # closing at 5 m/s on 20 m: s* = 32 + 100 / (2 sqrt(2.8)) = 61.8807, IDM = -12.27882;
        # CAH = 0 - 25 / 40 = -0.625; 0.01 IDM + 0.99 (CAH + 2 tanh(-5.82691)), tanh = -0.999983
        (20.0, 20.0, 15.0, 0.0, -2.721504),
    ],
)
def test_idm_acc_is_kesting_2010(v, gap, v_lead, a_lead, expected):
    from agents.benchmarks.idm_acc import KESTING_2010, acc_accel

    got = acc_accel(v, gap, v_lead, a_lead, 30.0, KESTING_2010)
    assert got == pytest.approx(expected, abs=2e-5)


def test_idm_acc_brakes_no_harder_than_iso_15622_allows():
    """ISO 15622: at most 5 m/s^2 below 5 m/s, 3.5 above 20 m/s, linear between; the agent
    asks for no more even when its law wants an emergency stop, and so hits a lead braking
    at 10 m/s^2."""
    from agents.benchmarks.idm_acc import iso15622_max_decel

    assert [iso15622_max_decel(v) for v in (0.0, 5.0, 12.5, 20.0, 40.0)] == pytest.approx(
        [5.0, 5.0, 4.25, 3.5, 3.5]
    )
    r = pground("run", SCENARIOS / "road" / "alks_lead_brake.yaml", "--agent", "idm-acc",
                "--set", "lead_decel=10 m/s^2", "--set", "ego_speed=60 km/h", "--json",
                "--no-save")  # fmt: skip
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and doc["verdict"] == "fail"
    # never more than the limit at the lowest speed; the lead stops, the ego hits it
    assert doc["metrics"]["max_decel_mps2"]["value"] <= 5.0 + 1e-9


def test_the_imperfect_pilots_keep_their_documented_settings():
    from agents.benchmarks.late_daa import LateDAAPilot
    from agents.benchmarks.small_turn_colreg import SmallTurnColreg

    daa = LateDAAPilot()
    assert daa.params == {"lookahead_s": 25.0, "max_offset_deg": 30.0}
    assert LateDAAPilot(lookahead_s=40).params["lookahead_s"] == 40
    ship = SmallTurnColreg()
    assert ship.params == {"min_turn_deg": 10.0, "max_turn_deg": 15.0}


@pytest.mark.slow  # about 3 minutes for the three
@pytest.mark.parametrize(
    ("family", "sut", "reference"),
    [
        ("lead-brake", "idm-acc", "acc"),
        ("encounter", "late-daa-pilot", "daa-pilot"),
        ("crossing-cpa", "small-turn-colreg", "colreg-pilot"),
    ],
)
def test_a_search_finds_the_planted_failure_the_reference_avoids(tmp_path, family, sut, reference):
    """A preventable-failure search of 20 runs finds the system under test failing where the
    domain's reference agent passes; the counterexample replays as a failure with the
    system and as a pass with the reference."""
    out = tmp_path / "search"
    r = pground("search", SPACES, "--family", family, "--agent", sut, "--reference", reference,
                "--objective", "preventable", "--method", "bo", "--budget", "20", "--seed", "0",
                "--out", out, "--workers", "2", "--no-progress", timeout=1800)  # fmt: skip
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr
    doc = json.loads((out / "search.json").read_text())
    preventable = [
        c for c in doc["candidates"] if c["verdict"] == "fail" and c["reference_verdict"] == "pass"
    ]
    assert preventable and doc["failures"] == len(preventable)
    example = out / "counterexamples" / f"{family}-1.yaml"
    assert pground("run", example, "--agent", sut, "--no-save").returncode == 1
    assert pground("run", example, "--agent", reference, "--no-save").returncode == 0


@pytest.mark.slow  # 40 s: a local Dask cluster starts once for the whole search
def test_a_search_on_dask_proposes_and_finds_what_it_does_on_processes(tmp_path):
    common = ["--family", "lead-brake", "--agent", "late-braking-acc", "--method", "de",
              "--budget", "12", "--wave", "6", "--seed", "2", "--no-progress",
              "--workers", "2"]  # fmt: skip
    for executor in ("processes", "dask"):
        r = pground("search", SPACES, *common, "--executor", executor,
                    "--out", tmp_path / executor, timeout=900)  # fmt: skip
        assert r.returncode in (0, 1), r.stderr

    def table(folder):
        doc = json.loads((folder / "search.json").read_text())
        return [(c["params"], c["verdict"], c["robustness"]) for c in doc["candidates"]]

    assert table(tmp_path / "processes") == table(tmp_path / "dask")
    assert len(table(tmp_path / "dask")) == 12
    assert np.isfinite([c[2] for c in table(tmp_path / "dask")]).all()
