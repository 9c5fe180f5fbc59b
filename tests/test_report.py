"""Campaign reports: content for a campaign with known results, JUnit against its schema,
verify (tampering, non-reproducing runs, signatures), diff, and the HTML in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from metrics.report import write
from sim.errors import UsageError
from sim.runner.campaign import run_campaign
from sim.runner.suite import load_suite
from sim.runner.verify import diff, keygen, sign, verify
from tests.conftest import ROOT, reported_campaign

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115
ROAD = ROOT / "scenarios" / "road"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> Path:
    """The null agent on four scenarios, with the R157 reference driver: the lane-keeping
    run passes, the cut-in and CCRs fail (preventable: the reference avoids them), the crossing
    pedestrian fails but is not preventable (the reference hits the pedestrian too)."""
    tmp = tmp_path_factory.mktemp("camp")
    suite = tmp / "suite.yaml"
    suite.write_text(
        "name: small\nscenarios:\n"
        + "".join(
            f"  - {ROAD / f}\n"
            for f in (
                "alks_lane_keep_curve.yaml",
                "alks_cut_in.yaml",
                "ncap_ccrs.yaml",
                "alks_crossing_pedestrian.yaml",
            )
        )
    )
    s = load_suite(suite).with_agent("constant-speed", None).with_reference("r157-driver")
    out = tmp / "c"
    run_campaign(s, out, executor="serial", console=QUIET, progress=False)
    write(out)
    return out


def test_report_content(campaign):
    doc = json.loads((campaign / "report.json").read_text())
    s = doc["summary"]
    assert doc["format"] == "proving-ground-report/2"
    assert s["runs"] == 4
    assert s["counts"] == {"pass": 1, "fail": 2, "not_preventable": 1, "error": 0, "invalid": 0}
    assert s["pass_rate"]["n"] == 3 and s["pass_rate"]["estimate"] == pytest.approx(1 / 3)
    assert 0 < s["pass_rate"]["low"] < 1 / 3 < s["pass_rate"]["high"] < 1
    assert {f["name"] for f in doc["failures"]} == {"alks_cut_in", "ncap_ccrs"}
    assert [r["name"] for r in doc["not_preventable"]] == ["alks_crossing_pedestrian"]
    ref = doc["not_preventable"][0]["reference"]  # the evidence: the reference's own run
    assert ref["agent"] == "r157-driver" and ref["verdict"] == "fail" and ref["collisions"] == 1
    assert 0 < ref["impact_speed_mps"] < 4.0 and ref["reproduce"].startswith("pground run ")
    assert "--agent r157-driver" in ref["reproduce"] and ref["log_sha256"]
    req = {r["requirement"]: r for r in doc["requirements"]}
    assert req["R157-5.1.1"]["failed"] == 1 and "alks_cut_in" in req["R157-5.1.1"]["families"]
    assert req["R157-5.1.1"]["not_preventable"] == 1  # the pedestrian: apart, as everywhere
    (cov,) = doc["coverage"]  # R157 Annex 5: the tests the shipped files say they implement
    assert cov["catalogue"] == "r157-annex5" and len(cov["tests"]) == 15
    covered = {t["id"]: t for t in cov["tests"] if t["families"]}
    assert set(covered) == {"4.1_1", "4.2_3", "4.4_1"}
    assert covered["4.4_1"]["families"] == ["alks_cut_in"] and covered["4.4_1"]["counts"]["fail"]
    assert "R157-5.2.5.2" in covered["4.4_1"]["requirements"]
    assert s["event_rates"]["collisions"]["count"] == 3
    assert (
        doc["provenance"]["evidence_digest"]
        == json.loads((campaign / "digest.json").read_text())["evidence_digest"]
    )
    assert doc["credibility"][0]["domain"] == "road" and doc["credibility"][0]["limitations"]
    html = (campaign / "report.html").read_text()
    assert "3 of 15 tests exercised" in html and "not covered" in html
    assert doc["verification"]["passed"] and "id='verification'" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "data:image/png;base64," in html  # a still of the failure
    import base64
    import struct

    png = base64.b64decode(html.split("data:image/png;base64,")[1].split('"')[0])
    assert struct.unpack(">II", png[16:24]) == (960, 540)  # wide enough for the whole HUD
    section = html.split("id='preventability'")[1].split("id='metrics'")[0]
    assert "system under test" in section and "reference" in section
    assert section.count("<svg") >= 2  # plots of both runs, side by side


def test_no_reference_model_means_a_failure_stays_a_failure(tmp_path):
    """The R157 driver models ALKS and NCAP situations; at a signalised junction its failure
    excuses nothing: the system's failure is a failure, with the note saying why."""
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: junction\nscenarios:\n  - {ROAD / 'signalised_intersection.yaml'}\n")
    s = load_suite(suite).with_agent("constant-speed", None).with_reference("r157-driver")
    assert [j.role for j in s.entries] == ["sut"]  # the reference is not run where it has no model
    run_campaign(s, tmp_path / "c", executor="serial", console=QUIET, progress=False)
    write(tmp_path / "c")
    doc = json.loads((tmp_path / "c" / "report.json").read_text())
    counts = doc["summary"]["counts"]
    assert counts["fail"] == 1 and not counts.get("not_preventable")
    (fail,) = doc["failures"]
    assert fail["reference_note"] == "no reference model for this scenario type"
    assert (
        "No reference model for the scenario type" in (tmp_path / "c" / "report.html").read_text()
    )


def test_failed_run_reproduce_command_reproduces(campaign):
    """The command the report gives for a failed run gives the same log, bit for bit."""
    doc = json.loads((campaign / "report.json").read_text())
    run = next(r for r in doc["failures"] if r["name"] == "alks_cut_in")
    cmd = run["reproduce"].split()
    r = subprocess.run(
        [sys.executable, "-m", "sim", *cmd[1:], "--no-save", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 1
    assert json.loads(r.stdout)["log_sha256"] == run["log_sha256"]


def test_junit_validates_and_carries_failures(campaign):
    import xmlschema

    xmlschema.XMLSchema(ROOT / "tests" / "data" / "junit.xsd").validate(campaign / "junit.xml")
    text = (campaign / "junit.xml").read_text()
    assert text.count("<testcase") == 4 and text.count("<failure") == 3
    assert text.count('type="not-preventable"') == 1 and "<skipped" not in text
    assert "R157-5.1.1" in text


def test_verify_detects_tampering_and_non_reproducing_runs(campaign, tmp_path):
    assert verify(campaign).ok
    bad = tmp_path / "bad"
    shutil.copytree(campaign, bad)
    run_dir = next((bad / "runs").iterdir())
    (run_dir / "events.jsonl").write_text("{}\n")
    res = verify(bad)
    assert any("modified file" in p for p in res.problems)
    assert any("does not match its run manifest" in p for p in res.problems)
    # a store edited, then the digests regenerated to cover it: only a re-run can tell
    shutil.rmtree(bad)
    shutil.copytree(campaign, bad)
    db = sqlite3.connect(bad / "results.sqlite")
    db.execute("UPDATE runs SET log_sha256 = ? WHERE name = 'alks_lane_keep_curve'", ("0" * 64,))
    db.commit()
    db.close()
    assert any("run alks_lane_keep_curve changed" in p for p in verify(bad).problems)
    write(bad)
    res = verify(bad, rerun=8)
    assert res.reran == 8
    assert [p for p in res.problems if "does not reproduce" in p] == [p for p in res.problems]
    assert any("alks_lane_keep_curve" in p for p in res.problems)


@pytest.mark.parametrize(
    "name", ["report.html", "report.json", "junit.xml", "summary.json", "manifest.json"]
)
def test_verify_names_any_edited_file_the_assessor_reads(campaign, tmp_path, name):
    """Renaming the system under test in report.html, counts set to all-pass in
    report.json / summary.json, a <failure> turned into <skipped> in junit.xml: each is
    named, signed or not."""
    bad = tmp_path / "bad"
    shutil.copytree(campaign, bad)
    priv, pub = keygen(tmp_path / "k.pem")
    sign(bad, priv)
    path = bad / name
    text = path.read_text()
    edited = text.replace("<failure", "<skipped").replace("constant-speed", "acme-pilot")
    edited = edited.replace('"fail": 2', '"fail": 0')
    path.write_text(edited if edited != text else text + " ")
    res = verify(bad, key=pub)
    assert not res.ok and f"modified file: {name}" in res.problems


def test_a_stored_metric_edited_is_named_and_recomputation_catches_it(campaign, tmp_path):
    """min_ttc_s changed in results.sqlite: verify names the run; once the digest is
    regenerated over the edit, --recompute (from the kept log) and --rerun name the metric."""
    bad = tmp_path / "bad"
    shutil.copytree(campaign, bad)
    db = sqlite3.connect(bad / "results.sqlite")
    (metrics,) = db.execute(
        "SELECT metrics FROM runs WHERE name = 'alks_cut_in' AND role = 'sut'"
    ).fetchone()
    m = json.loads(metrics)
    m["min_ttc_s"] = 9.0
    db.execute(
        "UPDATE runs SET metrics = ? WHERE name = 'alks_cut_in' AND role = 'sut'",
        (json.dumps(m, sort_keys=True),),
    )
    db.commit()
    db.close()
    assert "results.sqlite: run alks_cut_in changed" in " ".join(verify(bad).problems)
    write(bad)  # an attacker re-digests: the files and rows agree again
    assert verify(bad).ok
    res = verify(bad, recompute=True)
    assert res.recomputed >= 3
    assert any("alks_cut_in: recomputation gives min_ttc_s" in p for p in res.problems), res
    res = verify(bad, rerun=8)
    assert any("alks_cut_in: re-run gives min_ttc_s" in p for p in res.problems)
    assert verify(campaign, recompute=True).ok


def test_a_single_run_report_inside_a_campaign_keeps_it_verified(campaign, tmp_path):
    """`pground report C/runs/<run>` writes its report into the run folder and the campaign's
    digest covers it; in a signed campaign it is refused (it would change what was signed)."""
    c = tmp_path / "c"
    shutil.copytree(campaign, c)
    run_dir = next((c / "runs").iterdir())
    write(run_dir)
    assert (run_dir / "report.html").exists()
    assert verify(c).ok and verify(run_dir).ok
    priv, _ = keygen(tmp_path / "k.pem")
    sign(c, priv)
    with pytest.raises(UsageError, match="signed campaign"):
        write(run_dir)
    assert verify(c).ok


def test_signature(campaign, tmp_path):
    signed = tmp_path / "signed"
    shutil.copytree(campaign, signed)
    priv, pub = keygen(tmp_path / "key.pem")
    sign(signed, priv)
    res = verify(signed, key=pub)
    assert res.ok and "valid Ed25519 signature" in res.notes[0]
    _, other = keygen(tmp_path / "other.pem")
    assert not verify(signed, key=other).ok


def test_diff_lists_new_failures_first_and_is_a_gate(campaign, tmp_path):
    """The same suite with the shipped agents (all pass) vs the null agent: two regressions
    (cut-in, CCRs), and the pedestrian the reference could not avoid either is a change of
    class but not a regression."""
    good = tmp_path / "good"
    suite = load_suite(campaign.parent / "suite.yaml")
    run_campaign(suite, good, executor="serial", console=QUIET, progress=False)
    d = diff(good, campaign)
    assert d["common"] == 4 and d["only_a"] == d["only_b"] == 0
    assert d["changes"] == [
        {"name": n, "family": n, "before": "pass", "after": "fail", "regression": True}
        for n in ("alks_cut_in", "ncap_ccrs")
    ] + [
        {
            "name": "alks_crossing_pedestrian",
            "family": "alks_crossing_pedestrian",
            "before": "pass",
            "after": "not_preventable",
            "regression": False,
        }
    ]
    assert d["a"]["agent_versions"] != d["b"]["agent_versions"]  # who is compared
    assert d["regressions"] == 2 and diff(campaign, good)["regressions"] == 0
    cli = [sys.executable, "-m", "sim", "diff"]
    html = tmp_path / "d.html"
    r = subprocess.run([*cli, str(good), str(campaign), "--html", str(html)], capture_output=True)
    assert r.returncode == 1 and "alks_cut_in" in html.read_text()
    r = subprocess.run([*cli, str(campaign), str(good)], capture_output=True)
    assert r.returncode == 0
    other = tmp_path / "other.yaml"
    other.write_text(f"name: other\nscenarios:\n  - {ROAD / 'alks_cut_in.yaml'}\n")
    o = tmp_path / "o"
    run_campaign(load_suite(other), o, executor="serial", console=QUIET, progress=False)
    r = subprocess.run([*cli, str(good), str(o)], capture_output=True, text=True)
    assert r.returncode == 2 and "different suites" in r.stderr + r.stdout
    r = subprocess.run([*cli, str(good), str(o), "--force"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_report_in_a_real_browser(campaign, tmp_path):
    """Headless Chromium: no console errors, the summary numbers and a failed run are
    visible, filtering the runs table works; a screenshot is saved."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((campaign / "report.html").as_uri())
        assert page.text_content("#n-runs").strip() == "4"
        assert page.text_content("#n-fail").strip() == "2"
        counts = json.loads((campaign / "report.json").read_text())["summary"]["counts"]
        for k, v in counts.items():  # the rendered cards show the one classification
            assert page.text_content(f"#n-{k}").strip() == str(v)
        assert page.is_visible("details.failure")
        assert (
            "alks_cut_in" in page.text_content("#failures ~ details.failure summary")
            or page.locator("details.failure summary", has_text="alks_cut_in").count() == 1
        )
        assert page.locator("#runs-body tr").count() == 4
        page.fill("#filter", "ncap")
        assert page.locator("#runs-body tr").count() == 1
        page.select_option("#verdict", "pass")
        page.fill("#filter", "")
        assert page.locator("#runs-body tr").count() == 1
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        page.select_option("#verdict", "")
        link = page.locator("#runs-body a", has_text="alks_cut_in")
        assert link.get_attribute("href") == "#run-alks_cut_in"  # runs table → details
        assert page.locator("#run-alks_cut_in").count() == 1
        assert "relative speed" in page.text_content("#run-alks_cut_in")  # readable events
        pdf = page.pdf(path=str(tmp_path / "report.pdf"))  # the print stylesheet
        browser.close()
    assert not errors, errors
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert pdf[:4] == b"%PDF" and len(pdf) > 20_000


def test_report_of_a_single_run(tmp_path):
    """pground report RUN_DIR: the same report for one run, and it verifies."""
    run = tmp_path / "run"
    cut_in = str(ROAD / "alks_cut_in.yaml")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            cut_in,
            "--agent",
            "constant-speed",
            "--out",
            str(run),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 1
    r = subprocess.run(
        [sys.executable, "-m", "sim", "report", str(run)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads((run / "report.json").read_text())
    assert doc["summary"]["counts"] == {
        "pass": 0,
        "fail": 1,
        "not_preventable": 0,
        "error": 0,
        "invalid": 0,
    }
    assert doc["failures"][0]["reproduce"].startswith("pground run ")


def test_report_json_has_a_published_schema(campaign):
    """report.json validates against the schema that `pground schema --report` prints."""
    from metrics.report_schema import Report

    Report.model_validate_json((campaign / "report.json").read_text())
    r = subprocess.run(
        [sys.executable, "-m", "sim", "schema", "--report"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    schema = json.loads(r.stdout)
    assert r.returncode == 0 and schema["title"].startswith("Proving Ground report")
    assert {"summary", "requirements", "runs", "provenance"} <= set(schema["properties"])


def test_verify_reruns_from_another_directory(campaign, tmp_path, monkeypatch):
    """Scenario paths stored relative to where the campaign ran still resolve elsewhere."""
    suite = tmp_path / "s.yaml"
    suite.write_text("name: rel\nscenarios:\n  - ../road/alks_cut_in.yaml\n")
    rel_suite = ROOT / "scenarios" / "suites" / "rel_tmp.yaml"
    monkeypatch.chdir(ROOT)
    shutil.copy(suite, rel_suite)
    try:
        out = tmp_path / "c"
        run_campaign(
            load_suite("scenarios/suites/rel_tmp.yaml"),
            out,
            executor="serial",
            console=QUIET,
            progress=False,
        )
    finally:
        rel_suite.unlink()
    write(out)
    monkeypatch.chdir(tmp_path)
    res = verify(out, rerun=1)
    assert res.ok and res.reran == 1, res.problems


def test_the_suite_exit_code_follows_the_one_classification(tmp_path):
    """A campaign whose only failure the reference failed too is not a failure of the system:
    the terminal says "not preventable: 1", summary.json and junit.xml agree, exit 0."""
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: ped\nscenarios:\n  - {ROAD / 'alks_crossing_pedestrian.yaml'}\n")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "suite",
            str(suite),
            "--agent",
            "constant-speed",
            "--reference",
            "r157-driver",
            "--out",
            str(tmp_path / "c"),
            "--no-progress",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "fail: 0  not preventable: 1" in res.stdout
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["counts"]["not_preventable"] == 1 and summary["counts"]["fail"] == 0
    assert 'type="not-preventable"' in (tmp_path / "c" / "junit.xml").read_text()


def test_every_output_uses_one_classification(tmp_path):
    """One campaign with every class (pass, fail, not preventable, error, invalid): the
    terminal, summary.json, report.json, report.html, junit.xml and diff give the same
    counts."""
    import re
    import xml.etree.ElementTree as ET

    from sim.errors import CLASS_LABELS, CLASSES

    invalid = tmp_path / "no_stimulus.yaml"
    invalid.write_text(
        "schema_version: 1\nid: nostim\nname: no stimulus\ndescription: the lead's braking "
        "never triggers\ndt: 0.1\nduration: 3\n"
        "map: {road: {roads: [{id: r, geometry: [{line: 300 m}]}]}}\n"
        "entities:\n"
        "  - {id: ego, domain: road, road: r, s: 20 m, speed: 10 m/s, agent: constant-speed}\n"
        "  - {id: lead, domain: road, road: r, s: 120 m, speed: 10 m/s,\n"
        "     manoeuvres: [{when: {distance_below: 5 m, to: ego}, speed: {target: 0}}]}\n"
        "criteria: [{metric: collisions, op: '==', value: 0}]\n"
    )
    error = tmp_path / "no_goal.yaml"
    error.write_text(
        "schema_version: 1\nid: nogoal\nname: no goal\ndescription: a criterion that does "
        "not apply\ndt: 0.1\nduration: 2\n"
        "map: {road: {roads: [{id: r, geometry: [{line: 200 m}]}]}}\n"
        "entities:\n"
        "  - {id: ego, domain: road, road: r, s: 20 m, speed: 5 m/s, agent: constant-speed}\n"
        "criteria: [{metric: time_to_goal_s, op: '<', value: 10}]\n"
    )
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: classes\nscenarios:\n"
        + "".join(
            f"  - {p}\n"
            for p in (
                ROAD / "alks_lane_keep_curve.yaml",
                ROAD / "alks_cut_in.yaml",
                ROAD / "alks_crossing_pedestrian.yaml",
                invalid,
                error,
            )
        )
    )
    c = tmp_path / "c"
    res = subprocess.run(
        [
            *(sys.executable, "-m", "sim", "suite", str(suite), "--agent", "constant-speed"),
            *("--reference", "r157-driver", "--out", str(c), "--no-progress", "--workers", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    expected = {"pass": 1, "fail": 1, "not_preventable": 1, "error": 1, "invalid": 1}
    assert res.returncode == 2, res.stdout + res.stderr  # invalid outranks the rest
    line = "  ".join(f"{CLASS_LABELS[k]}: {v}" for k, v in expected.items())
    assert line in res.stdout
    assert json.loads((c / "summary.json").read_text())["counts"] == expected
    doc = json.loads((c / "report.json").read_text())
    assert doc["summary"]["counts"] == expected
    assert {k: sum(r["classification"] == k for r in doc["runs"]) for k in CLASSES} == expected
    html = (c / "report.html").read_text()
    cards = dict(re.findall(r"id='n-(\w+)'>(\d+)<", html))
    assert {k: int(cards[k]) for k in CLASSES} == expected
    cases = ET.parse(c / "junit.xml").getroot().iter("testcase")
    seen = [
        next(p.get("value") for p in case.iter("property") if p.get("name") == "class")
        for case in cases
    ]
    assert {k: seen.count(k) for k in CLASSES} == expected
    assert diff(c, c)["counts_b"] == expected


def test_credibility_describes_the_sensors_and_faults_that_ran(tmp_path):
    """The faults campaign's report says which sensor models (noisy radar, camera in rain,
    latency) and faults (the wet road's reduced braking, radar noise, dropout) its runs used,
    instead of "sensors are ideal"; a campaign without any says every run was ideal."""
    c = reported_campaign(
        tmp_path,
        "name: faults-road\nscenarios:\n"
        f"  - {ROAD / 'fault_wet_road_lead_brake.yaml'}\n"
        f"  - {ROAD / 'fault_radar_dropout_cut_in.yaml'}\n",
    )
    road = json.loads((c / "report.json").read_text())["credibility"][0]
    assert road["domain"] == "road"
    assert "declared sensor models" in road["models"]["sensing"]
    assert "camera (preset rain)" in road["models"]["sensing"]
    used = " ".join(road["used"])
    assert "reduced_braking on ego" in used and "sensor_noise on ego" in used
    assert "sensor_dropout" in used and "latency 0.1" in used
    html = (c / "report.html").read_text()
    assert "no noise, latency or occlusion" not in html and "reduced_braking" in html


def test_credibility_of_a_campaign_without_sensors_or_faults(campaign):
    road = json.loads((campaign / "report.json").read_text())["credibility"][0]
    assert road["used"][0] == "every run used the domain's ideal observation, with no fault"
    assert "alks_cut_in: map: roads" in road["used"]  # and the map features each family used
    assert "ideal object list" in road["models"]["sensing"]


def test_a_sampled_campaign_says_so_and_shows_parameters_in_the_suite_s_units(tmp_path):
    """--sample 6 of the 444-run cut-in sweep: the summary says "6 of 444 runs … seed", the
    family shows the sample's and the suite's ranges, in km/h as the suite file writes them."""
    c = tmp_path / "c"
    res = subprocess.run(
        [
            *(sys.executable, "-m", "sim", "suite", "scenarios/suites/alks_cut_in.yaml"),
            *("--sample", "6", "--sample-seed", "3", "--out", str(c), "--no-progress"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads((c / "report.json").read_text())
    assert doc["campaign"]["sample"]["runs"] == 6 and doc["campaign"]["sample"]["of"] == 444
    fam = doc["families"][0]
    assert fam["units"]["ego_speed"] == "km/h" and fam["suite_parameters"]["ego_speed"]["max"] == (
        pytest.approx(60 / 3.6)
    )
    html = (c / "report.html").read_text()
    assert "6 of 444 runs</b>" in html and "seed 3" in html
    assert "[suite: 20 km/h … 60 km/h (5 values)]" in html
    assert "ego_speed=" in html and " km/h" in html
    # all six pairs of the four varied parameters are plotted, axes in the suite's units
    assert "every pair of the 4 varied parameters" in html
    family = html.split("id='families'")[1].split("id='runs'")[0]
    assert family.count("<circle") == 6 * 6 and "km/h)</text>" in family


def test_convergence_reruns_failed_and_boundary_runs_at_finer_steps(campaign, tmp_path):
    """`pground report C --convergence 4`: the three failed runs (not preventable included)
    and the passing run nearest its boundary re-run at dt/2 and dt/4; convergence.json is in
    the digest and the report."""
    c = tmp_path / "c"
    shutil.copytree(campaign, c)
    r = subprocess.run(
        [sys.executable, "-m", "sim", "report", str(c), "--convergence", "4"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((c / "convergence.json").read_text())
    names = [x["name"] for x in doc["runs"]]
    assert names == ["alks_crossing_pedestrian", "alks_cut_in", "ncap_ccrs", "alks_lane_keep_curve"]
    cut_in = doc["runs"][1]
    assert cut_in["dt_s"] == [0.05, 0.025, 0.0125] and cut_in["verdicts"][0] == "fail"
    assert len(cut_in["metrics"]["collisions"]) == 3
    assert doc["sensitive"] == [x["name"] for x in doc["runs"] if len(set(x["verdicts"])) > 1]
    report = json.loads((c / "report.json").read_text())
    assert report["convergence"]["runs"][1]["name"] == "alks_cut_in"
    assert "id='convergence'" in (c / "report.html").read_text()
    assert (
        verify(c).ok and "convergence.json" in json.loads((c / "digest.json").read_text())["files"]
    )
